package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestStateCopyToPostgres: a SQLite state made by the CLI (a user with a
// book) is copied to PostgreSQL by `state copy`; the copy is verified,
// the file is not changed, and a configuration pointing at the URL sees
// the user. A second copy into the filled database fails (exit 1) and
// says why; bad usage and a source that is not a state are exit 2.
func TestStateCopyToPostgres(t *testing.T) {
	url := pgtest.Database(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "state.db")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("state: "+file+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addUser(t, cfg, "alice", "correct horse battery")
	sum := func(p string) [32]byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum(file)

	r := cb(t, nil, "state", "copy", "--from", file, "--to", url)
	if r.code != 0 || !strings.Contains(r.stdout, "Verified: ") || !strings.Contains(r.stdout, "server_users ") ||
		!strings.Contains(r.stdout, "Not copied: leases") {
		t.Fatalf("state copy: %+v", r)
	}
	if sum(file) != before {
		t.Error("state copy changed the source file")
	}

	pgcfg := filepath.Join(dir, "pg.yaml")
	if err := os.WriteFile(pgcfg, []byte("state: "+url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = cb(t, nil, "--config", pgcfg, "user", "list", "--json")
	var users []struct {
		Name  string `json:"name"`
		Books []struct {
			Name string `json:"name"`
		} `json:"address_books"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &users) != nil || len(users) != 1 || users[0].Name != "alice" {
		t.Fatalf("user list on the copy: %+v", r)
	}

	r = cb(t, nil, "state", "copy", "--from", file, "--to", url, "--json")
	if r.code != 1 || !strings.Contains(r.stderr, "already holds data") {
		t.Errorf("second copy: %+v", r)
	}

	bad := filepath.Join(dir, "not-a-state.db")
	if err := os.WriteFile(bad, []byte("this is not a database, just text\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badBefore := sum(bad)
	for _, args := range [][]string{
		{"state", "copy", "--to", url},
		{"state", "copy", "--from", filepath.Join(dir, "nosuch.db"), "--to", url},
		{"state", "copy", "--from", bad, "--to", filepath.Join(dir, "new.db")},
		{"state", "cpy"},
	} {
		if r := cb(t, nil, args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: %+v", args, r)
		}
	}
	if sum(bad) != badBefore {
		t.Error("a failed copy changed the unreadable source")
	}
}

// TestStateCopyJSON: --json prints the report as one object.
func TestStateCopyJSON(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.db")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("state: "+file+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addUser(t, cfg, "bob", "correct horse battery")
	r := cb(t, nil, "state", "copy", "--from", file, "--to", filepath.Join(dir, "copy.db"), "--json")
	var rep struct {
		SchemaVersion int `json:"schema_version"`
		Tables        []struct {
			Table string `json:"table"`
			Rows  int64  `json:"rows"`
			Hash  string `json:"hash"`
		} `json:"tables"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep.SchemaVersion == 0 || len(rep.Tables) < 10 {
		t.Fatalf("state copy --json: %+v", r)
	}
	for _, tc := range rep.Tables {
		if tc.Table == "server_users" && (tc.Rows != 1 || len(tc.Hash) != 64) {
			t.Errorf("server_users: %+v", tc)
		}
	}
}

// TestStateMigrate: `state migrate` brings a state to the binary's schema
// and says which; a file that does not exist is exit 2, and none is made.
func TestStateMigrate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state.db")
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("state: "+file+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addUser(t, cfg, "dora", "correct horse battery")
	r := cb(t, nil, "state", "migrate", "--state", file)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("is at schema version %d", state.LatestSchemaVersion())) {
		t.Errorf("state migrate: %+v", r)
	}
	missing := filepath.Join(dir, "nosuch.db")
	if r := cb(t, nil, "state", "migrate", "--state", missing); r.code != 2 {
		t.Errorf("state migrate of a missing file: %+v", r)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("state migrate made a new state")
	}
}
