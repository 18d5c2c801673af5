//go:build unix

package state

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// withUmask runs fn with the process umask set to mask, so that the modes
// checked come from the code, not from a strict umask. The state tests do
// not run in parallel, so the process-wide change is safe here.
func withUmask(mask int, fn func()) {
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	fn()
}

// checkPrivate fails unless the database file and its -wal and -shm
// files exist and have mode 0600.
func checkPrivate(t *testing.T, path string) {
	t.Helper()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

// write makes the open database write, so that its WAL and shared-memory
// files exist.
func write(t *testing.T, db *DB) {
	t.Helper()
	if err := db.SetToken(context.Background(), "p", "a", "tok"); err != nil {
		t.Fatal(err)
	}
}

// TestPermNewFileInLooseDirectory: with a umask of 0, a state database
// created in an existing 0755 directory, and one whose directories are
// created, is 0600 with its -wal and -shm files, and new directories are
// 0700.
func TestPermNewFileInLooseDirectory(t *testing.T) {
	withUmask(0, func() {
		ctx := context.Background()
		loose := filepath.Join(t.TempDir(), "loose")
		if err := os.Mkdir(loose, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(loose, 0o755)
		fresh := filepath.Join(t.TempDir(), "x", "y", "state")
		for _, path := range []string{filepath.Join(loose, "state.db"), filepath.Join(fresh, "state.db")} {
			db, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			write(t, db)
			checkPrivate(t, path)
			db.Close()
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s after close: %v %v", path, fi.Mode(), err)
			}
			// Reopened: still private, WAL files recreated private.
			db, err = Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			write(t, db)
			checkPrivate(t, path)
			db.Close()
		}
		for _, d := range []string{fresh, filepath.Dir(fresh), filepath.Dir(filepath.Dir(fresh))} {
			fi, err := os.Stat(d)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("created directory %s: %v %v, want 0700", d, fi.Mode().Perm(), err)
			}
		}
		// An existing directory keeps its mode (it is the user's).
		if fi, _ := os.Stat(loose); fi.Mode().Perm() != 0o755 {
			t.Errorf("existing directory changed to %v", fi.Mode().Perm())
		}
	})
}

// TestPermAfterMigration: a database at schema version 1 (as an older
// cardbridge left it, 0600) is migrated by Open; the file and its -wal and
// -shm files are 0600 afterwards.
func TestPermAfterMigration(t *testing.T) {
	withUmask(0, func() {
		ctx := context.Background()
		ms, err := migrations()
		if err != nil || len(ms) < 2 {
			t.Fatalf("migrations: %d, %v", len(ms), err)
		}
		path := filepath.Join(t.TempDir(), "old.db")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		old, err := sql.Open("sqlite", "file://"+path+"?_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			ms[0].sql,
			`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		} {
			if _, err := old.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := old.ExecContext(ctx, `INSERT INTO schema_version VALUES (?, ?, ?)`, ms[0].version, ms[0].name, time.Now().Unix()); err != nil {
			t.Fatal(err)
		}
		old.Close()
		for _, p := range []string{path + "-wal", path + "-shm"} {
			os.Remove(p)
		}

		var logs bytes.Buffer
		db, err := Open(ctx, path, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if v, err := db.SchemaVersion(ctx); err != nil || v != LatestSchemaVersion() || v == ms[0].version {
			t.Fatalf("schema version %d (%v), want %d", v, err, LatestSchemaVersion())
		}
		if !strings.Contains(logs.String(), "migration applied") {
			t.Fatalf("no migration ran:\n%s", logs.String())
		}
		write(t, db)
		checkPrivate(t, path)
	})
}

// TestPermLooseExistingFileWarns: an existing state file readable by
// others is reported with a warning naming the file and its mode.
func TestPermLooseExistingFileWarns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	db, err = Open(ctx, path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := logs.String()
	if !strings.Contains(out, "readable by others") || !strings.Contains(out, path) || !strings.Contains(out, "-rw-r--r--") {
		t.Fatalf("no warning about the loose state file:\n%s", out)
	}
}
