package daemon

import (
	"context"
	"testing"
)

// TestProgressWhileRunning: Progress shows in Status while the pair runs,
// and is gone once the run ends; a report for an idle or unknown pair is
// ignored.
func TestProgressWhileRunning(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var s *Scheduler
	s = NewScheduler(SchedulerOptions{
		BookPairs: map[string][]string{"alice/contacts": {"p"}},
		Run: func(ctx context.Context, pair string) error {
			s.Progress(pair, 120, 300)
			<-release
			return nil
		},
	})
	s.Progress("p", 1, 2) // idle: ignored
	s.Progress("nope", 1, 2)
	if st := s.Status()[0]; st.Done != 0 || st.Total != 0 {
		t.Fatalf("idle pair has progress %d/%d", st.Done, st.Total)
	}
	start(t, s)
	s.Trigger("p")
	waitFor(t, "the progress", func() bool { st := s.Status()[0]; return st.Running && st.Done == 120 && st.Total == 300 })
	close(release)
	waitFor(t, "the end of the run", func() bool { st := s.Status()[0]; return !st.Running && st.Runs == 1 })
	if st := s.Status()[0]; st.Done != 0 || st.Total != 0 {
		t.Errorf("after the run: progress %d/%d", st.Done, st.Total)
	}
}
