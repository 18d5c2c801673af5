package graphsim

import (
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
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

// TestStandaloneRedirects: the standalone app accepts the callback of
// `serve`'s "Connect Office 365" on a loopback address (the README's advice)
// and the --redirect-uri ones, and still refuses any other (AADSTS50011).
func TestStandaloneRedirects(t *testing.T) {
	s, _ := standaloneServer(1, Options{AutoApprove: true, Seed: 1}, []string{"https://dav.example.com/ui/connect/callback"})
	ts := httptest.NewServer(s)
	defer ts.Close()
	cases := []struct {
		redirect string
		ok       bool
	}{
		{"http://127.0.0.1:5232/ui/connect/callback", true},
		{"http://127.0.0.1:8123/ui/connect/callback", true},
		{"http://localhost:5232/ui/connect/callback", true},
		{"http://127.0.0.1:40001", true},
		{"https://dav.example.com/ui/connect/callback", true},
		{"https://evil.example/ui/connect/callback", false},
		{"http://127.0.0.1:5232/other", false},
	}
	for _, c := range cases {
		for _, tenant := range []string{"contoso.example", "organizations"} {
			q := url.Values{"client_id": {StandaloneClientID}, "response_type": {"code"}, "redirect_uri": {c.redirect},
				"scope": {"Contacts.ReadWrite offline_access"}, "login_hint": {"alice@contoso.example"}}
			res, err := noRedirect.Get(ts.URL + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			loc := res.Header.Get("Location")
			if c.ok && (res.StatusCode != 302 || !strings.HasPrefix(loc, c.redirect+"?code=")) {
				t.Errorf("%s at /%s: %d %s %s, want a code", c.redirect, tenant, res.StatusCode, loc, b)
			}
			if !c.ok && (res.StatusCode != 400 || !strings.Contains(string(b), "AADSTS50011")) {
				t.Errorf("%s at /%s: %d %s, want AADSTS50011", c.redirect, tenant, res.StatusCode, b)
			}
		}
	}
}
