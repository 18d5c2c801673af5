package serve

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// runLog records the runs of a pair across replicas.
type runLog struct {
	mu      sync.Mutex
	starts  []time.Time
	running atomic.Int32
	overlap atomic.Int32
}

// run is a Runner taking d, that notes its start and any overlap.
func (l *runLog) run(d time.Duration) daemon.Runner {
	return func(ctx context.Context, pair string) error {
		if l.running.Add(1) > 1 {
			l.overlap.Add(1)
		}
		defer l.running.Add(-1)
		l.mu.Lock()
		l.starts = append(l.starts, time.Now())
		l.mu.Unlock()
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		return nil
	}
}

// openReplicas opens n handles on one new PostgreSQL state, each seen as
// a replica on a host of its own.
func openReplicas(t *testing.T, n int) []*state.DB {
	t.Helper()
	url := pgtest.Database(t)
	var dbs []*state.DB
	for range n {
		db, err := state.Open(t.Context(), url, state.Options{LeaseTTL: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	return dbs
}

// TestSchedulesOncePerPeriod: three schedulers over three handles of one
// PostgreSQL state run a scheduled pair once per period between them,
// never two runs at once.
func TestSchedulesOncePerPeriod(t *testing.T) {
	dbs := openReplicas(t, 3)
	const every = 600 * time.Millisecond
	var log runLog
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	start := time.Now()
	for _, db := range dbs {
		s := daemon.NewScheduler(daemon.SchedulerOptions{Every: map[string]time.Duration{"work": every},
			Run: log.run(100 * time.Millisecond), Coordinator: NewCoordinator(db), LeaseRetry: 50 * time.Millisecond, Grace: -1})
		wg.Go(func() { s.Run(ctx) })
	}
	time.Sleep(5*every + every/2) // periods at 0, 1, 2, 3, 4, 5 × every
	cancel()
	wg.Wait()
	elapsed := time.Since(start)

	log.mu.Lock()
	defer log.mu.Unlock()
	sort.Slice(log.starts, func(i, j int) bool { return log.starts[i].Before(log.starts[j]) })
	periods := int(elapsed/every) + 1
	if n := len(log.starts); n < periods-1 || n > periods {
		t.Errorf("%d runs in %v of periods of %v, want %d (one per period)", n, elapsed, every, periods)
	}
	for i := 1; i < len(log.starts); i++ {
		if gap := log.starts[i].Sub(log.starts[i-1]); gap < every*9/10 {
			t.Errorf("runs %d and %d %v apart: two runs in one period", i-1, i, gap)
		}
	}
	if log.overlap.Load() > 0 {
		t.Errorf("%d runs overlapped another", log.overlap.Load())
	}
}
