// Package synctest is the conformance suite every sync side runs: one
// Run call in a side's test file checks the whole side contract (listing,
// reading, conditional writes, never overwriting on create, round trips
// of the quirky corpus, change tokens where the side has them). It also
// holds Faulty, a side wrapper that makes chosen writes fail, for crash
// tests.
package sidetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
func GoodCorpus(t testing.TB) map[string]*vcard.Card {
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

// Run checks side implementations against the contract. newSide must
// return a fresh, empty side each time it is called.
func Run(t *testing.T, newSide func(t *testing.T) engine.Side) {
	ctx := context.Background()
	project := func(s engine.Side, c *vcard.Card) *vcard.Card {
		if p, ok := s.(engine.Projector); ok {
			return p.Project(c)
		}
		return c
	}
	get1 := func(t *testing.T, s engine.Side, id string) engine.Item {
		t.Helper()
		got, err := s.Get(ctx, []string{id})
		if err != nil {
			t.Fatalf("Get(%s): %v", id, err)
		}
		if len(got) != 1 {
			t.Fatalf("Get(%s): %d items", id, len(got))
		}
		return got[0]
	}

	t.Run("EmptyListsNothing", func(t *testing.T) {
		s := newSide(t)
		refs, err := s.List(ctx)
		if err != nil || len(refs) != 0 {
			t.Fatalf("List of a new side = %v, %v; want nothing", refs, err)
		}
		if s.Name() == "" {
			t.Error("Name is empty")
		}
	})

	t.Run("CreateListGet", func(t *testing.T) {
		s := newSide(t)
		c := Card("conf-1", "Ada Lovelace")
		ref, err := s.Create(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if ref.ID == "" || ref.Version == "" {
			t.Fatalf("Create returned %+v", ref)
		}
		refs, err := s.List(ctx)
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
	})

	t.Run("CreateNeverOverwrites", func(t *testing.T) {
		s := newSide(t)
		r1, err := s.Create(ctx, Card("same-uid", "One"))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := s.Create(ctx, Card("same-uid", "Two"))
		if err != nil {
			// A side may refuse a second item with the same UID, but must
			// not replace the first.
			if it := get1(t, s, r1.ID); it.Card == nil || it.Card.FN() != "One" {
				t.Fatalf("first item changed after refused create: %+v", it)
			}
			return
		}
		if r1.ID == r2.ID {
			t.Fatalf("two creates gave the same id %s", r1.ID)
		}
		if it := get1(t, s, r1.ID); it.Card == nil || it.Card.FN() != "One" {
			t.Fatalf("first item overwritten: %+v", it)
		}
	})

	t.Run("UpdateWithPrecondition", func(t *testing.T) {
		s := newSide(t)
		r1, err := s.Create(ctx, Card("upd", "Before"))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := s.Update(ctx, r1, Card("upd", "After"))
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
		_, err = s.Update(ctx, r1, Card("upd", "Stale"))
		if !errors.Is(err, engine.ErrPrecondition) {
			t.Fatalf("update with a stale version: %v, want ErrPrecondition", err)
		}
		if it := get1(t, s, r1.ID); it.Card == nil || it.Card.FN() != "After" {
			t.Fatalf("stale update changed the item: %+v", it)
		}
	})

	t.Run("DeleteWithPrecondition", func(t *testing.T) {
		s := newSide(t)
		r1, err := s.Create(ctx, Card("del", "Doomed"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, engine.Ref{ID: r1.ID, Version: r1.Version + "x"}); !errors.Is(err, engine.ErrPrecondition) {
			t.Fatalf("delete with a stale version: %v, want ErrPrecondition", err)
		}
		if err := s.Delete(ctx, r1); err != nil {
			t.Fatal(err)
		}
		if it := get1(t, s, r1.ID); !errors.Is(it.Err, engine.ErrNotFound) {
			t.Fatalf("Get after delete: %+v, want ErrNotFound", it)
		}
		if err := s.Delete(ctx, r1); err != nil {
			t.Fatalf("second delete: %v, want nil", err)
		}
		refs, _ := s.List(ctx)
		if len(refs) != 0 {
			t.Fatalf("List after delete = %v", refs)
		}
	})

	t.Run("GetMissingAndMany", func(t *testing.T) {
		s := newSide(t)
		var ids []string
		for i := range 20 {
			r, err := s.Create(ctx, Card(fmt.Sprintf("many-%02d", i), fmt.Sprintf("Person %02d", i)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		ask := append([]string{"no-such-item.vcf"}, ids...)
		got, err := s.Get(ctx, ask)
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
			if it.Err != nil || it.Card.UID() != fmt.Sprintf("many-%02d", i) {
				t.Errorf("item %d: %+v", i, it)
			}
		}
	})

	t.Run("ConcurrentWrites", func(t *testing.T) {
		s := newSide(t)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := s.Create(ctx, Card(fmt.Sprintf("conc-%d", i), "C"))
				if err == nil {
					_, err = s.Update(ctx, r, Card(fmt.Sprintf("conc-%d", i), "D"))
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		refs, _ := s.List(ctx)
		if len(refs) != 16 {
			t.Fatalf("List = %d items, want 16", len(refs))
		}
	})

	t.Run("CorpusRoundTrip", func(t *testing.T) {
		s := newSide(t)
		corpus := GoodCorpus(t)
		names := make([]string, 0, len(corpus))
		for n := range corpus {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			c := corpus[n]
			if c.UID() == "" {
				c = c.Clone()
				c.SetUID("corpus-" + n)
			}
			ref, err := s.Create(ctx, c)
			if errors.Is(err, engine.ErrRefused) {
				t.Logf("%s: refused by this side (allowed): %v", n, err)
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
			}
		}
	})

	t.Run("Changes", func(t *testing.T) {
		s := newSide(t)
		ch, ok := s.(engine.Changer)
		if !ok {
			t.Skip("side has no change tokens")
		}
		r1, _ := s.Create(ctx, Card("ch-1", "One"))
		r2, _ := s.Create(ctx, Card("ch-2", "Two"))
		cs, err := ch.Changes(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if !cs.Full || len(cs.Changed) != 2 || cs.Token == "" {
			t.Fatalf("initial round = %+v", cs)
		}
		r1b, err := s.Update(ctx, r1, Card("ch-1", "One b"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, r2); err != nil {
			t.Fatal(err)
		}
		r3, _ := s.Create(ctx, Card("ch-3", "Three"))
		cs2, err := ch.Changes(ctx, cs.Token)
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
		found := false
		for _, id := range cs2.Deleted {
			found = found || id == r2.ID
		}
		if !found && !cs2.Full {
			t.Errorf("incremental round deleted = %v, want %s", cs2.Deleted, r2.ID)
		}
		if _, err := ch.Changes(ctx, "garbage-token"); !errors.Is(err, engine.ErrTokenExpired) && err == nil {
			t.Errorf("an unknown token was accepted")
		}
	})
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
// keeps the change-token and projection capabilities of s.
func (f *Faults) Wrap(s engine.Side) engine.Side {
	w := &faulty{Side: s, f: f}
	ch, isChanger := s.(engine.Changer)
	pr, isProjector := s.(engine.Projector)
	if isChanger && isProjector {
		return &faultyCapable{faulty: w, Changer: ch, Projector: pr}
	}
	return w
}

// faultyCapable is faulty for a side with change tokens and projection.
type faultyCapable struct {
	*faulty
	engine.Changer
	engine.Projector
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
