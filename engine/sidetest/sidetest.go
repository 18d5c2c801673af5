// Package sidetest is the conformance suite every sync side runs: one
// Run call in a side's test file checks the whole side contract (listing,
// reading, conditional writes, never overwriting on create, round trips
// of the quirky corpus, change tokens where the side has them). It also
// holds Faulty, a side wrapper that makes chosen writes fail, for crash
// tests.
package sidetest

//go:generate go run gen_wrap.go

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

// CorpusDir returns the folder of the shared quirky vCards kept under
// vcard/testdata/corpus.
func CorpusDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "vcard", "testdata", "corpus")
}

// GoodCorpus returns the corpus's good cards by file name.
func GoodCorpus(t T) map[string]*vcard.Card {
	t.Helper()
	dir := CorpusDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("corpus: %v", err)
	}
	out := make(map[string]*vcard.Card)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".vcf") || strings.HasPrefix(e.Name(), "bad-") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := vcard.Parse(raw)
		if err != nil {
			t.Fatalf("corpus %s: %v", e.Name(), err)
		}
		out[e.Name()] = c
	}
	if len(out) < 10 {
		t.Fatalf("corpus %s: only %d good cards", dir, len(out))
	}
	return out
}

// Card returns a small card with the given UID and FN.
func Card(uid, fn string) *vcard.Card {
	c := vcard.New(vcard.V30)
	c.SetUID(uid)
	c.SetFN(fn)
	c.Set(vcard.NewStructured("N", fn, "", "", "", ""))
	return c
}

// Options says what a side cannot do, so that the suite holds it to
// everything else. The zero value is a side that can do everything: it
// has change tokens, stores two items with the same UID, and stores every
// good card of the corpus.
type Options struct {
	// NoChangeTokens declares a side without the engine.Changer capability.
	// The suite fails a side whose capability and declaration disagree.
	NoChangeTokens bool
	// ExpireToken returns a token the side s must reject with an error
	// wrapping engine.ErrTokenExpired, given the last token s issued: that
	// token after making it expire where the side lives (a simulator's
	// switch), or one the side never issued. Nil gives
	// "cardbridge-expired-token".
	ExpireToken func(s engine.Side, token string) string
	// RefusesDuplicateUID declares a side that refuses, with an error
	// wrapping engine.ErrRefused, to create a second item with a UID it
	// already holds. Without it the second create must succeed under a
	// new id.
	RefusesDuplicateUID bool
	// MayRefuse names the corpus files (e.g. "v4-full.vcf") the side may
	// refuse with engine.ErrRefused, each with the reason. Any other refusal
	// fails the corpus round trip, and so does a round trip that stores
	// no card at all.
	MayRefuse map[string]string
}

// T is the part of testing.TB the checks use; the suite's own tests pass
// a recorder to see a check fail.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
	Error(args ...any)
	Logf(format string, args ...any)
}

// suite is one Run: the side factory, the options and the checks.
type suite struct {
	newSide func(T) engine.Side
	opts    Options
	// wrap is the wrapper WrapKeepsCapabilities checks; nil is Faults.Wrap.
	wrap func(engine.Side) engine.Side
}

// check is one named conformance check.
type check struct {
	name string
	run  func(*suite, T)
}

// checks is the suite, in the order Run runs it.
func checks() []check {
	return []check{
		{"EmptyListsNothing", (*suite).emptyListsNothing},
		{"CreateListGet", (*suite).createListGet},
		{"CreateNeverOverwrites", (*suite).createNeverOverwrites},
		{"UpdateWithPrecondition", (*suite).updateWithPrecondition},
		{"DeleteWithPrecondition", (*suite).deleteWithPrecondition},
		{"GetMissingAndMany", (*suite).getMissingAndMany},
		{"ConcurrentWrites", (*suite).concurrentWrites},
		{"CorpusRoundTrip", (*suite).corpusRoundTrip},
		{"Changes", (*suite).changes},
		{"WrapKeepsCapabilities", (*suite).wrapKeepsCapabilities},
	}
}

// Run checks a side implementation against the contract, one subtest per
// check. newSide must return a fresh, empty side each time it is called;
// opts declares what the side cannot do.
func Run(t *testing.T, newSide func(t *testing.T) engine.Side, opts Options) {
	s := &suite{newSide: func(tb T) engine.Side { return newSide(tb.(*testing.T)) }, opts: opts}
	for _, c := range checks() {
		t.Run(c.name, func(t *testing.T) { c.run(s, t) })
	}
}

var bg = context.Background()

func project(s engine.Side, c *vcard.Card) *vcard.Card {
	if p, ok := s.(engine.Projector); ok {
		return p.Project(c)
	}
	return c
}

func get1(t T, s engine.Side, id string) engine.Item {
	t.Helper()
	got, err := s.Get(bg, []string{id})
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	if len(got) != 1 {
		t.Fatalf("Get(%s): %d items", id, len(got))
	}
	return got[0]
}

func create(t T, s engine.Side, c *vcard.Card) engine.Ref {
	t.Helper()
	r, err := s.Create(bg, c)
	if err != nil {
		t.Fatalf("Create(%s): %v", c.UID(), err)
	}
	return r
}

// emptyListsNothing: a new side lists nothing and has a name.
func (su *suite) emptyListsNothing(t T) {
	s := su.newSide(t)
	refs, err := s.List(bg)
	if err != nil || len(refs) != 0 {
		t.Fatalf("List of a new side = %v, %v; want nothing", refs, err)
	}
	if s.Name() == "" {
		t.Error("Name is empty")
	}
}

// createListGet: a created card is listed with the ref Create returned
// and reads back with the same content.
func (su *suite) createListGet(t T) {
	s := su.newSide(t)
	c := Card("conf-1", "Ada Lovelace")
	ref := create(t, s, c)
	if ref.ID == "" || ref.Version == "" {
		t.Fatalf("Create returned %+v", ref)
	}
	refs, err := s.List(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0] != ref {
		t.Fatalf("List = %+v, want [%+v]", refs, ref)
	}
	it := get1(t, s, ref.ID)
	if it.Err != nil || it.Card == nil {
		t.Fatalf("Get: %v", it.Err)
	}
	if it.Ref != ref {
		t.Errorf("Get ref = %+v, want %+v", it.Ref, ref)
	}
	if it.Card.UID() != "conf-1" || it.Card.Hash() != project(s, c).Hash() {
		t.Errorf("read back %q, want %q", it.Card.Encode(), c.Encode())
	}
}

// createNeverOverwrites: a second create with the same UID stores a
// second item (or is refused, if the side declares so) and never replaces
// the first.
func (su *suite) createNeverOverwrites(t T) {
	s := su.newSide(t)
	r1 := create(t, s, Card("same-uid", "One"))
	r2, err := s.Create(bg, Card("same-uid", "Two"))
	switch {
	case su.opts.RefusesDuplicateUID && !errors.Is(err, engine.ErrRefused):
		t.Errorf("second create with the same UID: %v, want ErrRefused (Options.RefusesDuplicateUID)", err)
	case !su.opts.RefusesDuplicateUID && err != nil:
		t.Errorf("second create with the same UID: %v, want a second item (or set Options.RefusesDuplicateUID)", err)
	case err == nil && r1.ID == r2.ID:
		t.Errorf("two creates gave the same id %s", r1.ID)
	}
	if it := get1(t, s, r1.ID); it.Card == nil || it.Card.FN() != "One" || it.Ref != r1 {
		t.Fatalf("first item changed by the second create: %+v", it)
	}
}

// updateWithPrecondition: Update keeps the id, changes the version and
// refuses a stale version with ErrPrecondition, leaving the item alone.
func (su *suite) updateWithPrecondition(t T) {
	s := su.newSide(t)
	r1 := create(t, s, Card("upd", "Before"))
	r2, err := s.Update(bg, r1, Card("upd", "After"))
	if err != nil {
		t.Fatal(err)
	}
	if r2.ID != r1.ID {
		t.Errorf("update moved the item: %s -> %s", r1.ID, r2.ID)
	}
	if r2.Version == r1.Version {
		t.Errorf("update kept version %s", r1.Version)
	}
	if it := get1(t, s, r1.ID); it.Card == nil || it.Card.FN() != "After" {
		t.Fatalf("after update read %+v", it)
	}
	_, err = s.Update(bg, r1, Card("upd", "Stale"))
	if !errors.Is(err, engine.ErrPrecondition) {
		t.Fatalf("update with a stale version: %v, want ErrPrecondition", err)
	}
	if it := get1(t, s, r1.ID); it.Card == nil || it.Card.FN() != "After" {
		t.Fatalf("stale update changed the item: %+v", it)
	}
}

// deleteWithPrecondition: Delete refuses a stale version, removes the
// item otherwise, and a second delete is not an error.
func (su *suite) deleteWithPrecondition(t T) {
	s := su.newSide(t)
	r1 := create(t, s, Card("del", "Doomed"))
	if err := s.Delete(bg, engine.Ref{ID: r1.ID, Version: r1.Version + "x"}); !errors.Is(err, engine.ErrPrecondition) {
		t.Fatalf("delete with a stale version: %v, want ErrPrecondition", err)
	}
	if it := get1(t, s, r1.ID); it.Err != nil {
		t.Fatalf("stale delete removed the item: %+v", it)
	}
	if err := s.Delete(bg, r1); err != nil {
		t.Fatal(err)
	}
	if it := get1(t, s, r1.ID); !errors.Is(it.Err, engine.ErrNotFound) {
		t.Fatalf("Get after delete: %+v, want ErrNotFound", it)
	}
	if err := s.Delete(bg, r1); err != nil {
		t.Fatalf("second delete: %v, want nil", err)
	}
	refs, err := s.List(bg)
	if err != nil || len(refs) != 0 {
		t.Fatalf("List after delete = %v, %v", refs, err)
	}
}

// getMissingAndMany: Get answers one item per id, in order, with
// ErrNotFound for a missing one.
func (su *suite) getMissingAndMany(t T) {
	s := su.newSide(t)
	var ids []string
	for i := range 20 {
		ids = append(ids, create(t, s, Card(fmt.Sprintf("many-%02d", i), fmt.Sprintf("Person %02d", i))).ID)
	}
	ask := append([]string{"no-such-item.vcf"}, ids...)
	got, err := s.Get(bg, ask)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ask) {
		t.Fatalf("Get returned %d items for %d ids", len(got), len(ask))
	}
	if !errors.Is(got[0].Err, engine.ErrNotFound) {
		t.Errorf("missing item: %+v, want ErrNotFound", got[0])
	}
	for i, it := range got[1:] {
		if it.Err != nil || it.Card == nil || it.Card.UID() != fmt.Sprintf("many-%02d", i) {
			t.Errorf("item %d: %+v", i, it)
		}
	}
}

// concurrentWrites: 16 concurrent create-then-update pairs all succeed
// and leave 16 items with their updated content.
func (su *suite) concurrentWrites(t T) {
	s := su.newSide(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			r, err := s.Create(bg, Card(fmt.Sprintf("conc-%d", i), "C"))
			if err == nil {
				_, err = s.Update(bg, r, Card(fmt.Sprintf("conc-%d", i), "D"))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	refs, err := s.List(bg)
	if err != nil || len(refs) != 16 {
		t.Fatalf("List = %d items, %v; want 16", len(refs), err)
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	items, err := s.Get(bg, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Err != nil || it.Card == nil || it.Card.FN() != "D" {
			t.Errorf("%s after concurrent writes: %+v", it.ID, it)
		}
	}
}

// corpusRoundTrip: every good corpus card is stored and reads back with
// the same content (as the side projects it). Only the files of
// Options.MayRefuse may be refused, and at least one card must be stored.
func (su *suite) corpusRoundTrip(t T) {
	s := su.newSide(t)
	corpus := GoodCorpus(t)
	names := make([]string, 0, len(corpus))
	for n := range corpus {
		names = append(names, n)
	}
	sort.Strings(names)
	for n := range su.opts.MayRefuse {
		if _, ok := corpus[n]; !ok {
			t.Errorf("Options.MayRefuse names %s, which is not a good corpus card", n)
		}
	}
	stored := 0
	for _, n := range names {
		c := corpus[n]
		if c.UID() == "" {
			c = c.Clone()
			c.SetUID("corpus-" + n)
		}
		ref, err := s.Create(bg, c)
		if errors.Is(err, engine.ErrRefused) {
			if why, ok := su.opts.MayRefuse[n]; ok {
				t.Logf("%s: refused as declared (%s): %v", n, why, err)
			} else {
				t.Errorf("%s: refused: %v (list it in Options.MayRefuse with the reason if the side cannot hold it)", n, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: create: %v", n, err)
			continue
		}
		it := get1(t, s, ref.ID)
		if it.Err != nil {
			t.Errorf("%s: read back: %v", n, it.Err)
			continue
		}
		if got, want := it.Card.Hash(), project(s, c).Hash(); got != want {
			t.Errorf("%s: content changed on the way:\nwrote %s\nread  %s", n, c.Encode(), it.Card.Encode())
			continue
		}
		stored++
	}
	if stored == 0 {
		t.Errorf("no corpus card of %d round-tripped", len(names))
	}
}

// changes: a side with change tokens reports a full first round, then
// exactly what changed, and rejects an expired token with
// ErrTokenExpired. The capability must agree with Options.NoChangeTokens.
func (su *suite) changes(t T) {
	s := su.newSide(t)
	ch, ok := s.(engine.Changer)
	switch {
	case !ok && su.opts.NoChangeTokens:
		return
	case !ok:
		t.Fatalf("%T has no change tokens (engine.Changer): set Options.NoChangeTokens if that is by design", s)
	case su.opts.NoChangeTokens:
		t.Fatalf("%T has change tokens but Options.NoChangeTokens is set", s)
	}
	r1 := create(t, s, Card("ch-1", "One"))
	r2 := create(t, s, Card("ch-2", "Two"))
	cs, err := ch.Changes(bg, "")
	if err != nil {
		t.Fatal(err)
	}
	if !cs.Full || len(cs.Changed) != 2 || cs.Token == "" {
		t.Fatalf("initial round = %+v", cs)
	}
	r1b, err := s.Update(bg, r1, Card("ch-1", "One b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(bg, r2); err != nil {
		t.Fatal(err)
	}
	r3 := create(t, s, Card("ch-3", "Three"))
	cs2, err := ch.Changes(bg, cs.Token)
	if err != nil {
		t.Fatal(err)
	}
	changed := map[string]string{}
	for _, r := range cs2.Changed {
		changed[r.ID] = r.Version
	}
	if changed[r1b.ID] != r1b.Version || changed[r3.ID] != r3.Version {
		t.Errorf("incremental round changed = %v, want %s and %s", changed, r1b.ID, r3.ID)
	}
	if !cs2.Full && !slices.Contains(cs2.Deleted, r2.ID) {
		t.Errorf("incremental round deleted = %v, want %s", cs2.Deleted, r2.ID)
	}
	if cs2.Full && changed[r2.ID] != "" {
		t.Errorf("full round lists the deleted %s", r2.ID)
	}
	expired := "cardbridge-expired-token"
	if su.opts.ExpireToken != nil {
		expired = su.opts.ExpireToken(s, cs2.Token)
	}
	if _, err := ch.Changes(bg, expired); !errors.Is(err, engine.ErrTokenExpired) {
		t.Errorf("Changes(%q) = %v, want an error wrapping engine.ErrTokenExpired", expired, err)
	}
}

// wrapKeepsCapabilities: Faults.Wrap of the side has exactly the side's
// capabilities, so crash tests run the side production runs.
func (su *suite) wrapKeepsCapabilities(t T) {
	s := su.newSide(t)
	wrap := su.wrap
	if wrap == nil {
		wrap = (&Faults{}).Wrap
	}
	want := engine.SideCapabilities(s)
	if got := engine.SideCapabilities(wrap(s)); !slices.Equal(got, want) {
		t.Errorf("Faults.Wrap of %T has capabilities %v, the side has %v", s, got, want)
	}
}

// Faults makes one write fail across the sides it wraps, counting
// creates, updates and deletes from 1 in the order they happen. With
// After set the write is carried out before the error is returned: the
// side changed but the engine never heard (a crash or a lost answer).
type Faults struct {
	// FailAt is the number of the write that fails (0: none).
	FailAt int
	// After applies the failing write before failing it.
	After bool
	// Cancel, when set, is called at the failing write to stop the run
	// as a crash would.
	Cancel func()

	mu     sync.Mutex
	writes int
}

// ErrInjected is the error an injected failure returns.
var ErrInjected = errors.New("injected write failure")

// Wrap returns s with its writes counted and failed by f. The wrapper
// has exactly the optional capabilities of s (every interface of
// engine.CapabilityTypes that s implements, and no other), forwarded to s,
// so a test through Wrap runs the side production runs.
func (f *Faults) Wrap(s engine.Side) engine.Side {
	c, mask := sideCaps(s)
	return withCaps(&faulty{Side: s, f: f}, c, mask)
}

func (f *Faults) hit() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.writes == f.FailAt {
		if f.Cancel != nil {
			f.Cancel()
		}
		return true
	}
	return false
}

// Writes returns how many writes were attempted.
func (f *Faults) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

type faulty struct {
	engine.Side
	f *Faults
}

func (s *faulty) Create(ctx context.Context, c *vcard.Card) (engine.Ref, error) {
	if s.f.hit() {
		if s.f.After {
			s.Side.Create(context.WithoutCancel(ctx), c)
		}
		return engine.Ref{}, ErrInjected
	}
	return s.Side.Create(ctx, c)
}

func (s *faulty) Update(ctx context.Context, r engine.Ref, c *vcard.Card) (engine.Ref, error) {
	if s.f.hit() {
		if s.f.After {
			s.Side.Update(context.WithoutCancel(ctx), r, c)
		}
		return engine.Ref{}, ErrInjected
	}
	return s.Side.Update(ctx, r, c)
}

func (s *faulty) Delete(ctx context.Context, r engine.Ref) error {
	if s.f.hit() {
		if s.f.After {
			s.Side.Delete(context.WithoutCancel(ctx), r)
		}
		return ErrInjected
	}
	return s.Side.Delete(ctx, r)
}
