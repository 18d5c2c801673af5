package web

import (
	"bytes"
	"context"
	"encoding/xml"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// parsePlist reads an XML property list into Go values: map[string]any
// for a dict, []any, string, int, bool. It fails on anything else, so a
// malformed profile fails the test.
func parsePlist(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	var next func(start xml.StartElement) any
	text := func() string {
		var b strings.Builder
		for {
			tok, err := d.Token()
			if err != nil {
				t.Fatalf("plist: %v", err)
			}
			switch tok := tok.(type) {
			case xml.CharData:
				b.Write(tok)
			case xml.EndElement:
				return b.String()
			default:
				t.Fatalf("plist: %T inside a value", tok)
			}
		}
	}
	elements := func(f func(xml.StartElement)) {
		for {
			tok, err := d.Token()
			if err != nil {
				t.Fatalf("plist: %v", err)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				f(tok)
			case xml.EndElement:
				return
			case xml.CharData:
				if strings.TrimSpace(string(tok)) != "" {
					t.Fatalf("plist: stray text %q", tok)
				}
			}
		}
	}
	next = func(start xml.StartElement) any {
		switch start.Name.Local {
		case "string":
			return text()
		case "integer":
			n, err := strconv.Atoi(text())
			if err != nil {
				t.Fatalf("plist integer: %v", err)
			}
			return n
		case "true", "false":
			text()
			return start.Name.Local == "true"
		case "array":
			var out []any
			elements(func(s xml.StartElement) { out = append(out, next(s)) })
			return out
		case "dict":
			out := map[string]any{}
			key := ""
			elements(func(s xml.StartElement) {
				if key == "" {
					if s.Name.Local != "key" {
						t.Fatalf("plist dict: %s where a key belongs", s.Name.Local)
					}
					if key = text(); key == "" {
						t.Fatal("plist dict: empty key")
					}
					return
				}
				if _, dup := out[key]; dup {
					t.Fatalf("plist dict: key %s twice", key)
				}
				out[key] = next(s)
				key = ""
			})
			if key != "" {
				t.Fatalf("plist dict: key %s without a value", key)
			}
			return out
		}
		t.Fatalf("plist: element %s", start.Name.Local)
		return nil
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			t.Fatal("plist: no <plist>")
		}
		if err != nil {
			t.Fatalf("plist: %v", err)
		}
		if s, ok := tok.(xml.StartElement); ok {
			if s.Name.Local != "plist" {
				t.Fatalf("plist: root %s", s.Name.Local)
			}
			var top any
			elements(func(s xml.StartElement) { top = next(s) })
			m, ok := top.(map[string]any)
			if !ok {
				t.Fatalf("plist: top is %T", top)
			}
			return m
		}
	}
}

// account is the CardDAV payload of a profile, checked to be the only one.
func account(t *testing.T, p map[string]any) map[string]any {
	t.Helper()
	if p["PayloadType"] != "Configuration" || p["PayloadVersion"] != 1 {
		t.Fatalf("profile: %v", p)
	}
	content, _ := p["PayloadContent"].([]any)
	if len(content) != 1 {
		t.Fatalf("payloads: %v", p["PayloadContent"])
	}
	a, _ := content[0].(map[string]any)
	if a["PayloadType"] != "com.apple.carddav.account" {
		t.Fatalf("payload: %v", a)
	}
	return a
}

// phoneEnv is the env with alice signed in and her book "contacts" shown
// as a name with markup; get fetches a path through a handler that takes
// every Host (as serve's does for a server listening on every interface).
func phoneEnv(t *testing.T) (e *env, b *browser, csrf string, get func(method, host, path string, form url.Values) *httptest.ResponseRecorder) {
	e = newEnv(t)
	ctx := context.Background()
	book, err := e.db.AddressBook(ctx, "alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.UpdateAddressBook(ctx, book.ID, `Work & "<Friends>"`, ""); err != nil {
		t.Fatal(err)
	}
	b = e.browser()
	csrf = b.signIn("alice")
	h, err := New(Options{DB: e.db, Config: e.cfg, Pairs: e.pairs, Guard: e.guard, AllowHost: func(string) bool { return true },
		BaseURL: e.ui.URL, FailedLoginDelay: -1, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cookies := b.c.Jar.Cookies(mustURL(t, e.ui.URL+"/ui/"))
	get = func(method, host, path string, form url.Values) *httptest.ResponseRecorder {
		var r *http.Request
		if form != nil {
			form.Set("csrf", csrf)
			r = formRequest("http://"+host+path, form)
			r.Header.Set("Origin", "http://"+host)
		} else {
			r = httptest.NewRequest(method, "http://"+host+path, nil)
		}
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := newRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	return e, b, csrf, get
}

// TestPhoneProfile: the profile of a book, asked at a network address, is
// a valid property list with the CardDAV account of the server as the
// browser reached it, the user, no password, the book's name escaped; its
// Content-Type and file name are Apple's. Asked with the password it holds
// it, a wrong password makes none; a book she does not have is a 404.
func TestPhoneProfile(t *testing.T) {
	_, _, _, get := phoneEnv(t)
	w := get("GET", "192.168.1.20:5232", "/ui/books/contacts/profile.mobileconfig", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("profile: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/x-apple-aspen-config" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename=cardbridge-contacts.mobileconfig` {
		t.Errorf("Content-Disposition %q", cd)
	}
	raw := w.Body.Bytes()
	a := account(t, parsePlist(t, raw))
	want := map[string]any{"CardDAVHostName": "192.168.1.20", "CardDAVPort": 5232, "CardDAVUseSSL": false, "CardDAVUsername": "alice",
		"CardDAVPrincipalURL": "http://192.168.1.20:5232/principals/alice/", "CardDAVAccountDescription": `Work & "<Friends>"`}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("%s = %#v, want %#v", k, a[k], v)
		}
	}
	if _, ok := a["CardDAVPassword"]; ok || bytes.Contains(raw, []byte("alice-pw")) {
		t.Fatalf("profile holds a password:\n%s", raw)
	}
	// The same again: the same UUIDs, so the phone replaces it.
	if again := get("GET", "192.168.1.20:5232", "/ui/books/contacts/profile.mobileconfig", nil); !bytes.Equal(again.Body.Bytes(), raw) {
		t.Errorf("a second download differs")
	}

	w = get("POST", "192.168.1.20:5232", "/ui/books/contacts/profile.mobileconfig", url.Values{"include_password": {"1"}, "password": {"wrong"}})
	if w.Code != http.StatusUnauthorized || strings.Contains(w.Header().Get("Content-Type"), "aspen") {
		t.Fatalf("wrong password: %d %s", w.Code, w.Header())
	}
	w = get("POST", "192.168.1.20:5232", "/ui/books/contacts/profile.mobileconfig", url.Values{"include_password": {"1"}, "password": {"alice-pw"}})
	if w.Code != http.StatusOK {
		t.Fatalf("with password: %d %s", w.Code, w.Body)
	}
	if a := account(t, parsePlist(t, w.Body.Bytes())); a["CardDAVPassword"] != "alice-pw" {
		t.Fatalf("password asked for, not in the profile: %v", a)
	}
	if w := get("GET", "192.168.1.20:5232", "/ui/books/nosuch/profile.mobileconfig", nil); w.Code != http.StatusNotFound {
		t.Errorf("unknown book: %d", w.Code)
	}
}

// TestPhonePublicURL: with server.public_url set, the page, the profile
// and the QR code use it (https: port 443, SSL), whatever Host the browser
// used; the QR code is a PNG of the DAVx5 URL the page shows.
func TestPhonePublicURL(t *testing.T) {
	e, _, _, get := phoneEnv(t)
	e.cfg.Server.PublicURL = "https://dav.example.com/"
	a := account(t, parsePlist(t, get("GET", "127.0.0.1:5232", "/ui/books/contacts/profile.mobileconfig", nil).Body.Bytes()))
	if a["CardDAVHostName"] != "dav.example.com" || a["CardDAVPort"] != 443 || a["CardDAVUseSSL"] != true || a["CardDAVPrincipalURL"] != "https://dav.example.com/principals/alice/" {
		t.Fatalf("account %v", a)
	}
	w := get("GET", "127.0.0.1:5232", "/ui/books/contacts/phone", nil)
	page := w.Body.String()
	for _, s := range []string{`value="https://dav.example.com/"`, "carddavs://alice@dav.example.com/", `src="/ui/books/contacts/qr.png"`,
		"Work &amp; &#34;&lt;Friends&gt;&#34;", "not signed", `data-copy="server-url" hidden`, `<script src="/ui/static/copy.js"`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(page, "127.0.0.1") || strings.Contains(page, "<Friends>") {
		t.Errorf("page shows 127.0.0.1 or unescaped markup:\n%s", page)
	}
	w = get("GET", "127.0.0.1:5232", "/ui/books/contacts/qr.png", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("qr: %d %s", w.Code, w.Header())
	}
	img, err := png.Decode(w.Body)
	if err != nil || img.Bounds().Dx() != qrSize {
		t.Fatalf("qr png: %v %v", err, img)
	}
}

// TestPhoneLoopback: opened as 127.0.0.1 or localhost without a public
// URL, the page says a phone cannot reach it and how to listen on the
// network, shows no QR code and offers no profile (409); at a network
// address it shows the code with a plain-http DAVx5 URL.
func TestPhoneLoopback(t *testing.T) {
	e, b, _, get := phoneEnv(t)
	e.cfg.Server.Listen = "127.0.0.1:5232"
	for _, host := range []string{"127.0.0.1:5232", "localhost:5232", "[::1]:5232"} {
		page := get("GET", host, "/ui/books/contacts/phone", nil).Body.String()
		for _, s := range []string{`id="unreachable"`, "A phone cannot reach this server", "server.listen: 0.0.0.0:5232", "cardbridge demo --listen 0.0.0.0:5232"} {
			if !strings.Contains(page, s) {
				t.Errorf("%s: page lacks %q", host, s)
			}
		}
		if strings.Contains(page, "qr.png") || strings.Contains(page, "Download the profile") {
			t.Errorf("%s: page offers the QR code or profile", host)
		}
		for _, p := range []string{"qr.png", "profile.mobileconfig"} {
			if w := get("GET", host, "/ui/books/contacts/"+p, nil); w.Code != http.StatusConflict {
				t.Errorf("%s: %s answered %d", host, p, w.Code)
			}
		}
	}
	e.cfg.Server.Listen = "0.0.0.0:5232"
	if page := get("GET", "localhost:5232", "/ui/books/contacts/phone", nil).Body.String(); !strings.Contains(page, "open this page at the computer's network address") {
		t.Errorf("listening on the network, opened as localhost:\n%s", page)
	}
	// At a network address, even with a loopback public_url (the demo's):
	// that one, the phone cannot use.
	for _, pub := range []string{"", "http://127.0.0.1:5232/"} {
		e.cfg.Server.PublicURL = pub
		page := get("GET", "192.168.1.20:5232", "/ui/books/contacts/phone", nil).Body.String()
		if !strings.Contains(page, "carddav://alice@192.168.1.20:5232/") || strings.Contains(page, "unreachable") || strings.Contains(page, "127.0.0.1") {
			t.Errorf("public_url %q, at a network address:\n%s", pub, page)
		}
	}
	// The dashboard links each book's setup page.
	if _, _, dash := b.get("/ui/"); !strings.Contains(dash, `href="/ui/books/contacts/phone"`) {
		t.Errorf("dashboard has no phone setup link")
	}
}
