package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// ErrLocked is matched (errors.Is) by every *LockedError.
var ErrLocked = errors.New("pair is locked")

// LockedError is what LockPair returns when another live process holds the
// pair; match it with errors.As (or errors.Is(err, ErrLocked)).
type LockedError struct {
	Pair string // the pair asked for
	PID  int    // the holder's process id
	Host string // the holder's host name
	// local is set when Host is this host; the message then omits it.
	local bool
}

// Error reads "pair X is being synced by process N", with " on HOST" added
// only when the holder runs on another host.
func (e *LockedError) Error() string {
	msg := "pair " + e.Pair + " is being synced by process " + strconv.Itoa(e.PID)
	if !e.local && e.Host != "" {
		msg += " on " + e.Host
	}
	return msg
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// heldLock identifies a lock row taken through a DB.
type heldLock struct {
	pair     string
	acquired int64
}

// LockPair takes the lock of pair for this process: a row in the locks table,
// taken in an IMMEDIATE transaction (on PostgreSQL, one holding the writer
// lock: see dialect). When a live process holds it, LockPair
// fails at once with a *LockedError (it never waits for the other sync). A row
// whose process is dead on this host (no such pid, or the host rebooted since
// it was taken) is stale and taken over. The returned
// unlock removes the row; it is idempotent, and Close calls it for the locks
// still held.
//
// The lock is per process: a second LockPair of the same pair from the same
// process (through this or another DB) fails too.
func (db *DB) LockPair(ctx context.Context, pair string) (unlock func() error, err error) {
	if db.readOnly {
		return nil, fmt.Errorf("state: lock pair %s: database is open read-only", pair)
	}
	tx, err := db.sql.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return nil, fmt.Errorf("state: lock pair %s: %w", pair, err)
	}
	defer tx.Rollback()

	var (
		pid      int
		host     string
		boot     string
		acquired int64
	)
	err = tx.QueryRowContext(ctx, `SELECT pid, hostname, boot_id, acquired_at FROM locks WHERE pair = ?`, pair).Scan(&pid, &host, &boot, &acquired)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("state: lock pair %s: %w", pair, err)
	case host != db.host:
		return nil, &LockedError{Pair: pair, PID: pid, Host: host}
	case pid == db.pid && boot == db.boot, boot == db.boot && processAlive(pid):
		return nil, &LockedError{Pair: pair, PID: pid, Host: host, local: true}
	default:
		db.log.Warn("state: taking over stale lock", "pair", pair, "pid", pid, "host", host,
			"acquired", time.Unix(0, acquired).UTC())
		if _, err := tx.ExecContext(ctx, `DELETE FROM locks WHERE pair = ?`, pair); err != nil {
			return nil, fmt.Errorf("state: lock pair %s: remove stale lock: %w", pair, err)
		}
	}
	h := heldLock{pair: pair, acquired: time.Now().UnixNano()}
	if _, err := tx.ExecContext(ctx, `INSERT INTO locks (pair, pid, hostname, boot_id, acquired_at) VALUES (?, ?, ?, ?, ?)`,
		pair, db.pid, db.host, db.boot, h.acquired); err != nil {
		return nil, fmt.Errorf("state: lock pair %s: %w", pair, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("state: lock pair %s: %w", pair, err)
	}
	db.mu.Lock()
	db.held[pair] = h
	db.mu.Unlock()

	var once sync.Once
	return func() error {
		var err error
		once.Do(func() { err = db.unlock(context.Background(), h) })
		return err
	}, nil
}

// unlock removes the lock row h, if it is still ours.
func (db *DB) unlock(ctx context.Context, h heldLock) error {
	db.mu.Lock()
	cur, ok := db.held[h.pair]
	if !ok || cur != h {
		db.mu.Unlock()
		return nil // released already (Close, or an earlier unlock)
	}
	delete(db.held, h.pair)
	db.mu.Unlock()
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM locks WHERE pair = ? AND pid = ? AND hostname = ? AND acquired_at = ?`,
		h.pair, db.pid, db.host, h.acquired); err != nil {
		return fmt.Errorf("state: unlock pair %s: %w", h.pair, err)
	}
	return nil
}
