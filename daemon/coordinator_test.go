package daemon

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCoordinator scripts the answers of the replicas' shared state.
type fakeCoordinator struct {
	mu       *sync.Mutex
	held     bool          // another replica holds the lease
	wait     time.Duration // ClaimPeriod's answer
	again    int           // Finish answers again this many times
	marks    int           // Lease calls that asked for a pending mark
	finishes int
}

type fakeLease struct {
	c   *fakeCoordinator
	ctx context.Context
}

func (l fakeLease) Context() context.Context { return l.ctx }
func (l fakeLease) Finish() (bool, error) {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	l.c.finishes++
	if l.c.again > 0 {
		l.c.again--
		return true, nil
	}
	return false, nil
}

func (c *fakeCoordinator) Lease(ctx context.Context, pair string, mark bool) (Lease, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held {
		if mark {
			c.marks++
		}
		return nil, false, nil
	}
	return fakeLease{c, ctx}, true, nil
}

func (c *fakeCoordinator) ClaimPeriod(ctx context.Context, pair string, every time.Duration) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wait, nil
}

// TestCoordinated: with a Coordinator a scheduled pair runs only when it
// holds the lease and claims the period; a change finding the lease held
// leaves a mark and does not run; a Finish that answers again runs the
// pair once more under the same lease.
func TestCoordinated(t *testing.T) {
	cases := []struct {
		name      string
		co        fakeCoordinator
		change    bool
		wantRuns  int32
		wantMarks int
	}{
		{name: "schedule, claimed", co: fakeCoordinator{}, wantRuns: 1},
		{name: "schedule, lease held elsewhere", co: fakeCoordinator{held: true}, wantRuns: 0},
		{name: "schedule, period run elsewhere", co: fakeCoordinator{wait: time.Hour}, wantRuns: 0},
		{name: "schedule, a mark during the run", co: fakeCoordinator{again: 1}, wantRuns: 2},
		{name: "change, lease held elsewhere", co: fakeCoordinator{held: true}, change: true, wantRuns: 0, wantMarks: 1},
		{name: "change, two marks", co: fakeCoordinator{again: 2}, change: true, wantRuns: 3},
	}
	for i := range cases {
		tc := &cases[i]
		tc.co.mu = new(sync.Mutex)
		t.Run(tc.name, func(t *testing.T) {
			var runs atomic.Int32
			every := map[string]time.Duration{}
			if !tc.change {
				every["work"] = time.Hour
			}
			s := NewScheduler(SchedulerOptions{Every: every, BookPairs: map[string][]string{"u/b": {"work"}},
				Run:         func(ctx context.Context, pair string) error { runs.Add(1); return nil },
				Coordinator: &tc.co, Debounce: 10 * time.Millisecond, LeaseRetry: time.Hour, Grace: -1})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Run(ctx); close(done) }()
			if tc.change {
				s.Changed("u", "b")
			}
			time.Sleep(300 * time.Millisecond)
			cancel()
			<-done
			if got := runs.Load(); got != tc.wantRuns {
				t.Errorf("%d runs, want %d", got, tc.wantRuns)
			}
			tc.co.mu.Lock()
			defer tc.co.mu.Unlock()
			if tc.co.marks != tc.wantMarks {
				t.Errorf("%d pending marks, want %d", tc.co.marks, tc.wantMarks)
			}
			if !tc.co.held && tc.co.finishes != int(tc.wantRuns) && !(tc.co.wait > 0 && tc.co.finishes == 1) {
				t.Errorf("%d Finish calls for %d runs: a lease not given back", tc.co.finishes, tc.wantRuns)
			}
		})
	}
}
