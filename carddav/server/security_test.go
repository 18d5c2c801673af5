package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"github.com/cardbridge/cardbridge/carddav/davxml"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Security tests of the CardDAV handler: every route and method against
// another user's data, path traversal in request paths and multiget hrefs,
// oversized and endless bodies, and hostile XML. Each check compares the
// whole store before and after, so a protection that broke and let a write
// through fails the test even when the status looks right.

// bob's data carries markers that must never appear in an answer to alice.
var bobMarkers = []string{"bob-secret-uid", "Bob Secret Name", "Bob Private Book", "bob-hidden"}

func bobCard() string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bob-secret-uid\r\nFN:Bob Secret Name\r\nN:Name;Bob Secret;;;\r\nNOTE:bob-hidden\r\nEND:VCARD\r\n"
}

// storeSnapshot renders every user, book (with its properties and change
// sequence) and card (with its ETag and data) of the store.
func storeSnapshot(t *testing.T, ts *testServer) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	users, err := ts.db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		hash, err := ts.db.UserPasswordHash(ctx, u.Name)
		if err != nil {
			t.Fatal(err)
		}
		out["user "+u.Name] = hash
		books, err := ts.db.AddressBooks(ctx, u.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range books {
			out["book "+u.Name+"/"+b.Name] = fmt.Sprintf("%d %q %q %d", b.ID, b.DisplayName, b.Description, b.SyncSeq)
			cards, err := ts.db.Cards(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cards {
				out["card "+u.Name+"/"+b.Name+"/"+c.Href] = c.ETag + "\n" + string(c.Data)
			}
		}
	}
	return out
}

func diffSnapshots(before, after map[string]string) string {
	var b strings.Builder
	for k, v := range before {
		if w, ok := after[k]; !ok {
			fmt.Fprintf(&b, "removed %s\n", k)
		} else if w != v {
			fmt.Fprintf(&b, "changed %s\n", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			fmt.Fprintf(&b, "added %s\n", k)
		}
	}
	return b.String()
}

// securityServer is a test server where bob has a card and a renamed book.
func securityServer(t *testing.T, be pgtest.Backend, mod func(*Options)) *testServer {
	t.Helper()
	ts := newTestServer(t, be, mod)
	ts.putCard("bob", "b1.vcf", bobCard())
	ts.expect("PROPPATCH", "/addressbooks/bob/contacts/", "bob", nil,
		`<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Bob Private Book</D:displayname></D:prop></D:set></D:propertyupdate>`,
		http.StatusMultiStatus)
	ts.putCard("alice", "a1.vcf", vcard3("a1", "Alice One"))
	return ts
}

const (
	secMkcol     = `<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`
	secProppatch = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>pwned</D:displayname></D:prop></D:set></D:propertyupdate>`
	secPropfind  = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`
	secSync      = `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:address-data/></D:prop></D:sync-collection>`
	secQuery     = `<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop></C:addressbook-query>`
)

func secMultiget(hrefs ...string) string {
	return string(davxml.AddressbookMultiget{Props: []xml.Name{davxml.DAV("getetag"), davxml.CardDAV("address-data")}, Hrefs: hrefs}.Encode())
}

// secRequests is every method the server knows, with a body that would do
// something on a path of the caller's own.
var secRequests = []struct{ method, body string }{
	{"OPTIONS", ""}, {"PROPFIND", ""}, {"PROPFIND", secPropfind}, {"GET", ""}, {"HEAD", ""},
	{"PUT", vcard3("x-new", "Intruder")}, {"DELETE", ""}, {"MKCOL", ""}, {"MKCOL", secMkcol},
	{"PROPPATCH", secProppatch}, {"REPORT", secSync}, {"REPORT", secQuery},
	{"REPORT", secMultiget("/addressbooks/bob/contacts/b1.vcf")}, {"POST", "x"}, {"PATCH", "x"},
	{"MOVE", ""}, {"COPY", ""}, {"LOCK", ""},
}

// bobPaths are the routes of bob's data, in several spellings.
var bobPaths = []string{
	"/principals/bob/", "/principals/bob",
	"/addressbooks/bob/", "/addressbooks/bob",
	"/addressbooks/bob/contacts/", "/addressbooks/bob/contacts",
	"/addressbooks/bob/contacts/b1.vcf", "/addressbooks/bob/contacts/missing.vcf",
	"/addressbooks/bob/newbook/", "/addressbooks/bob/newbook/x.vcf",
	"/addressbooks/%62ob/contacts/b1.vcf", "/addressbooks/bob//contacts/b1.vcf",
	"//addressbooks/bob/contacts/b1.vcf", "/addressbooks/bob/contacts/b1.vcf/",
	"/principals/bob/../../addressbooks/bob/contacts/b1.vcf",
	"/addressbooks/alice/../bob/contacts/b1.vcf", "/addressbooks/alice/%2e%2e/bob/contacts/b1.vcf",
	"/addressbooks/alice/contacts/..%2f..%2fbob%2fcontacts%2fb1.vcf",
	"/addressbooks/alice/contacts/%2e%2e%2f%2e%2e%2fbob%2fcontacts%2fb1.vcf",
}

// rawDo sends a request whose path is written as is (no cleaning or
// re-escaping by the client) and returns status, headers and body.
func (ts *testServer) rawDo(t *testing.T, method, rawPath, user, pass string, hdr map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	u, err := url.Parse(ts.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, ts.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL = &url.URL{Scheme: "http", Host: u.Host, Opaque: "//" + u.Host + rawPath}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawPath, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func noBobData(t *testing.T, what, body string) {
	t.Helper()
	for _, m := range bobMarkers {
		if strings.Contains(body, m) {
			t.Errorf("%s: bob's data %q in the answer:\n%s", what, m, body)
		}
	}
}

// TestSecurityRoutesAgainstAnotherUser: every method on every route of
// bob's, as alice, answers 403, 404 or 405, changes nothing in the store
// and says nothing of bob's data.
func TestSecurityRoutesAgainstAnotherUser(t *testing.T) {
	pgtest.ForBackends(t, testSecurityRoutesAgainstAnotherUser)
}

func testSecurityRoutesAgainstAnotherUser(t *testing.T, be pgtest.Backend) {
	ts := securityServer(t, be, nil)
	before := storeSnapshot(t, ts)
	for _, p := range bobPaths {
		for _, rq := range secRequests {
			for _, depth := range []string{"0", "1"} {
				code, _, body := ts.rawDo(t, rq.method, p, "alice", "alice-pw", map[string]string{"Depth": depth, "Content-Type": "text/vcard"}, rq.body)
				what := fmt.Sprintf("%s %s (Depth %s) as alice", rq.method, p, depth)
				switch code {
				case http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
				default:
					t.Errorf("%s: status %d", what, code)
				}
				noBobData(t, what, body)
			}
		}
	}
	if d := diffSnapshots(before, storeSnapshot(t, ts)); d != "" {
		t.Fatalf("alice's requests changed the store:\n%s", d)
	}
	ts.mu.Lock()
	changes := append([]string(nil), ts.changes...)
	ts.mu.Unlock()
	for _, c := range changes {
		if strings.HasPrefix(c, "bob/") && c != "bob/contacts" {
			t.Errorf("OnChange for %s", c)
		}
	}
	// The sync token of bob's book does not open alice's book onto bob's
	// changes, nor the other way round.
	_, b := ts.expect("REPORT", "/addressbooks/bob/contacts/", "bob", map[string]string{"Depth": "1"}, syncBody("", ""), http.StatusMultiStatus)
	bobTok := parseMS(t, b).SyncToken
	if bobTok == "" {
		t.Fatal("no sync token for bob")
	}
	_, b = ts.do("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, syncBody(bobTok, ""))
	noBobData(t, "sync-collection on alice's book with bob's token", b)
	mustContain(t, b, "valid-sync-token")
}

// TestSecurityOwnRoutesStillWork guards the isolation tests against a
// server that refuses everything: alice's own routes answer her.
func TestSecurityOwnRoutesStillWork(t *testing.T) {
	pgtest.ForBackends(t, testSecurityOwnRoutesStillWork)
}

func testSecurityOwnRoutesStillWork(t *testing.T, be pgtest.Backend) {
	ts := securityServer(t, be, nil)
	for _, p := range []string{"/principals/alice/", "/addressbooks/alice/", aliceBook, aliceBook + "a1.vcf"} {
		code, _, body := ts.rawDo(t, "PROPFIND", p, "alice", "alice-pw", map[string]string{"Depth": "0"}, secPropfind)
		if code != http.StatusMultiStatus {
			t.Fatalf("PROPFIND %s: %d %s", p, code, body)
		}
	}
	code, _, body := ts.rawDo(t, "REPORT", aliceBook, "alice", "alice-pw", map[string]string{"Depth": "1"}, secSync)
	if code != http.StatusMultiStatus || !strings.Contains(body, "Alice One") {
		t.Fatalf("sync-collection: %d %s", code, body)
	}
}

// TestSecurityUnauthenticated: every method on every route (alice's own
// and bob's) without credentials, with a wrong password, with an unknown
// user and with a malformed Authorization header answers 401 with a
// WWW-Authenticate challenge, changes nothing and leaks nothing.
func TestSecurityUnauthenticated(t *testing.T) { pgtest.ForBackends(t, testSecurityUnauthenticated) }

func testSecurityUnauthenticated(t *testing.T, be pgtest.Backend) {
	ts := securityServer(t, be, nil)
	before := storeSnapshot(t, ts)
	paths := append([]string{"/", "/principals/", "/addressbooks/", "/principals/alice/", "/addressbooks/alice/", aliceBook, aliceBook + "a1.vcf"}, bobPaths[:8]...)
	creds := []struct{ user, pass, header string }{
		{}, {user: "alice", pass: "wrong"}, {user: "bob", pass: "alice-pw"}, {user: "mallory", pass: "x"},
		{user: "alice", pass: ""}, {header: "Basic !!!notbase64"}, {header: "Bearer alice-pw"},
		{header: "Basic " + "YWxpY2U="}, // "alice" with no colon
	}
	for i, p := range paths {
		for j, rq := range secRequests {
			for k, c := range creds {
				// No credentials and a wrong password everywhere; the
				// other credentials on a few routes, an unknown user on
				// fewer still: each costs a bcrypt check (a full-cost one
				// for an unknown user), and which route is asked does not
				// matter before authentication.
				if k >= 2 && (i+j)%5 != 0 || c.user == "mallory" && (i > 1 || j > 1) {
					continue
				}
				hdr := map[string]string{"Depth": "1"}
				if c.header != "" {
					hdr["Authorization"] = c.header
				}
				code, h, body := ts.rawDo(t, rq.method, p, c.user, c.pass, hdr, rq.body)
				what := fmt.Sprintf("%s %s as %q/%q %q", rq.method, p, c.user, c.pass, c.header)
				if code != http.StatusUnauthorized {
					t.Errorf("%s: status %d", what, code)
				}
				if !strings.HasPrefix(h.Get("WWW-Authenticate"), `Basic realm="cardbridge"`) {
					t.Errorf("%s: WWW-Authenticate %q", what, h.Get("WWW-Authenticate"))
				}
				noBobData(t, what, body)
				if strings.Contains(body, "Alice One") {
					t.Errorf("%s: alice's card in the answer", what)
				}
			}
		}
	}
	// The well-known redirect is the one unauthenticated route; it only
	// redirects, whatever the method.
	for _, rq := range secRequests {
		code, h, body := ts.rawDo(t, rq.method, "/.well-known/carddav", "", "", nil, rq.body)
		if code != http.StatusMovedPermanently || h.Get("Location") != "/" {
			t.Errorf("%s /.well-known/carddav: %d %q", rq.method, code, h.Get("Location"))
		}
		noBobData(t, rq.method+" well-known", body)
		code, _, _ = ts.rawDo(t, rq.method, "/.well-known/carddav/../../addressbooks/bob/contacts/b1.vcf", "", "", nil, rq.body)
		if code != http.StatusUnauthorized {
			t.Errorf("%s well-known traversal: %d", rq.method, code)
		}
	}
	if d := diffSnapshots(before, storeSnapshot(t, ts)); d != "" {
		t.Fatalf("unauthenticated requests changed the store:\n%s", d)
	}
}

// hostileHrefs are card names meant to escape alice's book or break the
// server.
var hostileHrefs = []string{
	"..", "%2e%2e", "%2E%2E", ".%2e", "%252e%252e", "..%2fbob%2fcontacts%2fb1.vcf", "%2e%2e%2f%2e%2e%2fbob%2fcontacts%2fb1.vcf",
	"%252e%252e%252f%252e%252e%252fbob%252fcontacts%252fb1.vcf", "..%5c..%5cbob%5ccontacts%5cb1.vcf", `..\..\bob\contacts\b1.vcf`,
	"x%00.vcf", "%00", "b1.vcf%00", "%c0%ae%c0%ae", "%ff%fe.vcf", "%", "%zz", "%2", "a%3fb.vcf", "a%23b.vcf",
	strings.Repeat("a", 4096) + ".vcf", strings.Repeat("%2e", 2000),
}

// TestSecurityPathTraversal: hostile card names in PUT, GET, DELETE,
// PROPFIND, MKCOL and multiget hrefs never reach bob's book and never
// answer 5xx; whatever alice creates stays in her own book.
func TestSecurityPathTraversal(t *testing.T) { pgtest.ForBackends(t, testSecurityPathTraversal) }

func testSecurityPathTraversal(t *testing.T, be pgtest.Backend) {
	ts := securityServer(t, be, nil)
	bobBefore := func() map[string]string {
		all := storeSnapshot(t, ts)
		out := map[string]string{}
		for k, v := range all {
			if strings.Contains(k, " bob") {
				out[k] = v
			}
		}
		return out
	}
	before := bobBefore()
	hdr := map[string]string{"Depth": "1", "Content-Type": "text/vcard"}
	var mg []string
	for i, h := range hostileHrefs {
		for _, base := range []string{aliceBook, "/addressbooks/alice/", "/addressbooks/alice/contacts/sub/"} {
			p := base + h
			for _, rq := range []struct{ method, body string }{
				{"PUT", vcard3(fmt.Sprintf("hostile-%d", i), "Hostile")}, {"GET", ""}, {"HEAD", ""}, {"PROPFIND", secPropfind},
				{"DELETE", ""}, {"MKCOL", secMkcol}, {"MKCOL", ""}, {"PROPPATCH", secProppatch}, {"REPORT", secMultiget(p)},
			} {
				code, _, body := ts.rawDo(t, rq.method, p, "alice", "alice-pw", hdr, rq.body)
				if code >= 500 || code == 0 {
					t.Errorf("%s %.80s: status %d %s", rq.method, p, code, body)
				}
				noBobData(t, rq.method+" "+p, body)
			}
		}
		mg = append(mg, aliceBook+h, "/addressbooks/bob/contacts/"+h, ts.srv.URL+"/addressbooks/alice/../bob/contacts/b1.vcf")
	}
	mg = append(mg, "/addressbooks/bob/contacts/b1.vcf", "http://evil.example/addressbooks/bob/contacts/b1.vcf",
		"/addressbooks/alice/contacts/../../bob/contacts/b1.vcf", "/addressbooks/alice/contacts/%2e%2e/%2e%2e/bob/contacts/b1.vcf",
		"/addressbooks/alice/contacts/..%2f..%2fbob%2fcontacts%2fb1.vcf", "b1.vcf", "../../bob/contacts/b1.vcf", "\x01", "%00")
	// (An empty href refuses the whole multiget with 400: TestMultigetRefusesEmptyHref.)
	code, _, body := ts.rawDo(t, "REPORT", aliceBook, "alice", "alice-pw", hdr, secMultiget(mg...))
	if code != http.StatusMultiStatus {
		t.Fatalf("multiget of hostile hrefs: %d %s", code, body)
	}
	noBobData(t, "multiget", body)
	// Multiget on a card path of alice's naming bob's card.
	code, _, body = ts.rawDo(t, "REPORT", aliceBook+"a1.vcf", "alice", "alice-pw", hdr, secMultiget(mg...))
	if code >= 500 {
		t.Fatalf("multiget on a card: %d", code)
	}
	noBobData(t, "multiget on a card", body)

	if d := diffSnapshots(before, bobBefore()); d != "" {
		t.Fatalf("bob's data changed:\n%s", d)
	}
	// Everything alice created is in her own books, under the name she
	// sent (decoded once), and the rest of the store still answers.
	ctx := context.Background()
	books, err := ts.db.AddressBooks(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range books {
		if strings.ContainsAny(b.Name, "/\x00") || b.Name == ".." || b.Name == "." {
			t.Errorf("alice has a book named %q", b.Name)
		}
		cards, err := ts.db.Cards(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cards {
			if strings.Contains(c.Href, "/") || c.Href == ".." || c.Href == "." {
				t.Errorf("alice's card %q in %s", c.Href, b.Name)
			}
		}
	}
	_, b := ts.expect("GET", "/addressbooks/bob/contacts/b1.vcf", "bob", nil, "", http.StatusOK)
	mustContain(t, b, "Bob Secret Name")
}

// TestSecurityOversizedPut: a card larger than max-resource-size is
// refused with 413 and the CARDDAV:max-resource-size precondition, with
// or without a Content-Length, and nothing is stored.
func TestSecurityOversizedPut(t *testing.T) { pgtest.ForBackends(t, testSecurityOversizedPut) }

func testSecurityOversizedPut(t *testing.T, be pgtest.Backend) {
	const limit = 8 << 10
	ts := securityServer(t, be, func(o *Options) { o.MaxResourceSize = limit })
	before := storeSnapshot(t, ts)
	big := vcard3("big", strings.Repeat("x", limit))
	for _, chunked := range []bool{false, true} {
		req, _ := http.NewRequest("PUT", ts.srv.URL+aliceBook+"big.vcf", strings.NewReader(big))
		if chunked {
			req, _ = http.NewRequest("PUT", ts.srv.URL+aliceBook+"big.vcf", io.MultiReader(strings.NewReader(big)))
			req.ContentLength = -1
		}
		req.SetBasicAuth("alice", "alice-pw")
		req.Header.Set("Content-Type", "text/vcard")
		resp, err := ts.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "<C:max-resource-size/>") {
			t.Fatalf("chunked=%v: %d %s", chunked, resp.StatusCode, b)
		}
	}
	// Just under the limit is fine (the limit is the one the book states).
	ok := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:fits\r\nFN:Fits\r\nNOTE:" + strings.Repeat("y", limit-200) + "\r\nEND:VCARD\r\n"
	ts.expect("PUT", aliceBook+"fits.vcf", "alice", nil, ok, http.StatusCreated)
	_, b := ts.expect("PROPFIND", aliceBook, "alice", map[string]string{"Depth": "0"},
		`<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><prop><C:max-resource-size/></prop></propfind>`, http.StatusMultiStatus)
	mustContain(t, b, fmt.Sprintf("<C:max-resource-size>%d</C:max-resource-size>", limit))
	after := storeSnapshot(t, ts)
	delete(after, "card alice/contacts/fits.vcf")
	delete(after, "book alice/contacts")
	delete(before, "book alice/contacts")
	if d := diffSnapshots(before, after); d != "" {
		t.Fatalf("the oversized PUT stored something:\n%s", d)
	}
}

// countingBody is an endless request body that counts what was read.
type countingBody struct {
	n     atomic.Int64
	chunk []byte
	slow  time.Duration
	stop  chan struct{}
}

func (c *countingBody) Read(p []byte) (int, error) {
	select {
	case <-c.stop:
		return 0, io.EOF
	default:
	}
	if c.slow > 0 {
		select {
		case <-time.After(c.slow):
		case <-c.stop:
			return 0, io.EOF
		}
	}
	n := copy(p, c.chunk)
	c.n.Add(int64(n))
	return n, nil
}

// readCounter counts the bytes read through it.
type readCounter struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r *readCounter) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// TestSecurityOversizedXMLBodies: PROPFIND, REPORT, PROPPATCH and MKCOL
// bodies beyond the request limit answer 413; an endless chunked body is
// cut off after the limit (the server reads a bounded amount of it).
func TestSecurityOversizedXMLBodies(t *testing.T) {
	pgtest.ForBackends(t, testSecurityOversizedXMLBodies)
}

func testSecurityOversizedXMLBodies(t *testing.T, be pgtest.Backend) {
	const limit = 16 << 10 // request bodies: twice this
	ts := securityServer(t, be, func(o *Options) { o.MaxResourceSize = limit })
	before := storeSnapshot(t, ts)
	big := `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>` + strings.Repeat("<D:displayname/>", 4*limit/16) + `</D:prop></D:propfind>`
	bigReport := secMultiget(strings.Split(strings.Repeat(aliceBook+"a1.vcf ", 4*limit/20), " ")...)
	for _, m := range []struct{ method, path, body string }{
		{"PROPFIND", aliceBook, big}, {"REPORT", aliceBook, bigReport}, {"PROPPATCH", aliceBook, big}, {"MKCOL", "/addressbooks/alice/nb/", big},
	} {
		code, _, body := ts.rawDo(t, m.method, m.path, "alice", "alice-pw", map[string]string{"Depth": "1"}, m.body)
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s with a %d-byte body: %d %.200s", m.method, len(m.body), code, body)
		}
	}
	// Endless chunked bodies, fast and trickling: the answer comes and
	// the handler stopped reading at the limit. The count is taken where
	// the handler reads (the kernel's socket buffers hold more of what
	// the client sent, but that is not the server's memory).
	h, err := New(Options{Store: ts.db, Guard: noBackoffGuard(t, ts.db), MaxResourceSize: limit, FailedLoginDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var handlerRead atomic.Int64
	counted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &readCounter{ReadCloser: r.Body, n: &handlerRead}
		h.ServeHTTP(w, r)
	}))
	defer counted.Close()
	for _, slow := range []time.Duration{0, time.Millisecond} {
		for _, method := range []string{"REPORT", "PROPFIND", "PUT"} {
			body := &countingBody{chunk: bytes.Repeat([]byte("<D:href>x</D:href>"), 100), slow: slow, stop: make(chan struct{})}
			path := aliceBook
			if method == "PUT" {
				path = aliceBook + "endless.vcf"
			}
			handlerRead.Store(0)
			req, _ := http.NewRequest(method, counted.URL+path, io.NopCloser(body))
			req.ContentLength = -1
			req.SetBasicAuth("alice", "alice-pw")
			req.Header.Set("Depth", "1")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			req = req.WithContext(ctx)
			resp, err := ts.srv.Client().Do(req)
			close(body.stop)
			cancel()
			if err != nil {
				t.Fatalf("%s endless body (slow %v): %v after %d bytes", method, slow, err, body.n.Load())
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%s endless body (slow %v): status %d", method, slow, resp.StatusCode)
			}
			if n := handlerRead.Load(); n > 2*limit+64<<10 {
				t.Errorf("%s endless body: the handler read %d bytes (limit %d)", method, n, 2*limit)
			}
		}
	}
	if d := diffSnapshots(before, storeSnapshot(t, ts)); d != "" {
		t.Fatalf("oversized bodies changed the store:\n%s", d)
	}
}

// TestSecurityHostileXML: entity expansion, external entities (a file
// and a loopback URL that would record a fetch), any DOCTYPE, 10,000-deep
// nesting, huge element and attribute names: each answers 400 (413 when
// beyond the body limit), reads nothing from disk or the network, and
// changes nothing.
func TestSecurityHostileXML(t *testing.T) { pgtest.ForBackends(t, testSecurityHostileXML) }

func testSecurityHostileXML(t *testing.T, be pgtest.Backend) {
	ts := securityServer(t, be, func(o *Options) { o.MaxResourceSize = 256 << 10 })
	before := storeSnapshot(t, ts)

	// A canary file and a canary HTTP server: any read of them is a fail.
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("canary-file-content"), 0o600); err != nil {
		t.Fatal(err)
	}
	var fetched atomic.Int64
	canary := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		io.WriteString(w, "canary-http-content")
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	canary.Listener = ln
	canary.Start()
	defer canary.Close()

	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">`
	prev := "lol"
	for i := 1; i <= 9; i++ {
		name := fmt.Sprintf("lol%d", i)
		laughs += fmt.Sprintf(`<!ENTITY %s "%s">`, name, strings.Repeat("&"+prev+";", 10))
		prev = name
	}
	laughs += `]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol9;</D:displayname></D:prop></D:propfind>`
	bodies := map[string]string{
		"billion laughs":     laughs,
		"external file":      `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://` + secret + `">]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&xxe;</D:displayname></D:prop></D:propfind>`,
		"external passwd":    `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&xxe;</D:displayname></D:prop></D:propfind>`,
		"external http":      `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "` + canary.URL + `/xxe">]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&xxe;</D:displayname></D:prop></D:propfind>`,
		"parameter entity":   `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "` + canary.URL + `/dtd"> %p;]><D:propfind xmlns:D="DAV:"/>`,
		"external DTD":       `<?xml version="1.0"?><!DOCTYPE propfind SYSTEM "` + canary.URL + `/ext.dtd"><D:propfind xmlns:D="DAV:"/>`,
		"plain DOCTYPE":      `<?xml version="1.0"?><!DOCTYPE propfind><D:propfind xmlns:D="DAV:"/>`,
		"undefined entity":   `<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&undefined;</D:displayname></D:prop></D:propfind>`,
		"deep nesting":       `<D:propfind xmlns:D="DAV:">` + strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) + `</D:propfind>`,
		"deep unclosed":      `<D:propfind xmlns:D="DAV:">` + strings.Repeat("<a>", 10000),
		"huge element name":  `<D:propfind xmlns:D="DAV:"><D:prop><` + strings.Repeat("n", 100<<10) + `/></D:prop></D:propfind>`,
		"huge attr name":     `<D:propfind xmlns:D="DAV:" ` + strings.Repeat("a", 100<<10) + `="1"/>`,
		"huge element name2": `<` + strings.Repeat("n", 600<<10) + `/>`,
		"processing instr":   `<?xml version="1.0"?><?xml-stylesheet href="` + canary.URL + `/x"?><!DOCTYPE x [<!ENTITY a "b">]><D:propfind xmlns:D="DAV:"/>`,
	}
	for name, body := range bodies {
		for _, m := range []string{"PROPFIND", "REPORT", "PROPPATCH", "MKCOL"} {
			path := aliceBook
			if m == "MKCOL" {
				path = "/addressbooks/alice/xmlbook/"
			}
			code, _, resp := ts.rawDo(t, m, path, "alice", "alice-pw", map[string]string{"Depth": "0"}, body)
			want := http.StatusBadRequest
			if len(body) > 2*(256<<10) {
				want = http.StatusRequestEntityTooLarge
			}
			if code != want {
				t.Errorf("%s %s: status %d, want %d: %.200s", name, m, code, want, resp)
			}
			for _, leak := range []string{"canary-", "root:x:0", "lollol"} {
				if strings.Contains(resp, leak) {
					t.Errorf("%s %s: %q in the answer", name, m, leak)
				}
			}
		}
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the server fetched the canary URL %d times", n)
	}
	if d := diffSnapshots(before, storeSnapshot(t, ts)); d != "" {
		t.Fatalf("hostile XML changed the store:\n%s", d)
	}
}

// TestSecuritySnapshotCatchesChanges makes sure the store comparison the
// tests above rely on sees a change of each kind.
func TestSecuritySnapshotCatchesChanges(t *testing.T) {
	pgtest.ForBackends(t, testSecuritySnapshotCatchesChanges)
}

func testSecuritySnapshotCatchesChanges(t *testing.T, be pgtest.Backend) {
	ts := securityServer(t, be, nil)
	before := storeSnapshot(t, ts)
	ts.expect("PROPPATCH", "/addressbooks/bob/contacts/", "bob", nil, strings.Replace(secProppatch, "pwned", "renamed", 1), http.StatusMultiStatus)
	if diffSnapshots(before, storeSnapshot(t, ts)) == "" {
		t.Fatal("a book rename went unseen")
	}
	before = storeSnapshot(t, ts)
	ts.expect("PUT", "/addressbooks/bob/contacts/b1.vcf", "bob", nil, strings.Replace(bobCard(), "bob-hidden", "other", 1), http.StatusNoContent)
	if diffSnapshots(before, storeSnapshot(t, ts)) == "" {
		t.Fatal("a card update went unseen")
	}
	before = storeSnapshot(t, ts)
	ts.expect("DELETE", "/addressbooks/bob/contacts/b1.vcf", "bob", nil, "", http.StatusNoContent)
	if diffSnapshots(before, storeSnapshot(t, ts)) == "" {
		t.Fatal("a card deletion went unseen")
	}
	if !reflect.DeepEqual(storeSnapshot(t, ts), storeSnapshot(t, ts)) {
		t.Fatal("the snapshot is not stable")
	}
}
