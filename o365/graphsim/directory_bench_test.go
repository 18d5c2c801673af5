package graphsim

import (
	"testing"

	"github.com/cardbridge/cardbridge/o365/api"
)

// BenchmarkUsersDelta5000 is the simulator's own cost of a full users
// delta round of a 5,000-person directory (pages of 200, the directory
// select, managers expanded): per op, the 25 pages.
func BenchmarkUsersDelta5000(b *testing.B) {
	s := New(Options{Seed: 1})
	s.AddApp(App{ClientID: "daemon", Secret: "d", Roles: []string{"User.Read.All"}})
	if _, err := s.SeedDirectory("", 5000, 1); err != nil {
		b.Fatal(err)
	}
	tok, _ := s.IssueToken("daemon", "")
	b.ReportAllocs()
	for b.Loop() {
		pages := benchRound(b, s, tok, "/v1.0/users/delta?$expand=manager&$select="+api.UserDirectorySelect, "")
		b.ReportMetric(float64(pages), "pages")
	}
}
