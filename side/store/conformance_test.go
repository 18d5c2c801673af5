package store

import (
	"context"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// openDB opens a fresh state database with user alice (and her "contacts" book).
func openDB(t *testing.T, be pgtest.Backend) *state.DB {
	t.Helper()
	db := statetest.Open(t, be.Location(t), state.Options{})
	if err := db.AddUser(context.Background(), "alice", "hash"); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestConformance runs the engine's side-contract suite on a server book.
func TestConformance(t *testing.T) { pgtest.ForBackends(t, testConformance) }

func testConformance(t *testing.T, be pgtest.Backend) {
	sidetest.Run(t, func(t *testing.T) engine.Side {
		s, err := New(openDB(t, be), "alice", "contacts", Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, sidetest.Options{RefusesDuplicateUID: true})
}
