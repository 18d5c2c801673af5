package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SideIdentity returns the identity recorded for side ("a" or "b") of pair
// (what the side pointed at when its state was made, see engine.Identifier);
// "" when none is recorded (a side never synced, or synced before identities
// were recorded, or reset since).
func (db *DB) SideIdentity(ctx context.Context, pair, side string) (string, error) {
	if err := checkSide(side); err != nil {
		return "", fmt.Errorf("state: identity of %s: %w", pair, err)
	}
	var id string
	err := db.sql.QueryRowContext(ctx, `SELECT identity FROM side_identities WHERE pair = ? AND side = ?`, pair, side).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("state: identity of %s/%s: %w", pair, side, err)
	}
	return id, nil
}

// SetSideIdentity records identity for side ("a" or "b") of pair, replacing
// what was recorded; an empty identity is refused (ResetSide forgets one).
func (db *DB) SetSideIdentity(ctx context.Context, pair, side, identity string) error {
	op := "set identity of " + pair
	if err := checkSide(side); err != nil {
		return fmt.Errorf("state: %s: %w", op, err)
	}
	if identity == "" {
		return fmt.Errorf("state: %s/%s: empty identity", op, side)
	}
	return db.update(ctx, op, func(tx *Tx) error {
		if _, err := tx.sql.ExecContext(tx.ctx, `INSERT INTO side_identities (pair, side, identity, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (pair, side) DO UPDATE SET identity = excluded.identity, updated_at = excluded.updated_at`,
			pair, side, identity, now().UnixNano()); err != nil {
			return fmt.Errorf("state: %s/%s: %w", op, side, err)
		}
		return nil
	}, asIs)
}

// SideReset is what ResetSide forgot (or, for a dry run, would forget) of
// one side of a pair.
type SideReset struct {
	Side     string // "a" or "b"
	Items    int    // items whose id and version on the side were cleared
	Token    bool   // whether a sync token was stored
	Identity string // the identity that was recorded ("" when none)
}

// ResetSide forgets what state knows of side ("a" or "b") of pair: its sync
// token, its recorded identity, and the id and version on that side of every
// item. The items themselves stay, with their UIDs and bases (and their ids
// on the other side), so that the next run reads the side afresh and links
// its contacts to them by UID, creating nothing twice and deleting nothing.
// With dryRun it only counts. It fails with a *LockedError while a live
// process syncs the pair, and writes nothing then.
func (db *DB) ResetSide(ctx context.Context, pair, side string, dryRun bool) (SideReset, error) {
	op := "reset side " + side + " of " + pair
	r := SideReset{Side: side}
	if err := checkSide(side); err != nil {
		return r, fmt.Errorf("state: reset %s: %w", pair, err)
	}
	read := func(q interface {
		QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	}) error {
		err := q.QueryRowContext(ctx, `SELECT
 (SELECT COUNT(*) FROM items WHERE pair = ?1 AND (`+side+`_id != '' OR `+side+`_version != '')),
 EXISTS (SELECT 1 FROM sync_tokens WHERE pair = ?1 AND side = ?2),
 COALESCE((SELECT identity FROM side_identities WHERE pair = ?1 AND side = ?2), '')`, pair, side).Scan(&r.Items, &r.Token, &r.Identity)
		if err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		return nil
	}
	if dryRun || db.readOnly {
		if !dryRun {
			return r, fmt.Errorf("state: %s: database is open read-only", op)
		}
		return r, read(db.sql)
	}
	err := db.update(ctx, op, func(tx *Tx) error {
		if err := db.checkUnlocked(tx.ctx, tx.sql, pair); err != nil {
			return err
		}
		if err := read(tx.sql); err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`UPDATE items SET ` + side + `_id = '', ` + side + `_version = '', updated_at = ? WHERE pair = ? AND (` + side + `_id != '' OR ` + side + `_version != '')`,
				[]any{now().UnixNano(), pair}},
			{`DELETE FROM sync_tokens WHERE pair = ? AND side = ?`, []any{pair, side}},
			{`DELETE FROM side_identities WHERE pair = ? AND side = ?`, []any{pair, side}},
			{`DELETE FROM failed_items WHERE pair = ? AND side = ?`, []any{pair, side}},
		} {
			if _, err := tx.sql.ExecContext(tx.ctx, q.sql, q.args...); err != nil {
				return fmt.Errorf("state: %s: %w", op, err)
			}
		}
		return nil
	}, asIs)
	if err != nil {
		return SideReset{Side: side}, err
	}
	return r, nil
}

// checkSide refuses a side name other than "a" and "b" (side is put in SQL
// column names by ResetSide).
func checkSide(side string) error {
	if side != "a" && side != "b" {
		return fmt.Errorf("side %q is not \"a\" or \"b\"", side)
	}
	return nil
}
