package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

// openWithKey opens the state the binary made with its key file (state.key
// beside the config).
func openWithKey(t *testing.T, cfg, dbPath string) *state.DB {
	t.Helper()
	key, from, err := state.LoadTokenKey(state.KeySource{File: filepath.Join(filepath.Dir(cfg), "state.key")})
	if err != nil || key == nil {
		t.Fatalf("the key file beside the config: %v (%s)", err, from)
	}
	return statetest.Open(t, dbPath, state.Options{TokenKey: key, TokenKeySource: from})
}

// stateFileBytes is the state file and its WAL as a thief would copy them.
func stateFileBytes(t *testing.T, dbPath string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestUserRemoveLeavesNothingE2E: a user with a connection and a pair made
// on the web page (tokens, trash, a run, a session) is listed by
// `accounts`, `logout web-frank` forgets the tokens, `user passwd` ends
// the session, and `user remove` leaves nothing a new frank could use.
func TestUserRemoveLeavesNothingE2E(t *testing.T) {
	ctx := context.Background()
	cfg, _, _, dbPath := workspace(t, "")
	if r := cbStdin(t, "correct horse\n", "--config", cfg, "user", "add", "frank"); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	if fi, err := os.Stat(filepath.Join(filepath.Dir(cfg), "state.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	connect := func() string {
		db := openWithKey(t, cfg, dbPath)
		defer db.Close()
		if err := db.ClaimWebAccount(ctx, "web-frank", "frank"); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveToken(ctx, "web-frank", state.AccountToken{AccessToken: "at-frank-0123456789", RefreshToken: "rt-frank-0123456789",
			User: "frank@contoso.example", Flow: "browser", Tenant: "organizations", Expiry: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		name, err := db.CreateWebPair(ctx, state.WebPair{Name: "web-frank:office365", User: "frank", Account: "web-frank", Addressbook: "office365", Every: time.Hour}, "")
		if err != nil && !errors.Is(err, state.ErrExists) {
			t.Fatal(err)
		}
		if err := db.AddTrash(ctx, &state.TrashEntry{Pair: "web-frank:office365", Side: "a", Card: []byte("BEGIN:VCARD\r\nFN:Old\r\nEND:VCARD\r\n"), Reason: "deleted"}); err != nil {
			t.Fatal(err)
		}
		if err := db.AddRun(ctx, &state.Run{Pair: "web-frank:office365", OK: true}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateWebSession(ctx, state.WebSession{IDHash: "sess-" + time.Now().String(), User: "frank", CSRF: "c", Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return name
	}
	pair := connect()
	if bytes.Contains(stateFileBytes(t, dbPath), []byte("rt-frank-0123456789")) {
		t.Error("the refresh token is in the state file as it is")
	}

	r := cb(t, nil, "--config", cfg, "accounts")
	if r.code != 0 || !strings.Contains(r.stdout, "web-frank") || !strings.Contains(r.stdout, "web page, user frank") || !strings.Contains(r.stdout, "refreshable") {
		t.Fatalf("accounts does not list the web account: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := cb(t, nil, "--config", cfg, "logout", "web-frank"); r.code != 0 || !strings.Contains(r.stdout, "signed out") {
		t.Fatalf("logout web-frank: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cb(t, nil, "--config", cfg, "logout", "nobody"); r.code != 2 || !strings.Contains(r.stderr, `no account "nobody"`) {
		t.Fatalf("logout nobody: %d %s", r.code, r.stderr)
	}
	db := openWithKey(t, cfg, dbPath)
	if _, ok, err := db.LoadToken(ctx, "web-frank"); ok || err != nil {
		t.Fatalf("tokens after logout: %v %v", ok, err)
	}
	db.Close()

	connect()
	if r := cbStdin(t, "a new password\n", "--config", cfg, "user", "passwd", "frank"); r.code != 0 {
		t.Fatalf("passwd: %d %s", r.code, r.stderr)
	}
	db = openWithKey(t, cfg, dbPath)
	if n, _ := db.CountWebSessions(ctx); n != 0 {
		t.Errorf("%d web sessions after the password change", n)
	}
	db.Close()

	if r := cbStdin(t, "", "--config", cfg, "user", "remove", "frank"); r.code != 0 {
		t.Fatalf("remove: %d %s", r.code, r.stderr)
	}
	if r := cbStdin(t, "correct horse\n", "--config", cfg, "user", "add", "frank"); r.code != 0 {
		t.Fatalf("add again: %d %s", r.code, r.stderr)
	}
	db = openWithKey(t, cfg, dbPath)
	defer db.Close()
	if _, ok, err := db.LoadToken(ctx, "web-frank"); ok || err != nil {
		t.Errorf("the new frank has the old one's tokens: %v %v", ok, err)
	}
	if ps, _ := db.WebPairs(ctx, "frank"); len(ps) != 0 {
		t.Errorf("the new frank has the old one's pairs: %+v", ps)
	}
	if es, _ := db.ListTrash(ctx, pair); len(es) != 0 {
		t.Errorf("%d trash entries of %s left", len(es), pair)
	}
	if _, ok, _ := db.LastRun(ctx, pair); ok {
		t.Errorf("a run of %s is left", pair)
	}
	if r := cb(t, nil, "--config", cfg, "accounts"); strings.Contains(r.stdout, "web-frank") {
		t.Errorf("accounts still lists web-frank:\n%s", r.stdout)
	}
}

// TestLongPasswordRefused: bcrypt reads 72 bytes; a longer password is
// refused with a message saying so, for add and passwd, and nothing is
// stored.
func TestLongPasswordRefused(t *testing.T) {
	cfg, _, _, _ := workspace(t, "")
	long := strings.Repeat("é", 37) // 74 bytes, 37 characters
	for _, args := range [][]string{{"user", "add", "zoe"}, {"user", "passwd", "zoe"}} {
		r := cbStdin(t, long+"\n", append([]string{"--config", cfg}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "74 bytes") || !strings.Contains(r.stderr, "72") || !strings.Contains(r.stderr, "bcrypt") {
			t.Errorf("%v with a 74-byte password: %d %s", args, r.code, r.stderr)
		}
	}
	if r := cbStdin(t, strings.Repeat("x", 72)+"\n", "--config", cfg, "user", "add", "zoe"); r.code != 0 {
		t.Errorf("a 72-byte password: %d %s", r.code, r.stderr)
	}
}

// TestTokensSealedInStateFileE2E: after a device-flow login and a sync
// against graphsim, no token graphsim issued is in the state file (nor in
// what sqlite3 shows of it); without the key file, or with another key,
// sync fails naming the account and what to do, and the tokens are kept;
// with the key back, sync works.
func TestTokensSealedInStateFileE2E(t *testing.T) {
	e := newSim(t, 3)
	var secrets secretSet
	recordTokens(t, e, &secrets)
	cfg, _ := e.workspace(t, "device", "merge")
	e.login(t, cfg, false)
	if r := cb(t, simEnvVars, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	if secrets.count() == 0 {
		t.Fatal("no token recorded: the check would prove nothing")
	}
	dbPath := filepath.Join(filepath.Dir(cfg), "state.db")
	secrets.check(t, "the state file", string(stateFileBytes(t, dbPath)))
	if out, err := exec.Command("sqlite3", dbPath, "SELECT * FROM accounts").CombinedOutput(); err == nil {
		secrets.check(t, "sqlite3's dump of accounts", string(out))
	} else {
		t.Logf("sqlite3 not run: %v", err)
	}

	keyFile := filepath.Join(filepath.Dir(cfg), "state.key")
	saved, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(keyFile)
	r := cb(t, simEnvVars, "--config", cfg, "--log-level", "error", "sync")
	if r.code == 0 || !strings.Contains(r.stderr, "account work") || !strings.Contains(r.stderr, "cardbridge logout work") {
		t.Errorf("sync with the key file gone: %d\n%s", r.code, r.stderr)
	}
	// That run made a new key file (first use): the old tokens do not open
	// with it, and are kept.
	r = cb(t, simEnvVars, "--config", cfg, "sync")
	if r.code == 0 || !strings.Contains(r.stderr, "do not open with this key") || !strings.Contains(r.stderr, keyFile) ||
		!strings.Contains(r.stderr, "the Office 365 tokens of work do not open with the key file "+keyFile) {
		t.Errorf("sync with another key: %d\n%s", r.code, r.stderr)
	}
	r = cb(t, append(simEnvVars, "CARDBRIDGE_SECRET_KEY="+strings.TrimSpace(string(saved))), "--config", cfg, "sync")
	if r.code != 0 {
		t.Errorf("sync with the old key from the environment: %d %s", r.code, r.stderr)
	}
	os.WriteFile(keyFile, saved, 0o600)
	if r := cb(t, simEnvVars, "--config", cfg, "sync"); r.code != 0 {
		t.Errorf("sync with the key file restored: %d %s", r.code, r.stderr)
	}
}
