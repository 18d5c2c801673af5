package daemon

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// counter counts runs per pair and the most runs of one pair at once.
type counter struct {
	mu      sync.Mutex
	runs    map[string]int
	running map[string]int
	maxPar  int
}

func newCounter() *counter { return &counter{runs: map[string]int{}, running: map[string]int{}} }

func (c *counter) enter(pair string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running[pair]++
	c.maxPar = max(c.maxPar, c.running[pair])
}

func (c *counter) leave(pair string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running[pair]--
	c.runs[pair]++
}

// run is a Run that only counts the run.
func (c *counter) run(_ context.Context, pair string) error {
	c.enter(pair)
	c.leave(pair)
	return nil
}

func (c *counter) get(pair string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[pair]
}

// start runs s until the returned stop is called; stop waits for Run.
func start(t *testing.T, s *Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("Run did not return after the stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond for up to a second.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, time.Second, what, cond)
}

func TestScheduleRunsAtStartAndThenEvery(t *testing.T) {
	t.Parallel()
	c := newCounter()
	s := NewScheduler(SchedulerOptions{
		Every: map[string]time.Duration{"p": 40 * time.Millisecond, "idle": 0},
		Run:   c.run,
	})
	stop := start(t, s)
	waitFor(t, "the first run", func() bool { return c.get("p") >= 1 })
	time.Sleep(150 * time.Millisecond)
	stop()
	if n := c.get("p"); n < 3 || n > 6 {
		t.Errorf("%d runs in ~150 ms at 40 ms, want about 4", n)
	}
	if n := c.get("idle"); n != 0 {
		t.Errorf("a pair without a schedule ran %d times", n)
	}
	st := s.Status()
	if len(st) != 2 || st[0].Pair != "idle" || st[1].Pair != "p" {
		t.Fatalf("status %+v", st)
	}
	if !st[1].OK || st[1].Runs == 0 || st[1].Next.IsZero() || st[1].EveryText != "40ms" {
		t.Errorf("status of p %+v", st[1])
	}
	if st[0].Runs != 0 || !st[0].Next.IsZero() {
		t.Errorf("status of idle %+v", st[0])
	}
}

func TestChangesAreDebounced(t *testing.T) {
	t.Parallel()
	c := newCounter()
	s := NewScheduler(SchedulerOptions{
		BookPairs: map[string][]string{"alice/contacts": {"p", "q"}, "bob/contacts": {"r"}},
		Debounce:  60 * time.Millisecond,
		Run:       c.run,
	})
	start(t, s)
	for range 10 {
		s.Changed("alice", "contacts")
		time.Sleep(10 * time.Millisecond)
	}
	s.Changed("nobody", "contacts") // no pair: ignored
	waitFor(t, "the runs", func() bool { return c.get("p") == 1 && c.get("q") == 1 })
	time.Sleep(150 * time.Millisecond) // no second run follows
	if p, q, r := c.get("p"), c.get("q"), c.get("r"); p != 1 || q != 1 || r != 0 {
		t.Errorf("runs p=%d q=%d r=%d, want 1 1 0", p, q, r)
	}
}

func TestSteadyChangesStillRun(t *testing.T) {
	t.Parallel()
	c := newCounter()
	s := NewScheduler(SchedulerOptions{
		BookPairs: map[string][]string{"alice/contacts": {"p"}},
		Debounce:  40 * time.Millisecond,
		Run:       c.run,
	})
	start(t, s)
	// Changes every 10 ms for 300 ms never leave a 40 ms gap; the cap
	// (4 × Debounce) still runs the pair.
	for range 30 {
		s.Changed("alice", "contacts")
		time.Sleep(10 * time.Millisecond)
	}
	if n := c.get("p"); n < 1 {
		t.Errorf("a steady stream of changes starved the pair: %d runs", n)
	}
}

func TestNoOverlapAndOneQueuedRun(t *testing.T) {
	t.Parallel()
	c := newCounter()
	release := make(chan struct{})
	var first atomic.Bool
	s := NewScheduler(SchedulerOptions{
		BookPairs: map[string][]string{"alice/contacts": {"p"}},
		Run: func(ctx context.Context, pair string) error {
			c.enter(pair)
			defer c.leave(pair)
			if first.CompareAndSwap(false, true) {
				<-release
			}
			return nil
		},
	})
	start(t, s)
	s.Trigger("p")
	waitFor(t, "the first run", func() bool { return s.Status()[0].Running })
	for range 5 { // triggers during the run queue one more run
		s.Trigger("p")
	}
	close(release)
	waitFor(t, "the queued run", func() bool { return c.get("p") == 2 })
	time.Sleep(50 * time.Millisecond)
	if n := c.get("p"); n != 2 {
		t.Errorf("%d runs, want 2 (the first and one queued)", n)
	}
	if c.maxPar != 1 {
		t.Errorf("the pair ran %d times at once", c.maxPar)
	}
	if s.Trigger("nope") {
		t.Error("Trigger of an unknown pair reported true")
	}
}

func TestFailureIsIsolated(t *testing.T) {
	t.Parallel()
	c := newCounter()
	s := NewScheduler(SchedulerOptions{
		Every: map[string]time.Duration{"bad": 30 * time.Millisecond, "good": 30 * time.Millisecond, "panics": 30 * time.Millisecond},
		Run: func(ctx context.Context, pair string) error {
			c.enter(pair)
			defer c.leave(pair)
			switch pair {
			case "bad":
				return errors.New("boom")
			case "panics":
				panic("oops")
			}
			return nil
		},
	})
	start(t, s)
	waitFor(t, "repeated runs", func() bool { return c.get("bad") >= 2 && c.get("good") >= 2 && c.get("panics") >= 2 })
	for _, st := range s.Status() {
		switch st.Pair {
		case "bad":
			if st.OK || st.Error != "boom" {
				t.Errorf("bad: %+v", st)
			}
		case "panics":
			if st.OK || st.Error != "panic: oops" {
				t.Errorf("panics: %+v", st)
			}
		case "good":
			if !st.OK || st.Error != "" {
				t.Errorf("good: %+v", st)
			}
		}
	}
}

func TestStopWaitsForTheRunningSync(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var finished, cancelled atomic.Bool
	s := NewScheduler(SchedulerOptions{
		Every: map[string]time.Duration{"p": time.Hour},
		Grace: time.Second,
		Run: func(ctx context.Context, pair string) error {
			close(started)
			select {
			case <-time.After(100 * time.Millisecond): // the write in progress
			case <-ctx.Done():
				cancelled.Store(true)
			}
			finished.Store(true)
			return nil
		},
	})
	stop := start(t, s)
	<-started
	stop()
	if !finished.Load() {
		t.Error("Run returned before the running sync finished")
	}
	if cancelled.Load() {
		t.Error("the running sync's context was cancelled within the grace period")
	}
}

func TestGraceOverCancelsTheRun(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var cancelled atomic.Bool
	s := NewScheduler(SchedulerOptions{
		Every: map[string]time.Duration{"p": time.Hour},
		Grace: 50 * time.Millisecond,
		Run: func(ctx context.Context, pair string) error {
			close(started)
			<-ctx.Done() // a long run: stops at its next batch boundary
			cancelled.Store(true)
			return ctx.Err()
		},
	})
	stop := start(t, s)
	<-started
	t0 := time.Now()
	stop()
	if !cancelled.Load() {
		t.Error("Run returned before the running sync finished")
	}
	if d := time.Since(t0); d < 40*time.Millisecond {
		t.Errorf("the run was cancelled after %s, before the grace period", d)
	}
}

func TestFakeClock(t *testing.T) {
	t.Parallel()
	// Now and After drive the schedule: a fake After that fires at once
	// makes the next run due immediately.
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	c := newCounter()
	s := NewScheduler(SchedulerOptions{
		Every: map[string]time.Duration{"p": 15 * time.Minute},
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		},
		After: func(d time.Duration) <-chan time.Time {
			mu.Lock()
			now = now.Add(d)
			t := now
			mu.Unlock()
			ch := make(chan time.Time, 1)
			ch <- t
			return ch
		},
		Run: c.run,
	})
	stop := start(t, s)
	waitFor(t, "three runs", func() bool { return c.get("p") >= 3 })
	stop()
	st := s.Status()[0]
	if st.Next.Sub(st.LastStart) != 15*time.Minute {
		t.Errorf("next %s, last start %s: want 15m apart", st.Next, st.LastStart)
	}
}
