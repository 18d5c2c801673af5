package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
	"github.com/cardbridge/cardbridge/vcard"
)

// Creates made at once share a transaction: while another writer holds the
// database, 30 Creates queue up and then take two commits (the first
// writer's own and one for the rest), not 30, plus the retry of the
// duplicate under a random name (its UID's name is taken); each gets its
// own outcome (the duplicate UID is refused, the others are stored).
func TestGroupCommit(t *testing.T) { pgtest.ForBackends(t, testGroupCommit) }

func testGroupCommit(t *testing.T, be pgtest.Backend) {
	ctx := context.Background()
	s, db := newSide(t, be)
	const n = 30
	held, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- db.Update(ctx, func(*state.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		uid := fmt.Sprintf("uid-%d", i)
		if i == n-1 {
			uid = "uid-0" // a duplicate: refused, the others stored
		}
		c := &vcard.Card{}
		c.Add(vcard.Property{Name: "VERSION", Value: "3.0"})
		c.Add(vcard.Property{Name: "FN", Value: fmt.Sprintf("Person %d", i)})
		c.SetUID(uid)
		if i == n-1 {
			// Queued after every other, so uid-0 is taken by then.
			waitQueue(t, s.writes, n-2)
		}
		wg.Go(func() { _, errs[i] = s.Create(ctx, c) })
	}
	waitQueue(t, s.writes, n-1) // the first is committing (waiting for the holder), the rest queued
	close(release)
	wg.Wait()
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs[:n-1] {
		if err != nil {
			t.Errorf("create %d: %v", i, err)
		}
	}
	if !errors.Is(errs[n-1], engine.ErrRefused) || !errors.Is(errs[n-1], state.ErrUIDConflict) {
		t.Errorf("duplicate UID: %v, want ErrRefused and ErrUIDConflict", errs[n-1])
	}
	refs, err := s.List(ctx)
	if err != nil || len(refs) != n-1 {
		t.Fatalf("List = %d cards, %v; want %d", len(refs), err, n-1)
	}
	s.writes.mu.Lock()
	commits := s.writes.commits
	s.writes.mu.Unlock()
	if commits > 3 {
		t.Errorf("%d commits for %d concurrent creates, want at most 3", commits, n)
	}
}

// waitQueue waits until want writes are queued behind the committing one.
func waitQueue(t *testing.T, g *groupCommit, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		got, running := len(g.queue), g.running
		g.mu.Unlock()
		if running && got >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued (committing: %v), want %d", got, running, want)
		}
		time.Sleep(time.Millisecond)
	}
}
