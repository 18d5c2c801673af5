package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/vcard"
)

// deltaSide is a memside with a change feed (tokens "gen-N", each a
// snapshot of the versions) whose Get fails for the ids in fail. It
// records the tokens it was asked for and the ids it was asked to read.
type deltaSide struct {
	*mem.Side
	mu     sync.Mutex
	snaps  []map[string]string
	fail   map[string]bool
	asked  []string
	gotten map[string]int
}

func newDeltaSide(name string) *deltaSide {
	return &deltaSide{Side: mem.New(name), fail: map[string]bool{}, gotten: map[string]int{}}
}

func (d *deltaSide) Changes(ctx context.Context, token string) (engine.ChangeSet, error) {
	refs, err := d.List(ctx)
	if err != nil {
		return engine.ChangeSet{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, token)
	now := make(map[string]string, len(refs))
	for _, r := range refs {
		now[r.ID] = r.Version
	}
	cs := engine.ChangeSet{Full: token == ""}
	if token == "" {
		cs.Changed = refs
	} else {
		var gen int
		if _, err := fmt.Sscanf(token, "gen-%d", &gen); err != nil || gen >= len(d.snaps) {
			return cs, fmt.Errorf("token %q: %w", token, engine.ErrTokenExpired)
		}
		old := d.snaps[gen]
		for _, r := range refs {
			if old[r.ID] != r.Version {
				cs.Changed = append(cs.Changed, r)
			}
		}
		for id := range old {
			if _, ok := now[id]; !ok {
				cs.Deleted = append(cs.Deleted, id)
			}
		}
	}
	d.snaps = append(d.snaps, now)
	cs.Token = fmt.Sprintf("gen-%d", len(d.snaps)-1)
	return cs, nil
}

func (d *deltaSide) Get(ctx context.Context, ids []string) ([]engine.Item, error) {
	got, err := d.Side.Get(ctx, ids)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, id := range ids {
		d.gotten[id]++
		if d.fail[id] {
			got[i] = engine.Item{Ref: engine.Ref{ID: id}, Err: errors.New("injected: unreadable")}
		}
	}
	return got, nil
}

func (d *deltaSide) lastAsked() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.asked[len(d.asked)-1]
}

func (d *deltaSide) reads(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gotten[id]
}

// TestFailedItemDoesNotHoldTokenBack: an item of side A whose Get fails
// on every run (one known and changed, one new) does not hold A's token
// back: the next run asks for the newer token. The items are recorded,
// read again by id by the next run and then when their back-off is over
// and not before, nothing is
// deleted meanwhile, and once readable they sync and their rows go.
func TestFailedItemDoesNotHoldTokenBack(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := newDeltaSide("a")
	a.Put("x", card("uid-x", "FN:Xavier", "N:X;Xavier;;;").Encode())
	a.Put("y", card("uid-y", "FN:Yvonne", "N:Y;Yvonne;;;").Encode())
	t0 := time.Unix(1_900_000_000, 0)
	clock := t0
	run := func() *engine.Result {
		t.Helper()
		res, err := engine.New(f.db, nil).Run(ctx, engine.Pair{Name: "p", A: a, B: f.b, Direction: engine.TwoWay, Policy: engine.PolicyMerge},
			engine.Options{Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	run() // first round: both synced, token gen-0
	if got := contents(t, f.b); len(got) != 2 {
		t.Fatalf("after the first run b holds %v", got)
	}
	// x changes and becomes unreadable; n is new and unreadable.
	a.Put("x", card("uid-x", "FN:Xavier Changed", "N:X;Xavier;;;").Encode())
	a.Put("n", card("uid-n", "FN:Nina", "N:N;Nina;;;").Encode())
	a.fail["x"], a.fail["n"] = true, true

	steps := []struct {
		name      string
		at        time.Duration // since t0
		heal      bool          // x and n readable from this step on
		wantToken string        // the token side A is asked for
		wantReads int           // reads of x so far, the first run's included
		wantRows  int           // failed items in state after the run
		wantAtt   int           // attempts of x after the run
		synced    bool          // x's change and n are on b after the run
	}{
		{"fails, recorded, token advances", 0, false, "gen-0", 2, 2, 1, false},
		{"the next run reads it again, fails again", time.Minute, false, "gen-1", 3, 2, 2, false},
		{"not due: not read", 4 * time.Minute, false, "gen-2", 3, 2, 2, false},
		{"due after 5 minutes: read, fails again", 7 * time.Minute, false, "gen-3", 4, 2, 3, false},
		{"not due after the doubled wait", 15 * time.Minute, false, "gen-4", 4, 2, 3, false},
		{"due, readable: synced, rows gone", 18 * time.Minute, true, "gen-5", 5, 0, 0, true},
		{"nothing left to retry", 60 * time.Minute, false, "gen-6", 5, 0, 0, true},
	}
	for _, s := range steps {
		clock = t0.Add(s.at)
		if s.heal {
			a.fail = map[string]bool{}
		}
		run()
		if got := a.lastAsked(); got != s.wantToken {
			t.Errorf("%s: side a was asked for token %q, want %q (the token did not advance)", s.name, got, s.wantToken)
		}
		if got := a.reads("x"); got != s.wantReads {
			t.Errorf("%s: x read %d times, want %d", s.name, got, s.wantReads)
		}
		rows, err := f.db.FailedItems(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != s.wantRows {
			t.Errorf("%s: %d failed items in state, want %d: %+v", s.name, len(rows), s.wantRows, rows)
		}
		for _, r := range rows {
			if r.SideID == "x" && (r.Attempts != s.wantAtt || r.UID != "uid-x" || !strings.Contains(r.Reason, "injected")) {
				t.Errorf("%s: x's row %+v, want %d attempts, uid-x, the reason", s.name, r, s.wantAtt)
			}
		}
		b := contents(t, f.b)
		if _, ok := b["uid-x"]; !ok {
			t.Fatalf("%s: x was deleted from b because it could not be read", s.name)
		}
		xb, _ := f.b.Raw(findID(f.b, "uid-x"))
		_, hasN := b["uid-n"]
		if got := strings.Contains(string(xb), "Xavier Changed") && hasN; got != s.synced {
			t.Errorf("%s: synced = %v, want %v (b: %s)", s.name, got, s.synced, xb)
		}
	}
	converged(t, a.Side, f.b)
}

// failWrites is a memside whose Update fails while fail is set.
type failWrites struct {
	*mem.Side
	fail bool
}

func (s *failWrites) Update(ctx context.Context, ref engine.Ref, c *vcard.Card) (engine.Ref, error) {
	if s.fail {
		return engine.Ref{}, errors.New("injected: write refused")
	}
	return s.Side.Update(ctx, ref, c)
}

// TestFailedWriteDoesNotHoldTokenBack: a change of side A whose write on
// side B fails does not hold A's token back; the change is recorded under
// A's id and applied by a later, due run that reads it again by id.
func TestFailedWriteDoesNotHoldTokenBack(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := newDeltaSide("a")
	b := &failWrites{Side: f.b}
	a.Put("x", card("uid-x", "FN:Xavier", "N:X;Xavier;;;").Encode())
	t0 := time.Unix(1_900_000_000, 0)
	clock := t0
	run := func() *engine.Result {
		t.Helper()
		res, err := engine.New(f.db, nil).Run(ctx, engine.Pair{Name: "p", A: a, B: b, Direction: engine.TwoWay, Policy: engine.PolicyMerge},
			engine.Options{Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	run()
	a.Put("x", card("uid-x", "FN:Xavier Changed", "N:X;Xavier;;;").Encode())
	b.fail = true
	steps := []struct {
		name      string
		at        time.Duration
		fail      bool
		wantToken string
		wantRows  int
		synced    bool
	}{
		{"write fails: recorded, token advances", 0, true, "gen-0", 1, false},
		{"not due", time.Minute, true, "gen-1", 1, false},
		{"due, write works: synced", 6 * time.Minute, false, "gen-2", 0, true},
	}
	for _, s := range steps {
		clock, b.fail = t0.Add(s.at), s.fail
		res := run()
		if got := a.lastAsked(); got != s.wantToken {
			t.Errorf("%s: side a was asked for token %q, want %q (the token did not advance)", s.name, got, s.wantToken)
		}
		rows, err := f.db.FailedItems(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != s.wantRows || (len(rows) == 1 && (rows[0].Side != "a" || rows[0].SideID != "x" || !strings.Contains(rows[0].Reason, "write refused"))) {
			t.Errorf("%s: failed items %+v, want %d (a/x, write refused)", s.name, rows, s.wantRows)
		}
		xb, _ := f.b.Raw(findID(f.b, "uid-x"))
		if got := strings.Contains(string(xb), "Xavier Changed"); got != s.synced {
			t.Errorf("%s: synced = %v, want %v (errors %v)", s.name, got, s.synced, res.Errors)
		}
	}
	converged(t, a.Side, f.b)
}
