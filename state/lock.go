package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// ErrLocked is matched (errors.Is) by every *LockedError.
var ErrLocked = errors.New("pair is locked")

// LockedError is what LockPair returns when another live process holds the
// pair; match it with errors.As (or errors.Is(err, ErrLocked)).
type LockedError struct {
	Pair string // the pair asked for ("" for a lease that is not a pair's)
	Key  string // the lease's key when it is not a pair's (MailboxLeaseKey)
	PID  int    // the holder's process id
	Host string // the holder's host name
	// local is set when Host is this host; the message then omits it.
	local bool
}

// Error reads "pair X is being synced by process N", with " on HOST" added
// only when the holder runs on another host.
func (e *LockedError) Error() string {
	msg := "pair " + e.Pair + " is being synced by process " + strconv.Itoa(e.PID)
	if e.Pair == "" && e.Key != "" {
		msg = e.Key + " is in use by process " + strconv.Itoa(e.PID)
	}
	if !e.local && e.Host != "" {
		msg += " on " + e.Host
	}
	return msg
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// LockPair takes the lease of pair for this process (PairLeaseKey; see
// AcquireLease): a row in the leases table, renewed every TTL/3 while the
// lock is held. When a live process holds it, LockPair fails at once with a
// *LockedError (it never waits for the other sync). A lease that expired
// (its holder stopped renewing it: killed, or cut off from the database)
// is stale whatever host held it, and so is one of a process of this host
// that is dead (no such pid, or the host rebooted since it was taken): it
// is taken over. The returned unlock frees the lease; it is idempotent, and
// Close calls it for the locks still held.
//
// The lock is per process: a second LockPair of the same pair from the same
// process (through this or another DB) fails too, unless ctx carries the
// pair's lease taken through this DB (the Context of an AcquireLease of
// PairLeaseKey(pair)): then the lock is that lease, and unlock does nothing.
// A caller that must stop when the lease is lost takes it with
// AcquireLease and runs under its Context.
func (db *DB) LockPair(ctx context.Context, pair string) (unlock func() error, err error) {
	if db.readOnly {
		return nil, fmt.Errorf("state: lock pair %s: database is open read-only", pair)
	}
	l, err := db.AcquireLease(ctx, PairLeaseKey(pair), LeaseOptions{})
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, fmt.Errorf("state: lock pair %s: %w", pair, err)
	}
	return l.Release, nil
}
