// Package statetest holds what the tests of several packages need of the
// state database: a state file opened for one test. It is imported only by
// tests (state's own tests cannot use it: it imports state).
package statetest

import (
	"context"
	"testing"

	"github.com/cardbridge/cardbridge/state"
)

// Open opens the state file at path with o, failing the test when it
// cannot, and closes it when the test ends (an earlier Close is fine:
// Close may be called again).
func Open(t testing.TB, path string, o state.Options) *state.DB {
	t.Helper()
	db, err := state.Open(context.Background(), path, o)
	if err != nil {
		t.Fatalf("opening the state %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
