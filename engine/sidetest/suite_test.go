package sidetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/vcard"
)

// recorder is a T that records failures instead of failing the test; its
// Fatal stops the check's goroutine as testing.T's does.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.Error(args...); runtime.Goexit() }

// runCheck runs the named check on sides from newSide and returns its
// failures.
func runCheck(t *testing.T, name string, su *suite) []string {
	t.Helper()
	for _, c := range checks() {
		if c.name != name {
			continue
		}
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.run(su, r)
		}()
		<-done
		return r.failed
	}
	t.Fatalf("no check %s", name)
	return nil
}

// logSide is a correct in-memory side with change tokens: memside plus a
// log of written ids; a token is a log position it issued.
type logSide struct {
	*mem.Side
	mu     sync.Mutex
	log    []string
	issued map[string]bool
}

func newLogSide() *logSide { return &logSide{Side: mem.New("log"), issued: map[string]bool{}} }

func (s *logSide) note(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, id)
}

func (s *logSide) Create(ctx context.Context, c *vcard.Card) (engine.Ref, error) {
	r, err := s.Side.Create(ctx, c)
	if err == nil {
		s.note(r.ID)
	}
	return r, err
}

func (s *logSide) Update(ctx context.Context, ref engine.Ref, c *vcard.Card) (engine.Ref, error) {
	r, err := s.Side.Update(ctx, ref, c)
	if err == nil {
		s.note(r.ID)
	}
	return r, err
}

func (s *logSide) Delete(ctx context.Context, ref engine.Ref) error {
	err := s.Side.Delete(ctx, ref)
	if err == nil {
		s.note(ref.ID)
	}
	return err
}

func (s *logSide) Changes(ctx context.Context, token string) (engine.ChangeSet, error) {
	refs, err := s.List(ctx)
	if err != nil {
		return engine.ChangeSet{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := "pos-" + strconv.Itoa(len(s.log))
	s.issued[next] = true
	if token == "" {
		return engine.ChangeSet{Full: true, Changed: refs, Token: next}, nil
	}
	if !s.issued[token] {
		return engine.ChangeSet{}, fmt.Errorf("token %q: %w", token, engine.ErrTokenExpired)
	}
	from, _ := strconv.Atoi(strings.TrimPrefix(token, "pos-"))
	now := map[string]engine.Ref{}
	for _, r := range refs {
		now[r.ID] = r
	}
	cs := engine.ChangeSet{Token: next}
	seen := map[string]bool{}
	for _, id := range s.log[from:] {
		if seen[id] {
			continue
		}
		seen[id] = true
		if r, ok := now[id]; ok {
			cs.Changed = append(cs.Changed, r)
		} else {
			cs.Deleted = append(cs.Deleted, id)
		}
	}
	return cs, nil
}

// Broken sides: each breaks one rule of the contract.
type (
	prefilled     struct{ *logSide }
	nameless      struct{ *logSide }
	lossyGet      struct{ *logSide }
	overwriting   struct{ *logSide }
	blindUpdate   struct{ *logSide }
	blindDelete   struct{ *logSide }
	reorderingGet struct{ *logSide }
	forgetful     struct {
		*logSide
		n  *int
		mu *sync.Mutex
	}
	refuseAll      struct{ *logSide }
	refuseOne      struct{ *logSide }
	alteringCorpus struct{ *logSide }
	anyTokenError  struct{ *logSide }
	expiredOK      struct{ *logSide }
	wrongDeltas    struct{ *logSide }
	noChanger      struct{ *mem.Side }
)

func (s nameless) Name() string { return "" }

func (s lossyGet) Get(ctx context.Context, ids []string) ([]engine.Item, error) {
	items, err := s.logSide.Get(ctx, ids)
	for i := range items {
		if items[i].Card != nil {
			items[i].Card.SetFN(items[i].Card.FN() + " (lost a letter)")
		}
	}
	return items, err
}

func (s overwriting) Create(ctx context.Context, c *vcard.Card) (engine.Ref, error) {
	refs, _ := s.List(ctx)
	for _, r := range refs {
		if it, _ := s.Get(ctx, []string{r.ID}); it[0].Card != nil && it[0].Card.UID() == c.UID() {
			return s.logSide.Update(ctx, r, c)
		}
	}
	return s.logSide.Create(ctx, c)
}

func (s blindUpdate) Update(ctx context.Context, ref engine.Ref, c *vcard.Card) (engine.Ref, error) {
	it, _ := s.Get(ctx, []string{ref.ID})
	return s.logSide.Update(ctx, it[0].Ref, c)
}

func (s blindDelete) Delete(ctx context.Context, ref engine.Ref) error {
	it, _ := s.Get(ctx, []string{ref.ID})
	return s.logSide.Delete(ctx, it[0].Ref)
}

func (s reorderingGet) Get(ctx context.Context, ids []string) ([]engine.Item, error) {
	items, err := s.logSide.Get(ctx, ids)
	if len(items) > 2 {
		items[1], items[2] = items[2], items[1]
	}
	return items, err
}

func (s forgetful) Create(ctx context.Context, c *vcard.Card) (engine.Ref, error) {
	s.mu.Lock()
	*s.n++
	lose := *s.n%5 == 0
	s.mu.Unlock()
	if lose {
		return engine.Ref{ID: "lost-" + c.UID(), Version: "1"}, nil
	}
	return s.logSide.Create(ctx, c)
}

func (s refuseAll) Create(context.Context, *vcard.Card) (engine.Ref, error) {
	return engine.Ref{}, fmt.Errorf("no, thanks: %w", engine.ErrRefused)
}

func (s refuseOne) Create(ctx context.Context, c *vcard.Card) (engine.Ref, error) {
	if c.UID() == "corpus-no-uid.vcf" {
		return engine.Ref{}, fmt.Errorf("no UID: %w", engine.ErrRefused)
	}
	return s.logSide.Create(ctx, c)
}

func (s alteringCorpus) Create(ctx context.Context, c *vcard.Card) (engine.Ref, error) {
	c = c.Clone()
	var kept []vcard.Property
	for _, p := range c.Props {
		if !strings.HasPrefix(p.Name, "X-") {
			kept = append(kept, p)
		}
	}
	c.Props = kept
	return s.logSide.Create(ctx, c)
}

func (s anyTokenError) Changes(ctx context.Context, token string) (engine.ChangeSet, error) {
	if token == "cardbridge-expired-token" {
		return engine.ChangeSet{}, errors.New("HTTP 500")
	}
	return s.logSide.Changes(ctx, token)
}

func (s expiredOK) Changes(ctx context.Context, token string) (engine.ChangeSet, error) {
	if token == "cardbridge-expired-token" {
		return s.logSide.Changes(ctx, "")
	}
	return s.logSide.Changes(ctx, token)
}

func (s wrongDeltas) Changes(ctx context.Context, token string) (engine.ChangeSet, error) {
	cs, err := s.logSide.Changes(ctx, token)
	cs.Deleted = nil
	return cs, err
}

// dropCapabilities is a wrapper that loses every capability, as
// Faults.Wrap once did.
func dropCapabilities(s engine.Side) engine.Side { return &faulty{Side: s, f: &Faults{}} }

// TestSuitePassesGoodSides: the correct in-memory sides pass every check.
func TestSuitePassesGoodSides(t *testing.T) {
	Run(t, func(*testing.T) engine.Side { return newLogSide() }, Options{})
	Run(t, func(*testing.T) engine.Side { return mem.New("plain") }, Options{NoChangeTokens: true})
}

// TestSuiteCatchesBrokenSides runs each check on a side that breaks the
// rule it checks and requires the check to fail.
func TestSuiteCatchesBrokenSides(t *testing.T) {
	tests := []struct {
		check string
		side  func() engine.Side
		opts  Options
		wrap  func(engine.Side) engine.Side
	}{
		{"EmptyListsNothing", func() engine.Side {
			s := newLogSide()
			s.Put("left-over.vcf", Card("x", "X").Encode())
			return prefilled{s}
		}, Options{}, nil},
		{"EmptyListsNothing", func() engine.Side { return nameless{newLogSide()} }, Options{}, nil},
		{"CreateListGet", func() engine.Side { return lossyGet{newLogSide()} }, Options{}, nil},
		{"CreateNeverOverwrites", func() engine.Side { return overwriting{newLogSide()} }, Options{}, nil},
		{"CreateNeverOverwrites", func() engine.Side { return newLogSide() }, Options{RefusesDuplicateUID: true}, nil},
		{"UpdateWithPrecondition", func() engine.Side { return blindUpdate{newLogSide()} }, Options{}, nil},
		{"DeleteWithPrecondition", func() engine.Side { return blindDelete{newLogSide()} }, Options{}, nil},
		{"GetMissingAndMany", func() engine.Side { return reorderingGet{newLogSide()} }, Options{}, nil},
		{"ConcurrentWrites", func() engine.Side { return forgetful{newLogSide(), new(int), new(sync.Mutex)} }, Options{}, nil},
		{"CorpusRoundTrip", func() engine.Side { return refuseAll{newLogSide()} }, Options{}, nil},
		{"CorpusRoundTrip", func() engine.Side { return refuseOne{newLogSide()} }, Options{}, nil},
		{"CorpusRoundTrip", func() engine.Side { return newLogSide() }, Options{MayRefuse: map[string]string{"no-such.vcf": "typo"}}, nil},
		{"CorpusRoundTrip", func() engine.Side { return alteringCorpus{newLogSide()} }, Options{}, nil},
		{"Changes", func() engine.Side { return anyTokenError{newLogSide()} }, Options{}, nil},
		{"Changes", func() engine.Side { return expiredOK{newLogSide()} }, Options{}, nil},
		{"Changes", func() engine.Side { return wrongDeltas{newLogSide()} }, Options{}, nil},
		{"Changes", func() engine.Side { return noChanger{mem.New("n")} }, Options{}, nil},
		{"Changes", func() engine.Side { return newLogSide() }, Options{NoChangeTokens: true}, nil},
		{"WrapKeepsCapabilities", func() engine.Side { return newLogSide() }, Options{}, dropCapabilities},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.check, i), func(t *testing.T) {
			su := &suite{newSide: func(T) engine.Side { return tt.side() }, opts: tt.opts, wrap: tt.wrap}
			failed := runCheck(t, tt.check, su)
			if len(failed) == 0 {
				t.Fatalf("check %s passed a %T", tt.check, tt.side())
			}
			t.Logf("caught: %s", failed[0])
		})
	}
}

// TestCheckListIsComplete: every check Run runs has a broken side above.
func TestCheckListIsComplete(t *testing.T) {
	if n := len(checks()); n != 10 {
		t.Errorf("%d checks; add a broken side to TestSuiteCatchesBrokenSides for each new one", n)
	}
}
