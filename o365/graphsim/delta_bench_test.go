package graphsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkDeltaRound10k is the simulator's own cost of a full contact
// delta round of a 10,000-contact folder (pages of 200, ids and
// changeKeys), as the import benchmark reads it: per op, the 50 pages.
func BenchmarkDeltaRound10k(b *testing.B) {
	s, mb, next := benchServer(b, Options{Transient412Rate: -1}) // no transient 412s
	mb.Seed("", 10000, 1)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		tok := next()
		b.StartTimer()
		pages := benchRound(b, s, tok, "/v1.0/me/contacts/delta?$select=id,changeKey", `IdType="ImmutableId", odata.maxpagesize=1000`)
		b.ReportMetric(float64(pages), "pages")
	}
}

// benchRound reads the pages of s from the path first on, following
// their @odata.nextLink, with token tok and the Prefer header prefer
// (none when ""), and returns how many it read.
func benchRound(b *testing.B, s *Server, tok, first, prefer string) int {
	next, pages := first, 0
	for next != "" {
		req := httptest.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if prefer != "" {
			req.Header.Set("Prefer", prefer)
		}
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
	return pages
}
