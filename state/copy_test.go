package state

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
)

// filledSource makes a SQLite state at a new path holding a row in every
// table Copy copies (fillUser for two users, whose purge, trash and change
// logs leave gaps in the ids), closes it and returns its path. A table the
// fixture leaves empty fails the test: a table a migration adds must be
// given a row here, so that the copy tests cover it.
func filledSource(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path, Options{TokenKey: testTokenKey()})
	if err != nil {
		t.Fatal(err)
	}
	fillUser(t, db, "alice")
	fillUser(t, db, "bob")
	// A tenant's directory copy and its delta token.
	dn, en := "Carol", false
	if err := db.ApplyDirectoryChanges(ctx, "tenant-1", true, []api.DirectoryUser{{ID: "c1", DisplayName: &dn, AccountEnabled: &en,
		BusinessPhones: []string{"+1 555 0100"}, ManagerDelta: []api.DirectoryObject{{ID: "b2"}}}}, "tok1"); err != nil {
		t.Fatal(err)
	}
	// A tombstone in its change log.
	if err := db.ApplyDirectoryChanges(ctx, "tenant-1", false, []api.DirectoryUser{{ID: "g9", DisplayName: &dn}, {ID: "g9", Removed: &api.Removed{Reason: "deleted"}}}, "tok2"); err != nil {
		t.Fatal(err)
	}
	// The members of a group limiting its Directory book.
	if _, _, err := db.SetDirectoryGroupMembers(ctx, "tenant-1", "grp-1", []string{"c1"}); err != nil {
		t.Fatal(err)
	}
	// Ids past the last row: the newest trash entry is purged.
	e := &TrashEntry{Pair: "web-alice:work", Side: "b", UID: "gone", Card: []byte("X"), Reason: "deleted"}
	if err := db.AddTrash(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.Exec(`DELETE FROM trash WHERE id = ?`, e.ID); err != nil {
		t.Fatal(err)
	}
	tables, err := db.HashTables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names, err := tableNames(ctx, db, db.sql)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, ex := copyExclusion(n); ex {
			continue
		}
		if tables[n].Rows == 0 {
			t.Errorf("table %s is empty in the copy fixture: give it a row in fillUser or filledSource", n)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileStamps are the contents' hashes and modification times of a SQLite
// state's files.
func fileStamps(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			out[f] = "absent"
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = st.ModTime().String() + " " + fmt.Sprintf("%x", sha256.Sum256(b))
	}
	return out
}

// TestCopy copies a SQLite state into an empty state on each backend: every
// table arrives with the same count and content hash, the data reads back
// through the API (tokens open with the same key), the ids go on after the
// source's, the source's files are not touched, and a second copy into the
// now filled target is refused without a change.
func TestCopy(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		path := filledSource(t)
		before := fileStamps(t, path)
		src := backends[0].openAt(t, path, Options{ReadOnly: true})
		dst, _ := be.openTest(t)

		rep, err := Copy(ctx, src, dst)
		if err != nil {
			t.Fatal(err)
		}
		srcHash, err := src.HashTables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dstHash, err := dst.HashTables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(srcHash) == 0 || len(srcHash) != len(dstHash) {
			t.Fatalf("tables: source %d, target %d", len(srcHash), len(dstHash))
		}
		for n, h := range srcHash {
			if dstHash[n] != h {
				t.Errorf("table %s: source %+v, target %+v", n, h, dstHash[n])
			}
		}
		var copied []string
		for _, tc := range rep.Tables {
			copied = append(copied, tc.Name)
			if tc != srcHash[tc.Name] {
				t.Errorf("report of %s: %+v, source %+v", tc.Name, tc, srcHash[tc.Name])
			}
		}
		if len(copied) != len(srcHash) {
			t.Errorf("report lists %d tables, the source has %d", len(copied), len(srcHash))
		}
		// Parents first.
		if slices.Index(copied, "server_users") > slices.Index(copied, "addressbooks") ||
			slices.Index(copied, "cards") > slices.Index(copied, "card_index") {
			t.Errorf("copy order %v puts a table before its parent", copied)
		}
		if rep.SchemaVersion != LatestSchemaVersion() || rep.SealedTokens != 2 {
			t.Errorf("report: schema %d, sealed tokens %d", rep.SchemaVersion, rep.SealedTokens)
		}
		var excluded []string
		for _, e := range rep.Excluded {
			excluded = append(excluded, e.Name)
			if e.Reason == "" {
				t.Errorf("excluded %s without a reason", e.Name)
			}
		}
		if !slices.Contains(excluded, "leases") || !slices.Contains(excluded, "schema_version") {
			t.Errorf("excluded: %v", excluded)
		}

		// Read back through the API.
		tok, ok, err := dst.LoadToken(ctx, "web-alice")
		if err != nil || !ok || tok.RefreshToken != "rt-alice" {
			t.Errorf("token on the target: %+v %v %v", tok, ok, err)
		}
		for _, pair := range []string{"web-alice:office365", "web-bob:work"} {
			a, _ := src.Items(ctx, pair)
			b, err := dst.Items(ctx, pair)
			if err != nil || len(a) == 0 || len(a) != len(b) || a[0].ID != b[0].ID || a[0].UID != b[0].UID || a[0].BaseHash != b[0].BaseHash {
				t.Errorf("items of %s: source %d, target %d (%v)", pair, len(a), len(b), err)
			}
		}
		// A phone's sync token from the source is valid on the target, and
		// the next change number and trash id come after the source's.
		sb, _ := src.AddressBook(ctx, "alice", "work")
		db, err := dst.AddressBook(ctx, "alice", "work")
		if err != nil {
			t.Fatal(err)
		}
		_, _, srcSeq, err := src.CardChanges(ctx, sb.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := dst.PutCard(ctx, db.ID, "new.vcf", "new-uid", []byte("BEGIN:VCARD\r\nEND:VCARD\r\n"), Precondition{}); err != nil {
			t.Fatal(err)
		}
		changed, _, dstSeq, err := dst.CardChanges(ctx, db.ID, srcSeq)
		if err != nil || !slices.Equal(changed, []string{"new.vcf"}) || dstSeq <= srcSeq {
			t.Errorf("changes since the source's token %d: %v to %d, %v", srcSeq, changed, dstSeq, err)
		}
		var maxTrash int64
		if err := src.sql.QueryRow(`SELECT seq FROM sqlite_sequence WHERE name = 'trash'`).Scan(&maxTrash); err != nil {
			t.Fatal(err)
		}
		e := &TrashEntry{Pair: "web-alice:work", Side: "a", UID: "u2", Card: []byte("Y"), Reason: "deleted"}
		if err := dst.AddTrash(ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.ID <= maxTrash {
			t.Errorf("new trash id %d on the target; the source had given up to %d", e.ID, maxTrash)
		}

		// A second copy into the filled target: refused, nothing changed.
		after, err := dst.HashTables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Copy(ctx, src, dst); !errors.Is(err, ErrTargetNotEmpty) || !strings.Contains(err.Error(), "table ") {
			t.Errorf("copy into a filled target: %v", err)
		}
		again, err := dst.HashTables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for n, h := range after {
			if again[n] != h {
				t.Errorf("refused copy changed %s: %+v → %+v", n, h, again[n])
			}
		}

		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
		// The file is not written; SQLite's read-only open of a WAL
		// database may leave an empty -wal and a -shm beside it.
		got := fileStamps(t, path)
		if got[path] != before[path] {
			t.Errorf("the source file changed: %s → %s", before[path], got[path])
		}
		if w := got[path+"-wal"]; w != "absent" && !strings.HasSuffix(w, emptySHA256) {
			t.Errorf("the source's WAL was written: %s", w)
		}
	})
}

// emptySHA256 is the hex SHA-256 of nothing.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// TestCopyFromPostgres copies back: PostgreSQL to a new SQLite file.
func TestCopyFromPostgres(t *testing.T) {
	ctx := context.Background()
	path := filledSource(t)
	src := backends[0].openAt(t, path, Options{ReadOnly: true})
	pg, _ := backends[1].openTest(t)
	if _, err := Copy(ctx, src, pg); err != nil {
		t.Fatal(err)
	}
	back := backends[0].openAt(t, filepath.Join(t.TempDir(), "back.db"), Options{})
	if _, err := Copy(ctx, pg, back); err != nil {
		t.Fatal(err)
	}
	a, err := src.HashTables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := back.HashTables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for n, h := range a {
		if b[n] != h {
			t.Errorf("table %s: first %+v, after the round trip %+v", n, h, b[n])
		}
	}
}

// TestCopyVerifies: a target that does not keep what it was given (here a
// trigger that alters each run written) fails the verification, and the
// target is left as it was: nothing committed.
func TestCopyVerifies(t *testing.T) {
	ctx := context.Background()
	src := backends[0].openAt(t, filledSource(t), Options{ReadOnly: true})
	dst := backends[0].openAt(t, filepath.Join(t.TempDir(), "dst.db"), Options{})
	if _, err := dst.sql.Exec(`CREATE TRIGGER spoil AFTER INSERT ON runs BEGIN UPDATE runs SET ok = 1 - ok WHERE rowid = NEW.rowid; END`); err != nil {
		t.Fatal(err)
	}
	_, err := Copy(ctx, src, dst)
	if err == nil || !strings.Contains(err.Error(), "verification failed: table runs") {
		t.Fatalf("copy into a spoiling target: %v", err)
	}
	h, err := dst.HashTables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for n, tc := range h {
		if tc.Rows != 0 {
			t.Errorf("table %s has %d rows after the failed copy", n, tc.Rows)
		}
	}
}

// TestCopyRefusesSchemaMismatch: a database at another schema version than
// the binary's is refused, naming which and what to do.
func TestCopyRefusesSchemaMismatch(t *testing.T) {
	ctx := context.Background()
	src := backends[0].openAt(t, filledSource(t), Options{ReadOnly: true})
	dst := backends[0].openAt(t, filepath.Join(t.TempDir(), "dst.db"), Options{})
	if _, err := dst.sql.Exec(`INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', ?)`, time.Now().UnixNano()); err != nil {
		t.Fatal(err)
	}
	_, err := Copy(ctx, src, dst)
	if err == nil || !strings.Contains(err.Error(), "the target's schema is version 999, newer") {
		t.Fatalf("copy into a newer target: %v", err)
	}
	old := backends[0].openAt(t, filepath.Join(t.TempDir(), "old.db"), Options{})
	if _, err := old.sql.Exec(`DELETE FROM schema_version WHERE version = ?`, LatestSchemaVersion()); err != nil {
		t.Fatal(err)
	}
	fresh := backends[0].openAt(t, filepath.Join(t.TempDir(), "fresh.db"), Options{})
	if _, err := Copy(ctx, old, fresh); err == nil || !strings.Contains(err.Error(), "the source's schema is version") ||
		!strings.Contains(err.Error(), "cardbridge state migrate --state ") {
		t.Fatalf("copy of an older source: %v", err)
	}
	if _, err := Copy(ctx, src, src); err == nil || !strings.Contains(err.Error(), "same database") {
		t.Fatalf("copy onto itself: %v", err)
	}
}

// TestCopyLargeRows: a table whose rows add up to more than one INSERT's
// byte bound (copyBytesPerInsert) is copied in several, whole.
func TestCopyLargeRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "big.db")
	db := backends[0].openAt(t, path, Options{})
	if err := db.AddUser(ctx, "carol", "$2a$hash"); err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateAddressBook(ctx, "carol", "photos", "Photos", "")
	if err != nil {
		t.Fatal(err)
	}
	photo := strings.Repeat("P", 512<<10)
	for i := range 12 {
		card := fmt.Sprintf("BEGIN:VCARD\r\nUID:u%d\r\nPHOTO:%s\r\nEND:VCARD\r\n", i, photo)
		if _, _, err := db.PutCard(ctx, b.ID, fmt.Sprintf("%d.vcf", i), fmt.Sprintf("u%d", i), []byte(card), Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	src := backends[0].openAt(t, path, Options{ReadOnly: true})
	dst := backends[0].openAt(t, filepath.Join(t.TempDir(), "copy.db"), Options{})
	rep, err := Copy(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range rep.Tables {
		if tc.Name == "cards" && tc.Rows != 12 {
			t.Errorf("cards copied: %d, want 12", tc.Rows)
		}
	}
	got, err := dst.GetCards(ctx, b.ID, []string{"11.vcf"})
	if err != nil || len(got["11.vcf"].Data) < 512<<10 {
		t.Errorf("the last card on the copy: %d bytes, %v", len(got["11.vcf"].Data), err)
	}
}
