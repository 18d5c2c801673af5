package statetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cardbridge/cardbridge/state"
)

// TestOpenClosesAtTheEnd: the state opens at the path given, and is closed
// by the end of the test that opened it (the file can then be opened
// read-only by another handle; a closed DB refuses queries).
func TestOpenClosesAtTheEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	var db *state.DB
	t.Run("open", func(t *testing.T) {
		db = Open(t, path, state.Options{})
		if err := db.AddUser(context.Background(), "alice", "$2a$hash"); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no state file at %s: %v", path, err)
	}
	if _, err := db.UserPasswordHash(context.Background(), "alice"); err == nil {
		t.Fatal("the state is still open after its test ended")
	}
	again := Open(t, path, state.Options{ReadOnly: true})
	if h, err := again.UserPasswordHash(context.Background(), "alice"); err != nil || h != "$2a$hash" {
		t.Fatalf("reopened: %q, %v", h, err)
	}
}
