package directory

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
)

// BenchmarkRefreshFull5000: a full users delta round of a 5,000-person
// directory from graphsim (no latency) into a SQLite state.
func BenchmarkRefreshFull5000(b *testing.B) {
	ctx := b.Context()
	s := graphsim.New(graphsim.Options{Seed: 3})
	s.AddApp(graphsim.App{ClientID: "daemon", Secret: "d", Roles: []string{"User.Read.All"}})
	for i := range 5000 {
		s.AddUser(graphsim.User{UPN: fmt.Sprintf("u%04d@contoso.example", i), DisplayName: fmt.Sprintf("User %04d", i),
			JobTitle: "Engineer", Department: "R&D", BusinessPhones: []string{"+1 555 0100"}, Manager: "u0000@contoso.example"})
	}
	ts := httptest.NewServer(s)
	b.Cleanup(ts.Close)
	c, err := graph.New(graph.Options{BaseURL: ts.URL + "/v1.0", Mailbox: "directory", Tokens: appTokens{s}})
	if err != nil {
		b.Fatal(err)
	}
	tenant := s.Tenants()[0]
	for b.Loop() {
		b.StopTimer()
		db, err := state.Open(ctx, filepath.Join(b.TempDir(), "state.db"), state.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := Refresh(ctx, c, db, tenant)
		if err != nil || r.Changes < 5000 {
			b.Fatalf("%+v %v", r, err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}
