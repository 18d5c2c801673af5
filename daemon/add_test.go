package daemon

import (
	"testing"
	"time"
)

// TestAddAndRemoveWhileRunning: a scheduler started with no pairs keeps
// running; a pair added later runs at once, then on its schedule, after a
// change of its book and on Trigger; Remove stops it and forgets its book.
func TestAddAndRemoveWhileRunning(t *testing.T) {
	t.Parallel()
	c := newCounter()
	s := NewScheduler(SchedulerOptions{
		Run:      c.run,
		Debounce: 10 * time.Millisecond,
	})
	stop := start(t, s)
	if err := s.Add("web", time.Hour, []string{"alice/work"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("web", time.Hour, nil); err == nil {
		t.Fatal("a pair was added twice")
	}
	waitFor(t, "the added pair's first run", func() bool { return c.get("web") == 1 })
	s.Changed("alice", "work")
	waitFor(t, "the run after a change of its book", func() bool { return c.get("web") == 2 })
	if !s.Trigger("web") {
		t.Fatal("Trigger does not know the added pair")
	}
	waitFor(t, "the triggered run", func() bool { return c.get("web") == 3 })
	if st := s.Status(); len(st) != 1 || st[0].Pair != "web" || st[0].Runs != 3 || st[0].EveryText != "1h0m0s" {
		t.Fatalf("status %+v", st)
	}
	if !s.Remove("web") || s.Remove("web") {
		t.Fatal("Remove: want true once, then false")
	}
	s.Changed("alice", "work")
	if s.Trigger("web") {
		t.Fatal("Trigger still knows a removed pair")
	}
	time.Sleep(50 * time.Millisecond) // 5 debounce periods: a run would have happened
	if n := c.get("web"); n != 3 {
		t.Fatalf("a removed pair ran again: %d runs", n)
	}
	if len(s.Status()) != 0 {
		t.Fatalf("status lists a removed pair: %+v", s.Status())
	}
	stop()
	if err := s.Add("late", 0, nil); err == nil {
		t.Fatal("a pair was added after the stop")
	}
}
