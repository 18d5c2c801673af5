package serve

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
	"golang.org/x/crypto/bcrypt"
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

// davReplica serves the CardDAV server of db (user alice, password "pw",
// book "book") whose changes wake sched, as a replica does.
func davReplica(t *testing.T, db *state.DB, sched *daemon.Scheduler) string {
	t.Helper()
	h, err := server.New(server.Options{Store: db, OnChange: sched.Changed, FailedLoginDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// addAlice adds user alice (password "pw") and her book "book".
func addAlice(t *testing.T, db *state.DB) {
	t.Helper()
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err := db.AddUser(t.Context(), "alice", string(hash)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAddressBook(t.Context(), "alice", "book", "Book", ""); err != nil {
		t.Fatal(err)
	}
}

// putCard PUTs a card of uid into alice's book at base.
func putCard(t *testing.T, base, uid string) {
	t.Helper()
	body := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + uid + "\r\nEND:VCARD\r\n"
	if st := testutil.PutVCard(t, base+"/addressbooks/alice/book/"+uid+".vcf", "alice", "pw", body, ""); st != http.StatusCreated {
		t.Fatalf("PUT %s: status %d", uid, st)
	}
}

// countRuns is a Runner counting its runs; each waits for gate (nil: none).
func countRuns(n *atomic.Int32, started chan<- struct{}, gate <-chan struct{}) daemon.Runner {
	return func(ctx context.Context, pair string) error {
		n.Add(1)
		if started != nil {
			started <- struct{}{}
		}
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
			}
		}
		return nil
	}
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestChangeReachesOtherReplica: a PUT through replica A's server runs
// the pair on replica B, where it is scheduled, through LISTEN/NOTIFY.
func TestChangeReachesOtherReplica(t *testing.T) {
	dbs := openReplicas(t, 2)
	addAlice(t, dbs[0])
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	schedA := daemon.NewScheduler(daemon.SchedulerOptions{Run: countRuns(new(atomic.Int32), nil, nil), Grace: -1})
	var runsB atomic.Int32
	schedB := daemon.NewScheduler(daemon.SchedulerOptions{BookPairs: map[string][]string{"alice/book": {"work"}},
		Run: countRuns(&runsB, nil, nil), Coordinator: NewCoordinator(dbs[1]), Debounce: 50 * time.Millisecond, Grace: -1})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { schedA.Run(ctx) })
	wg.Go(func() { schedB.Run(ctx) })
	ready := make(chan struct{})
	var once sync.Once
	stop := listenChanges(ctx, dbs[1], schedB, slog.New(slog.DiscardHandler), func() { once.Do(func() { close(ready) }) })
	defer stop()
	<-ready
	base := davReplica(t, dbs[0], schedA)
	putCard(t, base, "ann")
	if !waitFor(5*time.Second, func() bool { return runsB.Load() == 1 }) {
		t.Fatalf("replica B ran the pair %d times after a PUT on replica A, want 1", runsB.Load())
	}
	putCard(t, base, "bob")
	if !waitFor(5*time.Second, func() bool { return runsB.Load() == 2 }) {
		t.Fatalf("replica B ran the pair %d times after a second PUT, want 2", runsB.Load())
	}
}

// TestChangeDuringRunRunsAgain: a change on replica A while replica B
// runs the pair is not lost: A finds the lease held and leaves a mark, and
// B runs the pair again at the end of its run.
func TestChangeDuringRunRunsAgain(t *testing.T) {
	dbs := openReplicas(t, 2)
	addAlice(t, dbs[0])
	ctx, cancel := context.WithCancel(t.Context())
	books := map[string][]string{"alice/book": {"work"}}
	var runsA, runsB atomic.Int32
	schedA := daemon.NewScheduler(daemon.SchedulerOptions{BookPairs: books, Run: countRuns(&runsA, nil, nil),
		Coordinator: NewCoordinator(dbs[0]), Debounce: 50 * time.Millisecond, Grace: -1})
	started, gate := make(chan struct{}, 4), make(chan struct{})
	schedB := daemon.NewScheduler(daemon.SchedulerOptions{BookPairs: books, Run: countRuns(&runsB, started, gate),
		Coordinator: NewCoordinator(dbs[1]), Debounce: 50 * time.Millisecond, Grace: -1})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { schedA.Run(ctx) })
	wg.Go(func() { schedB.Run(ctx) })
	base := davReplica(t, dbs[0], schedA)
	schedB.Trigger("work")
	<-started // B runs, holding the lease
	putCard(t, base, "ann")
	time.Sleep(500 * time.Millisecond) // A's debounced run finds the lease held
	close(gate)
	if !waitFor(5*time.Second, func() bool { return runsB.Load() == 2 }) {
		t.Fatalf("replica B ran the pair %d times, want 2 (the change during its run ran it again)", runsB.Load())
	}
	if n := runsA.Load(); n != 0 {
		t.Errorf("replica A ran the pair %d times while B held it", n)
	}
}
