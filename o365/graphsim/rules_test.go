package graphsim

import (
	"strings"
	"testing"
)

// TestContactDeltaPageCap: contact delta pages are capped (default 200)
// whatever Prefer: odata.maxpagesize asks; smaller asks are honoured.
func TestContactDeltaPageCap(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cap       int
		ask       string
		wantFirst int // items on the first page
		wantPages int // pages of a 450-contact first round
	}{
		{"default cap, ask 1000", 0, "1000", 200, 3},
		{"default cap, ask 200", 0, "200", 200, 3},
		{"default cap, ask 50", 0, "50", 50, 9},
		{"cap 100, ask 1000", 100, "1000", 100, 5},
		{"no cap, ask 1000", -1, "1000", 450, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{ContactDeltaPageCap: tc.cap})
			tok := e.tok()
			e.alice.Seed("", 450, 1)
			first := e.do("GET", "/v1.0/me/contacts/delta", tok, nil, "Prefer", "odata.maxpagesize="+tc.ask)
			if first.status != 200 {
				t.Fatalf("delta: %d %s", first.status, first.body)
			}
			if n := len(first.json(t)["value"].([]any)); n != tc.wantFirst {
				t.Fatalf("first page has %d items, want %d", n, tc.wantFirst)
			}
			if pa := first.h.Get("Preference-Applied"); !strings.Contains(pa, "odata.maxpagesize=") {
				t.Fatalf("Preference-Applied = %q", pa)
			}
			items, _, pages := e.round(t, "/v1.0/me/contacts/delta", tok, tc.ask)
			if len(items) != 450 || pages != tc.wantPages {
				t.Fatalf("round: %d items in %d pages, want 450 in %d", len(items), pages, tc.wantPages)
			}
		})
	}
}
