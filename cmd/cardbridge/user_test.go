package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"golang.org/x/crypto/bcrypt"
)

func cbStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := binCmd(t, nil, args...)
	cmd.Stdin = strings.NewReader(stdin)
	return runCmd(t, cmd)
}

func TestUserCommands(t *testing.T) {
	cfg, _, _, dbPath := workspace(t, "")
	if r := cbStdin(t, "correct horse\n", "--config", cfg, "user", "add", "alice"); r.code != 0 || !strings.Contains(r.stdout, `address book "contacts"`) {
		t.Fatalf("add: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cbStdin(t, "another pass\n", "--config", cfg, "user", "add", "alice"); r.code != 2 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("add twice: %d %s", r.code, r.stderr)
	}
	if r := cbStdin(t, "short\n", "--config", cfg, "user", "add", "bob"); r.code != 2 || !strings.Contains(r.stderr, "at least 8") {
		t.Fatalf("short password: %d %s", r.code, r.stderr)
	}
	if r := cbStdin(t, "password1\n", "--config", cfg, "user", "add", "../etc"); r.code != 2 {
		t.Fatalf("bad name: %d %s", r.code, r.stderr)
	}
	if r := cbStdin(t, "new password\n", "--config", cfg, "user", "passwd", "alice"); r.code != 0 {
		t.Fatalf("passwd: %d %s", r.code, r.stderr)
	}
	db := statetest.Open(t, dbPath, state.Options{ReadOnly: true})
	hash, err := db.UserPasswordHash(context.Background(), "alice")
	db.Close()
	if err != nil || strings.Contains(hash, "new password") || bcrypt.CompareHashAndPassword([]byte(hash), []byte("new password")) != nil {
		t.Fatalf("stored hash %q: %v", hash, err)
	}
	if r := cbStdin(t, "new password\n", "--config", cfg, "user", "passwd", "nobody"); r.code != 2 {
		t.Fatalf("passwd of nobody: %d %s", r.code, r.stderr)
	}
	if r := cbStdin(t, "", "--config", cfg, "user", "remove", "alice"); r.code != 0 {
		t.Fatalf("remove: %d %s", r.code, r.stderr)
	}
	if r := cbStdin(t, "", "--config", cfg, "user", "remove", "alice"); r.code != 2 {
		t.Fatalf("remove twice: %d %s", r.code, r.stderr)
	}
}

// TestVdirToServerStore: a pair between a vdir and a user's address book
// of the built-in server store syncs both ways, incrementally.
func TestVdirToServerStore(t *testing.T) {
	dir := t.TempDir()
	a := dir + "/a"
	os.MkdirAll(a, 0o700)
	cfg := dir + "/config.yaml"
	os.WriteFile(cfg, []byte("state: "+dir+"/state.db\npairs:\n  p:\n    a: {type: vdir, path: "+a+"}\n    b: {type: server, user: alice, addressbook: contacts}\n"), 0o600)
	if r := cbStdin(t, "correct horse\n", "--config", cfg, "user", "add", "alice"); r.code != 0 {
		t.Fatalf("add: %s", r.stderr)
	}
	for i := range 5 {
		os.WriteFile(fmt.Sprintf("%s/c%d.vcf", a, i), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:srv-%d\r\nFN:Server %d\r\nEND:VCARD\r\n", i, i)), 0o600)
	}
	r := cb(t, nil, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "b", "created") != 5 {
		t.Fatalf("first sync: %s %s", r.stdout, r.stderr)
	}
	os.Remove(a + "/c0.vcf")
	r = cb(t, nil, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "b", "deleted") != 1 {
		t.Fatalf("delete: %s %s", r.stdout, r.stderr)
	}
	db := statetest.Open(t, dir+"/state.db", state.Options{})
	book, err := db.AddressBook(context.Background(), "alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.PutCard(context.Background(), book.ID, "new.vcf", "from-server", []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:from-server\r\nFN:From The Server\r\nEND:VCARD\r\n"), state.Precondition{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r = cb(t, nil, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "a", "created") != 1 {
		t.Fatalf("server change: %s %s", r.stdout, r.stderr)
	}
	noChange(t, nil, cfg)
}
