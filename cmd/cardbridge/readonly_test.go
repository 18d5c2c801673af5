package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

// TestReadOnlyBookCLI: `user list` and `user list --json` say a book is
// read-only; a two-way pair into a read-only book fails its first sync
// with an error naming the book and what to do, and writes nothing; the
// same pair with the direction from the book syncs it out.
func TestReadOnlyBookCLI(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	os.MkdirAll(a, 0o700)
	cfg := filepath.Join(dir, "config.yaml")
	writeCfg := func(direction string) {
		os.WriteFile(cfg, []byte("state: "+dir+"/state.db\npairs:\n  p:\n    a: {type: vdir, path: "+a+"}\n    b: {type: server, user: alice, addressbook: directory}\n"+direction), 0o600)
	}
	writeCfg("")
	addUser(t, cfg, "alice", "correct horse")
	db := statetest.Open(t, filepath.Join(dir, "state.db"), state.Options{})
	ctx := context.Background()
	book, err := db.CreateAddressBook(ctx, "alice", "directory", "Directory", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetAddressBookReadOnly(ctx, book.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.PutCard(ctx, book.ID, "d1.vcf", "d1", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:d1\r\nFN:Dir One\r\nEND:VCARD\r\n"), state.Precondition{System: true}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var us []pairs.UserView
	r := cb(t, nil, "--config", cfg, "user", "list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &us); err != nil || r.code != 0 {
		t.Fatalf("user list --json: %d %v %s %s", r.code, err, r.stdout, r.stderr)
	}
	if len(us) != 1 || fmt.Sprintf("%+v", us[0].Books) != "[{Name:contacts DisplayName:Contacts ReadOnly:false} {Name:directory DisplayName:Directory ReadOnly:true}]" {
		t.Errorf("user list --json: %+v", us)
	}
	if !strings.Contains(r.stdout, `"read_only": true`) && !strings.Contains(r.stdout, `"read_only":true`) {
		t.Errorf("user list --json lacks read_only: %s", r.stdout)
	}
	if r := cb(t, nil, "--config", cfg, "user", "list"); r.code != 0 || !strings.Contains(r.stdout, "contacts, directory (read-only)") {
		t.Errorf("user list: %d %q", r.code, r.stdout)
	}

	os.WriteFile(filepath.Join(a, "mine.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:mine\r\nFN:Mine\r\nEND:VCARD\r\n"), 0o600)
	r = cb(t, nil, "--config", cfg, "sync")
	if r.code == 0 || !strings.Contains(r.stderr, "server side alice/directory") || !strings.Contains(r.stderr, "read-only") ||
		!strings.Contains(r.stderr, "b-to-a when side b") {
		t.Fatalf("two-way sync into a read-only book: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(a, "d1.vcf")); err == nil {
		t.Error("the refused pair wrote to side a")
	}
	writeCfg("    direction: a-to-b\n")
	if r := cb(t, nil, "--config", cfg, "sync"); r.code == 0 || !strings.Contains(r.stderr, "read-only") {
		t.Fatalf("a-to-b sync into a read-only book: %d %s %s", r.code, r.stdout, r.stderr)
	}
	db = statetest.Open(t, filepath.Join(dir, "state.db"), state.Options{})
	if cards, err := db.Cards(ctx, book.ID); err != nil || len(cards) != 1 {
		t.Fatalf("the read-only book after refused syncs: %+v, %v", cards, err)
	}
	db.Close()

	writeCfg("    direction: b-to-a\n")
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("b-to-a sync from a read-only book: %d %s %s", r.code, r.stdout, r.stderr)
	}
	got, err := os.ReadFile(filepath.Join(a, "d1.vcf"))
	if err != nil || !strings.Contains(string(got), "FN:Dir One") {
		t.Fatalf("side a after the b-to-a sync: %q, %v", got, err)
	}
}
