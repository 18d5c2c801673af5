//go:build unix

package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// openLeased opens a handle on loc with a short lease TTL, seen as running
// on host (the replicas of a test share this machine).
func openLeased(t *testing.T, be backend, loc, host string, ttl time.Duration) *DB {
	t.Helper()
	db := be.openAt(t, loc, Options{LeaseTTL: ttl})
	db.host = host
	return db
}

// TestLeaseKilledOtherHost: a holder on another host killed with kill -9
// keeps its pair until its lease expires (its pid means nothing here),
// then the pair is taken over.
func TestLeaseKilledOtherHost(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		loc := be.location(t)
		const ttl = 1500 * time.Millisecond
		db := openLeased(t, be, loc, "replica-a", ttl)
		cmd, _ := startHolder(t, loc, "CARDBRIDGE_STATE_HELPER_HOST=replica-b", "CARDBRIDGE_STATE_HELPER_TTL="+ttl.String())
		// Renewed: still held after more than a TTL.
		time.Sleep(ttl + ttl/2)
		_, err := db.LockPair(ctx, "work")
		want := fmt.Sprintf("pair work is being synced by process %d on replica-b", cmd.Process.Pid)
		if err == nil || err.Error() != want {
			t.Fatalf("LockPair of a renewed lease = %v, want %q", err, want)
		}
		killed := time.Now()
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		var unlock func() error
		for {
			unlock, err = db.LockPair(ctx, "work")
			if err == nil {
				break
			}
			if !errors.Is(err, ErrLocked) {
				t.Fatal(err)
			}
			if time.Since(killed) > 2*ttl {
				t.Fatalf("lease of a killed holder not taken over %v after the kill: %v", time.Since(killed), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		took := time.Since(killed)
		t.Logf("lease of TTL %v taken over %v after kill -9", ttl, took)
		if took > ttl+200*time.Millisecond {
			t.Errorf("taken over %v after the kill, TTL %v", took, ttl)
		}
		unlock()
	})
}

// TestLeaseExpiredAnyHost: an expired lease is stale whatever the host; a
// live one of another host is not.
func TestLeaseExpiredAnyHost(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		for _, c := range []struct {
			expires time.Time
			free    bool
		}{{time.Now().Add(time.Hour), false}, {time.Now().Add(-time.Second), true}} {
			if _, err := db.sql.ExecContext(ctx, `DELETE FROM leases`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.sql.ExecContext(ctx, `INSERT INTO leases (key, holder, pid, hostname, acquired_at, expires_at) VALUES ('pair/work', 'h', 1, 'elsewhere.example', 0, ?)`,
				c.expires.UnixNano()); err != nil {
				t.Fatal(err)
			}
			unlock, err := db.LockPair(ctx, "work")
			if got := err == nil; got != c.free {
				t.Errorf("lease of another host expiring %v: LockPair = %v, want free %v", c.expires, err, c.free)
			}
			if unlock != nil {
				unlock()
			}
		}
	})
}

// TestLeaseLost: a renewal that finds the lease taken cancels the lease's
// context, with ErrLeaseLost as the cause.
func TestLeaseLost(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		loc := be.location(t)
		db := openLeased(t, be, loc, "replica-a", 300*time.Millisecond)
		l, err := db.AcquireLease(ctx, PairLeaseKey("work"), LeaseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		select {
		case <-l.Context().Done():
			t.Fatal("lease context ended while renewed")
		case <-time.After(500 * time.Millisecond):
		}
		// Another replica took it over (as after an expiry).
		if _, err := db.sql.ExecContext(ctx, `UPDATE leases SET holder = 'someone-else' WHERE key = 'pair/work'`); err != nil {
			t.Fatal(err)
		}
		select {
		case <-l.Context().Done():
			if cause := context.Cause(l.Context()); !errors.Is(cause, ErrLeaseLost) {
				t.Errorf("cause %v, want ErrLeaseLost", cause)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("lease context not cancelled after the lease was taken")
		}
		// The late release does not free the new holder's lease.
		if err := l.Release(); err != nil {
			t.Fatal(err)
		}
		var holder string
		db.sql.QueryRowContext(ctx, `SELECT holder FROM leases WHERE key = 'pair/work'`).Scan(&holder)
		if holder != "someone-else" {
			t.Errorf("holder %q after the lost lease's release", holder)
		}
	})
}

// TestLeaseNested: under a lease's context, LockPair and AcquireLease of
// the same key through the same DB are that lease (the engine's lock
// inside a run that holds the lease); through another DB they are not.
func TestLeaseNested(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		db, loc := be.openTest(t)
		db2 := be.openSecond(t, loc)
		l, err := db.AcquireLease(context.Background(), PairLeaseKey("work"), LeaseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := l.Context()
		unlock, err := db.LockPair(ctx, "work")
		if err != nil {
			t.Fatalf("nested LockPair: %v", err)
		}
		if err := unlock(); err != nil {
			t.Fatal(err)
		}
		if _, err := db2.LockPair(ctx, "work"); !errors.Is(err, ErrLocked) {
			t.Errorf("LockPair through another DB = %v, want ErrLocked (the nested unlock must not free it)", err)
		}
		if _, err := db.LockPair(context.Background(), "work"); !errors.Is(err, ErrLocked) {
			t.Errorf("LockPair without the lease's context = %v", err)
		}
		l.Release()
		if u, err := db2.LockPair(context.Background(), "work"); err != nil {
			t.Errorf("after release: %v", err)
		} else {
			u()
		}
	})
}

// TestLeasePending: a process that finds the lease held leaves a mark;
// the holder's Finish then asks for one more run, once.
func TestLeasePending(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, loc := be.openTest(t)
		db2 := openLeased(t, be, loc, "replica-b", DefaultLeaseTTL)
		l, err := db.AcquireLease(ctx, PairLeaseKey("work"), LeaseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if again, err := l.Finish(); err != nil || again {
			t.Fatalf("Finish without a mark = %v, %v", again, err)
		}
		l, err = db.AcquireLease(ctx, PairLeaseKey("work"), LeaseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if _, err := db2.AcquireLease(ctx, PairLeaseKey("work"), LeaseOptions{MarkPending: true}); !errors.Is(err, ErrLocked) {
			t.Fatalf("second AcquireLease = %v", err)
		}
		again, err := l.Finish()
		if err != nil || !again {
			t.Fatalf("Finish after a mark = %v, %v; want again", again, err)
		}
		if _, err := db2.AcquireLease(ctx, PairLeaseKey("work"), LeaseOptions{}); !errors.Is(err, ErrLocked) {
			t.Fatalf("lease freed by a Finish that asked for another run: %v", err)
		}
		if again, err := l.Finish(); err != nil || again {
			t.Fatalf("second Finish = %v, %v", again, err)
		}
		l2, err := db2.AcquireLease(ctx, PairLeaseKey("work"), LeaseOptions{})
		if err != nil {
			t.Fatalf("after Finish: %v", err)
		}
		l2.Release()
	})
}

// TestLeaseRace: many claims of one lease at once from three handles:
// exactly one wins; a mailbox lease is refused with its own message.
func TestLeaseRace(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, loc := be.openTest(t)
		dbs := []*DB{db, openLeased(t, be, loc, "replica-b", DefaultLeaseTTL), openLeased(t, be, loc, "replica-c", DefaultLeaseTTL)}
		key := MailboxLeaseKey("Graph.Microsoft.com", "APP", "Ann@Example.com")
		if key != "mailbox/graph.microsoft.com/app/ann@example.com" {
			t.Errorf("key %q", key)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 30)
		for i := range 30 {
			wg.Go(func() {
				_, err := dbs[i%3].AcquireLease(ctx, key, LeaseOptions{})
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, ErrLocked):
					if !strings.HasPrefix(err.Error(), key+" is in use by process ") {
						errs <- fmt.Errorf("message %q", err)
					}
				default:
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if won.Load() != 1 {
			t.Errorf("%d claims won, want 1", won.Load())
		}
	})
}

// TestClaimPeriod: of many replicas claiming a pair's period at once,
// one wins; the others are told when the next is due.
func TestClaimPeriod(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, loc := be.openTest(t)
		dbs := []*DB{db, be.openSecond(t, loc), be.openSecond(t, loc)}
		const every = 400 * time.Millisecond
		for period := range 3 {
			var won atomic.Int32
			var wg sync.WaitGroup
			for i := range 12 {
				wg.Go(func() {
					wait, err := dbs[i%3].ClaimPeriod(ctx, "work", every)
					switch {
					case err != nil:
						t.Error(err)
					case wait == 0:
						won.Add(1)
					case wait > every:
						t.Errorf("wait %v beyond the period %v", wait, every)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 {
				t.Errorf("period %d: %d claims won, want 1", period, won.Load())
			}
			time.Sleep(every + 20*time.Millisecond)
		}
		if _, err := db.ClaimPeriod(ctx, "work", 0); err == nil {
			t.Error("a zero period claimed")
		}
	})
}

// TestLeaseRenewalFails: a holder cut off from the database stops its
// work before its lease can expire and be taken by another.
func TestLeaseRenewalFails(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		const ttl = 600 * time.Millisecond
		db := openLeased(t, be, be.location(t), "replica-a", ttl)
		l, err := db.AcquireLease(context.Background(), PairLeaseKey("work"), LeaseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cut := time.Now()
		db.sql.DB.Close() // the database goes away
		select {
		case <-l.Context().Done():
			if took := time.Since(cut); took >= ttl {
				t.Errorf("cancelled %v after the cut, not before the TTL %v", took, ttl)
			}
			if !errors.Is(context.Cause(l.Context()), ErrLeaseLost) {
				t.Errorf("cause %v", context.Cause(l.Context()))
			}
		case <-time.After(3 * time.Second):
			t.Fatal("work not stopped after the database went away")
		}
	})
}
