package server

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

type testServer struct {
	t       *testing.T
	srv     *httptest.Server
	db      *state.DB
	mu      sync.Mutex
	changes []string
}

// newTestServer serves a new state on be (users alice and bob, password
// <user>-pw) through the Store interface, with mod applied to the options.
func newTestServer(t *testing.T, be pgtest.Backend, mod func(*Options)) *testServer {
	t.Helper()
	return newReplica(t, be.Location(t), true, mod)
}

// newReplica serves the state at loc through a handle and a server of its
// own (one replica), adding the users alice and bob first when addUsers.
func newReplica(t *testing.T, loc string, addUsers bool, mod func(*Options)) *testServer {
	t.Helper()
	ctx := context.Background()
	db := statetest.Open(t, loc, state.Options{})
	for _, u := range []string{"alice", "bob"} {
		if !addUsers {
			break
		}
		h, err := bcrypt.GenerateFromPassword([]byte(u+"-pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.AddUser(ctx, u, string(h)); err != nil {
			t.Fatal(err)
		}
	}
	ts := &testServer{t: t, db: db}
	// The server sees only its Store interface, not *state.DB.
	o := Options{Store: onlyStore{db}, Guard: noBackoffGuard(t, db), FailedLoginDelay: time.Millisecond, OnChange: func(user, book string) {
		ts.mu.Lock()
		ts.changes = append(ts.changes, user+"/"+book)
		ts.mu.Unlock()
	}}
	if mod != nil {
		mod(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = httptest.NewServer(h)
	t.Cleanup(ts.srv.Close)
	return ts
}

// do sends a request as user (password user-pw; "" for none, "!" prefix for a
// wrong password) and returns the response with its body read.
func (ts *testServer) do(method, path, user string, hdr map[string]string, body string) (*http.Response, string) {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.srv.URL+path, strings.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(user, "!"):
		req.SetBasicAuth(user[1:], "wrong")
	case user != "":
		req.SetBasicAuth(user, user+"-pw")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return resp, string(b)
}

func (ts *testServer) expect(method, path, user string, hdr map[string]string, body string, status int) (*http.Response, string) {
	ts.t.Helper()
	resp, b := ts.do(method, path, user, hdr, body)
	if resp.StatusCode != status {
		ts.t.Fatalf("%s %s as %q: status %d, want %d; body:\n%s", method, path, user, resp.StatusCode, status, b)
	}
	return resp, b
}

type msPropstat struct {
	Prop struct {
		Inner string `xml:",innerxml"`
	} `xml:"prop"`
	Status string `xml:"status"`
}

type msResponse struct {
	Href      string       `xml:"href"`
	Status    string       `xml:"status"`
	Propstats []msPropstat `xml:"propstat"`
}

type msDoc struct {
	XMLName   xml.Name     `xml:"DAV: multistatus"`
	Responses []msResponse `xml:"response"`
	SyncToken string       `xml:"sync-token"`
}

func parseMS(t *testing.T, body string) msDoc {
	t.Helper()
	var d msDoc
	if err := xml.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("bad multistatus: %v\n%s", err, body)
	}
	return d
}

func (d msDoc) resp(t *testing.T, href string) msResponse {
	t.Helper()
	for _, r := range d.Responses {
		if r.Href == href {
			return r
		}
	}
	t.Fatalf("no response for %s in %+v", href, d.Responses)
	return msResponse{}
}

// ok returns the inner XML of the 200 propstat ("" when none).
func (r msResponse) ok() string {
	for _, p := range r.Propstats {
		if p.Status == "HTTP/1.1 200 OK" {
			return p.Prop.Inner
		}
	}
	return ""
}

func (r msResponse) notFound() string {
	for _, p := range r.Propstats {
		if p.Status == "HTTP/1.1 404 Not Found" {
			return p.Prop.Inner
		}
	}
	return ""
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("missing %q in:\n%s", sub, s)
		}
	}
}

func vcard3(uid, fn string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nN:" + fn + ";;;;\r\nEMAIL;TYPE=INTERNET:" + uid + "@example.com\r\nEND:VCARD\r\n"
}

func vcard4(uid, fn string) string {
	return "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nKIND:individual\r\nTEL;VALUE=uri;TYPE=cell:tel:+1-555-0100\r\nEND:VCARD\r\n"
}

const aliceBook = "/addressbooks/alice/contacts/"

func (ts *testServer) putCard(user, href, data string) string {
	ts.t.Helper()
	resp, _ := ts.expect("PUT", "/addressbooks/"+user+"/contacts/"+href, user, map[string]string{"Content-Type": "text/vcard"}, data, http.StatusCreated)
	return resp.Header.Get("ETag")
}

func TestAuthAndWellKnown(t *testing.T) { pgtest.ForBackends(t, testAuthAndWellKnown) }

func testAuthAndWellKnown(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	for _, p := range []string{"/", "/principals/", "/principals/alice/", "/addressbooks/alice/", aliceBook, aliceBook + "x.vcf"} {
		users := []string{"", "!alice"}
		if p == "/" {
			users = append(users, "!nobody") // costs a real bcrypt check
		}
		for _, user := range users {
			resp, _ := ts.do("PROPFIND", p, user, map[string]string{"Depth": "0"}, "")
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("PROPFIND %s as %q: %d", p, user, resp.StatusCode)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="cardbridge"`) {
				t.Fatalf("WWW-Authenticate %q", got)
			}
		}
	}
	for _, p := range []string{"/.well-known/carddav", "/.well-known/carddav/"} {
		for _, m := range []string{"GET", "PROPFIND"} {
			resp, _ := ts.expect(m, p, "", nil, "", http.StatusMovedPermanently)
			if resp.Header.Get("Location") != "/" {
				t.Fatalf("Location %q", resp.Header.Get("Location"))
			}
		}
	}
	resp, _ := ts.expect("OPTIONS", "/principals/alice/", "alice", nil, "", http.StatusOK)
	if !strings.Contains(resp.Header.Get("DAV"), "addressbook") || !strings.Contains(resp.Header.Get("Allow"), "REPORT") {
		t.Fatalf("OPTIONS headers %v", resp.Header)
	}
}

func TestPrefix(t *testing.T) { pgtest.ForBackends(t, testPrefix) }

func testPrefix(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, func(o *Options) { o.Prefix = "/dav/" })
	resp, _ := ts.expect("GET", "/.well-known/carddav", "", nil, "", http.StatusMovedPermanently)
	if resp.Header.Get("Location") != "/dav/" {
		t.Fatalf("Location %q", resp.Header.Get("Location"))
	}
	_, b := ts.expect("PROPFIND", "/dav/", "alice", map[string]string{"Depth": "0"}, propCUP, http.StatusMultiStatus)
	mustContain(t, b, "<D:href>/dav/principals/alice/</D:href>")
	ts.expect("PROPFIND", "/principals/alice/", "alice", map[string]string{"Depth": "0"}, "", http.StatusNotFound)
}

const propCUP = `<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>`

func TestIsolation(t *testing.T) { pgtest.ForBackends(t, testIsolation) }

func testIsolation(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("bob", "b1.vcf", vcard3("b1", "Bob One"))
	mk := `<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`
	pp := `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>`
	mg := `<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>/addressbooks/bob/contacts/b1.vcf</D:href></C:addressbook-multiget>`
	sc := `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	paths := []string{"/principals/bob/", "/addressbooks/bob/", "/addressbooks/bob/contacts/", "/addressbooks/bob/contacts/b1.vcf", "/addressbooks/bob/new/", "/addressbooks/bob/contacts/new.vcf"}
	reqs := []struct{ method, body string }{
		{"PROPFIND", ""}, {"GET", ""}, {"HEAD", ""}, {"PUT", vcard3("x", "X")}, {"DELETE", ""},
		{"MKCOL", mk}, {"PROPPATCH", pp}, {"REPORT", mg}, {"REPORT", sc}, {"OPTIONS", ""},
	}
	for _, p := range paths {
		for _, rq := range reqs {
			resp, _ := ts.do(rq.method, p, "alice", map[string]string{"Depth": "1"}, rq.body)
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s as alice: %d", rq.method, p, resp.StatusCode)
			}
		}
	}
	// A multiget on her own book naming bob's card gets a 404 for it.
	mg2 := strings.Replace(mg, "multiget ", "multiget ", 1)
	_, b := ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, mg2, http.StatusMultiStatus)
	d := parseMS(t, b)
	if r := d.resp(t, "/addressbooks/bob/contacts/b1.vcf"); !strings.Contains(r.Status, "404") || strings.Contains(b, "Bob One") {
		t.Fatalf("bob's card leaked: %s", b)
	}
	// Bob's data is intact.
	_, b = ts.expect("GET", "/addressbooks/bob/contacts/b1.vcf", "bob", nil, "", http.StatusOK)
	mustContain(t, b, "Bob One")
	books, _ := ts.db.AddressBooks(context.Background(), "bob")
	if len(books) != 1 || books[0].DisplayName != "Contacts" {
		t.Fatalf("bob's books changed: %+v", books)
	}
	// Discovery from the root leads alice to her own principal only.
	_, b = ts.expect("PROPFIND", "/", "alice", map[string]string{"Depth": "0"}, propCUP, http.StatusMultiStatus)
	mustContain(t, b, "/principals/alice/")
	if strings.Contains(b, "bob") {
		t.Fatal(b)
	}
}
