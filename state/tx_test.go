package state

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"
)

// count is the number of rows of table.
func count(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUpdateCommit(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, path := be.openTest(t)
		gone := Item{Pair: "work", UID: "gone", Base: []byte("gone base")}
		if err := db.PutItem(ctx, &gone); err != nil {
			t.Fatal(err)
		}
		pending := TrashEntry{Pair: "work", Side: "a", UID: "r", Card: []byte("r"), Reason: "deleted", RestoreRequested: true}
		if err := db.AddTrash(ctx, &pending); err != nil {
			t.Fatal(err)
		}
		other, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()

		const n = 300
		items := make([]Item, n)
		trash := make([]TrashEntry, n)
		var conflict Conflict
		err = db.Update(ctx, func(tx *Tx) error {
			for i := range items {
				items[i] = Item{Pair: "work", UID: fmt.Sprint("u", i), AID: fmt.Sprint("a", i), BID: fmt.Sprint("b", i),
					BaseHash: fmt.Sprint("h", i), Base: []byte(fmt.Sprint("base ", i))}
				if err := tx.PutItem(&items[i]); err != nil {
					return err
				}
				trash[i] = TrashEntry{Pair: "work", Side: "b", UID: items[i].UID, Card: []byte("old"), Reason: "overwritten"}
				if err := tx.AddTrash(&trash[i]); err != nil {
					return err
				}
			}
			// An id assigned in the transaction is usable in it at once.
			items[0].AVersion, items[0].Base = "av2", []byte("base 0 bis")
			if err := tx.PutItem(&items[0]); err != nil {
				return err
			}
			conflict = Conflict{Pair: "work", ItemID: items[1].ID, UID: "u1", A: []byte("A"), B: []byte("B")}
			if err := tx.UpsertConflict(&conflict); err != nil {
				return err
			}
			if err := tx.SetToken("work", "a", "tok-a"); err != nil {
				return err
			}
			if err := tx.MarkRestored(pending.ID); err != nil {
				return err
			}
			if err := tx.DeleteItem(gone.ID); err != nil {
				return err
			}
			// A failed method writes nothing and leaves the Tx usable.
			ghost := Item{ID: 999_999, Pair: "work", Base: []byte("x")}
			if err := tx.PutItem(&ghost); !errors.Is(err, ErrNotFound) || ghost.ID != 999_999 {
				t.Errorf("PutItem of a missing item in a Tx: %v (ID %d), want ErrNotFound", err, ghost.ID)
			}
			if err := tx.MarkConflictApplied(999_999); !errors.Is(err, ErrNotFound) {
				t.Errorf("MarkConflictApplied(missing) in a Tx: %v, want ErrNotFound", err)
			}
			// Nothing is visible to another connection before the commit.
			if c, err := other.CountItems(ctx, "work"); err != nil || c != 1 {
				t.Errorf("another connection sees %d items (%v) before the commit, want 1", c, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		got, err := other.Items(ctx, "work")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("%d items after commit, want %d", len(got), n)
		}
		ids := make([]int64, n)
		for i := range items {
			ids[i] = items[i].ID
			if items[i].ID == 0 || items[i].Updated.IsZero() || trash[i].ID == 0 || trash[i].Created.IsZero() {
				t.Fatalf("ids/times not set: %+v %+v", items[i], trash[i])
			}
			if got[i].ID != items[i].ID || got[i].UID != items[i].UID || got[i].BaseHash != items[i].BaseHash || got[i].AVersion != items[i].AVersion {
				t.Errorf("item %d = %+v, want %+v", i, got[i], items[i])
			}
		}
		bases, err := other.Bases(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if string(bases[ids[0]]) != "base 0 bis" || string(bases[ids[n-1]]) != fmt.Sprint("base ", n-1) {
			t.Errorf("bases %q, %q", bases[ids[0]], bases[ids[n-1]])
		}
		if tr, _ := other.ListTrash(ctx, "work"); len(tr) != n+1 {
			t.Errorf("%d trash entries, want %d", len(tr), n+1)
		}
		if p, _ := other.PendingRestores(ctx, "work"); len(p) != 0 {
			t.Errorf("pending restores after MarkRestored: %+v", p)
		}
		if c, err := other.GetConflict(ctx, conflict.ID); err != nil || c.ItemID != items[1].ID {
			t.Errorf("conflict = %+v, %v", c, err)
		}
		if tok, _ := other.Token(ctx, "work", "a"); tok != "tok-a" {
			t.Errorf("token = %q", tok)
		}

		// The remaining methods, committed together.
		err = db.Update(ctx, func(tx *Tx) error {
			if err := tx.MarkConflictApplied(conflict.ID); err != nil {
				return err
			}
			if err := tx.DeleteConflictsOfItem(items[1].ID); err != nil {
				return err
			}
			return tx.SetToken("work", "a", "")
		})
		if err != nil {
			t.Fatal(err)
		}
		if all, _ := db.Conflicts(ctx, "", false); len(all) != 0 {
			t.Errorf("conflicts left: %+v", all)
		}
		if tok, _ := db.Token(ctx, "work", "a"); tok != "" {
			t.Errorf("token after clearing = %q", tok)
		}
	})
}

func TestUpdateRollback(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		kept := Item{Pair: "work", UID: "kept", AVersion: "1", BaseHash: "h1", Base: []byte("kept base")}
		doomed := Item{Pair: "work", UID: "doomed"}
		for _, it := range []*Item{&kept, &doomed} {
			if err := db.PutItem(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
		keptBefore := kept
		if err := db.SetToken(ctx, "work", "b", "tok-1"); err != nil {
			t.Fatal(err)
		}
		old := Conflict{Pair: "work", ItemID: kept.ID, UID: "kept", A: []byte("A1")}
		if err := db.UpsertConflict(ctx, &old); err != nil {
			t.Fatal(err)
		}
		oldBefore := old

		boom := errors.New("boom")
		newItem := Item{Pair: "work", UID: "new", Base: []byte("new base")}
		entry := TrashEntry{Pair: "work", Side: "a", Card: []byte("c"), Reason: "deleted"}
		newConflict := Conflict{Pair: "work", UID: "unlinked"}
		err := db.Update(ctx, func(tx *Tx) error {
			if err := tx.PutItem(&newItem); err != nil {
				return err
			}
			// The same struct twice: rolled back to what it was before the first.
			newItem.AVersion = "2"
			if err := tx.PutItem(&newItem); err != nil {
				return err
			}
			kept.AVersion, kept.Base = "2", []byte("changed base")
			if err := tx.PutItem(&kept); err != nil {
				return err
			}
			if err := tx.AddTrash(&entry); err != nil {
				return err
			}
			if err := tx.UpsertConflict(&newConflict); err != nil {
				return err
			}
			old.A = []byte("A2")
			if err := tx.UpsertConflict(&old); err != nil {
				return err
			}
			if err := tx.SetToken("work", "b", "tok-2"); err != nil {
				return err
			}
			if err := tx.DeleteItem(doomed.ID); err != nil {
				return err
			}
			if newItem.ID == 0 || entry.ID == 0 || newConflict.ID == 0 {
				t.Errorf("ids not set inside the transaction: %d %d %d", newItem.ID, entry.ID, newConflict.ID)
			}
			return fmt.Errorf("engine: %w", boom)
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update = %v, want it to wrap boom", err)
		}
		if newItem.ID != 0 || !newItem.Updated.IsZero() {
			t.Errorf("rolled-back insert left ID %d, Updated %v", newItem.ID, newItem.Updated)
		}
		if kept.ID != keptBefore.ID || !kept.Updated.Equal(keptBefore.Updated) {
			t.Errorf("rolled-back update changed ID/Updated: %+v, was %+v", kept, keptBefore)
		}
		if entry.ID != 0 || !entry.Created.IsZero() {
			t.Errorf("rolled-back AddTrash left ID %d, Created %v", entry.ID, entry.Created)
		}
		if newConflict.ID != 0 || !newConflict.Created.IsZero() {
			t.Errorf("rolled-back UpsertConflict left ID %d, Created %v", newConflict.ID, newConflict.Created)
		}
		if old.ID != oldBefore.ID || !old.Created.Equal(oldBefore.Created) {
			t.Errorf("rolled-back UpsertConflict changed %+v, was %+v", old, oldBefore)
		}

		items, err := db.Items(ctx, "work")
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 2 || items[0].ID != kept.ID || items[0].AVersion != "1" || items[1].ID != doomed.ID {
			t.Errorf("items after rollback: %+v", items)
		}
		if b, _ := db.Bases(ctx, []int64{kept.ID}); string(b[kept.ID]) != "kept base" {
			t.Errorf("base after rollback = %q", b[kept.ID])
		}
		if n := count(t, db, "bases"); n != 1 {
			t.Errorf("%d bases after rollback, want 1", n)
		}
		if n := count(t, db, "trash"); n != 0 {
			t.Errorf("%d trash entries after rollback", n)
		}
		cs, _ := db.Conflicts(ctx, "", false)
		if len(cs) != 1 || string(cs[0].A) != "A1" {
			t.Errorf("conflicts after rollback: %+v", cs)
		}
		if tok, _ := db.Token(ctx, "work", "b"); tok != "tok-1" {
			t.Errorf("token after rollback = %q", tok)
		}

		// The structs work again as they are: the insert gets a fresh id.
		if err := db.PutItem(ctx, &newItem); err != nil || newItem.ID == 0 {
			t.Fatalf("PutItem after rollback: %v (ID %d)", err, newItem.ID)
		}

		// A Tx is dead once Update has returned.
		var saved *Tx
		if err := db.Update(ctx, func(tx *Tx) error { saved = tx; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := saved.SetToken("work", "a", "x"); !errors.Is(err, sql.ErrTxDone) {
			t.Errorf("SetToken on a finished Tx = %v, want ErrTxDone", err)
		}

		// A panic in fn rolls back and leaves the DB usable.
		func() {
			defer func() { recover() }()
			db.Update(ctx, func(tx *Tx) error {
				if err := tx.DeleteItem(kept.ID); err != nil {
					return err
				}
				panic("oops")
			})
		}()
		if n, err := db.CountItems(ctx, "work"); err != nil || n != 3 {
			t.Errorf("CountItems after a panicking Update = %d, %v; want 3", n, err)
		}
	})
}

func TestUpdateCancel(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		db, _ := be.openTest(t)
		ctx, cancel := context.WithCancel(context.Background())
		items := make([]Item, 10)
		err := db.Update(ctx, func(tx *Tx) error {
			for i := range items {
				items[i] = Item{Pair: "work", UID: fmt.Sprint("u", i), Base: bytes.Repeat([]byte("b"), 100)}
				if i == 5 {
					cancel()
					time.Sleep(10 * time.Millisecond) // let database/sql roll back
				}
				if err := tx.PutItem(&items[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Update with a cancelled ctx = %v, want context.Canceled", err)
		}
		for i, it := range items {
			if it.ID != 0 {
				t.Errorf("item %d kept ID %d after the rollback", i, it.ID)
			}
		}

		// Cancelled once fn is done: no commit either.
		ctx, cancel = context.WithCancel(context.Background())
		it := Item{Pair: "work", UID: "late"}
		err = db.Update(ctx, func(tx *Tx) error {
			err := tx.PutItem(&it)
			cancel()
			return err
		})
		if !errors.Is(err, context.Canceled) || it.ID != 0 {
			t.Errorf("Update cancelled after fn: %v (ID %d), want context.Canceled", err, it.ID)
		}
		// Cancelled before: fn is not run.
		err = db.Update(ctx, func(tx *Tx) error {
			t.Error("fn run with a cancelled ctx")
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Update with a cancelled ctx = %v", err)
		}

		bg := context.Background()
		if n, err := db.CountItems(bg, "work"); err != nil || n != 0 {
			t.Errorf("CountItems after cancelled Updates = %d, %v; want 0", n, err)
		}
		if n := count(t, db, "bases"); n != 0 {
			t.Errorf("%d bases after cancelled Updates", n)
		}
		// The connection is back: the DB works.
		if err := db.PutItem(bg, &Item{Pair: "work", UID: "after"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUpdateReadOnly(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		_, path := be.openTest(t)
		ro, err := Open(ctx, path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		err = ro.Update(ctx, func(tx *Tx) error {
			t.Error("fn run on a read-only DB")
			return nil
		})
		if err == nil {
			t.Error("Update on a read-only DB succeeded")
		}
	})
}
