package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DefaultLeaseTTL is how long a lease lasts without a renewal
// (Options.LeaseTTL): a holder killed outright loses its leases at most
// this long after its last renewal. The holder renews every TTL/3.
const DefaultLeaseTTL = 30 * time.Second

// ErrLeaseLost is the cause (context.Cause) of a Lease's context cancelled
// because its renewal failed or found the lease taken by another holder.
var ErrLeaseLost = errors.New("lease lost")

// errLeaseReleased is the cause of a Lease's context cancelled by Release.
var errLeaseReleased = errors.New("lease released")

// PairLeaseKey is the key of the lease a run of pair holds (LockPair).
func PairLeaseKey(pair string) string { return "pair/" + pair }

// MailboxLeaseKey is the key of the lease of one Office 365 mailbox: the
// Graph host, the application (client) id and the mailbox, compared
// without case, as graph.Limiters names a mailbox's in-flight limit.
func MailboxLeaseKey(host, app, mailbox string) string {
	return "mailbox/" + strings.ToLower(strings.TrimSpace(host)) + "/" + strings.ToLower(strings.TrimSpace(app)) + "/" + strings.ToLower(strings.TrimSpace(mailbox))
}

// LeaseOptions tune AcquireLease.
type LeaseOptions struct {
	// MarkPending leaves a pending mark on a lease found held by another
	// process: its holder's Finish then reports that one more run is
	// wanted (a change arrived that the running run may not have seen).
	MarkPending bool
}

// Lease is a lease held through a DB (AcquireLease): a row of the leases
// table (key, holder, expires_at) renewed every TTL/3 until Release. Its
// methods are safe for concurrent use.
type Lease struct {
	db     *DB
	key    string
	holder string // "" for a nested lease (see AcquireLease)
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   chan struct{} // closed by Release: the renewer stops
	done   chan struct{} // closed when the renewer has stopped

	mu    sync.Mutex
	since int64 // database clock of the claim or the last rerun (Finish)
	ended bool
}

// underLeaseKey marks the context of any lease taken through db: the
// work of a pair run (see notifyBook).
type underLeaseKey struct{ db *DB }

// leaseCtxKey is the context key under which a Lease's context carries it.
type leaseCtxKey struct {
	db  *DB
	key string
}

// Key is the lease's key.
func (l *Lease) Key() string { return l.key }

// Context is the context of the work the lease covers: cancelled when the
// lease is lost (context.Cause is then ErrLeaseLost, wrapped), released,
// or when the context given to AcquireLease ends. It carries the lease:
// an AcquireLease (or LockPair) of the same key through the same DB with
// this context is nested in it and succeeds.
func (l *Lease) Context() context.Context { return l.ctx }

// AcquireLease claims the lease key for this process: on PostgreSQL with
// SELECT … FOR UPDATE SKIP LOCKED on its row (outside the writer lock),
// on SQLite in a write transaction. A lease held by a live holder is
// refused at once with a *LockedError; a lease that expired is taken over
// whatever host held it, and so is one whose holder ran on this host and
// is dead (no such process, or the host rebooted since). The lease is
// renewed every TTL/3 until Release; a renewal that fails or finds the
// lease taken cancels Context.
//
// When ctx carries a held lease of key taken through db (it is, or
// derives from, that lease's Context), the lease returned is nested in
// it: nothing is claimed, and its Release and Finish only end its own
// context.
func (db *DB) AcquireLease(ctx context.Context, key string, o LeaseOptions) (*Lease, error) {
	if db.readOnly {
		return nil, fmt.Errorf("state: lease %s: database is open read-only", key)
	}
	if outer, ok := ctx.Value(leaseCtxKey{db, key}).(*Lease); ok && outer.ctx.Err() == nil {
		cctx, cancel := context.WithCancelCause(ctx)
		done := make(chan struct{})
		close(done)
		return &Lease{db: db, key: key, ctx: cctx, cancel: cancel, stop: make(chan struct{}), done: done}, nil
	}
	var b [12]byte
	rand.Read(b[:])
	holder := hex.EncodeToString(b[:])
	since, err := db.claimLease(ctx, key, holder, o.MarkPending)
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, fmt.Errorf("state: lease %s: %w", key, err)
	}
	cctx, cancel := context.WithCancelCause(ctx)
	l := &Lease{db: db, key: key, holder: holder, cancel: cancel, since: since,
		stop: make(chan struct{}), done: make(chan struct{})}
	l.ctx = context.WithValue(context.WithValue(cctx, leaseCtxKey{db, key}, l), underLeaseKey{db}, true)
	db.mu.Lock()
	db.held[holder] = l
	db.mu.Unlock()
	go l.renew()
	return l, nil
}

// nowSQL is the database's clock in unix nanoseconds, as an SQL
// expression: the leases of replicas on several hosts are judged by one
// clock (PostgreSQL's); SQLite's is this host's, to the millisecond.
func (db *DB) nowSQL() string {
	if db.dialect.postgres {
		return `(CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT) * 1000)`
	}
	return `(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) * 1000000)`
}

// leaseTx begins a transaction on the leases table: on PostgreSQL one
// that does not take the writer lock (the row locks of FOR UPDATE keep
// the claims apart; a lease is never read and written with other state),
// on SQLite an IMMEDIATE one.
func (db *DB) leaseTx(ctx context.Context) (*sqlTx, error) {
	if !db.dialect.postgres {
		return db.sql.BeginTx(ctx, nil)
	}
	tx, err := db.sql.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqlTx{Tx: tx, d: db.dialect}, nil
}

// errSkipped is the tryClaim of a row another transaction has locked.
var errSkipped = errors.New("lease row locked by another transaction")

// claimLease claims key for holder and returns the database time of the
// claim. A row that another claim, renewal or release has locked this
// instant is tried again a few milliseconds later (those transactions are
// a statement or two long).
func (db *DB) claimLease(ctx context.Context, key, holder string, mark bool) (int64, error) {
	for attempt := 0; ; attempt++ {
		since, err := db.tryClaim(ctx, key, holder, mark)
		if !errors.Is(err, errSkipped) {
			return since, err
		}
		if attempt == 200 {
			return 0, fmt.Errorf("its row stayed locked by other transactions")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// tryClaim is one attempt of claimLease.
func (db *DB) tryClaim(ctx context.Context, key, holder string, mark bool) (int64, error) {
	q := `SELECT holder, pid, hostname, boot_id, acquired_at, expires_at, ` + db.nowSQL() + ` FROM leases WHERE key = ?`
	if db.dialect.postgres {
		// The row exists before it is locked: FOR UPDATE locks rows, not gaps.
		if _, err := db.sql.DB.ExecContext(ctx, db.dialect.query(`INSERT INTO leases (key) VALUES (?) ON CONFLICT (key) DO NOTHING`), key); err != nil {
			return 0, err
		}
		q += ` FOR UPDATE SKIP LOCKED`
	}
	tx, err := db.leaseTx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var (
		cur                        string
		pid                        int
		host, boot                 string
		acquired, expires, nowNano int64
	)
	err = tx.QueryRowContext(ctx, q, key).Scan(&cur, &pid, &host, &boot, &acquired, &expires, &nowNano)
	switch {
	case errors.Is(err, sql.ErrNoRows) && db.dialect.postgres:
		return 0, errSkipped
	case errors.Is(err, sql.ErrNoRows):
		if err := tx.QueryRowContext(ctx, `SELECT `+db.nowSQL()).Scan(&nowNano); err != nil {
			return 0, err
		}
	case err != nil:
		return 0, err
	case cur == "":
	case expires > nowNano && !db.deadHere(pid, host, boot):
		if mark {
			if _, err := tx.ExecContext(ctx, `UPDATE leases SET pending_at = ? WHERE key = ?`, nowNano, key); err != nil {
				return 0, err
			}
			if err := tx.Commit(); err != nil {
				return 0, err
			}
		}
		return 0, db.lockedError(key, pid, host)
	default:
		why := "its holder is dead"
		if expires <= nowNano {
			why = "it expired"
		}
		db.log.Warn("state: taking over a stale lease", "key", key, "why", why, "pid", pid, "host", host,
			"acquired", time.Unix(0, acquired).UTC(), "expired", time.Unix(0, expires).UTC())
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO leases (key, holder, pid, hostname, boot_id, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, hostname = excluded.hostname,
boot_id = excluded.boot_id, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
		key, holder, db.pid, db.host, db.boot, nowNano, nowNano+int64(db.leaseTTL)); err != nil {
		return 0, err
	}
	return nowNano, tx.Commit()
}

// deadHere reports whether a holder (pid on host, under boot) is a process
// of this host that no longer runs: its lease is stale before it expires.
// A holder on another host is judged by its lease's expiry alone.
func (db *DB) deadHere(pid int, host, boot string) bool {
	if host != db.host {
		return false
	}
	live := boot == db.boot && (pid == db.pid || processAlive(pid))
	return !live
}

// lockedError is the *LockedError of lease key held by pid on host.
func (db *DB) lockedError(key string, pid int, host string) *LockedError {
	e := &LockedError{PID: pid, Host: host, local: host == db.host}
	if p, ok := strings.CutPrefix(key, "pair/"); ok {
		e.Pair = p
	} else {
		e.Key = key
	}
	return e
}

// renew renews the lease every TTL/3 until Release. A renewal that finds
// the lease taken cancels the lease's context at once; one that fails is
// tried again at the next tick while that can still finish before the
// lease expires, and cancels it otherwise.
func (l *Lease) renew() {
	defer close(l.done)
	ttl := l.db.leaseTTL
	every := ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := l.db.renewLease(ctx, l.key, l.holder)
		cancel()
		switch {
		case err == nil:
			lastOK = time.Now()
			continue
		case !errors.Is(err, errTaken) && time.Since(lastOK) < ttl-every:
			l.db.log.Warn("state: renewing a lease failed; trying again", "key", l.key, "err", err)
			continue
		}
		l.db.log.Warn("state: lease lost: stopping the work it covers", "key", l.key, "err", err)
		l.cancel(fmt.Errorf("%w: %s: %w", ErrLeaseLost, l.key, err))
		return
	}
}

// errTaken is a renewal that found the lease held by another holder.
var errTaken = errors.New("taken over by another holder (it had expired)")

// renewLease moves the expiry of key, held by holder, TTL ahead.
func (db *DB) renewLease(ctx context.Context, key, holder string) error {
	q := db.dialect.query(`UPDATE leases SET expires_at = ` + db.nowSQL() + ` + ? WHERE key = ? AND holder = ?`)
	res, err := db.sql.DB.ExecContext(ctx, q, int64(db.leaseTTL), key, holder)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errTaken
	}
	return nil
}

// Release frees the lease and cancels its context. It is idempotent;
// Close calls it for the leases still held.
func (l *Lease) Release() error {
	if !l.end() {
		return nil
	}
	if l.holder == "" {
		return nil
	}
	q := l.db.dialect.query(`UPDATE leases SET holder = '', expires_at = 0 WHERE key = ? AND holder = ?`)
	if _, err := l.db.sql.DB.ExecContext(context.Background(), q, l.key, l.holder); err != nil {
		return fmt.Errorf("state: release lease %s: %w", l.key, err)
	}
	return nil
}

// end stops the renewal and the context, once; it reports whether this
// call did it.
func (l *Lease) end() bool {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return false
	}
	l.ended = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.cancel(errLeaseReleased)
	l.db.mu.Lock()
	delete(l.db.held, l.holder)
	l.db.mu.Unlock()
	return true
}

// Finish ends a run under the lease: when another process left a pending
// mark (LeaseOptions.MarkPending) since the lease was claimed or since the
// last Finish that answered again, it keeps the lease and reports again
// (the caller runs once more and calls Finish again); otherwise it
// releases the lease. The check and the release are one transaction, so
// a mark is either seen here or left for the next holder to ignore only
// after this one let go. A lost lease is released without a check.
func (l *Lease) Finish() (again bool, err error) {
	if l.holder == "" || l.ctx.Err() != nil {
		return false, l.Release()
	}
	ctx := context.Background()
	tx, err := l.db.leaseTx(ctx)
	if err != nil {
		return false, fmt.Errorf("state: finish lease %s: %w", l.key, err)
	}
	defer tx.Rollback()
	q := `SELECT pending_at, ` + l.db.nowSQL() + ` FROM leases WHERE key = ? AND holder = ?`
	if l.db.dialect.postgres {
		q += ` FOR UPDATE`
	}
	var pending, nowNano int64
	err = tx.QueryRowContext(ctx, q, l.key, l.holder).Scan(&pending, &nowNano)
	if errors.Is(err, sql.ErrNoRows) {
		l.end()
		return false, nil // taken over meanwhile: nothing of ours to free
	}
	if err != nil {
		return false, fmt.Errorf("state: finish lease %s: %w", l.key, err)
	}
	l.mu.Lock()
	since := l.since
	if pending > since {
		l.since = nowNano
	}
	l.mu.Unlock()
	if pending > since {
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE leases SET holder = '', expires_at = 0 WHERE key = ? AND holder = ?`, l.key, l.holder); err != nil {
		return false, fmt.Errorf("state: finish lease %s: %w", l.key, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("state: finish lease %s: %w", l.key, err)
	}
	l.end()
	return false, nil
}

// Postgres reports whether the state is a PostgreSQL database, which
// several replicas of serve may share.
func (db *DB) Postgres() bool { return db.dialect.postgres }
