package pgtest

import (
	"path/filepath"
	"testing"
)

// Backend is a database a test runs against: where a new, empty state
// lives on it.
type Backend struct {
	// Name is "sqlite" or "postgres": the subtest's name.
	Name string
	// Location returns where a new, empty state of t lives: a file path
	// in t's temporary directory, or the URL of a database of its own on
	// the test cluster (each call a new one).
	Location func(t testing.TB) string
}

// Postgres reports whether b is PostgreSQL.
func (b Backend) Postgres() bool { return b.Name == "postgres" }

// SQLite is the embedded database: a state file in the test's temporary
// directory.
func SQLite() Backend {
	return Backend{Name: "sqlite", Location: func(t testing.TB) string { t.Helper(); return filepath.Join(t.TempDir(), "state.db") }}
}

// Postgres is the test cluster: a database of its own per Location call
// (skipped without TEST_POSTGRES_URL, failed under CI=true; see
// Database).
func Postgres() Backend {
	return Backend{Name: "postgres", Location: func(t testing.TB) string { t.Helper(); return Database(t) }}
}

// Backends are SQLite and PostgreSQL, in that order.
func Backends() []Backend { return []Backend{SQLite(), Postgres()} }

// ForBackends runs test once per backend, as a subtest named after it
// (go test -run 'TestX/postgres' picks one).
func ForBackends(t *testing.T, test func(t *testing.T, b Backend)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { test(t, b) })
	}
}
