package state

import (
	"context"
	"fmt"
	"time"
)

// FailedItem is an item a run could not read or apply on one side of a
// pair. The side's change token advances past it; later runs read it again
// by id from NextRetry on, until it syncs.
type FailedItem struct {
	Pair string
	// Side is "a" or "b"; SideID the item's id on that side.
	Side, SideID string
	// UID is the contact's UID when known, else "".
	UID string
	// Reason is the last failure's error text.
	Reason string
	// Attempts counts the runs that failed on the item.
	Attempts int
	// FirstFailed and LastFailed are the first and the last failure.
	FirstFailed, LastFailed time.Time
	// NextRetry is when a run reads the item again.
	NextRetry time.Time
}

// Failure is one failure a run records with RecordFailure.
type Failure struct {
	Side, SideID, UID, Reason string
}

// Back-off of the retries of a failed item: after its first failure an
// item is read again by the very next run (a full disk freed, a transient
// fault gone: the pair converges at once); after the second the wait is
// retryBase, and each further failure doubles it, up to retryMax.
const (
	retryBase = 5 * time.Minute
	retryMax  = 24 * time.Hour
)

// RetryDelay is how long after its n-th failed attempt (n >= 1) an item is
// read again: 0 after the first (the next run), then 5 minutes, doubled per
// further attempt, at most a day.
func RetryDelay(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := retryBase
	for i := 2; i < n && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// FailedItems returns the failed items of pair, by side and id.
func (db *DB) FailedItems(ctx context.Context, pair string) ([]FailedItem, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT side, side_id, uid, reason, attempts, first_failed_at, last_failed_at, next_retry_at
FROM failed_items WHERE pair = ? ORDER BY side, side_id`, pair)
	if err != nil {
		return nil, fmt.Errorf("state: failed items of %s: %w", pair, err)
	}
	defer rows.Close()
	var out []FailedItem
	for rows.Next() {
		f := FailedItem{Pair: pair}
		var first, last, next int64
		if err := rows.Scan(&f.Side, &f.SideID, &f.UID, &f.Reason, &f.Attempts, &first, &last, &next); err != nil {
			return nil, fmt.Errorf("state: failed items of %s: %w", pair, err)
		}
		f.FirstFailed, f.LastFailed, f.NextRetry = time.Unix(0, first), time.Unix(0, last), time.Unix(0, next)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: failed items of %s: %w", pair, err)
	}
	return out, nil
}

// RecordFailure records that the run at time at failed on f: a new row
// with one attempt, or one more attempt of a known row; the next retry is
// RetryDelay(attempts) after at. It is done in the transaction that saves
// the side's token, so a token never goes past a failure left unrecorded.
func (tx *Tx) RecordFailure(pair string, f Failure, at time.Time) error {
	if err := tx.check("record failed item"); err != nil {
		return err
	}
	if err := checkSide(f.Side); err != nil {
		return fmt.Errorf("state: record failed item %s of %s: %w", f.SideID, pair, err)
	}
	if f.SideID == "" {
		return fmt.Errorf("state: record failed item of %s/%s: empty id", pair, f.Side)
	}
	var attempts int
	err := tx.sql.QueryRowContext(tx.ctx, `SELECT COALESCE((SELECT attempts FROM failed_items WHERE pair = ? AND side = ? AND side_id = ?), 0)`,
		pair, f.Side, f.SideID).Scan(&attempts)
	if err != nil {
		return fmt.Errorf("state: record failed item %s of %s/%s: %w", f.SideID, pair, f.Side, err)
	}
	attempts++
	next := at.Add(RetryDelay(attempts))
	_, err = tx.sql.ExecContext(tx.ctx, `INSERT INTO failed_items (pair, side, side_id, uid, reason, attempts, first_failed_at, last_failed_at, next_retry_at)
VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)
ON CONFLICT (pair, side, side_id) DO UPDATE SET uid = CASE WHEN excluded.uid != '' THEN excluded.uid ELSE failed_items.uid END,
 reason = excluded.reason, attempts = failed_items.attempts + 1, last_failed_at = excluded.last_failed_at, next_retry_at = ?`,
		pair, f.Side, f.SideID, f.UID, f.Reason, at.UnixNano(), at.UnixNano(), next.UnixNano(), next.UnixNano())
	if err != nil {
		return fmt.Errorf("state: record failed item %s of %s/%s: %w", f.SideID, pair, f.Side, err)
	}
	return nil
}

// ClearFailure forgets the failed item side/id of pair (it synced).
// Clearing an item that is not recorded is not an error.
func (tx *Tx) ClearFailure(pair, side, id string) error {
	if err := tx.check("clear failed item"); err != nil {
		return err
	}
	if _, err := tx.sql.ExecContext(tx.ctx, `DELETE FROM failed_items WHERE pair = ? AND side = ? AND side_id = ?`, pair, side, id); err != nil {
		return fmt.Errorf("state: clear failed item %s of %s/%s: %w", id, pair, side, err)
	}
	return nil
}
