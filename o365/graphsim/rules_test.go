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

// TestSyncStateGenerations: only the last SyncStateGenerations (default 3)
// deltaLinks of a folder can be replayed; an older one answers 410
// SyncStateNotFound with Exchange's generation message, also for a
// nextLink of a round that started from it.
func TestSyncStateGenerations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keep   int
		rounds int // rounds completed after the deltaLink kept
		want   int // status of replaying it
		msg    string
	}{
		{"newest", 0, 0, 200, ""},
		{"two newer rounds", 0, 2, 200, ""},
		{"three newer rounds", 0, 3, 410, "generation=1;[highest=4][4][2][3]"},
		{"many newer rounds", 0, 6, 410, "generation=1;[highest=7][7][5][6]"},
		{"keep 5, four newer rounds", 5, 4, 200, ""},
		{"keep 5, five newer rounds", 5, 5, 410, "generation=1;[highest=6][6][2][3][4][5]"},
		{"unlimited", -1, 6, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{SyncStateGenerations: tc.keep})
			tok := e.tok()
			e.alice.Seed("", 5, 1)
			_, old, _ := e.round(t, "/v1.0/me/contacts/delta", tok, "")
			dl := old
			for range tc.rounds {
				_, dl, _ = e.round(t, dl, tok, "")
			}
			r := e.do("GET", old, tok, nil)
			if r.status != tc.want {
				t.Fatalf("replay: %d %s, want %d", r.status, r.body, tc.want)
			}
			if tc.want == 410 {
				if code := r.errCode(t); code != CodeSyncStateNotFound {
					t.Fatalf("code %s", code)
				}
				msg := r.json(t)["error"].(map[string]any)["message"].(string)
				if !strings.HasPrefix(msg, "The sync state generation is not found; ") || !strings.HasSuffix(msg, tc.msg) {
					t.Fatalf("message %q, want it to end %q", msg, tc.msg)
				}
			}
			// the newest link always works
			if r := e.do("GET", dl, tok, nil); r.status != 200 {
				t.Fatalf("newest link: %d %s", r.status, r.body)
			}
		})
	}
	t.Run("nextLink of an expired round", func(t *testing.T) {
		e := newEnv(t, Options{})
		tok := e.tok()
		e.alice.Seed("", 5, 1)
		_, old, _ := e.round(t, "/v1.0/me/contacts/delta", tok, "")
		for _, id := range e.alice.ContactIDs("")[:3] {
			e.alice.Put("", []byte(`{"id":"`+id+`","jobTitle":"Changed"}`))
		}
		first := e.do("GET", old, tok, nil, "Prefer", "odata.maxpagesize=1").json(t)
		next, _ := first["@odata.nextLink"].(string)
		if next == "" {
			t.Fatalf("no nextLink: %v", first)
		}
		dl := old
		for range 3 {
			_, dl, _ = e.round(t, dl, tok, "")
		}
		r := e.do("GET", next, tok, nil, "Prefer", "odata.maxpagesize=1")
		if r.status != 410 || r.errCode(t) != CodeSyncStateNotFound {
			t.Fatalf("nextLink after 3 newer rounds: %d %s", r.status, r.body)
		}
	})
}
