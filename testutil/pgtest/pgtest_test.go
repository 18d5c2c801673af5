package pgtest

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDatabase: two tests' databases are apart, and each is empty and
// writable.
func TestDatabase(t *testing.T) {
	a, b := Database(t), Database(t)
	if a == b {
		t.Fatalf("two tests got the same database %s", a)
	}
	ctx := context.Background()
	for i, u := range []string{a, b} {
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("database %d: %d tables, %v", i, n, err)
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("database %d: %v", i, err)
		}
	}
}

// childEnv marks the test binary run by TestMissingPostgres as the child
// that asks for a database.
const childEnv = "PGTEST_CHILD"

// TestMissingPostgres: without TEST_POSTGRES_URL a test asking for a
// database is skipped, and under CI=true it fails, naming the variable.
func TestMissingPostgres(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		Database(t)
		return
	}
	for _, tc := range []struct {
		ci       string
		fails    bool
		wantText string
	}{
		{"", false, "SKIP"},
		{"true", true, "CI=true: not skipped"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingPostgres$", "-test.v")
		cmd.Env = append(os.Environ(), childEnv+"=1", EnvURL+"=", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.fails || !strings.Contains(string(out), tc.wantText) {
			t.Errorf("CI=%q: failed %v (%v), want %v with %q:\n%s", tc.ci, failed, err, tc.fails, tc.wantText, out)
		}
	}
}

// TestForBackends: one subtest per backend, SQLite then PostgreSQL, each
// Location a new, separate state.
func TestForBackends(t *testing.T) {
	var names, locs []string
	ForBackends(t, func(t *testing.T, b Backend) {
		names = append(names, b.Name)
		if b.Postgres() != (b.Name == "postgres") {
			t.Errorf("%s: Postgres() = %v", b.Name, b.Postgres())
		}
		locs = append(locs, b.Location(t), b.Location(t))
	})
	if strings.Join(names, ",") != "sqlite,postgres" {
		t.Fatalf("backends %v", names)
	}
	seen := map[string]bool{}
	for _, l := range locs {
		if seen[l] {
			t.Errorf("location %s given twice", l)
		}
		seen[l] = true
	}
}
