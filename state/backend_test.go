package state

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// backend is a database the state tests run against.
type backend struct {
	name string
	// location returns where a new, empty state of t lives: a file path or a
	// PostgreSQL URL (each call a new database).
	location func(t testing.TB) string
}

// backends are SQLite (a file in t's temporary directory) and PostgreSQL
// (a database of its own on the test cluster; skipped without
// TEST_POSTGRES_URL, failed under CI=true).
var backends = []backend{
	{name: "sqlite", location: func(t testing.TB) string { return filepath.Join(t.TempDir(), "state.db") }},
	{name: "postgres", location: func(t testing.TB) string { return pgtest.Database(t) }},
}

// forBackends runs test once per backend, as a subtest named after it.
func forBackends(t *testing.T, test func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// postgres reports whether b is PostgreSQL.
func (b backend) postgres() bool { return b.name == "postgres" }

// openTest opens a fresh state on b (with the test token key) and returns
// it and its location, for more handles on it (openSecond).
func (b backend) openTest(t testing.TB) (*DB, string) {
	t.Helper()
	loc := b.location(t)
	return b.openAt(t, loc, Options{TokenKey: testTokenKey()}), loc
}

// openAt opens the state at loc with opts, closed when t ends.
func (b backend) openAt(t testing.TB, loc string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), loc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openSecond opens another handle on the state at loc.
func (b backend) openSecond(t testing.TB, loc string) *DB {
	t.Helper()
	return b.openAt(t, loc, Options{})
}

// openClocked opens a fresh state on b whose trash runs on clock.
func (b backend) openClocked(t testing.TB, clock *fakeClock) *DB {
	t.Helper()
	return b.openAt(t, b.location(t), Options{Now: clock.now})
}
