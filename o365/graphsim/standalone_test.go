package graphsim

import (
	"context"
	"testing"
	"time"
)

func TestStandaloneStartsAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if err := Standalone(ctx, "127.0.0.1:0", 3, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSeedDeterministic(t *testing.T) {
	if string(SeedContact(1, 5)) != string(SeedContact(1, 5)) || string(SeedContact(1, 5)) == string(SeedContact(2, 5)) {
		t.Fatal("SeedContact not deterministic per seed")
	}
	e := newEnv(t, Options{})
	e.alice.Seed("", 200, 11) // must never panic (limits respected)
	if e.alice.Count("") != 200 || len(e.alice.Contacts("")) != 200 {
		t.Fatal("seed count")
	}
}
