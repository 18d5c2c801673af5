package state

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// ChangesChannel is the PostgreSQL notification channel on which every
// write of an address book or a card of the built-in server's store is
// announced, its payload "user/book", delivered when the write commits.
const ChangesChannel = "cardbridge_changes"

// notifyBook announces, on PostgreSQL and in tx (so at its commit), that
// book id changed. The writes of a pair run (under a lease: the context of
// AcquireLease) are not announced: as on one process, only a client's
// change makes a pair run.
func (db *DB) notifyBook(ctx context.Context, tx *sqlTx, id int64) error {
	if !db.dialect.postgres || ctx.Value(underLeaseKey{db}) != nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify(?, user_name || '/' || name) FROM addressbooks WHERE id = ?`, ChangesChannel, id); err != nil {
		return fmt.Errorf("notify the change: %w", err)
	}
	return nil
}

// ListenOptions configure ListenChanges.
type ListenOptions struct {
	// OnChange is called with each change announced (user, book).
	// Required; it must not block.
	OnChange func(user, book string)
	// OnListening, when set, is called each time the listening
	// connection is (re)established.
	OnListening func()
	// MaxBackoff bounds the wait between reconnections (default 10 s;
	// the first is 100 ms, doubling).
	MaxBackoff time.Duration
}

// ListenChanges listens on ChangesChannel of a PostgreSQL state until ctx
// ends, calling o.OnChange for each book changed by any process sharing
// the state (this one too). It holds one connection of the handle's pool;
// when the connection drops it connects again, waiting longer after each
// failure. It returns nil when ctx ends, and an error at once on SQLite.
func (db *DB) ListenChanges(ctx context.Context, o ListenOptions) error {
	if !db.dialect.postgres {
		return errors.New("state: change notifications need a PostgreSQL state")
	}
	if o.OnChange == nil {
		return errors.New("state: ListenChanges: no OnChange")
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Second
	}
	const first = 100 * time.Millisecond
	backoff := first
	for {
		listened, err := db.listenOnce(ctx, o)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			backoff = first
		}
		db.log.Warn("state: change notifications interrupted; listening again", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, o.MaxBackoff)
	}
}

// listenOnce listens on one connection until it fails or ctx ends.
func (db *DB) listenOnce(ctx context.Context, o ListenOptions) (listened bool, err error) {
	conn, err := db.sql.DB.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("state: listen: driver connection is a %T, not pgx's", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+ChangesChannel); err != nil {
			return fmt.Errorf("%w: LISTEN: %w", driver.ErrBadConn, err)
		}
		listened = true
		if o.OnListening != nil {
			o.OnListening()
		}
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// Cancelled or dropped, the connection is not reusable
				// (it would still be listening): the pool discards it.
				return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
			}
			if user, book, ok := strings.Cut(n.Payload, "/"); ok {
				o.OnChange(user, book)
			}
		}
	})
	return listened, err
}
