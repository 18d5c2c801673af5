package graphsim

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
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

// TestConcurrencyPerAppAndMailbox: the 4 concurrent requests are per app
// and mailbox, shared by every token (delegated or app-only, /me or
// /users/...) and every connection; other apps and other mailboxes have
// their own 4. An over-limit request answers 429 ApplicationThrottled
// "Application is over its MailboxConcurrency limit." with Retry-After.
func TestConcurrencyPerAppAndMailbox(t *testing.T) {
	type caller struct{ app, user, path string } // user "" = app-only
	five := func(c caller) []caller { return []caller{c, c, c, c, c} }
	for _, tc := range []struct {
		name      string
		callers   []caller
		throttled int
	}{
		{"one app, one mailbox, five tokens", five(caller{"conf", "alice@contoso.example", "/v1.0/me/contacts"}), 1},
		{"one app, one mailbox, delegated and app-only", []caller{
			{"conf", "alice@contoso.example", "/v1.0/me/contacts"},
			{"conf", "alice@contoso.example", "/v1.0/users/alice@contoso.example/contacts"},
			{"conf", "", "/v1.0/users/alice@contoso.example/contacts"},
			{"conf", "", "/v1.0/users/11111111-1111-4111-8111-111111111111/contacts"},
			{"conf", "", "/v1.0/users/ALICE@contoso.example/contacts"},
			{"conf", "", "/v1.0/users/alice@contoso.example/contactFolders"},
		}, 2},
		{"two apps, one mailbox", []caller{
			{"conf", "alice@contoso.example", "/v1.0/me/contacts"}, {"conf", "alice@contoso.example", "/v1.0/me/contacts"},
			{"conf", "", "/v1.0/users/alice@contoso.example/contacts"}, {"conf", "", "/v1.0/users/alice@contoso.example/contacts"},
			{"pub", "alice@contoso.example", "/v1.0/me/contacts"}, {"pub", "alice@contoso.example", "/v1.0/me/contacts"},
			{"pub", "alice@contoso.example", "/v1.0/me/contacts"}, {"pub", "alice@contoso.example", "/v1.0/me/contacts"},
		}, 0},
		{"one app, two mailboxes", []caller{
			{"conf", "", "/v1.0/users/alice@contoso.example/contacts"}, {"conf", "", "/v1.0/users/alice@contoso.example/contacts"},
			{"conf", "alice@contoso.example", "/v1.0/me/contacts"}, {"conf", "alice@contoso.example", "/v1.0/me/contacts"},
			{"conf", "", "/v1.0/users/bob@contoso.example/contacts"}, {"conf", "", "/v1.0/users/bob@contoso.example/contacts"},
			{"conf", "bob@contoso.example", "/v1.0/me/contacts"}, {"conf", "bob@contoso.example", "/v1.0/me/contacts"},
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{Latency: 400 * time.Millisecond})
			toks := make([]string, len(tc.callers))
			for i, c := range tc.callers {
				tok, err := e.s.IssueToken(c.app, c.user)
				if err != nil {
					t.Fatal(err)
				}
				toks[i] = tok
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make([]resp, len(tc.callers))
			for i, c := range tc.callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// every caller on its own connection
					cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
					req, _ := http.NewRequest("GET", e.ts.URL+c.path, nil)
					req.Header.Set("Authorization", "Bearer "+toks[i])
					<-start
					res, err := cl.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer res.Body.Close()
					b, _ := io.ReadAll(res.Body)
					results[i] = resp{res.StatusCode, res.Header, b}
				}()
			}
			close(start)
			wg.Wait()
			throttled := 0
			for i, r := range results {
				switch r.status {
				case 200:
				case 429:
					throttled++
					msg := r.json(t)["error"].(map[string]any)["message"]
					if r.errCode(t) != "ApplicationThrottled" || msg != "Application is over its MailboxConcurrency limit." || r.h.Get("Retry-After") == "" {
						t.Fatalf("429 of caller %d: %s (Retry-After %q)", i, r.body, r.h.Get("Retry-After"))
					}
				default:
					t.Fatalf("caller %d %v: %d %s", i, tc.callers[i], r.status, r.body)
				}
			}
			if throttled != tc.throttled {
				t.Fatalf("%d throttled, want %d", throttled, tc.throttled)
			}
		})
	}
}

// TestTransient412: with Transient412Rate, GETs without If-Match answer
// 412 ErrorIrresolvableConflict at about that rate (in and out of $batch);
// GETs with If-Match and writes never do.
func TestTransient412(t *testing.T) {
	const n = 400
	for _, tc := range []struct {
		name     string
		rate     float64
		method   string
		ifMatch  bool
		min, max int // 412s out of n
	}{
		{"off", -1, "GET", false, 0, 0},
		{"default", 0, "GET", false, 3, 30},
		{"10% of plain GETs", 0.10, "GET", false, 20, 70},
		{"all plain GETs", 1, "GET", false, n, n},
		{"GET with If-Match", 1, "GET", true, 0, 0},
		{"PATCH", 1, "PATCH", false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{Transient412Rate: tc.rate, RateLimit: -1})
			tok := e.tok()
			id := e.alice.Put("", []byte(`{"givenName":"Ann"}`))
			got := 0
			for i := range n {
				var hdr []string
				if tc.ifMatch {
					hdr = []string{"If-Match", "*"}
				}
				var body any
				if tc.method == "PATCH" {
					body = map[string]any{"jobTitle": "T" + itoa(i)}
				}
				r := e.do(tc.method, "/v1.0/me/contacts/"+id, tok, body, hdr...)
				switch r.status {
				case 200:
				case 412:
					if r.errCode(t) != "ErrorIrresolvableConflict" {
						t.Fatalf("412: %s", r.body)
					}
					got++
				default:
					t.Fatalf("%s: %d %s", tc.method, r.status, r.body)
				}
			}
			if got < tc.min || got > tc.max || e.s.Stats().Transient412 != got {
				t.Fatalf("%d transient 412s of %d (stats %d), want %d..%d", got, n, e.s.Stats().Transient412, tc.min, tc.max)
			}
		})
	}
	t.Run("in a batch", func(t *testing.T) {
		e := newEnv(t, Options{Transient412Rate: 1})
		tok := e.tok()
		id := e.alice.Put("", []byte(`{"givenName":"Ann"}`))
		r := e.do("POST", "/v1.0/$batch", tok, map[string]any{"requests": []map[string]any{{"id": "1", "method": "GET", "url": "/me/contacts/" + id}}})
		subs := r.json(t)["responses"].([]any)
		if r.status != 200 || len(subs) != 1 || subs[0].(map[string]any)["status"].(float64) != 412 {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
	})
}

// TestNationalCloudContactDelta: the China cloud (21Vianet) has no v1.0
// contact delta; the global and US Gov clouds have it. Lists and items
// work everywhere.
func TestNationalCloudContactDelta(t *testing.T) {
	for _, tc := range []struct {
		cloud NationalCloud
		want  int
	}{
		{"", 200},
		{CloudGlobal, 200},
		{CloudUSGov, 200},
		{CloudChina, 400},
	} {
		t.Run(string(tc.cloud), func(t *testing.T) {
			e := newEnv(t, Options{Cloud: tc.cloud})
			tok := e.tok()
			id := e.alice.Put("", []byte(`{"givenName":"Ann"}`))
			fid := e.alice.DefaultFolderID()
			for _, p := range []string{"/v1.0/me/contacts/delta", "/v1.0/me/contactFolders/" + fid + "/contacts/delta", "/v1.0/users/alice@contoso.example/contactFolders('" + fid + "')/contacts/delta"} {
				r := e.do("GET", p, tok, nil)
				if r.status != tc.want {
					t.Fatalf("%s: %d %s, want %d", p, r.status, r.body, tc.want)
				}
				if tc.want == 400 && r.errCode(t) != "ErrorInvalidIdMalformed" {
					t.Fatalf("%s: %s", p, r.body)
				}
			}
			for _, p := range []string{"/v1.0/me/contacts", "/v1.0/me/contacts/" + id, "/v1.0/me/contactFolders/delta"} {
				if r := e.do("GET", p, tok, nil); r.status != 200 {
					t.Fatalf("%s: %d %s", p, r.status, r.body)
				}
			}
		})
	}
}

func TestParseCloud(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want NationalCloud
		err  bool
	}{
		{"global", CloudGlobal, false}, {"USGov", CloudUSGov, false}, {" china ", CloudChina, false},
		{"", "", true}, {"germany", "", true},
	} {
		got, err := ParseCloud(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseCloud(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), tc.in) {
			t.Errorf("error %q does not name %q", err, tc.in)
		}
	}
}
