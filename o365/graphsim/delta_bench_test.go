package graphsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// BenchmarkDeltaRound10k is the simulator's own cost of a full contact
// delta round of a 10,000-contact folder (pages of 200, ids and
// changeKeys), as the import benchmark reads it: per op, the 50 pages.
func BenchmarkDeltaRound10k(b *testing.B) {
	clock := testutil.NewClock(time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	s := New(Options{Seed: 42, Clock: clock.Now, Transient412Rate: -1}) // no transient 412s
	s.AddApp(App{ClientID: "pub", Audience: AudienceMultipleOrgs, PublicClient: true, RedirectURIs: []string{"http://localhost"}})
	mb := s.AddUser(User{ID: "11111111-1111-4111-8111-111111111111", UPN: "alice@contoso.example", DisplayName: "Alice", Password: "pw"})
	mb.Seed("", 10000, 1)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		clock.Add(10 * time.Minute)
		tok, err := s.IssueToken("pub", "alice@contoso.example")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		next, pages := "/v1.0/me/contacts/delta?$select=id,changeKey", 0
		for next != "" {
			req := httptest.NewRequest(http.MethodGet, next, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Prefer", `IdType="ImmutableId", odata.maxpagesize=1000`)
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
