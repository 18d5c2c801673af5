package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Conflict is an item left untouched under the manual policy (one open
// conflict per item), and the user's resolution of it.
type Conflict struct {
	ID     int64
	Pair   string
	ItemID int64 // the item; 0 for a clash between two new items not linked yet
	UID    string

	A, B, Base []byte // the two versions and the base at the time
	Created    time.Time

	Keep     string    // "" while open; "a", "b" or "merged" once resolved
	Merged   []byte    // the resolution's card when Keep is set
	Resolved time.Time // when the resolution was applied by a sync (zero until then)
}

// UpsertConflict records c as the open conflict of its item: the item's open
// conflict (Keep "") is updated when there is one, else c is inserted. It sets
// c.ID (and c.Created when it is zero). A conflict without an item (ItemID 0)
// is matched by (pair, UID) instead.
func (db *DB) UpsertConflict(ctx context.Context, c *Conflict) error {
	return db.update(ctx, "upsert conflict", func(tx *Tx) error { return tx.UpsertConflict(c) }, asIs)
}

const conflictColumns = `id, pair, item_id, uid, a, b, base, created_at, keep, merged, resolved_at`

// scanConflict reads the conflictColumns of one row.
func scanConflict(s interface{ Scan(...any) error }) (Conflict, error) {
	var c Conflict
	var item, resolved sql.NullInt64
	var created int64
	err := s.Scan(&c.ID, &c.Pair, &item, &c.UID, &c.A, &c.B, &c.Base, &created, &c.Keep, &c.Merged, &resolved)
	c.ItemID = item.Int64
	c.Created = time.Unix(0, created).UTC()
	c.Resolved = fromNanos(resolved)
	return c, err
}

// queryConflicts runs a query over conflictColumns.
func (db *DB) queryConflicts(ctx context.Context, q string, args ...any) ([]Conflict, error) {
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Conflict
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Conflicts returns the conflicts of pair ("" for all pairs), oldest first;
// only the open ones (Keep "") when openOnly.
func (db *DB) Conflicts(ctx context.Context, pair string, openOnly bool) ([]Conflict, error) {
	q := `SELECT ` + conflictColumns + ` FROM conflicts WHERE (? = '' OR pair = ?)`
	if openOnly {
		q += ` AND keep = ''`
	}
	out, err := db.queryConflicts(ctx, q+` ORDER BY id`, pair, pair)
	if err != nil {
		return nil, fmt.Errorf("state: conflicts: %w", err)
	}
	return out, nil
}

// GetConflict returns one conflict; ErrNotFound (wrapped) when there is none.
func (db *DB) GetConflict(ctx context.Context, id int64) (Conflict, error) {
	c, err := scanConflict(db.sql.QueryRowContext(ctx, `SELECT `+conflictColumns+` FROM conflicts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Conflict{}, fmt.Errorf("state: get conflict %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Conflict{}, fmt.Errorf("state: get conflict %d: %w", id, err)
	}
	return c, nil
}

// ErrConflictApplied is wrapped by ResolveConflict for a conflict whose
// resolution a sync has applied already.
var ErrConflictApplied = errors.New("resolution already applied")

// ResolveConflict records the user's choice for conflict id: keep "a" or "b"
// (merged may then be nil: that version is recorded), or "merged" with the
// merged card. The next sync of the pair applies it (PendingResolutions). A
// choice not yet applied may be changed.
func (db *DB) ResolveConflict(ctx context.Context, id int64, keep string, merged []byte) error {
	switch keep {
	case "a", "b":
	case "merged":
		if len(merged) == 0 {
			return fmt.Errorf("state: resolve conflict %d: keep \"merged\" needs the merged card", id)
		}
	default:
		return fmt.Errorf("state: resolve conflict %d: keep %q is not \"a\", \"b\" or \"merged\"", id, keep)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state: resolve conflict %d: %w", id, err)
	}
	defer tx.Rollback()
	var a, b []byte
	var resolved sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT a, b, resolved_at FROM conflicts WHERE id = ?`, id).Scan(&a, &b, &resolved)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("state: resolve conflict %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("state: resolve conflict %d: %w", id, err)
	}
	if resolved.Valid {
		return fmt.Errorf("state: resolve conflict %d: %w", id, ErrConflictApplied)
	}
	if merged == nil {
		merged = map[string][]byte{"a": a, "b": b}[keep]
	}
	if _, err := tx.ExecContext(ctx, `UPDATE conflicts SET keep = ?, merged = ? WHERE id = ?`, keep, merged, id); err != nil {
		return fmt.Errorf("state: resolve conflict %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state: resolve conflict %d: %w", id, err)
	}
	return nil
}

// PendingResolutions returns the conflicts of pair resolved (Keep set) but not
// yet applied, oldest first.
func (db *DB) PendingResolutions(ctx context.Context, pair string) ([]Conflict, error) {
	out, err := db.queryConflicts(ctx, `SELECT `+conflictColumns+` FROM conflicts
WHERE pair = ? AND keep <> '' AND resolved_at IS NULL ORDER BY id`, pair)
	if err != nil {
		return nil, fmt.Errorf("state: pending resolutions of %s: %w", pair, err)
	}
	return out, nil
}

// MarkConflictApplied records that a sync applied the resolution of conflict
// id (Resolved is set). ErrNotFound (wrapped) when there is no such conflict.
func (db *DB) MarkConflictApplied(ctx context.Context, id int64) error {
	return db.update(ctx, "mark conflict applied", func(tx *Tx) error { return tx.MarkConflictApplied(id) }, asIs)
}

// DeleteConflictsOfItem forgets every conflict of an item (open, resolved or applied).
func (db *DB) DeleteConflictsOfItem(ctx context.Context, itemID int64) error {
	return db.update(ctx, "delete conflicts of item", func(tx *Tx) error { return tx.DeleteConflictsOfItem(itemID) }, asIs)
}
