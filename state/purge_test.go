package state

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// openClocked opens a fresh state file whose trash runs on clock.
func openClocked(t testing.TB, clock *fakeClock) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "state.db"), Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// trashIDs lists the ids of pair's trash, newest first.
func trashIDs(t *testing.T, db *DB, pair string) []int64 {
	t.Helper()
	es, err := db.ListTrash(context.Background(), pair)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestPurgeTrash(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		const day = 24 * time.Hour
		start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		// Entries e0..e4 of pair "p", one a day from start (e0 oldest), each
		// card of its size; "q" has an old entry that no purge of "p" touches.
		sizes := []int{100, 200, 300, 400, 500}
		tests := []struct {
			name     string
			limits   TrashLimits
			pending  []int // entries with a restore pending
			wantKept []int // indexes into e, newest first
			byAge    int
			bySize   int
		}{
			{"no limit keeps everything", TrashLimits{}, nil, []int{4, 3, 2, 1, 0}, 0, 0},
			{"retention 30 days: nothing old enough", TrashLimits{Retention: 30 * day}, nil, []int{4, 3, 2, 1, 0}, 0, 0},
			{"retention 2 days", TrashLimits{Retention: 2 * day}, nil, []int{4, 3}, 3, 0},
			{"retention 2 days keeps a pending restore", TrashLimits{Retention: 2 * day}, []int{0}, []int{4, 3, 0}, 2, 0},
			{"cap keeps the newest that fit", TrashLimits{MaxBytes: 1000}, nil, []int{4, 3}, 0, 3},
			{"cap exactly full", TrashLimits{MaxBytes: 1200}, nil, []int{4, 3, 2}, 0, 2},
			{"cap: an older small entry goes too", TrashLimits{MaxBytes: 1050}, nil, []int{4, 3}, 0, 3},
			{"cap below the newest entry", TrashLimits{MaxBytes: 499}, nil, nil, 0, 5},
			{"cap counts a pending restore and keeps it", TrashLimits{MaxBytes: 1000}, []int{1}, []int{4, 3, 1}, 0, 2},
			{"age then size", TrashLimits{Retention: 3*day + time.Hour, MaxBytes: 500}, nil, []int{4}, 1, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				clock := &fakeClock{t: start}
				db := be.openClocked(t, clock)
				var ids []int64
				for i, n := range sizes {
					e := TrashEntry{Pair: "p", Side: "b", UID: fmt.Sprint("u", i), Card: bytes.Repeat([]byte("x"), n), Reason: "overwritten"}
					if err := db.AddTrash(ctx, &e); err != nil {
						t.Fatal(err)
					}
					if !e.Created.Equal(clock.t) {
						t.Fatalf("entry created %v, want the injected clock's %v", e.Created, clock.t)
					}
					ids = append(ids, e.ID)
					if i == 0 {
						q := TrashEntry{Pair: "q", Side: "a", Card: []byte("old"), Reason: "deleted"}
						if err := db.AddTrash(ctx, &q); err != nil {
							t.Fatal(err)
						}
					}
					clock.t = clock.t.Add(day)
				}
				for _, i := range tt.pending {
					if err := db.RequestRestore(ctx, ids[i]); err != nil {
						t.Fatal(err)
					}
				}
				clock.t = start.Add(4*day + time.Hour) // e4 is an hour old
				res, err := db.PurgeTrash(ctx, Purge{Pair: "p", TrashLimits: tt.limits})
				if err != nil {
					t.Fatal(err)
				}
				var want []int64
				var keptBytes, goneBytes int64
				for _, i := range tt.wantKept {
					want = append(want, ids[i])
					keptBytes += int64(sizes[i])
				}
				for _, n := range sizes {
					goneBytes += int64(n)
				}
				goneBytes -= keptBytes
				if got := trashIDs(t, db, "p"); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("kept %v, want %v", got, want)
				}
				if res.ByAge != tt.byAge || res.BySize != tt.bySize || res.Entries != tt.byAge+tt.bySize ||
					res.Bytes != goneBytes || res.Kept != len(want) || res.KeptBytes != keptBytes {
					t.Errorf("result %+v, want %d by age, %d by size, %d bytes gone, %d kept (%d bytes)", res, tt.byAge, tt.bySize, goneBytes, len(want), keptBytes)
				}
				if q := trashIDs(t, db, "q"); len(q) != 1 {
					t.Errorf("pair q's trash = %v after a purge of p", q)
				}
			})
		}
	})
}

func TestPurgeTrashRefusesBadInput(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		db := be.openClocked(t, &fakeClock{t: time.Now()})
		for _, p := range []Purge{
			{},
			{Pair: "p", TrashLimits: TrashLimits{Retention: -time.Hour}},
			{Pair: "p", TrashLimits: TrashLimits{MaxBytes: -1}},
		} {
			if _, err := db.PurgeTrash(context.Background(), p); err == nil {
				t.Errorf("PurgeTrash(%+v) accepted", p)
			}
		}
	})
}

// A restore of a purged entry says it is gone, when and why; an id that
// never existed is plain "not found".
func TestRestorePurged(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		const day = 24 * time.Hour
		clock := &fakeClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
		db := be.openClocked(t, clock)
		add := func(pair string, n int) []int64 {
			var ids []int64
			for i := 0; i < n; i++ {
				e := TrashEntry{Pair: pair, Side: "a", Card: []byte(pair + fmt.Sprint(i)), Reason: "deleted"}
				if err := db.AddTrash(ctx, &e); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, e.ID)
			}
			return ids
		}
		// Two pairs whose ids interleave: a purge of one must not be taken for
		// the purge of the other's entries.
		var aIDs, bIDs []int64
		for i := 0; i < 3; i++ {
			aIDs = append(aIDs, add("a", 2)...)
			bIDs = append(bIDs, add("b", 1)...)
		}
		clock.t = clock.t.Add(40 * day)
		purgedA := clock.t
		if r, err := db.PurgeTrash(ctx, Purge{Pair: "a", TrashLimits: TrashLimits{Retention: 30 * day}}); err != nil || r.Entries != 6 {
			t.Fatalf("purge a = %+v, %v", r, err)
		}
		for _, id := range bIDs {
			if _, err := db.GetTrash(ctx, id); err != nil {
				t.Errorf("entry %d of b after the purge of a: %v", id, err)
			}
		}
		clock.t = clock.t.Add(2 * day)
		purgedB := clock.t
		newB := add("b", 1)[0]
		if r, err := db.PurgeTrash(ctx, Purge{Pair: "b", TrashLimits: TrashLimits{MaxBytes: 2}, Manual: true}); err != nil || r.Entries != 3 {
			t.Fatalf("purge b = %+v, %v", r, err)
		}

		checks := []struct {
			id   int64
			want string
			at   time.Time
		}{
			{aIDs[0], fmt.Sprintf("trash entry %d (pair a) was purged on 2026-04-10 08:00 UTC: it was older than 30 days (trash_retention); it can no longer be restored", aIDs[0]), purgedA},
			{aIDs[5], "(pair a) was purged on 2026-04-10 08:00 UTC", purgedA},
			{bIDs[1], fmt.Sprintf("trash entry %d (pair b) was purged on 2026-04-12 08:00 UTC: the trash of pair b was over its cap of 2 B (trash_max_size, by `cardbridge trash purge`) and it was among the oldest", bIDs[1]), purgedB},
		}
		for _, c := range checks {
			for name, call := range map[string]func() error{
				"GetTrash":       func() error { _, err := db.GetTrash(ctx, c.id); return err },
				"RequestRestore": func() error { return db.RequestRestore(ctx, c.id) },
			} {
				err := call()
				var pe *PurgedError
				if !errors.As(err, &pe) || !errors.Is(err, ErrNotFound) {
					t.Errorf("%s(%d) = %v, want a *PurgedError that is ErrNotFound", name, c.id, err)
					continue
				}
				if !strings.Contains(err.Error(), c.want) || !pe.At.Equal(c.at) {
					t.Errorf("%s(%d) = %q (at %v), want it to say %q (at %v)", name, c.id, err, pe.At, c.want, c.at)
				}
			}
		}
		if _, err := db.GetTrash(ctx, newB); err != nil {
			t.Errorf("the newest entry of b: %v", err)
		}
		var pe *PurgedError
		if _, err := db.GetTrash(ctx, newB+100); !errors.Is(err, ErrNotFound) || errors.As(err, &pe) {
			t.Errorf("GetTrash of an id never given = %v, want plain ErrNotFound", err)
		}
		// A purge no longer on record still says the entry is gone.
		if _, err := db.sql.Exec(`DELETE FROM trash_purges`); err != nil {
			t.Fatal(err)
		}
		if err := db.RequestRestore(ctx, aIDs[0]); !errors.As(err, &pe) || !strings.Contains(err.Error(), "is gone: it was purged") {
			t.Errorf("restore of a purge no longer on record = %v", err)
		}
	})
}

// The purge log stays within its bounds: a year and purgeLogRows rows.
func TestPurgeLogBounded(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		db := be.openClocked(t, clock)
		db.purgeLogRows = 5
		count := func() (n int) {
			if err := db.sql.QueryRow(`SELECT COUNT(*) FROM trash_purges`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		purgeOne := func() {
			t.Helper()
			e := TrashEntry{Pair: "p", Side: "a", Card: []byte("x"), Reason: "deleted"}
			if err := db.AddTrash(ctx, &e); err != nil {
				t.Fatal(err)
			}
			clock.t = clock.t.Add(time.Hour)
			if r, err := db.PurgeTrash(ctx, Purge{Pair: "p", TrashLimits: TrashLimits{Retention: time.Minute}}); err != nil || r.Entries != 1 {
				t.Fatalf("purge = %+v, %v", r, err)
			}
		}
		for i := 0; i < 8; i++ {
			purgeOne()
		}
		if n := count(); n != 5 {
			t.Errorf("%d log rows after 8 purges, want the bound 5", n)
		}
		clock.t = clock.t.Add(400 * 24 * time.Hour)
		purgeOne()
		if n := count(); n != 1 {
			t.Errorf("%d log rows a year later, want only the new purge's", n)
		}
	})
}

// A new file uses incremental auto-vacuum, and a purge that frees most of
// it gives the pages back: the file shrinks.
func TestPurgeShrinksFile(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	db := openClocked(t, clock)
	var mode int
	if err := db.sql.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("auto_vacuum = %d, %v; want 2 (incremental)", mode, err)
	}
	card := bytes.Repeat([]byte("photo"), 4000) // 20 kB, like a card with a photo
	err := db.Update(ctx, func(tx *Tx) error {
		for i := 0; i < 500; i++ {
			if err := tx.AddTrash(&TrashEntry{Pair: "p", Side: "a", Card: card, Reason: "deleted"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	full, _, err := db.FileSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(time.Hour)
	if r, err := db.PurgeTrash(ctx, Purge{Pair: "p", TrashLimits: TrashLimits{MaxBytes: 1 << 20}}); err != nil || r.Entries != 500-52 {
		t.Fatalf("purge = %+v, %v", r, err)
	}
	after, free, err := db.FileSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after > full/4 || free > after/5 {
		t.Errorf("file %d bytes (%d free) after purging 90%% of its %d bytes", after, free, full)
	}
}

// Vacuum switches a file made without auto-vacuum (before this version)
// to incremental auto-vacuum and compacts it; the entries stay.
func TestVacuumSwitchesOldFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE old_style (x INTEGER)`); err != nil { // made with auto_vacuum NONE
		t.Fatal(err)
	}
	raw.Close()
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode int
	if db.sql.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); mode != 0 {
		t.Fatalf("auto_vacuum of the old file = %d before VACUUM, want 0", mode)
	}
	e := TrashEntry{Pair: "p", Side: "a", Card: bytes.Repeat([]byte("y"), 100000), Reason: "deleted"}
	keep := TrashEntry{Pair: "p", Side: "a", Card: []byte("kept"), Reason: "deleted"}
	for _, x := range []*TrashEntry{&e, &keep} {
		if err := db.AddTrash(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.PurgeTrash(ctx, Purge{Pair: "p", TrashLimits: TrashLimits{MaxBytes: 10}}); err != nil {
		t.Fatal(err)
	}
	before, after, err := db.Vacuum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if db.sql.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); mode != 2 || after >= before {
		t.Errorf("after Vacuum: auto_vacuum %d, size %d -> %d; want 2 and smaller", mode, before, after)
	}
	if got, err := db.GetTrash(ctx, keep.ID); err != nil || string(got.Card) != "kept" {
		t.Errorf("entry after Vacuum: %+v, %v", got, err)
	}
}

// Migration 0006 fills trash.size for the entries a file already has.
func TestMigrationTrashSize(t *testing.T) {
	forBackends(t, testMigrationTrashSize)
}

func testMigrationTrashSize(t *testing.T, be backend) {
	ctx := context.Background()
	path := be.location(t)
	raw := be.openAtSchema(t, path, 5).sql
	if _, err := raw.Exec(`INSERT INTO trash (pair, side, card, reason, created_at) VALUES ('p', 'a', ?, 'deleted', 1)`, bytes.Repeat([]byte("z"), 1234)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := Open(ctx, path, Options{Now: func() time.Time { return time.Unix(0, 10) }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.PurgeTrash(ctx, Purge{Pair: "p", TrashLimits: TrashLimits{MaxBytes: 1000}})
	if err != nil || r.Entries != 1 || r.Bytes != 1234 {
		t.Errorf("purge of an entry from before 0006 = %+v, %v; want 1 entry of 1234 bytes", r, err)
	}
}

// openAtSchema returns a database at path built by the first n migrations
// only, as an older cardbridge left it; the next Open migrates the rest.
func openAtSchema(t *testing.T, path string, n int) *DB {
	t.Helper()
	return backends[0].openAtSchema(t, path, n)
}

// openAtSchema is openAtSchema on b: loc is a file path or a PostgreSQL URL.
// The returned DB has only its sql handle (close it with db.sql.Close).
func (b backend) openAtSchema(t *testing.T, loc string, n int) *DB {
	t.Helper()
	d := &dialect{postgres: b.postgres()}
	driver := "sqlite"
	if d.postgres {
		driver = "pgx"
	}
	raw, err := sql.Open(driver, loc)
	if err != nil {
		t.Fatal(err)
	}
	db := &DB{sql: &sqlDB{DB: raw, d: d}, dialect: d}
	ms, err := migrationsFor(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.Exec(d.ddl(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:n] {
		if _, err := db.sql.Exec(m.sql); err != nil {
			t.Fatal(m.name, err)
		}
		if _, err := db.sql.Exec(`INSERT INTO schema_version VALUES (?, ?, 0)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	return db
}
