package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TrashEntry is one deleted or overwritten version of a contact. The trash
// keeps every such version until purged; a restore brings it back on the next
// sync of its pair.
type TrashEntry struct {
	ID     int64
	Pair   string
	Side   string // "a" or "b": the side it was deleted or overwritten on
	UID    string
	SideID string // its id on that side
	Card   []byte // the vCard as it was
	Reason string // "deleted", "overwritten", "conflict-loser"...

	Created          time.Time
	RestoreRequested bool      // a restore is pending (cleared by MarkRestored)
	Restored         time.Time // when it was last restored; zero if never
}

// AddTrash stores e and sets e.ID (and e.Created when it is zero).
func (db *DB) AddTrash(ctx context.Context, e *TrashEntry) error {
	return db.update(ctx, "add trash", func(tx *Tx) error { return tx.AddTrash(e) }, asIs)
}

const trashColumns = `id, pair, side, uid, side_id, card, reason, created_at, restore_requested, restored_at`

// scanTrash reads the trashColumns of one row.
func scanTrash(s interface{ Scan(...any) error }) (TrashEntry, error) {
	var e TrashEntry
	var created int64
	var restored sql.NullInt64
	err := s.Scan(&e.ID, &e.Pair, &e.Side, &e.UID, &e.SideID, &e.Card, &e.Reason, &created, &e.RestoreRequested, &restored)
	e.Created = time.Unix(0, created).UTC()
	e.Restored = fromNanos(restored)
	return e, err
}

// queryTrash runs a query over trashColumns.
func (db *DB) queryTrash(ctx context.Context, q string, args ...any) ([]TrashEntry, error) {
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TrashEntry
	for rows.Next() {
		e, err := scanTrash(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ListTrash returns the trash of pair ("" for all pairs), newest first,
// restored entries included (Restored is set on them).
func (db *DB) ListTrash(ctx context.Context, pair string) ([]TrashEntry, error) {
	var (
		out []TrashEntry
		err error
	)
	if pair == "" {
		out, err = db.queryTrash(ctx, `SELECT `+trashColumns+` FROM trash ORDER BY created_at DESC, id DESC`)
	} else {
		out, err = db.queryTrash(ctx, `SELECT `+trashColumns+` FROM trash WHERE pair = ? ORDER BY created_at DESC, id DESC`, pair)
	}
	if err != nil {
		return nil, fmt.Errorf("state: list trash: %w", err)
	}
	return out, nil
}

// GetTrash returns one trash entry; ErrNotFound (wrapped) when there is none,
// as a *PurgedError when a purge removed it.
func (db *DB) GetTrash(ctx context.Context, id int64) (TrashEntry, error) {
	e, err := scanTrash(db.sql.QueryRowContext(ctx, `SELECT `+trashColumns+` FROM trash WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		if pe := db.purged(ctx, id); pe != nil {
			return TrashEntry{}, fmt.Errorf("state: get trash %d: %w", id, pe)
		}
		return TrashEntry{}, fmt.Errorf("state: get trash %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return TrashEntry{}, fmt.Errorf("state: get trash %d: %w", id, err)
	}
	return e, nil
}

// RequestRestore asks the next sync of the entry's pair to bring it back
// (see PendingRestores). ErrNotFound (wrapped) when there is no such entry,
// as a *PurgedError when a purge removed it.
func (db *DB) RequestRestore(ctx context.Context, id int64) error {
	err := updateOne(ctx, db.sql, "request restore of trash", id, `UPDATE trash SET restore_requested = TRUE WHERE id = ?`, id)
	if errors.Is(err, ErrNotFound) {
		if pe := db.purged(ctx, id); pe != nil {
			return fmt.Errorf("state: request restore of trash %d: %w", id, pe)
		}
	}
	return err
}

// PendingRestores returns the entries of pair whose restore was requested
// and not yet done, oldest first.
func (db *DB) PendingRestores(ctx context.Context, pair string) ([]TrashEntry, error) {
	out, err := db.queryTrash(ctx, `SELECT `+trashColumns+` FROM trash WHERE pair = ? AND restore_requested ORDER BY created_at, id`, pair)
	if err != nil {
		return nil, fmt.Errorf("state: pending restores of %s: %w", pair, err)
	}
	return out, nil
}

// MarkRestored records that a sync brought the entry back: it is no longer
// pending and Restored is set. ErrNotFound (wrapped) when there is no such entry.
func (db *DB) MarkRestored(ctx context.Context, id int64) error {
	return db.update(ctx, "mark trash restored", func(tx *Tx) error { return tx.MarkRestored(id) }, asIs)
}
