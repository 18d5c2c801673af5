package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
	"github.com/cardbridge/cardbridge/vcard"
)

// fuzzStore is a handler over a temporary store with one user (alice) and
// her "contacts" book holding a few cards; bob exists too, to check that a
// path into his data never answers alice.
type fuzzStore struct {
	name string // the backend's
	h    http.Handler
	db   *state.DB
	book state.AddressBook
}

// fuzzCards are the hrefs alice's book starts with.
var fuzzCards = []string{"a.vcf", "b.vcf", "c.vcf"}

// newFuzzStores makes a fuzzStore on SQLite and, when the test cluster is
// there (pgtest.Enabled), one on PostgreSQL: every input is checked on
// each (forFuzzStores).
func newFuzzStores(f *testing.F) []*fuzzStore {
	f.Helper()
	stores := []*fuzzStore{newFuzzStore(f, pgtest.SQLite())}
	if pgtest.Enabled(f) {
		stores = append(stores, newFuzzStore(f, pgtest.Postgres()))
	}
	return stores
}

// forFuzzStores runs check on each store, naming the backend of a failure.
func forFuzzStores(t *testing.T, stores []*fuzzStore, check func(s *fuzzStore)) {
	for _, s := range stores {
		func() {
			defer func() {
				if t.Failed() {
					t.Logf("(on %s)", s.name)
				}
			}()
			check(s)
		}()
	}
}

func newFuzzStore(f *testing.F, be pgtest.Backend) *fuzzStore {
	f.Helper()
	ctx := context.Background()
	db := statetest.Open(f, be.Location(f), state.Options{})
	for _, u := range []string{"alice", "bob"} {
		h, err := bcrypt.GenerateFromPassword([]byte(u+"-pw"), bcrypt.MinCost)
		if err != nil {
			f.Fatal(err)
		}
		if err := db.AddUser(ctx, u, string(h)); err != nil {
			f.Fatal(err)
		}
	}
	book, err := db.AddressBook(ctx, "alice", "contacts")
	if err != nil {
		f.Fatal(err)
	}
	for i, href := range fuzzCards {
		uid := strings.TrimSuffix(href, ".vcf")
		data := vcard3(uid, fmt.Sprintf("Person %d", i))
		if i == 2 {
			data = vcard4(uid, "Person 4.0")
		}
		if _, _, err := db.PutCard(ctx, book.ID, href, uid, []byte(data), state.Precondition{}); err != nil {
			f.Fatal(err)
		}
	}
	h, err := New(Options{Store: db, FailedLoginDelay: -1})
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzStore{name: be.Name, h: h, db: db, book: book}
}

// snapshot is what the store holds of alice's book.
type snapshot struct {
	seq   int64
	cards map[string]state.Card
}

func (s *fuzzStore) snapshot(t *testing.T) snapshot {
	t.Helper()
	ctx := context.Background()
	b, err := s.db.AddressBook(ctx, "alice", "contacts")
	if err != nil {
		t.Fatalf("the book is gone: %v", err)
	}
	cards, err := s.db.Cards(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	snap := snapshot{seq: b.SyncSeq, cards: make(map[string]state.Card)}
	uids := make(map[string]string)
	for _, c := range cards {
		card, err := vcard.Parse(c.Data)
		if err != nil {
			t.Fatalf("stored card %s does not parse: %v\n%s", c.Href, err, c.Data)
		}
		if card.UID() != c.UID {
			t.Fatalf("stored card %s: UID column %q, card's UID %q", c.Href, c.UID, card.UID())
		}
		if c.UID != "" {
			if other, ok := uids[c.UID]; ok {
				t.Fatalf("UID %q is held by %s and %s", c.UID, other, c.Href)
			}
			uids[c.UID] = c.Href
		}
		if c.Seq > b.SyncSeq {
			t.Fatalf("card %s has change number %d, the book only %d", c.Href, c.Seq, b.SyncSeq)
		}
		snap.cards[c.Href] = c
	}
	return snap
}

// same reports whether two snapshots hold the same book state.
func (a snapshot) same(b snapshot) string {
	if a.seq != b.seq {
		return fmt.Sprintf("sync sequence %d became %d", a.seq, b.seq)
	}
	return a.sameCards(b, "")
}

// sameCards compares the cards, except the one at href.
func (a snapshot) sameCards(b snapshot, except string) string {
	for href, c := range a.cards {
		if href == except {
			continue
		}
		d, ok := b.cards[href]
		if !ok {
			return "card " + href + " vanished"
		}
		if c.ETag != d.ETag || !bytes.Equal(c.Data, d.Data) || c.Seq != d.Seq {
			return "card " + href + " changed"
		}
	}
	for href := range b.cards {
		if _, ok := a.cards[href]; !ok && href != except {
			return "card " + href + " appeared"
		}
	}
	return ""
}

func (s *fuzzStore) serve(method, path string, hdr map[string]string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.SetBasicAuth("alice", "alice-pw")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

// malformedXML reports why body is no well-formed XML document with one
// root element ("" when it is one, or when it is empty).
func malformedXML(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	roots, depth := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err.Error()
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.Directive:
			return "a directive"
		}
	}
	if roots != 1 {
		return fmt.Sprintf("%d root elements", roots)
	}
	return ""
}

// checkMultistatus checks that a 207 body is one well-formed DAV:
// multistatus whose every response names an href and has a status.
func checkMultistatus(t *testing.T, body []byte) {
	t.Helper()
	if why := malformedXML(body); why != "" || len(bytes.TrimSpace(body)) == 0 {
		t.Fatalf("207 body is not well-formed XML (%s):\n%s", why, body)
	}
	var doc struct {
		XMLName   xml.Name `xml:"DAV: multistatus"`
		Responses []struct {
			Href      []string `xml:"DAV: href"`
			Status    string   `xml:"DAV: status"`
			Propstats []struct {
				Status string `xml:"DAV: status"`
			} `xml:"DAV: propstat"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("207 body is no DAV:multistatus: %v\n%s", err, body)
	}
	for i, r := range doc.Responses {
		if len(r.Href) == 0 || r.Href[0] == "" {
			t.Fatalf("response %d has no href:\n%s", i, body)
		}
		if r.Status == "" && len(r.Propstats) == 0 {
			t.Fatalf("response %d has neither status nor propstat:\n%s", i, body)
		}
		for _, ps := range r.Propstats {
			if !strings.HasPrefix(ps.Status, "HTTP/1.1 ") {
				t.Fatalf("response %d: propstat status %q:\n%s", i, ps.Status, body)
			}
		}
		for _, h := range r.Href {
			if !strings.Contains(h, "/bob/") {
				continue
			}
			// Asked about bob's card (a multiget href), alice learns
			// nothing but that she cannot have it.
			if !strings.Contains(r.Status, " 404 ") && !strings.Contains(r.Status, " 403 ") {
				t.Fatalf("alice was answered about bob's data: %s (status %q)", h, r.Status)
			}
		}
	}
}

// checkReadOnly runs a request that must not change the store: never a
// panic or a 5xx, a 207 that is well-formed, a 4xx for malformed XML, and
// the book exactly as it was.
func (s *fuzzStore) checkReadOnly(t *testing.T, method, path string, hdr map[string]string, body []byte) {
	before := s.snapshot(t)
	w := s.serve(method, path, hdr, body)
	if w.Code >= 500 {
		t.Fatalf("%s %s: status %d\nrequest:\n%s\nresponse:\n%s", method, path, w.Code, body, w.Body.Bytes())
	}
	if why := malformedXML(body); why != "" && (w.Code < 400 || w.Code >= 500) {
		t.Fatalf("%s %s with malformed XML (%s): status %d, want 4xx\nrequest:\n%q", method, path, why, w.Code, body)
	}
	if w.Code == http.StatusMultiStatus {
		checkMultistatus(t, w.Body.Bytes())
	}
	if d := before.same(s.snapshot(t)); d != "" {
		t.Fatalf("%s %s changed the store: %s\nrequest:\n%s", method, path, d, body)
	}
}

// fuzzPaths are the paths the fuzzed PROPFIND and REPORT go to.
var fuzzPaths = []string{
	"/", "/principals/", "/principals/alice/", "/addressbooks/alice/", aliceBook,
	aliceBook + "a.vcf", aliceBook + "missing.vcf", "/addressbooks/bob/contacts/", "/addressbooks/alice/nobook/",
	aliceBook + "c.vcf",
}

var fuzzDepths = []string{"", "0", "1", "infinity", "2", " 1 "}

// xmlSeeds are request bodies to start from: what real clients send, and
// broken and hostile XML.
var xmlSeeds = []string{
	"",
	`<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>`,
	`<propfind xmlns="DAV:"><propname/></propfind>`,
	`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:displayname/><D:getetag/><CS:getctag/><D:sync-token/><C:addressbook-home-set/><D:current-user-principal/><D:principal-URL/><C:supported-address-data/><C:max-resource-size/><D:supported-report-set/><D:current-user-privilege-set/><D:owner/><X:unknown xmlns:X="urn:x"/></D:prop></D:propfind>`,
	syncBody("", ""),
	syncBody("", "1"),
	syncBody(syncTokenURI+"cb-sync-1-1", ""),
	syncBody("garbage", "x"),
	`<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>` + aliceBook + `a.vcf</D:href><D:href>` + aliceBook + `missing.vcf</D:href><D:href>/addressbooks/bob/contacts/x.vcf</D:href><D:href>../../etc/passwd</D:href></C:addressbook-multiget>`,
	`<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data content-type="text/vcard" version="4.0"><C:prop name="FN"/></C:address-data></D:prop><D:href>b.vcf</D:href></C:addressbook-multiget>`,
	`<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><C:filter test="anyof"><C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap" match-type="contains">person</C:text-match></C:prop-filter><C:prop-filter name="EMAIL" test="allof"><C:is-not-defined/></C:prop-filter></C:filter><C:limit><C:nresults>1</C:nresults></C:limit></C:addressbook-query>`,
	`<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="UID"><C:text-match negate-condition="yes" match-type="equals">a</C:text-match><C:param-filter name="TYPE"><C:text-match>x</C:text-match></C:param-filter></C:prop-filter></C:filter></C:addressbook-query>`,
	`<propfind xmlns="DAV:"><prop><getetag/>`,
	`<!DOCTYPE lol [<!ENTITY a "aaaa">]><propfind xmlns="DAV:">&a;</propfind>`,
	`<a/><b/>`,
	strings.Repeat("<a>", 70) + strings.Repeat("</a>", 70),
	"\xff\xfe<\x00a\x00/\x00>\x00",
	`<?xml version="1.0" encoding="ISO-8859-1"?><propfind xmlns="DAV:"><prop><displayname>é</displayname></prop></propfind>`,
	`<x:propfind xmlns:x="DAV:"><x:prop><y:z xmlns:y=""/></x:prop></x:propfind>`,
}

// FuzzPropfind: fuzzed PROPFIND bodies and Depth headers to every kind of
// path never panic or answer 5xx, answer 4xx to malformed XML, answer
// 207s that are well-formed multistatus documents, and leave the store as
// it was.
func FuzzPropfind(f *testing.F) {
	stores := newFuzzStores(f)
	for i, b := range xmlSeeds {
		f.Add([]byte(b), uint8(i), uint8(i/3))
	}
	f.Fuzz(func(t *testing.T, body []byte, pathSel, depthSel uint8) {
		path := fuzzPaths[int(pathSel)%len(fuzzPaths)]
		hdr := map[string]string{"Content-Type": "application/xml"}
		if d := fuzzDepths[int(depthSel)%len(fuzzDepths)]; d != "" {
			hdr["Depth"] = d
		}
		forFuzzStores(t, stores, func(s *fuzzStore) { s.checkReadOnly(t, "PROPFIND", path, hdr, body) })
	})
}

// FuzzReport: the same for REPORT (sync-collection, multiget, query and
// anything else), with an Accept header that may ask for vCard 4.0.
func FuzzReport(f *testing.F) {
	stores := newFuzzStores(f)
	for i, b := range xmlSeeds {
		f.Add([]byte(b), uint8(4), uint8(i), i%2 == 0)
		f.Add([]byte(b), uint8(5), uint8(1), i%2 == 1)
	}
	f.Fuzz(func(t *testing.T, body []byte, pathSel, depthSel uint8, v4 bool) {
		path := fuzzPaths[int(pathSel)%len(fuzzPaths)]
		hdr := map[string]string{"Content-Type": "application/xml"}
		if d := fuzzDepths[int(depthSel)%len(fuzzDepths)]; d != "" {
			hdr["Depth"] = d
		}
		if v4 {
			hdr["Accept"] = "text/vcard; version=4.0"
		}
		forFuzzStores(t, stores, func(s *fuzzStore) { s.checkReadOnly(t, "REPORT", path, hdr, body) })
	})
}

// FuzzPut: fuzzed card bodies, Content-Type and If-Match headers PUT to a
// card of alice's book (existing or new, with the card's current ETag,
// another one, "*" or If-None-Match: *) never panic or answer 5xx; a body
// that does not parse as a vCard is refused with 4xx; a write that
// succeeds stores exactly the body under a new ETag, advances the book's
// change log by that one card and honours the preconditions (no lost
// update); a refused write changes nothing. Every stored card parses and
// no two hold one UID.
func FuzzPut(f *testing.F) {
	stores := newFuzzStores(f)
	files, err := filepath.Glob(filepath.Join(sidetest.CorpusDir(), "*.vcf"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no corpus in %s: %v", sidetest.CorpusDir(), err)
	}
	sort.Strings(files)
	cts := []string{"text/vcard", "text/vcard; charset=utf-8", "text/x-vcard", "application/json", "", "text/vcard; version=4.0", "bad/;;"}
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, cts[i%len(cts)], "", uint8(i))
	}
	f.Add([]byte(vcard3("a", "Changed A")), "text/vcard", "", uint8(0x10))
	f.Add([]byte(vcard3("b", "Changed B")), "text/vcard", `"nope"`, uint8(1))
	f.Add([]byte(vcard3("a", "UID clash")), "text/vcard", "", uint8(3))
	f.Add([]byte(vcard4("n", "New")), "text/vcard", "*", uint8(3))
	f.Add([]byte(vcard3("c", "None-Match")), "text/vcard", "", uint8(0x22))
	f.Add([]byte(vcard3("c", "weak")), "text/vcard", `W/"x", "y"`, uint8(0x12))
	f.Fuzz(func(t *testing.T, body []byte, contentType, ifMatch string, sel uint8) {
		forFuzzStores(t, stores, func(s *fuzzStore) { fuzzPutOne(t, s, body, contentType, ifMatch, sel) })
	})
}

// fuzzPutHrefs are the card names FuzzPut's sel picks from.
var fuzzPutHrefs = []string{"a.vcf", "b.vcf", "c.vcf", "new.vcf", "new%20two.vcf", "sub/x.vcf", "..%2fx.vcf"}

// fuzzPutOne is FuzzPut's check of one input on s.
func fuzzPutOne(t *testing.T, s *fuzzStore, body []byte, contentType, ifMatch string, sel uint8) {
	href := fuzzPutHrefs[int(sel&7)%len(fuzzPutHrefs)]
	before := s.snapshot(t)
	storeHref := strings.ReplaceAll(href, "%20", " ")
	old, existed := before.cards[storeHref]
	hdr := map[string]string{}
	if contentType != "" {
		hdr["Content-Type"] = contentType
	}
	switch {
	case ifMatch != "":
		hdr["If-Match"] = ifMatch
	case sel&0x10 != 0 && existed:
		hdr["If-Match"] = `"` + old.ETag + `"`
	}
	if sel&0x20 != 0 {
		hdr["If-None-Match"] = "*"
	}
	w := s.serve("PUT", aliceBook+href, hdr, body)
	after := s.snapshot(t)
	if w.Code >= 500 {
		t.Fatalf("PUT %s: status %d: %s\nbody:\n%q", href, w.Code, w.Body.Bytes(), body)
	}
	_, perr := vcard.Parse(body)
	ok := w.Code == http.StatusCreated || w.Code == http.StatusNoContent
	if !ok {
		if w.Code < 400 {
			t.Fatalf("PUT %s: status %d is neither success nor refusal", href, w.Code)
		}
		if d := before.same(after); d != "" {
			t.Fatalf("PUT %s refused with %d changed the store: %s", href, w.Code, d)
		}
		return
	}
	if perr != nil {
		t.Fatalf("PUT %s of a body that does not parse (%v) answered %d\nbody:\n%q", href, perr, w.Code, body)
	}
	// Preconditions: a successful write matched what was there.
	if im := strings.TrimSpace(hdr["If-Match"]); im != "" {
		if !existed {
			t.Fatalf("PUT %s with If-Match %q succeeded on a card that did not exist", href, im)
		}
		first, _, _ := strings.Cut(im, ",")
		if first = strings.TrimSpace(first); first != "*" && first != `"`+old.ETag+`"` {
			t.Fatalf("PUT %s with If-Match %q succeeded over ETag %q (a lost update)", href, im, old.ETag)
		}
	}
	if hdr["If-None-Match"] == "*" && existed {
		t.Fatalf("PUT %s with If-None-Match: * overwrote an existing card", href)
	}
	if (w.Code == http.StatusCreated) == existed {
		t.Fatalf("PUT %s answered %d, but the card existed=%v", href, w.Code, existed)
	}
	got, ok := after.cards[storeHref]
	if !ok {
		t.Fatalf("PUT %s answered %d but the store has no card %q (has %v)", href, w.Code, storeHref, keys(after.cards))
	}
	if bytes.Equal(got.Data, body) {
		if etag := w.Header().Get("ETag"); etag != `"`+got.ETag+`"` {
			t.Fatalf("PUT %s answered ETag %s, the store holds %q", href, etag, got.ETag)
		}
	} else {
		// stored otherwise: clean CRLF lines of the same card, and no
		// ETag that would say the stored card is the body
		if etag := w.Header().Get("ETag"); etag != "" {
			t.Fatalf("PUT %s stored other bytes than the body, yet answered ETag %s", href, etag)
		}
		d := got.Data
		if bytes.HasPrefix(d, []byte("\xEF\xBB\xBF")) || !bytes.HasSuffix(d, []byte("\r\n")) || bytes.Contains(d, []byte("\r\n\r\n")) ||
			bytes.Count(d, []byte("\n")) != bytes.Count(d, []byte("\r\n")) || bytes.Count(d, []byte("\r")) != bytes.Count(d, []byte("\r\n")) {
			t.Fatalf("PUT %s stored unclean lines %q for the body %q", href, d, body)
		}
		sc, err := vcard.Parse(d)
		if err != nil {
			t.Fatalf("PUT %s stored a card that does not parse: %v", href, err)
		}
		if bc, _ := vcard.Parse(body); bc.Version != vcard.V21 && sc.Hash() != bc.Hash() {
			t.Fatalf("PUT %s stored another card than the body:\n%q\n%q", href, d, body)
		}
	}
	if existed && got.ETag == old.ETag {
		t.Fatalf("PUT %s kept ETag %q", href, got.ETag)
	}
	if after.seq <= before.seq || got.Seq != after.seq {
		t.Fatalf("PUT %s: sync sequence %d → %d, card's %d", href, before.seq, after.seq, got.Seq)
	}
	if d := before.sameCards(after, storeHref); d != "" {
		t.Fatalf("PUT %s changed another card: %s", href, d)
	}
	changed, deleted, seq, err := s.db.CardChanges(context.Background(), s.book.ID, before.seq)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		t.Fatal(err)
	}
	if err == nil && (len(changed) != 1 || changed[0] != storeHref || len(deleted) != 0 || seq != after.seq) {
		t.Fatalf("PUT %s: change log since %d says changed %v deleted %v up to %d", href, before.seq, changed, deleted, seq)
	}
}

func keys(m map[string]state.Card) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
