package pairs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestMailboxLease: two pairs of one Office 365 mailbox never run on two
// replicas at once: a Runner of another replica waits for the mailbox's
// lease and takes it when the first lets go (or gives up after
// MailboxWait), while two runs of one Runner share it.
func TestMailboxLease(t *testing.T) {
	for _, be := range []struct {
		name string
		loc  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "state.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Database(t) }},
	} {
		loc := be.loc
		t.Run(be.name, func(t *testing.T) {
			ctx := t.Context()
			where := loc(t)
			cfg := &config.Config{
				Accounts: map[string]config.Account{
					"one": {Name: "one", Flow: "client-secret", ClientID: "APP-1", Tenant: "contoso.example", User: "Ann@Contoso.example"},
					"two": {Name: "two", Flow: "client-secret", ClientID: "app-1", Tenant: "contoso.example", User: "ann@contoso.example"},
				},
				Pairs: map[string]config.Pair{
					"p1": {Name: "p1", A: config.Side{Type: config.SideO365, Account: "one"}, B: config.Side{Type: config.SideVdir}},
					"p2": {Name: "p2", A: config.Side{Type: config.SideVdir}, B: config.Side{Type: config.SideO365, Account: "two"}},
				},
			}
			runner := func() *Runner {
				db, err := state.Open(ctx, where, state.Options{LeaseTTL: time.Second})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				r, err := New(Options{DB: db, Config: cfg, MailboxWait: 600 * time.Millisecond, MailboxPoll: 20 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			a, b := runner(), runner()
			k1 := a.mailboxKeys(ctx, cfg, cfg.Pairs["p1"])
			k2 := a.mailboxKeys(ctx, cfg, cfg.Pairs["p2"])
			want := "mailbox/graph.microsoft.com/app-1/ann@contoso.example"
			if len(k1) != 1 || k1[0] != want || len(k2) != 1 || k2[0] != want {
				t.Fatalf("mailbox keys %v and %v, want [%s] (the graph.Limiters key)", k1, k2, want)
			}

			// One replica: both pairs at once, sharing the lease.
			_, release1, err := a.holdMailboxes(ctx, k1)
			if err != nil {
				t.Fatal(err)
			}
			_, release2, err := a.holdMailboxes(ctx, k2)
			if err != nil {
				t.Fatalf("second run of the same replica: %v", err)
			}
			// Another replica waits, then gives up.
			start := time.Now()
			if _, _, err := b.holdMailboxes(ctx, k2); !errors.Is(err, state.ErrLocked) || time.Since(start) < 500*time.Millisecond {
				t.Fatalf("other replica: %v after %v, want ErrLocked after MailboxWait", err, time.Since(start))
			}
			release1()
			if _, _, err := b.holdMailboxes(ctx, k2); !errors.Is(err, state.ErrLocked) {
				t.Fatalf("lease freed while a run of the replica still uses it: %v", err)
			}
			// It takes the mailbox once the last run lets go.
			go func() { time.Sleep(200 * time.Millisecond); release2() }()
			start = time.Now()
			mctx, release, err := b.holdMailboxes(ctx, k2)
			if err != nil {
				t.Fatalf("other replica after the release: %v", err)
			}
			if time.Since(start) < 150*time.Millisecond {
				t.Errorf("taken after %v, before the release", time.Since(start))
			}
			if _, _, err := a.holdMailboxes(ctx, k1); !errors.Is(err, state.ErrLocked) {
				t.Errorf("first replica while the other holds it: %v", err)
			}
			release()
			if mctx.Err() == nil {
				t.Error("context of a released run not ended")
			}
		})
	}
}

// TestRunHoldsPairLease: a run that writes holds its pair's lease: a run
// of the pair through another replica's state is refused, and a run under
// the pair's lease (the scheduler's) is not.
func TestRunHoldsPairLease(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := &config.Config{Pairs: map[string]config.Pair{"p": {Name: "p",
		A: config.Side{Type: config.SideVdir, Path: filepath.Join(dir, "a")},
		B: config.Side{Type: config.SideVdir, Path: filepath.Join(dir, "b")}}}}
	where := filepath.Join(dir, "state.db")
	db, err := state.Open(ctx, where, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := New(Options{DB: db, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, "p", RunOptions{}); err != nil {
		t.Fatalf("run: %v", err)
	}
	l, err := db.AcquireLease(ctx, state.PairLeaseKey("p"), state.LeaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, "p", RunOptions{}); !errors.Is(err, state.ErrLocked) {
		t.Errorf("run while the pair's lease is held elsewhere = %v", err)
	}
	if _, err := r.Run(l.Context(), "p", RunOptions{}); err != nil {
		t.Errorf("run under the pair's lease: %v", err)
	}
	l.Release()
}

// TestMailboxOneReplicaAtATime: two pairs of one Office 365 mailbox run
// by two replicas (two Runners, each with its own Graph limiters, over two
// handles of one state) at once: while the first run's Graph requests
// are held up, the second sends none; it runs once the first is done.
func TestMailboxOneReplicaAtATime(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	f.sim.Seed("", 3, 1)
	o := config.Side{Type: config.SideO365, Account: "work"}
	f.pair("p1", f.vdirSide("a1"), o, "merge")
	f.pair("p2", f.vdirSide("a2"), o, "merge")
	gate := make(chan struct{})
	var mu sync.Mutex
	var held int
	f.graphHook = func(r *http.Request) {
		mu.Lock()
		held++
		mu.Unlock()
		<-gate
	}
	rA := f.runner()
	dbB := openDB(t, f.db.Path())
	rB, err := New(Options{DB: dbB, Config: f.cfg, Env: f.env, MailboxPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	run := func(r *Runner, pair string) {
		res, err := r.Run(ctx, pair, RunOptions{})
		if err == nil && !res.OK() {
			err = fmt.Errorf("%s: %v", pair, res.Errors)
		}
		errs <- err
	}
	go run(rA, "p1")
	waitHeld := func() int {
		mu.Lock()
		defer mu.Unlock()
		return held
	}
	for end := time.Now().Add(5 * time.Second); waitHeld() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the first run sent no Graph request")
		}
	}
	time.Sleep(200 * time.Millisecond) // the first run's parallel requests arrive
	before := waitHeld()
	go run(rB, "p2")
	time.Sleep(500 * time.Millisecond)
	after := waitHeld()
	close(gate)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if after != before {
		t.Errorf("%d Graph requests held up after the second replica's run started, %d before: it did not wait for the mailbox", after, before)
	}
	if n := len(f.vdirFNs(f.vdirSide("a2"))); n != 3 {
		t.Errorf("second pair's vdir has %d cards after its run, want 3", n)
	}
}
