package server

import (
	"context"
	"fmt"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"
)

func TestPropfindDepth(t *testing.T) { pgtest.ForBackends(t, testPropfindDepth) }

func testPropfindDepth(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	for _, p := range []string{"/", "/principals/alice/", "/addressbooks/alice/", aliceBook} {
		_, b := ts.expect("PROPFIND", p, "alice", map[string]string{"Depth": "infinity"}, "", http.StatusForbidden)
		mustContain(t, b, "<D:propfind-finite-depth/>")
	}
	// A missing Depth on a collection is capped at 1: the members come too.
	_, b := ts.expect("PROPFIND", "/addressbooks/alice/", "alice", nil, "", http.StatusMultiStatus)
	mustContain(t, b, aliceBook)
	ts.putCard("alice", "a.vcf", vcard3("a", "A"))
	ts.expect("PROPFIND", aliceBook+"a.vcf", "alice", nil, "", http.StatusMultiStatus)
	_, b = ts.expect("PROPFIND", aliceBook, "alice", map[string]string{"Depth": "0"}, "", http.StatusMultiStatus)
	if n := len(parseMS(t, b).Responses); n != 1 {
		t.Fatalf("depth 0: %d responses", n)
	}
	_, b = ts.expect("PROPFIND", aliceBook, "alice", map[string]string{"Depth": "1"}, `<propfind xmlns="DAV:"><propname/></propfind>`, http.StatusMultiStatus)
	if n := len(parseMS(t, b).Responses); n != 2 {
		t.Fatalf("depth 1: %d responses", n)
	}
	_, b = ts.expect("PROPFIND", aliceBook, "alice", map[string]string{"Depth": "1"}, `<propfind xmlns="DAV:"><allprop/></propfind>`, http.StatusMultiStatus)
	mustContain(t, b, "<D:getetag>", "<CS:getctag>")
	_, b = ts.expect("PROPFIND", aliceBook, "alice", map[string]string{"Depth": "0"}, `<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><prop><supported-report-set/><C:supported-address-data/><C:max-resource-size/><current-user-privilege-set/></prop></propfind>`, http.StatusMultiStatus)
	mustContain(t, b, "<C:addressbook-multiget/>", "<C:addressbook-query/>", "<D:sync-collection/>", `version="3.0"`, `version="4.0"`, "<C:max-resource-size>1048576</C:max-resource-size>", "<D:bind/>", "<D:unbind/>", "<D:write/>")
	_, b = ts.expect("PROPFIND", aliceBook+"a.vcf", "alice", map[string]string{"Depth": "0"}, `<propfind xmlns="DAV:"><prop><getlastmodified/><getcontentlength/><getetag/></prop></propfind>`, http.StatusMultiStatus)
	mustContain(t, b, "<D:getlastmodified>", "<D:getcontentlength>")
	ts.expect("PROPFIND", aliceBook+"missing.vcf", "alice", map[string]string{"Depth": "0"}, "", http.StatusNotFound)
	ts.expect("PROPFIND", "/addressbooks/alice/nobook/", "alice", map[string]string{"Depth": "0"}, "", http.StatusNotFound)
}

func syncBody(token, limit string) string {
	l := ""
	if limit != "" {
		l = "<D:limit><D:nresults>" + limit + "</D:nresults></D:limit>"
	}
	return `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:sync-token>` + token +
		`</D:sync-token><D:sync-level>1</D:sync-level>` + l + `<D:prop><D:getetag/></D:prop></D:sync-collection>`
}

func TestSyncCollection(t *testing.T) { pgtest.ForBackends(t, testSyncCollection) }

func testSyncCollection(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	hdr := map[string]string{"Depth": "1"}
	_, b := ts.expect("REPORT", aliceBook, "alice", hdr, syncBody("", ""), http.StatusMultiStatus)
	d := parseMS(t, b)
	if len(d.Responses) != 0 || d.SyncToken == "" {
		t.Fatalf("empty initial: %s", b)
	}
	tok0 := d.SyncToken
	for _, u := range []string{"c1", "c2", "c3", "c4", "c5"} {
		ts.putCard("alice", u+".vcf", vcard3(u, "N "+u))
	}
	_, b = ts.expect("REPORT", aliceBook, "alice", hdr, syncBody("", ""), http.StatusMultiStatus)
	if d = parseMS(t, b); len(d.Responses) != 5 {
		t.Fatalf("initial: %s", b)
	}
	tok1 := d.SyncToken
	_, b = ts.expect("REPORT", aliceBook, "alice", hdr, syncBody(tok1, ""), http.StatusMultiStatus)
	if d = parseMS(t, b); len(d.Responses) != 0 || d.SyncToken != tok1 {
		t.Fatalf("no change: %s", b)
	}
	ts.expect("PUT", aliceBook+"c2.vcf", "alice", nil, vcard3("c2", "Changed"), http.StatusNoContent)
	ts.expect("DELETE", aliceBook+"c3.vcf", "alice", nil, "", http.StatusNoContent)
	_, b = ts.expect("REPORT", aliceBook, "alice", hdr, syncBody(tok1, ""), http.StatusMultiStatus)
	d = parseMS(t, b)
	if len(d.Responses) != 2 {
		t.Fatalf("after put+delete: %s", b)
	}
	mustContain(t, d.resp(t, aliceBook+"c2.vcf").ok(), "<D:getetag>")
	if d.resp(t, aliceBook+"c3.vcf").Status != "HTTP/1.1 404 Not Found" {
		t.Fatal(b)
	}
	// The bare store token is accepted too.
	bare := strings.TrimPrefix(tok1, syncTokenURI)
	ts.expect("REPORT", aliceBook, "alice", hdr, syncBody(bare, ""), http.StatusMultiStatus)
	// Invalid tokens.
	for _, bad := range []string{"garbage", syncTokenURI + "cb-sync-999-1", syncTokenURI + "cb-sync-1-9999"} {
		_, b = ts.expect("REPORT", aliceBook, "alice", hdr, syncBody(bad, ""), http.StatusForbidden)
		mustContain(t, b, "<D:valid-sync-token/>")
	}
	// Limit: from tok0 there are 5 changes (c1, c2, c4, c5 and c3 deleted).
	seen := map[string]bool{}
	tok := tok0
	for i := 0; ; i++ {
		_, b = ts.expect("REPORT", aliceBook, "alice", hdr, syncBody(tok, "2"), http.StatusMultiStatus)
		d = parseMS(t, b)
		truncated := false
		members := 0
		for _, r := range d.Responses {
			if r.Href == aliceBook {
				if r.Status != "HTTP/1.1 507 Insufficient Storage" {
					t.Fatal(b)
				}
				truncated = true
				continue
			}
			members++
			seen[r.Href] = true
		}
		if members > 2 {
			t.Fatalf("limit ignored: %s", b)
		}
		tok = d.SyncToken
		if !truncated {
			break
		}
		if i > 5 {
			t.Fatal("no progress")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("resumed sync saw %v", seen)
	}
	if tok != parseMS(t, mustReport(ts, syncBody("", ""))).SyncToken {
		t.Fatal("final token is not current")
	}
}

func mustReport(ts *testServer, body string) string {
	_, b := ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, body, http.StatusMultiStatus)
	return b
}

func TestPutPreconditions(t *testing.T) { pgtest.ForBackends(t, testPutPreconditions) }

func testPutPreconditions(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, func(o *Options) { o.MaxResourceSize = 4096 })
	etag := ts.putCard("alice", "p.vcf", vcard3("p", "P"))
	if !strings.HasPrefix(etag, `"`) {
		t.Fatalf("etag %q", etag)
	}
	ts.expect("PUT", aliceBook+"p.vcf", "alice", map[string]string{"If-None-Match": "*"}, vcard3("p", "P2"), http.StatusPreconditionFailed)
	ts.expect("PUT", aliceBook+"p.vcf", "alice", map[string]string{"If-Match": `"nope"`}, vcard3("p", "P2"), http.StatusPreconditionFailed)
	ts.expect("PUT", aliceBook+"q.vcf", "alice", map[string]string{"If-Match": `"nope"`}, vcard3("q", "Q"), http.StatusPreconditionFailed)
	resp, _ := ts.expect("PUT", aliceBook+"p.vcf", "alice", map[string]string{"If-Match": etag}, vcard3("p", "P2"), http.StatusNoContent)
	etag2 := resp.Header.Get("ETag")
	if etag2 == "" || etag2 == etag {
		t.Fatalf("etag after update %q", etag2)
	}
	resp, _ = ts.expect("GET", aliceBook+"p.vcf", "alice", nil, "", http.StatusOK)
	if resp.Header.Get("ETag") != etag2 || resp.Header.Get("Content-Type") != "text/vcard; charset=utf-8" {
		t.Fatal(resp.Header)
	}
	ts.expect("GET", aliceBook+"p.vcf", "alice", map[string]string{"If-None-Match": etag2}, "", http.StatusNotModified)
	ts.expect("HEAD", aliceBook+"p.vcf", "alice", nil, "", http.StatusOK)
	ts.expect("PUT", aliceBook+"n.vcf", "alice", map[string]string{"If-None-Match": "*"}, vcard3("n", "N"), http.StatusCreated)
	// DELETE with If-Match.
	ts.expect("DELETE", aliceBook+"p.vcf", "alice", map[string]string{"If-Match": etag}, "", http.StatusPreconditionFailed)
	ts.expect("DELETE", aliceBook+"p.vcf", "alice", map[string]string{"If-Match": etag2}, "", http.StatusNoContent)
	ts.expect("DELETE", aliceBook+"p.vcf", "alice", nil, "", http.StatusNotFound)
	// UID conflict.
	_, b := ts.expect("PUT", aliceBook+"other.vcf", "alice", nil, vcard3("n", "Dup"), http.StatusConflict)
	mustContain(t, b, "<C:no-uid-conflict><D:href>/addressbooks/alice/contacts/n.vcf</D:href></C:no-uid-conflict>")
	// Too large.
	big := vcard3("big", strings.Repeat("x", 5000))
	_, b = ts.expect("PUT", aliceBook+"big.vcf", "alice", nil, big, http.StatusRequestEntityTooLarge)
	mustContain(t, b, "<C:max-resource-size/>")
	// Invalid vCard.
	_, b = ts.expect("PUT", aliceBook+"bad.vcf", "alice", nil, "hello world\r\n", http.StatusBadRequest)
	mustContain(t, b, "<C:valid-address-data/>", "vcard: line 1")
	ts.expect("PUT", aliceBook+"trunc.vcf", "alice", nil, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n", http.StatusBadRequest)
	// PUT into a missing book.
	ts.expect("PUT", "/addressbooks/alice/nobook/x.vcf", "alice", nil, vcard3("x", "X"), http.StatusConflict)
	// 2.1 accepted.
	ts.expect("PUT", aliceBook+"v21.vcf", "alice", nil, "BEGIN:VCARD\r\nVERSION:2.1\r\nUID:v21\r\nN:Doe;John\r\nFN:John Doe\r\nEND:VCARD\r\n", http.StatusCreated)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.changes) < 4 || ts.changes[0] != "alice/contacts" {
		t.Fatalf("OnChange calls %v", ts.changes)
	}
}

// TestVersionNegotiation: a client that names a version (Accept, the
// address-data version attribute) gets it; one that does not gets the
// version the card was stored in, except Apple's clients (3.0 only).
func TestVersionNegotiation(t *testing.T) { pgtest.ForBackends(t, testVersionNegotiation) }

func testVersionNegotiation(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	v4 := vcard4("v4", "Four")
	etag := ts.putCard("alice", "v4.vcf", v4)
	resp, b := ts.expect("GET", aliceBook+"v4.vcf", "alice", nil, "", http.StatusOK)
	if b != v4 || resp.Header.Get("ETag") != etag {
		t.Fatalf("stored 4.0 not served as is without Accept: %q", b)
	}
	if v := resp.Header.Get("Vary"); !strings.Contains(v, "Accept") || !strings.Contains(v, "User-Agent") {
		t.Fatalf("Vary %q", v)
	}
	for _, ua := range []string{uaIOS, uaMacOS, uaMacOSNew} {
		_, b = ts.expect("GET", aliceBook+"v4.vcf", "alice", map[string]string{"User-Agent": ua, "Accept": "*/*"}, "", http.StatusOK)
		mustContain(t, b, "VERSION:3.0", "FN:Four")
	}
	_, b = ts.expect("GET", aliceBook+"v4.vcf", "alice", map[string]string{"Accept": "text/vcard; version=3.0"}, "", http.StatusOK)
	mustContain(t, b, "VERSION:3.0", "FN:Four")
	resp, b = ts.expect("GET", aliceBook+"v4.vcf", "alice", map[string]string{"Accept": "text/vcard; version=4.0"}, "", http.StatusOK)
	if b != v4 || resp.Header.Get("ETag") != etag {
		t.Fatalf("stored 4.0 not served as is: %q", b)
	}
	etag3 := ts.putCard("alice", "v3.vcf", vcard3("v3", "Three"))
	_, b = ts.expect("GET", aliceBook+"v3.vcf", "alice", nil, "", http.StatusOK)
	if b != vcard3("v3", "Three") {
		t.Fatalf("stored 3.0 not served as is: %q", b)
	}
	_, b = ts.expect("GET", aliceBook+"v3.vcf", "alice", map[string]string{"User-Agent": uaThunderbird}, "", http.StatusOK)
	mustContain(t, b, "VERSION:4.0") // ical.js reads 3.0's \; wrong
	resp, b = ts.expect("GET", aliceBook+"v3.vcf", "alice", map[string]string{"Accept": "text/vcard;version=4.0, text/vcard;version=3.0;q=0.5"}, "", http.StatusOK)
	mustContain(t, b, "VERSION:4.0")
	if resp.Header.Get("ETag") != etag3 {
		t.Fatal("etag differs")
	}
	mg := func(attrs string) string {
		return `<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data` + attrs + `/><D:getcontentlength/></D:prop><D:href>/addressbooks/alice/contacts/v4.vcf</D:href><D:href>/addressbooks/alice/contacts/v3.vcf</D:href></C:addressbook-multiget>`
	}
	_, b = ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, mg(""), http.StatusMultiStatus)
	if !strings.Contains(b, "VERSION:4.0") || !strings.Contains(b, "VERSION:3.0") || !strings.Contains(b, etag[1:len(etag)-1]) {
		t.Fatalf("multiget without a version: %s", b)
	}
	mustContain(t, parseMS(t, b).resp(t, aliceBook+"v4.vcf").ok(), "<D:getcontentlength>"+strconv.Itoa(len(v4))+"<")
	_, b = ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1", "User-Agent": uaIOS}, mg(""), http.StatusMultiStatus)
	if strings.Contains(b, "VERSION:4.0") {
		t.Fatalf("multiget without a version for iOS: %s", b)
	}
	_, b = ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, mg(` content-type="text/vcard" version="3.0"`), http.StatusMultiStatus)
	if strings.Contains(b, "VERSION:4.0") {
		t.Fatalf("3.0 multiget: %s", b)
	}
	_, b = ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, mg(` content-type="text/vcard" version="4.0"`), http.StatusMultiStatus)
	if strings.Contains(b, "VERSION:3.0") {
		t.Fatalf("4.0 multiget: %s", b)
	}
}

func TestQuery(t *testing.T) { pgtest.ForBackends(t, testQuery) }

func testQuery(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("alice", "a.vcf", vcard3("uid-a", "Anna Smith"))
	ts.putCard("alice", "b.vcf", vcard3("uid-b", "Bert Jones"))
	q := func(filter string) []string {
		b := mustReport(ts, `<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop>`+filter+`</C:addressbook-query>`)
		var out []string
		for _, r := range parseMS(t, b).Responses {
			out = append(out, strings.TrimPrefix(r.Href, aliceBook))
		}
		return out
	}
	cases := map[string]string{
		`<C:filter/>`: "a.vcf,b.vcf",
		`<C:filter><C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap" match-type="contains">SMITH</C:text-match></C:prop-filter></C:filter>`:                                   "a.vcf",
		`<C:filter><C:prop-filter name="EMAIL"><C:text-match match-type="equals">uid-b@example.com</C:text-match></C:prop-filter></C:filter>`:                                                    "b.vcf",
		`<C:filter><C:prop-filter name="UID"><C:text-match match-type="equals">UID-A</C:text-match></C:prop-filter></C:filter>`:                                                                  "a.vcf",
		`<C:filter test="anyof"><C:prop-filter name="FN"><C:text-match>anna</C:text-match></C:prop-filter><C:prop-filter name="FN"><C:text-match>bert</C:text-match></C:prop-filter></C:filter>`: "a.vcf,b.vcf",
		`<C:filter><C:prop-filter name="NICKNAME"><C:is-not-defined/></C:prop-filter></C:filter>`:                                                                                                "a.vcf,b.vcf",
		`<C:filter><C:prop-filter name="FN"><C:text-match negate-condition="yes">anna</C:text-match></C:prop-filter></C:filter>`:                                                                 "b.vcf",
	}
	for f, want := range cases {
		if got := strings.Join(q(f), ","); got != want {
			t.Errorf("%s: got %s, want %s", f, got, want)
		}
	}
}

func TestCollections(t *testing.T) { pgtest.ForBackends(t, testCollections) }

func testCollections(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.expect("MKCOL", "/addressbooks/alice/plain/", "alice", nil, "", http.StatusCreated)
	ts.expect("MKCOL", "/addressbooks/alice/plain/", "alice", nil, "", http.StatusMethodNotAllowed)
	ext := `<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Work people</D:displayname></D:prop></D:set></D:mkcol>`
	ts.expect("MKCOL", "/addressbooks/alice/work/", "alice", nil, ext, http.StatusCreated)
	ts.expect("MKCOL", "/addressbooks/alice/work/", "alice", nil, ext, http.StatusMethodNotAllowed)
	ts.expect("MKCOL", "/addressbooks/alice/cal/", "alice", nil, strings.Replace(ext, "<C:addressbook/>", "", 1), http.StatusForbidden)
	_, b := ts.expect("PROPFIND", "/addressbooks/alice/", "alice", map[string]string{"Depth": "1"}, `<propfind xmlns="DAV:"><prop><displayname/><resourcetype/></prop></propfind>`, http.StatusMultiStatus)
	d := parseMS(t, b)
	mustContain(t, d.resp(t, "/addressbooks/alice/work/").ok(), "<D:displayname>Work people</D:displayname>", "<C:addressbook/>")
	d.resp(t, "/addressbooks/alice/plain/")
	// PROPPATCH displayname.
	_, b = ts.expect("PROPPATCH", "/addressbooks/alice/work/", "alice", nil, `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Colleagues</D:displayname></D:prop></D:set></D:propertyupdate>`, http.StatusMultiStatus)
	mustContain(t, parseMS(t, b).resp(t, "/addressbooks/alice/work/").ok(), "displayname")
	bk, _ := ts.db.AddressBook(context.Background(), "alice", "work")
	if bk.DisplayName != "Colleagues" {
		t.Fatal(bk)
	}
	// Other properties: 403, nothing applied.
	_, b = ts.expect("PROPPATCH", "/addressbooks/alice/work/", "alice", nil, `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x"><D:set><D:prop><D:displayname>Nope</D:displayname><X:color>red</X:color></D:prop></D:set></D:propertyupdate>`, http.StatusMultiStatus)
	mustContain(t, b, "HTTP/1.1 403 Forbidden", "HTTP/1.1 424 Failed Dependency")
	bk, _ = ts.db.AddressBook(context.Background(), "alice", "work")
	if bk.DisplayName != "Colleagues" {
		t.Fatal(bk)
	}
	// Delete the book.
	ts.expect("DELETE", "/addressbooks/alice/work/", "alice", nil, "", http.StatusNoContent)
	ts.expect("PROPFIND", "/addressbooks/alice/work/", "alice", map[string]string{"Depth": "0"}, "", http.StatusNotFound)
	ts.expect("DELETE", "/addressbooks/alice/", "alice", nil, "", http.StatusForbidden)
}

func TestHostileXML(t *testing.T) { pgtest.ForBackends(t, testHostileXML) }

func testHostileXML(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, func(o *Options) { o.MaxResourceSize = 64 << 10 })
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><propfind xmlns="DAV:"><prop><displayname>&lol2;</displayname></prop></propfind>`
	deep := `<propfind xmlns="DAV:">` + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</propfind>`
	huge := `<propfind xmlns="DAV:"><prop>` + strings.Repeat("<displayname/>", 20000) + `</prop></propfind>`
	for _, body := range []string{bomb, deep, huge, "<propfind", "not xml"} {
		want := http.StatusBadRequest
		if body == huge { // beyond the body limit (twice MaxResourceSize)
			want = http.StatusRequestEntityTooLarge
		}
		for _, m := range []string{"PROPFIND", "REPORT", "PROPPATCH", "MKCOL"} {
			ts.expect(m, "/addressbooks/alice/x/", "alice", map[string]string{"Depth": "0"}, body, want)
		}
	}
}

// TestGoWebdavClient drives the server with go-webdav's own CardDAV client.
func TestGoWebdavClient(t *testing.T) { pgtest.ForBackends(t, testGoWebdavClient) }

func testGoWebdavClient(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ctx := context.Background()
	hc := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "alice", "alice-pw")
	wc, err := webdav.NewClient(hc, ts.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	principal, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil || principal != "/principals/alice/" {
		t.Fatalf("principal %q, %v", principal, err)
	}
	c, err := carddav.NewClient(hc, ts.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	home, err := c.FindAddressBookHomeSet(ctx, principal)
	if err != nil || home != "/addressbooks/alice/" {
		t.Fatalf("home %q, %v", home, err)
	}
	books, err := c.FindAddressBooks(ctx, home)
	if err != nil || len(books) != 1 || books[0].Path != aliceBook || books[0].MaxResourceSize != 1<<20 {
		t.Fatalf("books %+v, %v", books, err)
	}
	initial, err := c.SyncCollection(ctx, aliceBook, &carddav.SyncQuery{})
	if err != nil || len(initial.Updated) != 0 || initial.SyncToken == "" {
		t.Fatalf("initial sync %+v, %v", initial, err)
	}
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "3.0")
	card.SetValue(vcard.FieldUID, "gw1")
	card.SetValue(vcard.FieldFormattedName, "Go Webdav")
	card.SetValue(vcard.FieldName, "Webdav;Go;;;")
	obj, err := c.PutAddressObject(ctx, aliceBook+"gw1.vcf", card)
	if err != nil || obj.ETag == "" {
		t.Fatalf("put %+v, %v", obj, err)
	}
	objs, err := c.MultiGetAddressBook(ctx, aliceBook, &carddav.AddressBookMultiGet{
		Paths:       []string{aliceBook + "gw1.vcf"},
		DataRequest: carddav.AddressDataRequest{AllProp: true},
	})
	if err != nil || len(objs) != 1 || objs[0].Card.PreferredValue(vcard.FieldFormattedName) != "Go Webdav" || objs[0].ETag != obj.ETag {
		t.Fatalf("multiget %+v, %v", objs, err)
	}
	next, err := c.SyncCollection(ctx, aliceBook, &carddav.SyncQuery{SyncToken: initial.SyncToken})
	if err != nil || len(next.Updated) != 1 || next.Updated[0].Path != aliceBook+"gw1.vcf" {
		t.Fatalf("sync %+v, %v", next, err)
	}
	if err := wc.RemoveAll(ctx, aliceBook+"gw1.vcf"); err != nil {
		t.Fatal(err)
	}
	last, err := c.SyncCollection(ctx, aliceBook, &carddav.SyncQuery{SyncToken: next.SyncToken})
	if err != nil || len(last.Deleted) != 1 || last.Deleted[0] != aliceBook+"gw1.vcf" {
		t.Fatalf("sync after delete %+v, %v", last, err)
	}
}

// TestMinimalAnswers: with "Prefer: return=minimal" or "Brief: t" the
// properties a resource lacks are left out of PROPFIND and REPORT answers
// (and Preference-Applied says so); without them they come back as 404.
func TestMinimalAnswers(t *testing.T) { pgtest.ForBackends(t, testMinimalAnswers) }

func testMinimalAnswers(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("alice", "a.vcf", vcard3("a", "A"))
	const ask = `<propfind xmlns="DAV:" xmlns:X="urn:example:x"><prop><getetag/><X:nothing/></prop></propfind>`
	multiget := `<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:X="urn:example:x"><D:prop><D:getetag/><X:nothing/></D:prop><D:href>` + aliceBook + `a.vcf</D:href></C:addressbook-multiget>`
	for _, tc := range []struct {
		name    string
		hdr     map[string]string
		minimal bool
	}{
		{"plain", map[string]string{}, false},
		{"prefer", map[string]string{"Prefer": "return=minimal"}, true},
		{"prefer list", map[string]string{"Prefer": "respond-async, return = minimal; x=1"}, true},
		{"prefer representation", map[string]string{"Prefer": "return=representation"}, false},
		{"brief", map[string]string{"Brief": "t"}, true},
		{"brief f", map[string]string{"Brief": "f"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, rq := range []struct{ method, depth, body string }{
				{"PROPFIND", "1", ask},
				{"REPORT", "0", multiget},
			} {
				hdr := map[string]string{"Depth": rq.depth, "Content-Type": "application/xml"}
				for k, v := range tc.hdr {
					hdr[k] = v
				}
				resp, b := ts.expect(rq.method, aliceBook, "alice", hdr, rq.body, http.StatusMultiStatus)
				mustContain(t, b, "<D:getetag>")
				has404 := strings.Contains(b, "404 Not Found")
				if has404 == tc.minimal {
					t.Errorf("%s: 404 group present=%v, want %v:\n%s", rq.method, has404, !tc.minimal, b)
				}
				if got := resp.Header.Get("Preference-Applied"); (got == "return=minimal") != tc.minimal {
					t.Errorf("%s: Preference-Applied = %q", rq.method, got)
				}
			}
		})
	}
}

// TestSyncCollectionAfterCompaction: once the change log has dropped old
// deletion records, a client holding a token from before them is told to
// start again (403 valid-sync-token), and that fresh start lists exactly
// the cards that exist.
func TestSyncCollectionAfterCompaction(t *testing.T) {
	pgtest.ForBackends(t, testSyncCollectionAfterCompaction)
}

func testSyncCollectionAfterCompaction(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ctx := context.Background()
	hdr := map[string]string{"Depth": "1"}
	for _, u := range []string{"k1", "k2", "k3"} {
		ts.putCard("alice", u+".vcf", vcard3(u, "Kept "+u))
	}
	_, b := ts.expect("REPORT", aliceBook, "alice", hdr, syncBody("", ""), http.StatusMultiStatus)
	old := parseMS(t, b).SyncToken
	book, err := ts.db.AddressBook(ctx, "alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	for i := range state.MinTombstones + 200 {
		h := fmt.Sprintf("tmp%d.vcf", i)
		if _, _, err := ts.db.PutCard(ctx, book.ID, h, "", []byte(vcard3(h, "Tmp")), state.Precondition{}); err != nil {
			t.Fatal(err)
		}
		if err := ts.db.DeleteCard(ctx, book.ID, h, state.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	_, b = ts.expect("REPORT", aliceBook, "alice", hdr, syncBody(old, ""), http.StatusForbidden)
	mustContain(t, b, "<D:valid-sync-token/>")
	_, b = ts.expect("REPORT", aliceBook, "alice", hdr, syncBody("", ""), http.StatusMultiStatus)
	d := parseMS(t, b)
	if len(d.Responses) != 3 {
		t.Fatalf("a fresh start after compaction lists %d members, want the 3 cards:\n%s", len(d.Responses), b)
	}
	for _, r := range d.Responses {
		if !strings.Contains(r.Href, "/k") {
			t.Errorf("listed %s", r.Href)
		}
	}
	// The fresh token works for the next change.
	ts.putCard("alice", "k4.vcf", vcard3("k4", "Kept k4"))
	_, b = ts.expect("REPORT", aliceBook, "alice", hdr, syncBody(d.SyncToken, ""), http.StatusMultiStatus)
	if d := parseMS(t, b); len(d.Responses) != 1 {
		t.Fatalf("incremental after a fresh start: %s", b)
	}
}
