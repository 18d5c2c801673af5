package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Tx is a group of state writes committed together (see DB.Update). Its
// methods are not safe for concurrent use.
//
// Each method has the semantics of the DB method of the same name, except
// that nothing is durable (nor visible to other connections) before Update
// commits. A method that fails has written nothing, with one exception: when
// PutItem fails after the item's row was written but before its base was (an
// I/O error, a cancelled ctx), the Tx is broken: every later method fails and
// Update rolls back even if fn returns nil.
//
// The fields a method sets in the caller's struct (Item.ID and Updated;
// TrashEntry.ID and Created; Conflict.ID, Created, Keep, Merged and Resolved)
// are set at once, so that a later write in the same Tx can use the new id,
// and are put back as they were when the transaction rolls back.
type Tx struct {
	db   *DB
	ctx  context.Context
	sql  *sqlTx
	undo []func() // puts the caller's structs back, run in reverse on rollback
	err  error    // set when a write was left half done: the Tx is broken
	done bool     // Update has committed or rolled back
}

// Update runs fn in one IMMEDIATE transaction and commits when fn returns
// nil; any error rolls everything back (and is returned wrapped). ctx
// cancellation aborts it: the transaction is rolled back and the returned
// error wraps ctx.Err().
//
// fn must do all its state work through tx: on SQLite the DB has a single
// connection, which the transaction holds until Update returns, and on
// PostgreSQL the transaction holds the writer lock (see dialect), so a call
// to a DB method from inside fn waits until ctx is done. fn should do no slow work either:
// the transaction keeps every other writer of the database (other processes
// included) waiting. tx must not be used once Update has returned.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return db.update(ctx, "update", fn, func(err error) error {
		return fmt.Errorf("state: update rolled back: %w", err)
	})
}

// update runs fn in one transaction. Errors of fn go through wrap; op names
// the operation in the errors of beginning and committing.
func (db *DB) update(ctx context.Context, op string, fn func(tx *Tx) error, wrap func(error) error) error {
	if db.readOnly {
		return fmt.Errorf("state: %s: database is open read-only", op)
	}
	stx, err := db.sql.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return fmt.Errorf("state: %s: begin: %w", op, err)
	}
	tx := &Tx{db: db, ctx: ctx, sql: stx}
	defer func() {
		if !tx.done { // fn panicked
			tx.rollback()
		}
	}()
	if err := fn(tx); err != nil {
		tx.rollback()
		return wrap(err)
	}
	if tx.err != nil {
		tx.rollback()
		return wrap(tx.err)
	}
	if err := ctx.Err(); err != nil {
		tx.rollback()
		return wrap(err)
	}
	if err := stx.Commit(); err != nil {
		tx.rollback()
		return fmt.Errorf("state: %s: commit: %w", op, err)
	}
	tx.done, tx.undo = true, nil
	return nil
}

// asIs passes the errors of the Tx methods through: they name their operation.
func asIs(err error) error { return err }

// rollback rolls the transaction back and puts the caller's structs back.
func (tx *Tx) rollback() {
	tx.sql.Rollback() // ErrTxDone when ctx already rolled it back, or when Commit failed
	for i := len(tx.undo) - 1; i >= 0; i-- {
		tx.undo[i]()
	}
	tx.done, tx.undo = true, nil
}

// check is the error of a method called on a Tx that cannot take it.
func (tx *Tx) check(op string) error {
	switch {
	case tx.done:
		return fmt.Errorf("state: %s: %w", op, sql.ErrTxDone)
	case tx.err != nil:
		return fmt.Errorf("state: %s: an earlier write of the transaction failed: %w", op, tx.err)
	}
	return nil
}

// stmt is s bound to the transaction.
func (tx *Tx) stmt(s *sql.Stmt) *sql.Stmt { return tx.sql.StmtContext(tx.ctx, s) }

// PutItem stores it, as DB.PutItem does: an insert when it.ID == 0 (it.ID is
// set), else an update (ErrNotFound, wrapped, when the pair has no such item;
// an item never changes pair). it.Updated is set.
//
// When it.Base is nil the stored base is kept, but BaseHash is written as it
// is in it, like every other field: an update with Base nil and BaseHash ""
// clears the stored hash. Pass the stored BaseHash (Items returns it) to keep it.
func (tx *Tx) PutItem(it *Item) error {
	if err := tx.check("put item"); err != nil {
		return err
	}
	if it.Pair == "" {
		return fmt.Errorf("state: put item: empty pair")
	}
	if err := checkFields(it); err != nil {
		return fmt.Errorf("state: put item %d: %w", it.ID, err)
	}
	id, prevUpdated := it.ID, it.Updated
	updated := now()
	if err := tx.writeItem(it, updated); err != nil {
		it.ID = id
		return fmt.Errorf("state: put item: %w", err)
	}
	tx.undo = append(tx.undo, func() { it.ID, it.Updated = id, prevUpdated })
	it.Updated = updated
	if it.Base == nil {
		return nil
	}
	if _, err := tx.stmt(tx.db.stmts.upsertBase).ExecContext(tx.ctx, it.ID, it.Base); err != nil {
		tx.err = fmt.Errorf("state: put item %d: base: %w", it.ID, err)
		return tx.err
	}
	return nil
}

// writeItem inserts or updates the row of it (setting it.ID on an insert).
func (tx *Tx) writeItem(it *Item, updated time.Time) error {
	st := &tx.db.stmts
	if it.ID == 0 {
		return tx.stmt(st.insertItem).QueryRowContext(tx.ctx,
			it.Pair, it.UID, it.AID, it.AVersion, it.BID, it.BVersion, it.BaseHash, updated.UnixNano()).Scan(&it.ID)
	}
	res, err := tx.stmt(st.updateVersions).ExecContext(tx.ctx,
		it.AVersion, it.BVersion, it.BaseHash, updated.UnixNano(), it.ID, it.Pair, it.UID, it.AID, it.BID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	res, err = tx.stmt(st.updateItem).ExecContext(tx.ctx,
		it.UID, it.AID, it.AVersion, it.BID, it.BVersion, it.BaseHash, updated.UnixNano(), it.ID, it.Pair)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("item %d of pair %s: %w", it.ID, it.Pair, ErrNotFound)
	}
	return nil
}

// DeleteItem forgets an item, its base and its conflicts, as DB.DeleteItem
// does. Deleting an item that does not exist is not an error.
func (tx *Tx) DeleteItem(id int64) error {
	if err := tx.check("delete item"); err != nil {
		return err
	}
	if _, err := tx.stmt(tx.db.stmts.deleteItem).ExecContext(tx.ctx, id); err != nil {
		return fmt.Errorf("state: delete item %d: %w", id, err)
	}
	return nil
}

// AddTrash stores e and sets e.ID (and e.Created when it is zero), as
// DB.AddTrash does.
func (tx *Tx) AddTrash(e *TrashEntry) error {
	if err := tx.check("add trash"); err != nil {
		return err
	}
	id, created := e.ID, e.Created
	if e.Created.IsZero() {
		e.Created = tx.db.clock().UTC()
	}
	card := e.Card
	if card == nil {
		card = []byte{}
	}
	err := tx.stmt(tx.db.stmts.insertTrash).QueryRowContext(tx.ctx,
		e.Pair, e.Side, e.UID, e.SideID, card, len(card), e.Reason, e.Created.UnixNano(), e.RestoreRequested, nanos(e.Restored)).Scan(&e.ID)
	if err != nil {
		e.ID, e.Created = id, created
		return fmt.Errorf("state: add trash: %w", err)
	}
	tx.undo = append(tx.undo, func() { e.ID, e.Created = id, created })
	return nil
}

// MarkRestored records that a sync brought the trash entry id back, as
// DB.MarkRestored does. ErrNotFound (wrapped) when there is no such entry.
func (tx *Tx) MarkRestored(id int64) error {
	if err := tx.check("mark trash restored"); err != nil {
		return err
	}
	return updateOne(tx.ctx, tx.sql, "mark trash restored", id,
		`UPDATE trash SET restore_requested = FALSE, restored_at = ? WHERE id = ?`, tx.db.clock().UnixNano(), id)
}

// MarkConflictApplied records that a sync applied the resolution of conflict
// id, as DB.MarkConflictApplied does. ErrNotFound (wrapped) when there is no
// such conflict.
func (tx *Tx) MarkConflictApplied(id int64) error {
	if err := tx.check("mark conflict applied"); err != nil {
		return err
	}
	return updateOne(tx.ctx, tx.sql, "mark conflict applied", id,
		`UPDATE conflicts SET resolved_at = ? WHERE id = ?`, now().UnixNano(), id)
}

// DeleteConflictsOfItem forgets every conflict of an item (open, resolved or
// applied), as DB.DeleteConflictsOfItem does.
func (tx *Tx) DeleteConflictsOfItem(itemID int64) error {
	if err := tx.check("delete conflicts of item"); err != nil {
		return err
	}
	if _, err := tx.sql.ExecContext(tx.ctx, `DELETE FROM conflicts WHERE item_id = ?`, itemID); err != nil {
		return fmt.Errorf("state: delete conflicts of item %d: %w", itemID, err)
	}
	return nil
}

// UpsertConflict records c as the open conflict of its item, as
// DB.UpsertConflict does: the item's open conflict (Keep "") is updated when
// there is one, else c is inserted. It sets c.ID (and c.Created when it is
// zero) and clears Keep, Merged and Resolved. A conflict without an item
// (ItemID 0) is matched by (pair, UID) instead.
func (tx *Tx) UpsertConflict(c *Conflict) error {
	if err := tx.check("upsert conflict"); err != nil {
		return err
	}
	created := c.Created
	if created.IsZero() {
		created = now()
	}
	itemID := sql.NullInt64{Int64: c.ItemID, Valid: c.ItemID != 0}
	var id int64
	var err error
	if itemID.Valid {
		err = tx.sql.QueryRowContext(tx.ctx, `SELECT id FROM conflicts WHERE pair = ? AND item_id = ? AND keep = ''`, c.Pair, itemID).Scan(&id)
	} else {
		err = tx.sql.QueryRowContext(tx.ctx, `SELECT id FROM conflicts WHERE pair = ? AND item_id IS NULL AND uid = ? AND keep = ''`, c.Pair, c.UID).Scan(&id)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = tx.sql.QueryRowContext(tx.ctx, `INSERT INTO conflicts (pair, item_id, uid, a, b, base, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.Pair, itemID, c.UID, c.A, c.B, c.Base, created.UnixNano()).Scan(&id)
	case err == nil:
		_, err = tx.sql.ExecContext(tx.ctx, `UPDATE conflicts SET uid = ?, a = ?, b = ?, base = ?, created_at = ? WHERE id = ?`,
			c.UID, c.A, c.B, c.Base, created.UnixNano(), id)
	}
	if err != nil {
		return fmt.Errorf("state: upsert conflict of item %d: %w", c.ItemID, err)
	}
	prev := *c
	tx.undo = append(tx.undo, func() {
		c.ID, c.Created, c.Keep, c.Merged, c.Resolved = prev.ID, prev.Created, prev.Keep, prev.Merged, prev.Resolved
	})
	c.ID, c.Created, c.Keep, c.Merged, c.Resolved = id, created, "", nil, time.Time{}
	return nil
}

// SetToken stores the sync token of side ("a" or "b") of pair; "" forgets
// it, as DB.SetToken does.
func (tx *Tx) SetToken(pair, side, token string) error {
	if err := tx.check("set token of " + pair); err != nil {
		return err
	}
	if side != "a" && side != "b" {
		return fmt.Errorf("state: set token of %s: side %q is not \"a\" or \"b\"", pair, side)
	}
	var err error
	if token == "" {
		_, err = tx.sql.ExecContext(tx.ctx, `DELETE FROM sync_tokens WHERE pair = ? AND side = ?`, pair, side)
	} else {
		_, err = tx.sql.ExecContext(tx.ctx, `INSERT INTO sync_tokens (pair, side, token, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (pair, side) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at`,
			pair, side, token, now().UnixNano())
	}
	if err != nil {
		return fmt.Errorf("state: set token of %s/%s: %w", pair, side, err)
	}
	return nil
}

// execer is what updateOne runs on: a *sql.DB or a *sqlTx.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// updateOne runs an UPDATE of the row id and reports ErrNotFound when it
// touched nothing.
func updateOne(ctx context.Context, ex execer, op string, id int64, q string, args ...any) error {
	res, err := ex.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("state: %s %d: %w", op, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("state: %s %d: %w", op, id, err)
	}
	if n == 0 {
		return fmt.Errorf("state: %s %d: %w", op, id, ErrNotFound)
	}
	return nil
}
