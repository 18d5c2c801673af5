package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var tokenRE = regexp.MustCompile(`cbap_[0-9]+_[A-Za-z0-9_-]{43}`)

// TestDevicesPage: a signed-in user makes a named app password on the
// Devices page (shown once, escaped, with a CSRF token), sees it listed
// with its creation and last use, and revokes it; the token works for
// CardDAV until then, never for the page's sign-in; another user neither
// sees nor revokes it.
func TestDevicesPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.browser()
	csrf := b.signIn("alice")

	// The phone setup page points to the Devices page.
	if st, _, body := b.get("/ui/books/contacts/phone"); st != http.StatusOK || !strings.Contains(body, `id="app-password-hint"`) || !strings.Contains(body, `(<a href="/ui/devices">Devices</a>)`) {
		t.Fatalf("phone page: %d, no link to the Devices page", st)
	}
	if st, _, body := b.get("/ui/devices"); st != http.StatusOK || !strings.Contains(body, `id="no-app-passwords"`) || !strings.Contains(body, `href="/ui/devices" class="current"`) {
		t.Fatalf("empty devices page: %d\n%s", st, body)
	}
	if st, _, _ := b.post("/ui/devices", "", url.Values{"name": {"iPhone"}}); st != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d, want 403", st)
	}
	if st, _, _ := b.post("/ui/devices", "wrong", url.Values{"name": {"iPhone"}}); st != http.StatusForbidden {
		t.Fatalf("with a wrong CSRF token: %d, want 403", st)
	}
	if ps, _ := e.db.AppPasswords(ctx, "alice"); len(ps) != 0 {
		t.Fatalf("made without a CSRF token: %+v", ps)
	}

	const name = `<b>Ann's "iPhone"</b>`
	st, _, body := b.post("/ui/devices", csrf, url.Values{"name": {name}})
	tok := tokenRE.FindString(body)
	if st != http.StatusOK || tok == "" || !strings.Contains(body, "shown this once") {
		t.Fatalf("create: %d, token %q\n%s", st, tok, body)
	}
	if strings.Contains(body, name) || !strings.Contains(body, "&lt;b&gt;Ann&#39;s &#34;iPhone&#34;&lt;/b&gt;") {
		t.Fatalf("the name is not escaped:\n%s", body)
	}
	if ok, err := e.db.CheckAppPassword(ctx, "alice", tok); !ok || err != nil {
		t.Fatalf("the token shown does not work: %v %v", ok, err)
	}

	// Listed with its use, the token never again.
	st, _, body = b.get("/ui/devices")
	if st != http.StatusOK || strings.Contains(body, tok) || strings.Count(body, `class="app-password"`) != 1 || strings.Contains(body, `id="no-app-passwords"`) {
		t.Fatalf("list: %d\n%s", st, body)
	}
	if row := body[strings.Index(body, `class="app-password"`):]; !strings.Contains(row[:strings.Index(row, "</tr>")], "Last used") || strings.Contains(row[:strings.Index(row, "</tr>")], "never") {
		t.Fatalf("last use not shown:\n%s", row)
	}

	refused := []struct {
		name, value string
		want        int
	}{
		{"same name", name, http.StatusConflict},
		{"empty", "   ", http.StatusBadRequest},
		{"control character", "a\x01b", http.StatusBadRequest},
		{"too long", strings.Repeat("x", 101), http.StatusBadRequest},
	}
	for _, c := range refused {
		if st, _, body := b.post("/ui/devices", csrf, url.Values{"name": {c.value}}); st != c.want || tokenRE.MatchString(body) || !strings.Contains(body, `id="error"`) {
			t.Errorf("%s: %d, want %d with an error and no token", c.name, st, c.want)
		}
	}

	// The page's sign-in does not take app passwords.
	if st, _, _ := e.browser().post("/ui/login", "", url.Values{"user": {"alice"}, "password": {tok}}); st != http.StatusUnauthorized {
		t.Fatalf("sign-in with an app password: %d, want 401", st)
	}

	// Bob sees none of alice's and cannot revoke hers.
	bob := e.browser()
	bcsrf := bob.signIn("bob")
	if _, _, body := bob.get("/ui/devices"); strings.Contains(body, `class="app-password"`) || strings.Contains(body, "Ann") {
		t.Fatalf("bob sees alice's app password:\n%s", body)
	}
	if st, _, _ := bob.post("/ui/devices/revoke", bcsrf, url.Values{"name": {name}}); st != http.StatusNotFound {
		t.Fatalf("bob revoking alice's: %d, want 404", st)
	}
	if ok, _ := e.db.CheckAppPassword(ctx, "alice", tok); !ok {
		t.Fatal("bob revoked alice's app password")
	}

	if st, _, _ := b.post("/ui/devices/revoke", "", url.Values{"name": {name}}); st != http.StatusForbidden {
		t.Fatalf("revoke without the CSRF token: %d", st)
	}
	st, loc, _ := b.post("/ui/devices/revoke", csrf, url.Values{"name": {name}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/devices?revoked=") {
		t.Fatalf("revoke: %d %s", st, loc)
	}
	if ok, _ := e.db.CheckAppPassword(ctx, "alice", tok); ok {
		t.Fatal("revoked token still works")
	}
	st, _, body = b.get(loc)
	if st != http.StatusOK || !strings.Contains(body, `id="flash"`) || !strings.Contains(body, "is revoked") || strings.Contains(body, name) || !strings.Contains(body, `id="no-app-passwords"`) {
		t.Fatalf("after revoking: %d\n%s", st, body)
	}
	if st, _, _ := b.post("/ui/devices/revoke", csrf, url.Values{"name": {name}}); st != http.StatusNotFound {
		t.Fatalf("revoking twice: %d, want 404", st)
	}
}
