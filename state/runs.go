package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Run records one sync of a pair.
type Run struct {
	ID       int64
	Pair     string
	Started  time.Time
	Finished time.Time // zero while it runs (or when it died)
	OK       bool
	Summary  []byte // JSON, the `sync --json` object of the run
}

// AddRun stores r and sets r.ID (and r.Started when it is zero).
func (db *DB) AddRun(ctx context.Context, r *Run) error {
	if r.Started.IsZero() {
		r.Started = now()
	}
	err := db.sql.QueryRowContext(ctx, `INSERT INTO runs (pair, started_at, finished_at, ok, summary)
VALUES (?, ?, ?, ?, ?) RETURNING id`, r.Pair, r.Started.UnixNano(), nanos(r.Finished), r.OK, string(r.Summary)).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("state: add run of %s: %w", r.Pair, err)
	}
	return nil
}

// LastRun returns the run of pair that started last; false when it has none.
func (db *DB) LastRun(ctx context.Context, pair string) (Run, bool, error) {
	return db.oneRun(ctx, "last run of "+pair, `SELECT id, started_at, finished_at, ok, summary FROM runs
WHERE pair = ? ORDER BY started_at DESC, id DESC LIMIT 1`, pair)
}

// FirstRun returns the first run of pair that finished (its first import,
// whether it succeeded or not); false when none has.
func (db *DB) FirstRun(ctx context.Context, pair string) (Run, bool, error) {
	return db.oneRun(ctx, "first run of "+pair, `SELECT id, started_at, finished_at, ok, summary FROM runs
WHERE pair = ? AND finished_at IS NOT NULL ORDER BY started_at, id LIMIT 1`, pair)
}

// oneRun reads the run q selects; false when there is none.
func (db *DB) oneRun(ctx context.Context, op, q, pair string) (Run, bool, error) {
	r := Run{Pair: pair}
	var started int64
	var finished sql.NullInt64
	var summary string
	err := db.sql.QueryRowContext(ctx, q, pair).Scan(&r.ID, &started, &finished, &r.OK, &summary)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("state: %s: %w", op, err)
	}
	r.Started = time.Unix(0, started).UTC()
	r.Finished = fromNanos(finished)
	if summary != "" {
		r.Summary = []byte(summary)
	}
	return r, true, nil
}
