package daemon

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// manualClock is a clock the test moves: After's channels fire when
// Advance passes their time.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []manualTimer
}

type manualTimer struct {
	at time.Time
	ch chan time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, manualTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires the timers now due.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- c.now
	}
	c.timers = kept
}

// pending is how many timers wait.
func (c *manualClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Housekeeping (serve's trash purge) runs at the start and then once a
// day by the scheduler's clock; a failure does not stop it.
func TestHousekeepingDaily(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)
	clock := &manualClock{now: t0}
	var mu sync.Mutex
	var calls []time.Time
	s := NewScheduler(SchedulerOptions{
		Every: map[string]time.Duration{}, Run: func(context.Context, string) error { return nil },
		Now: clock.Now, After: clock.After,
		Housekeeping: func(ctx context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, clock.Now())
			if len(calls) == 2 {
				return errors.New("disk full")
			}
			return nil
		},
	})
	n := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(calls)
	}
	start(t, s)
	waitFor(t, "housekeeping at the start", func() bool { return n() == 1 && clock.pending() == 1 })
	clock.Advance(23 * time.Hour)
	if n() != 1 || clock.pending() != 1 {
		t.Fatalf("after 23 h: %d housekeeping runs, %d timers; want 1 and the daily one waiting", n(), clock.pending())
	}
	clock.Advance(time.Hour)
	waitFor(t, "housekeeping a day later", func() bool { return n() == 2 && clock.pending() == 1 })
	clock.Advance(24 * time.Hour) // the failure of the 2nd did not stop it
	waitFor(t, "housekeeping two days later", func() bool { return n() == 3 })
	mu.Lock()
	defer mu.Unlock()
	for i, at := range calls {
		if want := t0.Add(time.Duration(i) * 24 * time.Hour); !at.Equal(want) {
			t.Errorf("housekeeping %d at %v, want %v", i, at, want)
		}
	}
}
