package graphsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
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
		next, pages := "/v1.0/users/delta?$expand=manager&$select="+api.UserDirectorySelect, 0
		for next != "" {
			req := httptest.NewRequest(http.MethodGet, next, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("page %d: %d %.300s", pages, w.Code, w.Body.String())
			}
			var page struct {
				Next string `json:"@odata.nextLink"`
			}
			json.Unmarshal(w.Body.Bytes(), &page)
			next = ""
			if page.Next != "" {
				next = page.Next[strings.Index(page.Next, "/v1.0/"):]
			}
			pages++
		}
		b.ReportMetric(float64(pages), "pages")
	}
}
