package resolve

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

const (
	base = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Ann Lee\r\nTITLE:Old\r\nNOTE:n\r\nEND:VCARD\r\n"
	verA = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Ann Lee\r\nTITLE:From A\r\nNOTE:n\r\nREV:20260101T000000Z\r\nEND:VCARD\r\n"
	verB = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Ann Lee\r\nTITLE:From B\r\nNOTE:changed on b\r\nREV:20260102T000000Z\r\nEND:VCARD\r\n"
)

// TestKeep: a and b are the versions as they are; merged keeps B's note
// (only B changed it) and gives the TITLE clash to the newer REV (B).
func TestKeep(t *testing.T) {
	c := state.Conflict{ID: 7, UID: "u1", A: []byte(verA), B: []byte(verB), Base: []byte(base)}
	if got, _ := Keep(c, "a"); string(got) != verA {
		t.Fatalf("keep a: %s", got)
	}
	if got, _ := Keep(c, "b"); string(got) != verB {
		t.Fatalf("keep b: %s", got)
	}
	m, err := Keep(c, "merged")
	if err != nil || !strings.Contains(string(m), "TITLE:From B") || !strings.Contains(string(m), "NOTE:changed on b") || !strings.Contains(string(m), "UID:u1") {
		t.Fatalf("merged: %v\n%s", err, m)
	}
	// A newer A wins the clash instead.
	c.A = []byte(strings.Replace(verA, "20260101", "20260103", 1))
	if m, _ := Keep(c, "merged"); !strings.Contains(string(m), "TITLE:From A") || !strings.Contains(string(m), "NOTE:changed on b") {
		t.Fatalf("merged with a newer A:\n%s", m)
	}
	if _, err := Keep(c, "both"); !errors.Is(err, ErrBadKeep) {
		t.Fatalf("keep both: %v", err)
	}
	c.B = []byte("not a vcard")
	if _, err := Keep(c, "merged"); err == nil || !strings.Contains(err.Error(), "version b") {
		t.Fatalf("broken b: %v", err)
	}
}

// TestConflictAndRestore: the choice is stored (and may change until a
// sync applies it, then it is refused); a restore is requested.
func TestConflictAndRestore(t *testing.T) {
	ctx := context.Background()
	db := statetest.Open(t, filepath.Join(t.TempDir(), "s.db"), state.Options{})
	defer db.Close()
	c := &state.Conflict{Pair: "p", UID: "u1", A: []byte(verA), B: []byte(verB), Base: []byte(base)}
	if err := db.UpsertConflict(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := Conflict(ctx, db, *c, "a"); err != nil {
		t.Fatal(err)
	}
	if err := Conflict(ctx, db, *c, "merged"); err != nil {
		t.Fatal(err)
	}
	got, _ := db.GetConflict(ctx, c.ID)
	if got.Keep != "merged" || !strings.Contains(string(got.Merged), "TITLE:From B") {
		t.Fatalf("stored %q\n%s", got.Keep, got.Merged)
	}
	if err := db.MarkConflictApplied(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = db.GetConflict(ctx, c.ID)
	if err := Conflict(ctx, db, got, "a"); !errors.Is(err, ErrApplied) {
		t.Fatalf("after apply: %v", err)
	}

	e := &state.TrashEntry{Pair: "p", Side: "a", UID: "u1", Card: []byte(verA), Reason: "deleted", Created: time.Now()}
	if err := db.AddTrash(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := Restore(ctx, db, *e); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetTrash(ctx, e.ID); !got.RestoreRequested {
		t.Fatal("restore not requested")
	}
	if err := Restore(ctx, db, state.TrashEntry{ID: 9999}); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("restore of a missing entry: %v", err)
	}
}
