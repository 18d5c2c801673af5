package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openTest opens a fresh state file in a temporary directory.
func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(context.Background(), path, Options{TokenKey: testTokenKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestMigrationsAndFile(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "state.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if v != len(ms) || v != LatestSchemaVersion() || v < 1 {
		t.Fatalf("schema version %d, want %d", v, len(ms))
	}
	var mode string
	if err := db.sql.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var fk int
	if err := db.sql.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d (%v), want 1", fk, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		di, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if di.Mode().Perm() != 0o700 {
			t.Errorf("directory %s mode %v, want 0700", d, di.Mode().Perm())
		}
	}

	// Reopening applies nothing again.
	for range 2 {
		db, err = Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != len(ms) {
			t.Errorf("schema_version has %d rows, want %d", rows, len(ms))
		}
		db.Close()
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, path := be.openTest(t)
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		for _, ro := range []bool{false, true} {
			_, err := Open(ctx, path, Options{ReadOnly: ro})
			if err == nil || !strings.Contains(err.Error(), "newer") {
				t.Errorf("ReadOnly=%v: Open of a newer schema: %v, want an error saying newer", ro, err)
			}
		}
	})
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	for _, p := range []string{"", ":memory:"} {
		db, err := Open(ctx, p, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		it := Item{Pair: "p", UID: "u"}
		if err := db.PutItem(ctx, &it); err != nil {
			t.Fatal(err)
		}
		if n, err := db.CountItems(ctx, "p"); err != nil || n != 1 {
			t.Errorf("CountItems = %d, %v", n, err)
		}
		db.Close()
	}
	if _, err := os.Stat(":memory:"); err == nil {
		t.Error("a file named :memory: was created")
	}
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "missing.db")
	_, err := Open(ctx, missing, Options{ReadOnly: true})
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("read-only Open of a missing file: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("read-only Open created the file")
	}

	db, path := openTest(t)
	it := Item{Pair: "p", UID: "u", Base: []byte("BEGIN:VCARD")}
	if err := db.PutItem(ctx, &it); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fiBefore, _ := os.Stat(path)
	time.Sleep(20 * time.Millisecond)

	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	items, err := ro.Items(ctx, "p")
	if err != nil || len(items) != 1 {
		t.Fatalf("Items = %v, %v", items, err)
	}
	if err := ro.PutItem(ctx, &Item{Pair: "p"}); err == nil {
		t.Error("PutItem on a read-only DB succeeded")
	}
	if err := ro.SetToken(ctx, "p", "a", "x"); err == nil {
		t.Error("SetToken on a read-only DB succeeded")
	}
	if _, err := ro.LockPair(ctx, "p"); err == nil {
		t.Error("LockPair on a read-only DB succeeded")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fiAfter, _ := os.Stat(path)
	if !bytes.Equal(before, after) || !fiBefore.ModTime().Equal(fiAfter.ModTime()) {
		t.Error("read-only Open changed the file")
	}
}

func TestReadOnlyOlderSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, Options{ReadOnly: true})
	if err == nil || !strings.Contains(err.Error(), "older") {
		t.Errorf("read-only Open of an unmigrated file: %v, want an error saying older", err)
	}
}

func TestItems(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)

		it := Item{Pair: "work", UID: "uid-1", AID: "a1", AVersion: "av1", BID: "b1", BVersion: "bv1", BaseHash: "h1", Base: []byte("base one")}
		if err := db.PutItem(ctx, &it); err != nil {
			t.Fatal(err)
		}
		if it.ID == 0 || it.Updated.IsZero() {
			t.Fatalf("PutItem did not set ID/Updated: %+v", it)
		}
		other := Item{Pair: "home", UID: "uid-2"}
		if err := db.PutItem(ctx, &other); err != nil {
			t.Fatal(err)
		}

		items, err := db.Items(ctx, "work")
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 {
			t.Fatalf("Items = %d, want 1", len(items))
		}
		got := items[0]
		if got.Base != nil {
			t.Error("Items loaded a base")
		}
		want := it
		want.Base = nil
		if !got.Updated.Equal(want.Updated) {
			t.Errorf("Updated %v, want %v", got.Updated, want.Updated)
		}
		got.Updated, want.Updated = time.Time{}, time.Time{}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("Items()[0] = %+v, want %+v", got, want)
		}

		// Update without a base keeps the stored base.
		it.Base = nil
		it.AVersion = "av2"
		if err := db.PutItem(ctx, &it); err != nil {
			t.Fatal(err)
		}
		bases, err := db.Bases(ctx, []int64{it.ID, other.ID})
		if err != nil {
			t.Fatal(err)
		}
		if string(bases[it.ID]) != "base one" {
			t.Errorf("base = %q, want kept", bases[it.ID])
		}
		if _, ok := bases[other.ID]; ok {
			t.Error("item without a base has one")
		}
		// Update with a base replaces it.
		it.Base = []byte("base two")
		if err := db.PutItem(ctx, &it); err != nil {
			t.Fatal(err)
		}
		bases, _ = db.Bases(ctx, []int64{it.ID})
		if string(bases[it.ID]) != "base two" {
			t.Errorf("base = %q, want replaced", bases[it.ID])
		}
		items, _ = db.Items(ctx, "work")
		if items[0].AVersion != "av2" {
			t.Errorf("AVersion = %q, want av2", items[0].AVersion)
		}

		// Update of an item that does not exist.
		ghost := Item{ID: 9999, Pair: "work"}
		if err := db.PutItem(ctx, &ghost); !errors.Is(err, ErrNotFound) {
			t.Errorf("PutItem of a missing item: %v, want ErrNotFound", err)
		}
		ghost.Base = []byte("x")
		if err := db.PutItem(ctx, &ghost); !errors.Is(err, ErrNotFound) || ghost.ID != 9999 {
			t.Errorf("PutItem of a missing item with base: %v (ID %d), want ErrNotFound", err, ghost.ID)
		}

		bad := Item{Pair: "work", UID: "a\x1fb"}
		if err := db.PutItem(ctx, &bad); err == nil {
			t.Error("PutItem of a UID holding U+001F succeeded")
		}
		// An item never changes pair.
		moved := it
		moved.Pair = "home"
		if err := db.PutItem(ctx, &moved); !errors.Is(err, ErrNotFound) {
			t.Errorf("PutItem moving an item to another pair: %v, want ErrNotFound", err)
		}

		if n, err := db.CountItems(ctx, "work"); err != nil || n != 1 {
			t.Errorf("CountItems = %d, %v", n, err)
		}
		if err := db.DeleteItem(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.CountItems(ctx, "work"); n != 0 {
			t.Errorf("CountItems after delete = %d", n)
		}
		var nb int
		db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM bases`).Scan(&nb)
		if nb != 0 {
			t.Errorf("%d bases left after delete (cascade)", nb)
		}
	})
}

func TestBasesChunked(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		var ids []int64
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2*basesChunk + 1 {
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO items (pair, updated_at) VALUES ('p', 0) RETURNING id`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO bases (item_id, card) VALUES (?, ?)`, id, fmt.Sprint("card ", i)); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		bases, err := db.Bases(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(bases) != len(ids) {
			t.Fatalf("Bases returned %d, want %d", len(bases), len(ids))
		}
		for i, id := range ids {
			if string(bases[id]) != fmt.Sprint("card ", i) {
				t.Fatalf("base of %d = %q", id, bases[id])
			}
		}
		if b, err := db.Bases(ctx, nil); err != nil || len(b) != 0 {
			t.Errorf("Bases(nil) = %v, %v", b, err)
		}
	})
}

func TestTokens(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		if tok, err := db.Token(ctx, "work", "a"); err != nil || tok != "" {
			t.Errorf("Token of nothing = %q, %v", tok, err)
		}
		for _, tok := range []string{"t1", "t2"} {
			if err := db.SetToken(ctx, "work", "a", tok); err != nil {
				t.Fatal(err)
			}
			if got, _ := db.Token(ctx, "work", "a"); got != tok {
				t.Errorf("Token = %q, want %q", got, tok)
			}
		}
		if got, _ := db.Token(ctx, "work", "b"); got != "" {
			t.Errorf("Token of b = %q", got)
		}
		if err := db.SetToken(ctx, "work", "c", "x"); err == nil {
			t.Error("SetToken of side c succeeded")
		}
		if err := db.SetToken(ctx, "work", "a", ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Token(ctx, "work", "a"); got != "" {
			t.Errorf("Token after clearing = %q", got)
		}
	})
}

func TestTrash(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		old := time.Now().Add(-48 * time.Hour)
		e1 := TrashEntry{Pair: "work", Side: "b", UID: "u1", SideID: "u1.vcf", Card: []byte("card1"), Reason: "deleted", Created: old}
		e2 := TrashEntry{Pair: "work", Side: "a", UID: "u2", SideID: "g2", Card: []byte("card2"), Reason: "overwritten"}
		e3 := TrashEntry{Pair: "home", Side: "a", UID: "u3", Card: []byte("card3"), Reason: "conflict-loser"}
		for _, e := range []*TrashEntry{&e1, &e2, &e3} {
			if err := db.AddTrash(ctx, e); err != nil {
				t.Fatal(err)
			}
			if e.ID == 0 {
				t.Fatal("AddTrash did not set ID")
			}
		}
		list, err := db.ListTrash(ctx, "work")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != e2.ID || list[1].ID != e1.ID {
			t.Fatalf("ListTrash(work) = %+v, want e2, e1", list)
		}
		if all, _ := db.ListTrash(ctx, ""); len(all) != 3 {
			t.Errorf("ListTrash(\"\") = %d entries, want 3", len(all))
		}
		got, err := db.GetTrash(ctx, e1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UID != "u1" || got.SideID != "u1.vcf" || string(got.Card) != "card1" || got.Reason != "deleted" ||
			!got.Created.Equal(old) || got.RestoreRequested || !got.Restored.IsZero() {
			t.Errorf("GetTrash = %+v", got)
		}
		if _, err := db.GetTrash(ctx, 9999); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetTrash(missing) = %v, want ErrNotFound", err)
		}
		if err := db.RequestRestore(ctx, 9999); !errors.Is(err, ErrNotFound) {
			t.Errorf("RequestRestore(missing) = %v, want ErrNotFound", err)
		}

		if err := db.RequestRestore(ctx, e1.ID); err != nil {
			t.Fatal(err)
		}
		pending, err := db.PendingRestores(ctx, "work")
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 1 || pending[0].ID != e1.ID || !pending[0].RestoreRequested {
			t.Fatalf("PendingRestores = %+v", pending)
		}
		if p, _ := db.PendingRestores(ctx, "home"); len(p) != 0 {
			t.Errorf("PendingRestores(home) = %+v", p)
		}
		// A pending restore is not purged.
		if r, err := db.PurgeTrash(ctx, Purge{Pair: "work", TrashLimits: TrashLimits{Retention: time.Hour}}); err != nil || r.Entries != 0 {
			t.Errorf("PurgeTrash with a pending restore = %+v, %v; want 0", r, err)
		}
		if err := db.MarkRestored(ctx, e1.ID); err != nil {
			t.Fatal(err)
		}
		if p, _ := db.PendingRestores(ctx, "work"); len(p) != 0 {
			t.Errorf("PendingRestores after MarkRestored = %+v", p)
		}
		got, _ = db.GetTrash(ctx, e1.ID)
		if got.RestoreRequested || got.Restored.IsZero() {
			t.Errorf("after MarkRestored: %+v", got)
		}
		list, _ = db.ListTrash(ctx, "work")
		if len(list) != 2 || list[1].Restored.IsZero() {
			t.Errorf("ListTrash does not flag the restored entry: %+v", list)
		}

		r, err := db.PurgeTrash(ctx, Purge{Pair: "work", TrashLimits: TrashLimits{Retention: time.Hour}})
		if err != nil || r.Entries != 1 {
			t.Errorf("PurgeTrash = %+v, %v; want 1", r, err)
		}
		if all, _ := db.ListTrash(ctx, ""); len(all) != 2 {
			t.Errorf("after purge %d entries, want 2", len(all))
		}
	})
}

func TestConflicts(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		it := Item{Pair: "work", UID: "u1"}
		if err := db.PutItem(ctx, &it); err != nil {
			t.Fatal(err)
		}
		c := Conflict{Pair: "work", ItemID: it.ID, UID: "u1", A: []byte("A1"), B: []byte("B1"), Base: []byte("base")}
		if err := db.UpsertConflict(ctx, &c); err != nil {
			t.Fatal(err)
		}
		first := c.ID
		// The same item again: the open conflict is updated.
		c2 := Conflict{Pair: "work", ItemID: it.ID, UID: "u1", A: []byte("A2"), B: []byte("B2"), Base: []byte("base")}
		if err := db.UpsertConflict(ctx, &c2); err != nil {
			t.Fatal(err)
		}
		if c2.ID != first {
			t.Errorf("second UpsertConflict made a new conflict %d, want %d", c2.ID, first)
		}
		// A conflict of two new items (no item yet).
		nc := Conflict{Pair: "work", UID: "new", A: []byte("NA"), B: []byte("NB")}
		if err := db.UpsertConflict(ctx, &nc); err != nil {
			t.Fatal(err)
		}
		nc2 := nc
		nc2.ID = 0
		if err := db.UpsertConflict(ctx, &nc2); err != nil || nc2.ID != nc.ID {
			t.Errorf("UpsertConflict of an unlinked conflict again: id %d (want %d), %v", nc2.ID, nc.ID, err)
		}

		open, err := db.Conflicts(ctx, "work", true)
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 2 || open[0].ID != first || string(open[0].A) != "A2" || open[0].ItemID != it.ID || open[1].ItemID != 0 {
			t.Fatalf("Conflicts = %+v", open)
		}
		got, err := db.GetConflict(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.B) != "B2" || string(got.Base) != "base" || got.Keep != "" || got.Created.IsZero() {
			t.Errorf("GetConflict = %+v", got)
		}
		if _, err := db.GetConflict(ctx, 9999); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetConflict(missing) = %v", err)
		}

		if err := db.ResolveConflict(ctx, first, "c", nil); err == nil {
			t.Error("ResolveConflict keep=c succeeded")
		}
		if err := db.ResolveConflict(ctx, first, "merged", nil); err == nil {
			t.Error("ResolveConflict keep=merged without a card succeeded")
		}
		if err := db.ResolveConflict(ctx, 9999, "a", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("ResolveConflict(missing) = %v", err)
		}
		if err := db.ResolveConflict(ctx, first, "b", nil); err != nil {
			t.Fatal(err)
		}
		got, _ = db.GetConflict(ctx, first)
		if got.Keep != "b" || string(got.Merged) != "B2" {
			t.Errorf("after resolve b: keep %q merged %q", got.Keep, got.Merged)
		}
		if err := db.ResolveConflict(ctx, first, "merged", []byte("M")); err != nil {
			t.Fatal(err)
		}
		if open, _ := db.Conflicts(ctx, "work", true); len(open) != 1 {
			t.Errorf("open conflicts after resolve = %d, want 1", len(open))
		}
		if all, _ := db.Conflicts(ctx, "", false); len(all) != 2 {
			t.Errorf("all conflicts = %d, want 2", len(all))
		}
		pending, err := db.PendingResolutions(ctx, "work")
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 1 || pending[0].Keep != "merged" || string(pending[0].Merged) != "M" {
			t.Fatalf("PendingResolutions = %+v", pending)
		}
		// A new clash on the item while the resolution waits: a new open conflict.
		c3 := Conflict{Pair: "work", ItemID: it.ID, UID: "u1", A: []byte("A3"), B: []byte("B3")}
		if err := db.UpsertConflict(ctx, &c3); err != nil {
			t.Fatal(err)
		}
		if c3.ID == first {
			t.Error("UpsertConflict updated a resolved conflict")
		}

		if err := db.MarkConflictApplied(ctx, first); err != nil {
			t.Fatal(err)
		}
		if p, _ := db.PendingResolutions(ctx, "work"); len(p) != 0 {
			t.Errorf("PendingResolutions after apply = %+v", p)
		}
		got, _ = db.GetConflict(ctx, first)
		if got.Resolved.IsZero() {
			t.Error("Resolved not set")
		}
		if err := db.ResolveConflict(ctx, first, "a", nil); !errors.Is(err, ErrConflictApplied) {
			t.Errorf("ResolveConflict after apply = %v", err)
		}

		if err := db.DeleteConflictsOfItem(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
		if all, _ := db.Conflicts(ctx, "work", false); len(all) != 1 || all[0].ID != nc.ID {
			t.Errorf("after DeleteConflictsOfItem: %+v", all)
		}
		// Deleting an item removes its conflicts too.
		c4 := Conflict{Pair: "work", ItemID: it.ID, UID: "u1"}
		if err := db.UpsertConflict(ctx, &c4); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteItem(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetConflict(ctx, c4.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("conflict of a deleted item: %v", err)
		}
	})
}

func TestRuns(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		if _, ok, err := db.LastRun(ctx, "work"); ok || err != nil {
			t.Errorf("LastRun of nothing = %v, %v", ok, err)
		}
		t0 := time.Now().Add(-time.Hour)
		r1 := Run{Pair: "work", Started: t0, Finished: t0.Add(time.Minute), OK: false, Summary: []byte(`{"pair":"work"}`)}
		r2 := Run{Pair: "work", Started: t0.Add(30 * time.Minute), Finished: t0.Add(31 * time.Minute), OK: true, Summary: []byte(`{"n":2}`)}
		r3 := Run{Pair: "home", OK: true}
		for _, r := range []*Run{&r1, &r2, &r3} {
			if err := db.AddRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			if r.ID == 0 {
				t.Fatal("AddRun did not set ID")
			}
		}
		got, ok, err := db.LastRun(ctx, "work")
		if err != nil || !ok {
			t.Fatalf("LastRun = %v, %v", ok, err)
		}
		if got.ID != r2.ID || !got.OK || string(got.Summary) != `{"n":2}` || !got.Started.Equal(r2.Started) || !got.Finished.Equal(r2.Finished) {
			t.Errorf("LastRun = %+v, want %+v", got, r2)
		}
		got, _, _ = db.LastRun(ctx, "home")
		if got.ID != r3.ID || !got.Finished.IsZero() || got.Summary != nil {
			t.Errorf("LastRun(home) = %+v", got)
		}
	})
}

// The tables the engine relies on exist with their indexes.
func TestSchemaIndexes(t *testing.T) {
	db, _ := openTest(t)
	for _, name := range []string{"items_pair_a_id", "items_pair_b_id", "items_pair_uid"} {
		var n int
		if err := db.sql.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, name).Scan(&n); err != nil || n != 1 {
			t.Errorf("index %s missing (%v)", name, err)
		}
	}
	var plan string
	rows, err := db.sql.Query(`EXPLAIN QUERY PLAN SELECT id FROM items WHERE pair = ? AND b_id = ?`, "p", "x")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, notused int
		var detail string
		rows.Scan(&id, &parent, &notused, &detail)
		plan += detail
	}
	if !strings.Contains(plan, "items_pair_b_id") {
		t.Errorf("lookup by (pair, b_id) does not use its index: %s", plan)
	}
}
