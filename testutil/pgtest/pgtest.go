// Package pgtest gives a test its own empty PostgreSQL database on the
// throwaway cluster the test command starts (scripts/postgres.sh exports
// its URL as TEST_POSTGRES_URL). Without that variable a test is
// skipped, and under CI=true it fails: there, PostgreSQL is part of the
// run, not optional.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvURL names the variable holding the cluster's URL (any database on it;
// the user must be allowed to create databases). It is not CARDBRIDGE_*:
// the binary reads those as configuration and refuses unknown ones.
const EnvURL = "TEST_POSTGRES_URL"

// Enabled reports whether the test cluster is there (TEST_POSTGRES_URL
// set), for a test that runs on PostgreSQL as well when it can (a fuzz
// target, which cannot have subtests); under CI=true a missing cluster
// fails t.
func Enabled(t testing.TB) bool {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		return true
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: run the tests through scripts/test.sh, which starts PostgreSQL (CI=true: not skipped)", EnvURL)
	}
	return false
}

// Database creates an empty database for t, dropped when t ends, and
// returns its URL.
func Database(t testing.TB) string {
	t.Helper()
	if !Enabled(t) {
		t.Skipf("%s is not set (scripts/test.sh starts a throwaway PostgreSQL and sets it)", EnvURL)
	}
	admin := os.Getenv(EnvURL)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "cardbridge_test_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("postgres %s: %v", u.Redacted(), err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres %s: create database: %v", u.Redacted(), err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Errorf("postgres: drop %s: %v", name, err)
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("postgres: drop %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
