package state

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestRefusedFields: the fields an account refuses are remembered across
// opens, once each, apart from the pairs' tokens, and forgotten at logout.
func TestRefusedFields(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := db.RefusedFields(ctx, "home"); err != nil || f != nil {
		t.Fatalf("fresh: %v %v", f, err)
	}
	for i := range 2 {
		added, err := db.AddRefusedField(ctx, "home", "photo")
		if err != nil || added != (i == 0) {
			t.Fatalf("add %d: added=%v %v", i, added, err)
		}
	}
	if _, err := db.AddRefusedField(ctx, "home", "bad field"); err == nil {
		t.Fatal("a field with a space was accepted")
	}
	db.Close()
	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if f, _ := db.RefusedFields(ctx, "home"); !slices.Equal(f, []string{"photo"}) {
		t.Fatalf("after reopen: %q", f)
	}
	if f, _ := db.RefusedFields(ctx, "work"); f != nil {
		t.Fatalf("another account: %q", f)
	}
	if tok, _ := db.Token(ctx, "home", "a"); tok != "" {
		t.Fatalf("a pair named like the account sees %q", tok)
	}
	if err := db.DeleteToken(ctx, "home"); err != nil {
		t.Fatal(err)
	}
	if f, _ := db.RefusedFields(ctx, "home"); f != nil {
		t.Fatalf("after logout: %q", f)
	}
}
