package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// Bodies replayed from real clients' recorded request sequences (iOS, macOS,
// DAVx5, Thunderbird, vdirsyncer), kept here as the tests' data.

// The PROPFIND bodies that iOS and macOS both send, word for word.
const (
	// appleDiscoveryBody asks for the principal (discovery, Brief: t).
	appleDiscoveryBody = `<?xml version="1.0" encoding="UTF-8"?>
<A:propfind xmlns:A="DAV:">
  <A:prop>
    <A:current-user-principal/>
    <A:principal-URL/>
    <A:resourcetype/>
  </A:prop>
</A:propfind>`
	// applePrincipalBody asks for the principal's properties, the home set
	// among them.
	applePrincipalBody = `<?xml version="1.0" encoding="UTF-8"?>
<A:propfind xmlns:A="DAV:">
  <A:prop>
    <B:addressbook-home-set xmlns:B="urn:ietf:params:xml:ns:carddav"/>
    <B:directory-gateway xmlns:B="urn:ietf:params:xml:ns:carddav"/>
    <A:displayname/>
    <C:email-address-set xmlns:C="http://calendarserver.org/ns/"/>
    <A:principal-collection-set/>
    <A:principal-URL/>
    <A:resource-id/>
    <A:supported-report-set/>
  </A:prop>
</A:propfind>`
	// appleCtagBody is the change check on a book.
	appleCtagBody = `<?xml version="1.0" encoding="UTF-8"?>
<A:propfind xmlns:A="DAV:">
  <A:prop>
    <C:getctag xmlns:C="http://calendarserver.org/ns/"/>
    <A:sync-token/>
  </A:prop>
</A:propfind>`
)

func TestIOSDiscovery(t *testing.T) { pgtest.ForBackends(t, testIOSDiscovery) }

func testIOSDiscovery(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	body := appleDiscoveryBody
	hdr := map[string]string{"Depth": "0", "Brief": "t", "Prefer": "return=minimal", "Content-Type": "text/xml"}
	// 1. well-known without credentials: 301 to the root.
	resp, _ := ts.expect("PROPFIND", "/.well-known/carddav", "", hdr, body, http.StatusMovedPermanently)
	loc := resp.Header.Get("Location")
	// Then 401 before credentials, then 207.
	resp, _ = ts.expect("PROPFIND", loc, "", hdr, body, http.StatusUnauthorized)
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("no challenge")
	}
	_, b := ts.expect("PROPFIND", loc, "alice", hdr, body, http.StatusMultiStatus)
	r := parseMS(t, b).resp(t, "/")
	mustContain(t, r.ok(), "<D:current-user-principal><D:href>/principals/alice/</D:href>")
	// 2. principal.
	_, b = ts.expect("PROPFIND", "/principals/alice/", "alice", hdr, body, http.StatusMultiStatus)
	r = parseMS(t, b).resp(t, "/principals/alice/")
	mustContain(t, r.ok(), "<D:principal-URL><D:href>/principals/alice/</D:href>", "<D:principal/>")
	// 3. OPTIONS.
	ts.expect("OPTIONS", "/principals/alice/", "alice", nil, "", http.StatusOK)
	// Principal properties (macOS).
	_, b = ts.expect("PROPFIND", "/principals/alice/", "alice", map[string]string{"Depth": "0"}, applePrincipalBody, http.StatusMultiStatus)
	r = parseMS(t, b).resp(t, "/principals/alice/")
	mustContain(t, r.ok(), "<C:addressbook-home-set><D:href>/addressbooks/alice/</D:href>")
	mustContain(t, r.notFound(), "directory-gateway", "email-address-set", "resource-id")
	// 4. home set with many properties, unknown ones in a 404 propstat.
	_, b = ts.expect("PROPFIND", "/addressbooks/alice/", "alice", map[string]string{"Depth": "0", "Content-Type": "text/xml"}, `<?xml version="1.0" encoding="UTF-8"?>
<A:propfind xmlns:A="DAV:">
  <A:prop>
    <A:add-member/>
    <E:bulk-requests xmlns:E="http://me.com/_namespace/"/>
    <A:current-user-privilege-set/>
    <A:displayname/>
    <D:max-image-size xmlns:D="urn:ietf:params:xml:ns:carddav"/>
    <D:max-resource-size xmlns:D="urn:ietf:params:xml:ns:carddav"/>
    <C:me-card xmlns:C="http://calendarserver.org/ns/"/>
    <A:owner/>
    <C:push-transports xmlns:C="http://calendarserver.org/ns/"/>
    <C:pushkey xmlns:C="http://calendarserver.org/ns/"/>
    <A:quota-available-bytes/>
    <A:quota-used-bytes/>
    <A:resource-id/>
    <A:resourcetype/>
    <A:supported-report-set/>
    <A:sync-token/>
  </A:prop>
</A:propfind>`, http.StatusMultiStatus)
	r = parseMS(t, b).resp(t, "/addressbooks/alice/")
	mustContain(t, r.ok(), "<D:collection/>", "<D:owner><D:href>/principals/alice/</D:href>", "<D:privilege><D:bind/></D:privilege>")
	mustContain(t, r.notFound(), "bulk-requests", "pushkey", "push-transports", "max-image-size", "me-card")
	// ios-sync 1: change check on the book.
	_, b = ts.expect("PROPFIND", aliceBook, "alice", map[string]string{"Depth": "0"}, appleCtagBody, http.StatusMultiStatus)
	mustContain(t, parseMS(t, b).resp(t, aliceBook).ok(), "<CS:getctag>", "<D:sync-token>http://cardbridge.invalid/sync/")
	// macOS me-card PROPPATCH on the home set.
	_, b = ts.expect("PROPPATCH", "/addressbooks/alice/", "alice", nil, `<?xml version="1.0" encoding="UTF-8"?>
<A:propertyupdate xmlns:A="DAV:"><A:set><A:prop><C:me-card xmlns:C="http://calendarserver.org/ns/"><A:href>/addressbooks/alice/contacts/E7.vcf</A:href></C:me-card></A:prop></A:set></A:propertyupdate>`, http.StatusMultiStatus)
	mustContain(t, parseMS(t, b).resp(t, "/addressbooks/alice/").ok(), "me-card")
}

func TestThunderbird(t *testing.T) { pgtest.ForBackends(t, testThunderbird) }

func testThunderbird(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	hdr0 := map[string]string{"Depth": "0", "Content-Type": "text/xml"}
	hdr1 := map[string]string{"Depth": "1", "Content-Type": "text/xml"}
	// Discovery 2: well-known redirects to "/", which answers the principal.
	resp, _ := ts.expect("PROPFIND", "/.well-known/carddav", "alice", hdr0, "", http.StatusMovedPermanently)
	_, b := ts.expect("PROPFIND", resp.Header.Get("Location"), "alice", hdr0, `<?xml version="1.0" encoding="utf-8"?>
      <propfind xmlns="DAV:">
        <prop>
          <current-user-principal/>
        </prop>
      </propfind>`, http.StatusMultiStatus)
	mustContain(t, parseMS(t, b).resp(t, "/").ok(), "<D:current-user-principal><D:href>/principals/alice/</D:href>")
	// 1 on an entered URL (the principal).
	_, b = ts.expect("PROPFIND", "/principals/alice/", "alice", hdr0, `<?xml version="1.0" encoding="utf-8"?>
      <propfind xmlns="DAV:">
          <prop>
            <resourcetype/>
            <displayname/>
            <current-user-principal/>
            <current-user-privilege-set/>
          </prop>
        </propfind>`, http.StatusMultiStatus)
	mustContain(t, b, "<D:current-user-principal><D:href>")
	// 3. principal → home set.
	_, b = ts.expect("PROPFIND", "/principals/alice/", "alice", hdr0, `<?xml version="1.0" encoding="utf-8"?>
      <propfind xmlns="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
        <prop>
          <card:addressbook-home-set/>
        </prop>
      </propfind>`, http.StatusMultiStatus)
	mustContain(t, b, "<C:addressbook-home-set><D:href>/addressbooks/alice/</D:href>")
	// 4. list books: first propstat exactly "HTTP/1.1 200 OK", addressbook, writable.
	_, b = ts.expect("PROPFIND", "/addressbooks/alice/", "alice", hdr1, `<?xml version="1.0" encoding="utf-8"?>
      <propfind xmlns="DAV:">
        <prop>
          <resourcetype/>
          <displayname/>
          <current-user-privilege-set/>
        </prop>
      </propfind>`, http.StatusMultiStatus)
	r := parseMS(t, b).resp(t, aliceBook)
	if r.Propstats[0].Status != "HTTP/1.1 200 OK" {
		t.Fatalf("first propstat %q", r.Propstats[0].Status)
	}
	mustContain(t, r.ok(), "<C:addressbook/>", "<D:displayname>Contacts</D:displayname>", "<D:write-content/>", "<D:read/>")

	// Sync: 5. PUT without If-Match (create, then update).
	ts.expect("PUT", aliceBook+"tb1.vcf", "alice", map[string]string{"Content-Type": "text/vcard"}, vcard3("tb1", "Thunder Bird"), http.StatusCreated)
	ts.expect("PUT", aliceBook+"tb1.vcf", "alice", map[string]string{"Content-Type": "text/vcard"}, vcard3("tb1", "Thunder Bird 2"), http.StatusNoContent)
	ts.putCard("alice", "tb2.vcf", vcard3("tb2", "Second"))
	// 1. list members.
	_, b = ts.expect("PROPFIND", aliceBook, "alice", hdr1, `<propfind xmlns="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:d="DAV:">
      <prop>
        <resourcetype/>
        <getetag/>
        <cs:getctag/>
      </prop>
    </propfind>`, http.StatusMultiStatus)
	d := parseMS(t, b)
	if len(d.Responses) != 3 {
		t.Fatalf("responses: %s", b)
	}
	m := d.resp(t, aliceBook+"tb1.vcf")
	mustContain(t, m.ok(), "<D:resourcetype/>", "<D:getetag>&#34;")
	mustContain(t, m.notFound(), "getctag")
	// 2. multiget.
	_, b = ts.expect("REPORT", aliceBook, "alice", hdr1, `<?xml version="1.0" encoding="utf-8"?>
    <card:addressbook-multiget xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:d="DAV:">
      <d:prop>
        <d:getetag/>
        <card:address-data/>
      </d:prop>
            <d:href>/addressbooks/alice/contacts/tb1.vcf</d:href>
            <d:href>/addressbooks/alice/contacts/gone.vcf</d:href>
    </card:addressbook-multiget>`, http.StatusMultiStatus)
	d = parseMS(t, b)
	mustContain(t, d.resp(t, aliceBook+"tb1.vcf").ok(), "<C:address-data>BEGIN:VCARD", "Thunder Bird 2")
	if st := d.resp(t, aliceBook+"gone.vcf").Status; st != "HTTP/1.1 404 Not Found" {
		t.Fatalf("missing href status %q", st)
	}
	// 3. sync token.
	_, b = ts.expect("PROPFIND", aliceBook, "alice", hdr0, `<propfind xmlns="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:d="DAV:">
      <prop>
         <displayname/>
         <cs:getctag/>
         <sync-token/>
      </prop>
    </propfind>`, http.StatusMultiStatus)
	ok := parseMS(t, b).resp(t, aliceBook).ok()
	tok := between(ok, "<D:sync-token>", "</D:sync-token>")
	if tok == "" {
		t.Fatal(ok)
	}
	// 6. delete, then 4. incremental sync.
	ts.expect("DELETE", aliceBook+"tb2.vcf", "alice", nil, "", http.StatusNoContent)
	ts.expect("PUT", aliceBook+"tb3.vcf", "alice", nil, vcard3("tb3", "Third"), http.StatusCreated)
	_, b = ts.expect("REPORT", aliceBook, "alice", hdr1, `<sync-collection xmlns="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:d="DAV:">
      <sync-token>`+tok+`</sync-token>
      <sync-level>1</sync-level>
      <prop>
        <getetag/>
        <card:address-data/>
      </prop>
    </sync-collection>`, http.StatusMultiStatus)
	d = parseMS(t, b)
	if len(d.Responses) != 2 || d.SyncToken == "" || d.SyncToken == tok {
		t.Fatalf("incremental sync: %s", b)
	}
	mustContain(t, d.resp(t, aliceBook+"tb3.vcf").ok(), "<D:getetag>", "Third")
	if st := d.resp(t, aliceBook+"tb2.vcf").Status; st != "HTTP/1.1 404 Not Found" {
		t.Fatalf("deleted member status %q", st)
	}
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

func TestVdirsyncer(t *testing.T) { pgtest.ForBackends(t, testVdirsyncer) }

func testVdirsyncer(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("alice", "v1.vcf", vcard3("v1", "Vdir One"))
	hdr := func(depth string) map[string]string {
		return map[string]string{"Depth": depth, "Content-Type": "application/xml; charset=UTF-8", "User-Agent": "vdirsyncer/0.19.3"}
	}
	// 1. the home set as configured URL: the book is an addressbook.
	_, b := ts.expect("PROPFIND", "/addressbooks/alice/", "alice", hdr("1"), `

    <d:propfind xmlns:d="DAV:">
        <d:prop>
            <d:resourcetype />
        </d:prop>
    </d:propfind>
    `, http.StatusMultiStatus)
	mustContain(t, parseMS(t, b).resp(t, aliceBook).ok(), "<C:addressbook/>")
	cup := `

        <d:propfind xmlns:d="DAV:">
            <d:prop>
                <d:current-user-principal />
            </d:prop>
        </d:propfind>

`
	// 2./4. current-user-principal on an entered URL and on "/".
	for _, p := range []string{"/", aliceBook, "/principals/"} {
		_, b = ts.expect("PROPFIND", p, "alice", hdr("0"), cup, http.StatusMultiStatus)
		mustContain(t, b, "<D:current-user-principal><D:href>/principals/alice/</D:href></D:current-user-principal>", "<D:status>HTTP/1.1 200 OK</D:status>")
	}
	// 3. GET on the well-known URL.
	resp, _ := ts.expect("GET", "/.well-known/carddav/", "", hdr("0"), "", http.StatusMovedPermanently)
	if resp.Header.Get("Location") != "/" {
		t.Fatal(resp.Header)
	}
	// 6. displayname.
	_, b = ts.expect("PROPFIND", aliceBook, "alice", hdr("0"), `<?xml version="1.0" encoding="utf-8" ?>
            <D:propfind xmlns:D="DAV:">
                <D:prop>
                    <ns0:displayname xmlns:ns0="DAV:" />
                </D:prop>
            </D:propfind>
        `, http.StatusMultiStatus)
	mustContain(t, b, "<D:displayname>Contacts</D:displayname>")
	// sync 0. OPTIONS, 1. listing.
	ts.expect("OPTIONS", aliceBook, "alice", hdr("1"), "", http.StatusOK)
	_, b = ts.expect("PROPFIND", aliceBook, "alice", hdr("1"), `<?xml version="1.0" encoding="utf-8" ?>
            <propfind xmlns="DAV:">
                <prop>
                    <resourcetype/>
                    <getcontenttype/>
                    <getetag/>
                </prop>
            </propfind>
            `, http.StatusMultiStatus)
	mustContain(t, parseMS(t, b).resp(t, aliceBook+"v1.vcf").ok(), "<D:resourcetype/>", "<D:getcontenttype>text/vcard; charset=utf-8</D:getcontenttype>", "<D:getetag>&#34;")
}

func TestDAVdroidCtag(t *testing.T) { pgtest.ForBackends(t, testDAVdroidCtag) }

func testDAVdroidCtag(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("alice", "d1.vcf", vcard3("d1", "Droid"))
	_, b := ts.expect("PROPFIND", aliceBook, "alice", map[string]string{"Depth": "1", "Content-Type": "text/xml; charset=UTF-8", "Accept": "text/xml"}, `<propfind xmlns="DAV:">
   <prop>
      <CS:getctag xmlns:CS="http://calendarserver.org/ns/"/>
      <getetag/>
   </prop>
</propfind>`, http.StatusMultiStatus)
	d := parseMS(t, b)
	mustContain(t, d.resp(t, aliceBook).ok(), "<CS:getctag>")
	mustContain(t, d.resp(t, aliceBook).notFound(), "getetag")
	mustContain(t, d.resp(t, aliceBook+"d1.vcf").ok(), "<D:getetag>")
	mustContain(t, d.resp(t, aliceBook+"d1.vcf").notFound(), "getctag")
	// dav4jvm: multiget Depth 0 with version 4.0, query Depth 1 with an empty filter.
	_, b = ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "0"}, `<?xml version="1.0"?><CARD:addressbook-multiget xmlns="DAV:" xmlns:CARD="urn:ietf:params:xml:ns:carddav"><prop><getcontenttype/><getetag/><CARD:address-data content-type="text/vcard" version="4.0"/></prop><href>/addressbooks/alice/contacts/d1.vcf</href></CARD:addressbook-multiget>`, http.StatusMultiStatus)
	mustContain(t, b, "VERSION:4.0")
	_, b = ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, `<?xml version="1.0"?><CARD:addressbook-query xmlns="DAV:" xmlns:CARD="urn:ietf:params:xml:ns:carddav"><prop><getetag/></prop><CARD:filter/></CARD:addressbook-query>`, http.StatusMultiStatus)
	parseMS(t, b).resp(t, aliceBook+"d1.vcf")
}

// TestMacOSAddressBook replays macos-addressbook.http: principal discovery
// without Depth (Brief: t), the principal's properties at Depth 0 (the
// home set must be there, not only supported-report-set), the home set at
// Depth 1 and the me-card PROPPATCH.
func TestMacOSAddressBook(t *testing.T) { pgtest.ForBackends(t, testMacOSAddressBook) }

func testMacOSAddressBook(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	principal, home := "/principals/alice/", "/addressbooks/alice/"
	_, b := ts.expect("PROPFIND", principal, "alice", map[string]string{"Content-Type": "text/xml", "Brief": "t", "Accept": "*/*"}, appleDiscoveryBody, http.StatusMultiStatus)
	ok := parseMS(t, b).resp(t, principal).ok()
	mustContain(t, ok, "<D:current-user-principal><D:href>"+principal+"</D:href>")
	mustContain(t, ok, "<D:principal-URL><D:href>"+principal+"</D:href>")
	mustContain(t, ok, "<D:principal/>")
	_, b = ts.expect("PROPFIND", principal, "alice", map[string]string{"Depth": "0", "Content-Type": "text/xml"}, applePrincipalBody, http.StatusMultiStatus)
	d := parseMS(t, b)
	mustContain(t, d.resp(t, principal).ok(), "<C:addressbook-home-set><D:href>"+home+"</D:href>")
	mustContain(t, d.resp(t, principal).notFound(), "directory-gateway")
	_, b = ts.expect("PROPFIND", home, "alice", map[string]string{"Depth": "1", "Content-Type": "text/xml"}, "", http.StatusMultiStatus)
	parseMS(t, b).resp(t, aliceBook)
	ts.expect("PROPPATCH", home, "alice", map[string]string{"Content-Type": "text/xml"}, `<?xml version="1.0" encoding="UTF-8"?>
<A:propertyupdate xmlns:A="DAV:"><A:set><A:prop><C:me-card xmlns:C="http://calendarserver.org/ns/"><A:href>`+home+`book1/E7213AAA-7206-4B97-926A-CDFECBD91C26-ABSPlugin.vcf</A:href></C:me-card></A:prop></A:set></A:propertyupdate>`, http.StatusMultiStatus)
}

// TestIOSSync replays ios-sync.http: the getctag/sync-token change check,
// a Depth 1 member listing, and a multiget that must answer vCard 3.0
// even for a card stored as 4.0 (Apple fails on 4.0).
func TestIOSSync(t *testing.T) { pgtest.ForBackends(t, testIOSSync) }

func testIOSSync(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("alice", "four.vcf", "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:four\r\nFN:Four\r\nKIND:individual\r\nTEL;VALUE=uri;TYPE=cell:tel:+1-555-0100\r\nEND:VCARD\r\n")
	hdr := map[string]string{"User-Agent": "iOS/7.1.1 (11D201) dataaccessd/1.0", "Content-Type": "text/xml"}
	_, b := ts.expect("PROPFIND", aliceBook, "alice", hdr, appleCtagBody, http.StatusMultiStatus)
	ok := parseMS(t, b).resp(t, aliceBook).ok()
	mustContain(t, ok, "<CS:getctag>")
	mustContain(t, ok, "<D:sync-token>")
	hdr1 := map[string]string{"User-Agent": hdr["User-Agent"], "Content-Type": "text/xml", "Depth": "1"}
	_, b = ts.expect("PROPFIND", aliceBook, "alice", hdr1, `<?xml version="1.0" encoding="UTF-8"?><A:propfind xmlns:A="DAV:"><A:prop><A:getetag/><A:resourcetype/></A:prop></A:propfind>`, http.StatusMultiStatus)
	mustContain(t, parseMS(t, b).resp(t, aliceBook+"four.vcf").ok(), "<D:getetag>")
	_, b = ts.expect("REPORT", aliceBook, "alice", hdr1, `<?xml version="1.0" encoding="UTF-8"?><B:addressbook-multiget xmlns:A="DAV:" xmlns:B="urn:ietf:params:xml:ns:carddav"><A:prop><A:getetag/><B:address-data/></A:prop><A:href>`+aliceBook+`four.vcf</A:href></B:addressbook-multiget>`, http.StatusMultiStatus)
	mustContain(t, b, "VERSION:3.0")
	mustContain(t, b, "X-ADDRESSBOOKSERVER-KIND:individual")
	if strings.Contains(b, "VERSION:4.0") {
		t.Fatalf("a 4.0 card served to iOS:\n%s", b)
	}
}
