package server

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

const dirBook = "/addressbooks/alice/directory/"

// newReadOnlyBook gives alice a read-only book "directory" holding the
// cards a.vcf and b.vcf, written as the system that owns it.
func newReadOnlyBook(t *testing.T, ts *testServer) state.AddressBook {
	t.Helper()
	ctx := context.Background()
	b, err := ts.db.CreateAddressBook(ctx, "alice", "directory", "Directory", "the organisation")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.db.SetAddressBookReadOnly(ctx, b.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, uid := range []string{"a", "b"} {
		if _, _, err := ts.db.PutCard(ctx, b.ID, uid+".vcf", uid, []byte(vcard3(uid, "Person "+uid)), state.Precondition{System: true}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// bookSnapshot is what a refused write must leave as it was: the book's
// names, ctag/sync token and flag, its cards and its change log.
type bookSnapshot struct {
	Book             state.AddressBook
	Cards            map[string]string // href: etag + data
	Changed, Deleted []string
}

func snapshotBook(t *testing.T, db *state.DB, user, name string) bookSnapshot {
	t.Helper()
	ctx := context.Background()
	b, err := db.AddressBook(ctx, user, name)
	if err != nil {
		t.Fatal(err)
	}
	s := bookSnapshot{Book: b, Cards: map[string]string{}}
	cards, err := db.Cards(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		s.Cards[c.Href] = c.ETag + "\n" + string(c.Data)
	}
	if s.Changed, s.Deleted, _, err = db.CardChanges(ctx, b.ID, 0); err != nil {
		t.Fatal(err)
	}
	return s
}

// needPrivileges is a DAV:error body with DAV:need-privileges.
type needPrivileges struct {
	XMLName   xml.Name `xml:"DAV: error"`
	Resources []struct {
		Href      string `xml:"DAV: href"`
		Privilege struct {
			Names []struct{ XMLName xml.Name } `xml:",any"`
		} `xml:"DAV: privilege"`
	} `xml:"DAV: need-privileges>resource"`
}

// parseNeedPrivileges returns "href privilege" of each resource of a
// need-privileges body.
func parseNeedPrivileges(t *testing.T, body string) []string {
	t.Helper()
	var e needPrivileges
	if err := xml.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not a DAV:error: %v\n%s", err, body)
	}
	var out []string
	for _, r := range e.Resources {
		for _, n := range r.Privilege.Names {
			if n.XMLName.Space != "DAV:" {
				t.Errorf("privilege %v is not a DAV: one", n.XMLName)
			}
			out = append(out, r.Href+" "+n.XMLName.Local)
		}
	}
	return out
}

func TestReadOnlyBookRefusesWrites(t *testing.T) {
	pgtest.ForBackends(t, testReadOnlyBookRefusesWrites)
}

func testReadOnlyBookRefusesWrites(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	newReadOnlyBook(t, ts)
	_, b := ts.expect("GET", dirBook+"a.vcf", "alice", nil, "", http.StatusOK)
	mustContain(t, b, "FN:Person a")
	ctHdr := map[string]string{"Content-Type": "text/vcard"}
	proppatch := `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Mine</D:displayname></D:prop></D:set></D:propertyupdate>`
	for _, c := range []struct {
		name, method, path string
		hdr                map[string]string
		body               string
		want               string // "href privilege" of the need-privileges answer
	}{
		{"put over a card", "PUT", dirBook + "a.vcf", ctHdr, vcard3("a", "Changed"), dirBook + "a.vcf write-content"},
		{"put over a card with If-Match", "PUT", dirBook + "a.vcf", map[string]string{"If-Match": "*"}, vcard3("a", "Changed"), dirBook + "a.vcf write-content"},
		{"put a new card", "PUT", dirBook + "new.vcf", ctHdr, vcard3("new", "New"), dirBook + " bind"},
		{"put a new card, bad body", "PUT", dirBook + "new.vcf", ctHdr, "not a vcard", dirBook + " bind"},
		{"delete a card", "DELETE", dirBook + "b.vcf", nil, "", dirBook + " unbind"},
		{"delete a card with If-Match", "DELETE", dirBook + "b.vcf", map[string]string{"If-Match": "*"}, "", dirBook + " unbind"},
		{"proppatch the book", "PROPPATCH", dirBook, nil, proppatch, dirBook + " write-properties"},
		{"proppatch a card", "PROPPATCH", dirBook + "a.vcf", nil, proppatch, dirBook + "a.vcf write-properties"},
		{"mkcol inside", "MKCOL", dirBook + "sub", nil, "", dirBook + " bind"},
		{"delete the book", "DELETE", dirBook, nil, "", "/addressbooks/alice/ unbind"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := snapshotBook(t, ts.db, "alice", "directory")
			changes := len(ts.changes)
			resp, b := ts.expect(c.method, c.path, "alice", c.hdr, c.body, http.StatusForbidden)
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
				t.Errorf("Content-Type %q", ct)
			}
			if got := parseNeedPrivileges(t, b); !reflect.DeepEqual(got, []string{c.want}) {
				t.Errorf("need-privileges %q, want %q\n%s", got, c.want, b)
			}
			if after := snapshotBook(t, ts.db, "alice", "directory"); !reflect.DeepEqual(before, after) {
				t.Errorf("the book changed:\nbefore %+v\nafter  %+v", before, after)
			}
			if len(ts.changes) != changes {
				t.Errorf("OnChange called: %v", ts.changes[changes:])
			}
		})
	}
	// The server has no MOVE or COPY, on any book.
	for _, m := range []string{"MOVE", "COPY"} {
		before := snapshotBook(t, ts.db, "alice", "directory")
		ts.expect(m, aliceBook+"x.vcf", "alice", map[string]string{"Destination": dirBook + "x.vcf"}, "", http.StatusMethodNotAllowed)
		ts.expect(m, dirBook+"a.vcf", "alice", map[string]string{"Destination": aliceBook + "a.vcf"}, "", http.StatusMethodNotAllowed)
		if after := snapshotBook(t, ts.db, "alice", "directory"); !reflect.DeepEqual(before, after) {
			t.Errorf("%s changed the book", m)
		}
	}
	// OPTIONS lists the read methods only, in the read-only book.
	for _, c := range []struct{ path, want string }{
		{dirBook, "OPTIONS, GET, HEAD, PROPFIND, REPORT"},
		{dirBook + "a.vcf", "OPTIONS, GET, HEAD, PROPFIND, REPORT"},
		{aliceBook, allowHeader},
		{aliceBook + "x.vcf", allowHeader},
		{"/addressbooks/alice/", allowHeader},
	} {
		if resp, _ := ts.expect("OPTIONS", c.path, "alice", nil, "", http.StatusOK); resp.Header.Get("Allow") != c.want {
			t.Errorf("OPTIONS %s: Allow %q, want %q", c.path, resp.Header.Get("Allow"), c.want)
		}
	}
	// alice's own book stays writable.
	ts.putCard("alice", "mine.vcf", vcard3("mine", "Mine"))
	ts.expect("DELETE", aliceBook+"mine.vcf", "alice", nil, "", http.StatusNoContent)
}

// staleStore reads every book as writable, as a server that read a book
// just before it was made read-only would.
type staleStore struct{ Store }

func (s staleStore) AddressBook(ctx context.Context, user, name string) (state.AddressBook, error) {
	b, err := s.Store.AddressBook(ctx, user, name)
	b.ReadOnly = false
	return b, err
}

// TestReadOnlyBookRefusedByTheStore: the store's own refusal (a book made
// read-only after the request read it) answers need-privileges too.
func TestReadOnlyBookRefusedByTheStore(t *testing.T) {
	pgtest.ForBackends(t, testReadOnlyBookRefusedByTheStore)
}

func testReadOnlyBookRefusedByTheStore(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, func(o *Options) { o.Store = staleStore{o.Store} })
	newReadOnlyBook(t, ts)
	before := snapshotBook(t, ts.db, "alice", "directory")
	_, b := ts.expect("PUT", dirBook+"a.vcf", "alice", nil, vcard3("a", "Changed"), http.StatusForbidden)
	if got := parseNeedPrivileges(t, b); !reflect.DeepEqual(got, []string{dirBook + "a.vcf write-content"}) {
		t.Errorf("PUT: need-privileges %q\n%s", got, b)
	}
	_, b = ts.expect("DELETE", dirBook+"a.vcf", "alice", nil, "", http.StatusForbidden)
	if got := parseNeedPrivileges(t, b); !reflect.DeepEqual(got, []string{dirBook + " unbind"}) {
		t.Errorf("DELETE: need-privileges %q\n%s", got, b)
	}
	if after := snapshotBook(t, ts.db, "alice", "directory"); !reflect.DeepEqual(before, after) {
		t.Errorf("the book changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// privilegeNames returns the privileges of a current-user-privilege-set
// (the inner XML of a 200 propstat, whose prefixes are declared outside
// it: the names are matched without their namespace).
func privilegeNames(t *testing.T, inner string) []string {
	t.Helper()
	var set struct {
		Privileges []struct {
			Names []struct{ XMLName xml.Name } `xml:",any"`
		} `xml:"current-user-privilege-set>privilege"`
	}
	if err := xml.Unmarshal([]byte("<x>"+inner+"</x>"), &set); err != nil {
		t.Fatalf("%v\n%s", err, inner)
	}
	var out []string
	for _, p := range set.Privileges {
		for _, n := range p.Names {
			out = append(out, n.XMLName.Local)
		}
	}
	return out
}

func TestReadOnlyBookPrivilegesAndReads(t *testing.T) {
	pgtest.ForBackends(t, testReadOnlyBookPrivilegesAndReads)
}

func testReadOnlyBookPrivilegesAndReads(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ro := newReadOnlyBook(t, ts)
	ts.putCard("alice", "mine.vcf", vcard3("mine", "Mine"))
	readOnly := []string{"read", "read-current-user-privilege-set"}
	full := []string{"read", "write", "write-properties", "write-content", "bind", "unbind", "read-current-user-privilege-set"}
	home := []string{"read", "bind", "unbind", "write-properties", "read-current-user-privilege-set"}
	body := `<propfind xmlns="DAV:"><prop><current-user-privilege-set/></prop></propfind>`
	for _, c := range []struct {
		path string
		want map[string][]string
	}{
		{dirBook, map[string][]string{dirBook: readOnly, dirBook + "a.vcf": readOnly, dirBook + "b.vcf": readOnly}},
		{aliceBook, map[string][]string{aliceBook: full, aliceBook + "mine.vcf": full}},
		{"/addressbooks/alice/", map[string][]string{"/addressbooks/alice/": home, aliceBook: full, dirBook: readOnly}},
	} {
		_, b := ts.expect("PROPFIND", c.path, "alice", map[string]string{"Depth": "1"}, body, http.StatusMultiStatus)
		d := parseMS(t, b)
		if len(d.Responses) != len(c.want) {
			t.Errorf("PROPFIND %s: %d responses, want %d\n%s", c.path, len(d.Responses), len(c.want), b)
		}
		for href, want := range c.want {
			if got := privilegeNames(t, d.resp(t, href).ok()); !reflect.DeepEqual(got, want) {
				t.Errorf("PROPFIND %s: privileges of %s %q, want %q", c.path, href, got, want)
			}
		}
	}
	// Reads work as on any book.
	_, b := ts.expect("REPORT", dirBook, "alice", map[string]string{"Depth": "0"}, `<?xml version="1.0"?><C:addressbook-multiget xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><prop><getetag/><C:address-data/></prop><href>`+dirBook+`a.vcf</href><href>`+dirBook+`b.vcf</href></C:addressbook-multiget>`, http.StatusMultiStatus)
	mustContain(t, b, "FN:Person a", "FN:Person b")
	_, b = ts.expect("REPORT", dirBook, "alice", map[string]string{"Depth": "1"}, `<?xml version="1.0"?><C:addressbook-query xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><prop><getetag/></prop><C:filter><C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap" match-type="contains">person b</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`, http.StatusMultiStatus)
	if d := parseMS(t, b); len(d.Responses) != 1 || d.Responses[0].Href != dirBook+"b.vcf" {
		t.Errorf("query: %s", b)
	}
	_, b = ts.expect("REPORT", dirBook, "alice", map[string]string{"Depth": "1"}, syncBody("", ""), http.StatusMultiStatus)
	d := parseMS(t, b)
	if len(d.Responses) != 2 || d.SyncToken == "" {
		t.Fatalf("sync-collection: %s", b)
	}
	// The owning system's change comes to the client by the token.
	if _, _, err := ts.db.PutCard(context.Background(), ro.ID, "c.vcf", "c", []byte(vcard3("c", "Person c")), state.Precondition{System: true}); err != nil {
		t.Fatal(err)
	}
	_, b = ts.expect("REPORT", dirBook, "alice", map[string]string{"Depth": "1"}, syncBody(d.SyncToken, ""), http.StatusMultiStatus)
	if d2 := parseMS(t, b); len(d2.Responses) != 1 || d2.Responses[0].Href != dirBook+"c.vcf" {
		t.Errorf("sync-collection after the system's write: %s", b)
	}
	_, b = ts.expect("PROPFIND", dirBook, "alice", map[string]string{"Depth": "0"}, `<propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><CS:getctag/><displayname/><resourcetype/></prop></propfind>`, http.StatusMultiStatus)
	mustContain(t, b, fmt.Sprintf("cb-sync-%d-", ro.ID), "<D:displayname>Directory</D:displayname>")
}
