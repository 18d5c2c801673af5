package state

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ClaimPeriod claims the period of pair's schedule (every) that is due now,
// for the replicas of serve sharing this state: the pair's next due time
// lives in the pair_schedules table, and the one UPDATE … WHERE next_due
// <= now that moves it every ahead wins the period (on PostgreSQL
// concurrent updates of the row wait for each other and re-check the
// condition; on SQLite writes are serialised). It returns 0 when this
// call claimed the period (the caller runs the pair), otherwise how long
// until the next period is due. A pair claimed for the first time is due
// at once. Times are the database's clock.
func (db *DB) ClaimPeriod(ctx context.Context, pair string, every time.Duration) (time.Duration, error) {
	if every <= 0 {
		return 0, fmt.Errorf("state: claim a period of pair %s: every %v is not positive", pair, every)
	}
	exec := db.sql.ExecContext
	if db.dialect.postgres {
		// Outside the writer lock: the row's lock is enough.
		exec = func(ctx context.Context, q string, args ...any) (sql.Result, error) {
			return db.sql.DB.ExecContext(ctx, db.dialect.query(q), args...)
		}
	}
	if _, err := exec(ctx, `INSERT INTO pair_schedules (pair, next_due) VALUES (?, 0) ON CONFLICT (pair) DO NOTHING`, pair); err != nil {
		return 0, fmt.Errorf("state: claim a period of pair %s: %w", pair, err)
	}
	res, err := exec(ctx, `UPDATE pair_schedules SET next_due = `+db.nowSQL()+` + ? WHERE pair = ? AND next_due <= `+db.nowSQL(), int64(every), pair)
	if err != nil {
		return 0, fmt.Errorf("state: claim a period of pair %s: %w", pair, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("state: claim a period of pair %s: %w", pair, err)
	} else if n == 1 {
		return 0, nil
	}
	var wait int64
	if err := db.sql.QueryRowContext(ctx, `SELECT next_due - `+db.nowSQL()+` FROM pair_schedules WHERE pair = ?`, pair).Scan(&wait); err != nil {
		return 0, fmt.Errorf("state: claim a period of pair %s: %w", pair, err)
	}
	return max(time.Duration(wait), time.Millisecond), nil
}
