package state

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// TestRefusedFields: the fields an account refuses are remembered across
// opens, once each, apart from the pairs' tokens, and forgotten at logout.
func TestRefusedFields(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		path := be.location(t)
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
	})
}

// TestRefusedFieldsConcurrent: sides of one account learning the same
// refusal at once record it once, and exactly one of them sees it as new
// (the one that warns).
func TestRefusedFieldsConcurrent(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, err := Open(ctx, be.location(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var wg sync.WaitGroup
		var mu sync.Mutex
		news := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				added, err := db.AddRefusedField(ctx, "home", "photo")
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if added {
					news++
				}
			}()
		}
		wg.Wait()
		if f, _ := db.RefusedFields(ctx, "home"); news != 1 || !slices.Equal(f, []string{"photo"}) {
			t.Fatalf("%d sides saw it as new, state has %q", news, f)
		}
		if added, _ := db.AddRefusedField(ctx, "home", "birthday"); !added {
			t.Fatal("a second field was not added")
		}
		if f, _ := db.RefusedFields(ctx, "home"); !slices.Equal(f, []string{"birthday", "photo"}) { // sorted
			t.Fatalf("two fields: %q", f)
		}
	})
}
