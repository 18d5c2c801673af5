package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestMultigetAnswersEachCardOnce: hrefs naming the same card — repeated,
// or spelled differently (absolute URL, escaped, with "./") — get one
// response, the first spelling's, in the order asked; an href naming no
// card is answered once with 404 too.
func TestMultigetAnswersEachCardOnce(t *testing.T) {
	pgtest.ForBackends(t, testMultigetAnswersEachCardOnce)
}

func testMultigetAnswersEachCardOnce(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("alice", "a.vcf", vcard3("a", "Alice A"))
	ts.putCard("alice", "b.vcf", vcard3("b", "Alice B"))
	body := secMultiget(
		aliceBook+"a.vcf", aliceBook+"missing.vcf", aliceBook+"a.vcf", ts.srv.URL+aliceBook+"a.vcf",
		aliceBook+"%61.vcf", aliceBook+"b.vcf", aliceBook+"missing.vcf",
		"/addressbooks/bob/contacts/x.vcf", "/addressbooks/bob/contacts/x.vcf", aliceBook+"b.vcf")
	_, b := ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, body, http.StatusMultiStatus)
	d := parseMS(t, b)
	var got []string
	for _, r := range d.Responses {
		got = append(got, r.Href)
	}
	want := []string{aliceBook + "a.vcf", aliceBook + "missing.vcf", aliceBook + "b.vcf", "/addressbooks/bob/contacts/x.vcf"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("responses for %q, want %q", got, want)
	}
	if n := strings.Count(b, "FN:Alice A"); n != 1 {
		t.Errorf("card a answered %d times", n)
	}
	mustContain(t, d.Responses[0].ok(), "FN:Alice A")
	mustContain(t, d.Responses[2].ok(), "FN:Alice B")
	for _, i := range []int{1, 3} {
		if !strings.Contains(d.Responses[i].Status, "404") {
			t.Errorf("%s: status %q, want 404", d.Responses[i].Href, d.Responses[i].Status)
		}
	}
}

// TestMultigetHrefLimit: a multiget naming more hrefs than
// MaxMultigetHrefs (default DefaultMaxMultigetHrefs) is refused with 403
// DAV:number-of-matches-within-limits and the limit in the text; one at
// the limit is answered.
func TestMultigetHrefLimit(t *testing.T) { pgtest.ForBackends(t, testMultigetHrefLimit) }

func testMultigetHrefLimit(t *testing.T, be pgtest.Backend) {
	for _, tc := range []struct {
		name   string
		max    int // Options.MaxMultigetHrefs
		hrefs  int
		status int
	}{
		{"at a configured limit", 5, 5, http.StatusMultiStatus},
		{"beyond a configured limit", 5, 6, http.StatusForbidden},
		{"at the default limit", 0, DefaultMaxMultigetHrefs, http.StatusMultiStatus},
		{"beyond the default limit", 0, DefaultMaxMultigetHrefs + 1, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, be, func(o *Options) { o.MaxMultigetHrefs = tc.max })
			ts.putCard("alice", "a.vcf", vcard3("a", "Alice A"))
			hrefs := make([]string, tc.hrefs)
			for i := range hrefs {
				hrefs[i] = fmt.Sprintf("%sc%d.vcf", aliceBook, i)
			}
			hrefs[0] = aliceBook + "a.vcf"
			_, b := ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, secMultiget(hrefs...), tc.status)
			limit := tc.max
			if limit == 0 {
				limit = DefaultMaxMultigetHrefs
			}
			if tc.status == http.StatusForbidden {
				mustContain(t, b, "<D:number-of-matches-within-limits/>", fmt.Sprintf("names %d hrefs", tc.hrefs), fmt.Sprintf("at most %d per request", limit))
				return
			}
			if d := parseMS(t, b); len(d.Responses) != tc.hrefs {
				t.Fatalf("%d responses, want %d", len(d.Responses), tc.hrefs)
			}
		})
	}
}

// TestQueryFilterBounds: an addressbook-query whose filter passes one of
// the bounds (prop-filters, param-filters, text-matches, the length of a
// text-match, elements in all) is refused with 403 CARDDAV:supported-filter
// naming the bound; one at the bounds is answered.
func TestQueryFilterBounds(t *testing.T) { pgtest.ForBackends(t, testQueryFilterBounds) }

func testQueryFilterBounds(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("alice", "a.vcf", vcard3("a", "Alice A"))
	query := func(filter string) string {
		return `<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><C:filter>` +
			filter + `</C:filter></C:addressbook-query>`
	}
	propFilters := func(n int, inner string) string {
		return strings.Repeat(`<C:prop-filter name="FN">`+inner+`</C:prop-filter>`, n)
	}
	textMatch := func(s string) string { return `<C:text-match match-type="contains">` + s + `</C:text-match>` }
	paramFilter := `<C:param-filter name="TYPE"/>`
	for _, tc := range []struct {
		name   string
		filter string
		want   string // in the 403 answer; "" for a 207
	}{
		{"prop-filters at the bound", propFilters(maxPropFilters, textMatch("alice")), ""},
		{"too many prop-filters", propFilters(maxPropFilters+1, ""), fmt.Sprintf("more than %d prop-filters", maxPropFilters)},
		{"too many param-filters", propFilters(1, strings.Repeat(paramFilter, maxParamFilters+1)), fmt.Sprintf("more than %d param-filters", maxParamFilters)},
		{"too many text-matches", propFilters(2, strings.Repeat(textMatch("a"), maxTextMatches/2+1)), fmt.Sprintf("more than %d text-matches", maxTextMatches)},
		{"text-match at the bound", propFilters(1, textMatch(strings.Repeat("a", maxTextMatchSize))), ""},
		{"text-match too long", propFilters(1, textMatch(strings.Repeat("a", maxTextMatchSize+1))), fmt.Sprintf("at most %d are accepted", maxTextMatchSize)},
		{"too many elements", strings.Repeat("<C:junk/>", maxFilterElems+1), fmt.Sprintf("more than %d elements", maxFilterElems)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				_, b := ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, query(tc.filter), http.StatusMultiStatus)
				parseMS(t, b)
				return
			}
			_, b := ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, query(tc.filter), http.StatusForbidden)
			mustContain(t, b, "<C:supported-filter/>", tc.want)
		})
	}
}

// stingyWriter is a ResponseWriter that counts the bytes the handler tries
// to write and, after the first write, either fails every write (the
// client's connection is gone) or cancels the request's context (the
// client went away and the server noticed) while writes still succeed.
type stingyWriter struct {
	header    http.Header
	status    int
	attempted int
	writes    int
	failAfter bool
	cancel    context.CancelFunc
}

func (w *stingyWriter) Header() http.Header { return w.header }
func (w *stingyWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *stingyWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.attempted += len(p)
	w.writes++
	if w.writes == 1 {
		if !w.failAfter {
			w.cancel()
		}
		return len(p), nil
	}
	if w.failAfter {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

// TestAnswersStopWhenTheClientHasGone: the 207 answers over a book are
// sent as they are built, and building them stops once a write fails or
// the request's context ends — the server writes a little of the
// multi-megabyte answer, not all of it. A small answer still goes out
// whole with a Content-Length.
func TestAnswersStopWhenTheClientHasGone(t *testing.T) {
	pgtest.ForBackends(t, testAnswersStopWhenTheClientHasGone)
}

func testAnswersStopWhenTheClientHasGone(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	note := strings.Repeat("x", 60_000)
	const cards = 60
	var hrefs []string
	for i := range cards {
		uid := fmt.Sprintf("c%03d", i)
		ts.putCard("alice", uid+".vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:"+uid+"\r\nFN:Card "+uid+"\r\nNOTE:"+note+"\r\nEND:VCARD\r\n")
		hrefs = append(hrefs, aliceBook+uid+".vcf")
	}
	const whole = cards * 60_000 // the answers hold at least the notes
	h, err := New(Options{Store: ts.db, FailedLoginDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	reqs := []struct{ name, method, body string }{
		{"PROPFIND Depth 1", "PROPFIND", `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop></D:propfind>`},
		{"multiget", "REPORT", secMultiget(hrefs...)},
		{"addressbook-query", "REPORT", secQuery},
		{"addressbook-query with a filter", "REPORT", `<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match>card</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`},
		{"sync-collection", "REPORT", secSync},
	}
	for _, rq := range reqs {
		for _, failWrites := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, write fails %v", rq.name, failWrites), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				r := httptest.NewRequestWithContext(ctx, rq.method, aliceBook, strings.NewReader(rq.body))
				r.SetBasicAuth("alice", "alice-pw")
				r.Header.Set("Depth", "1")
				w := &stingyWriter{header: http.Header{}, failAfter: failWrites, cancel: cancel}
				h.ServeHTTP(w, r)
				if w.status != http.StatusMultiStatus {
					t.Fatalf("status %d", w.status)
				}
				if w.attempted > whole/4 {
					t.Fatalf("the handler wrote %d bytes of an answer of more than %d after the client had gone (%d writes)", w.attempted, whole, w.writes)
				}
			})
		}
		t.Run(rq.name+", whole", func(t *testing.T) {
			resp, b := ts.expect(rq.method, aliceBook, "alice", map[string]string{"Depth": "1"}, rq.body, http.StatusMultiStatus)
			if d := parseMS(t, b); len(d.Responses) < cards || len(b) < whole {
				t.Fatalf("%d responses, %d bytes", len(d.Responses), len(b))
			}
			if resp.ContentLength != -1 {
				t.Errorf("a large answer has a Content-Length (%d): it was not streamed", resp.ContentLength)
			}
		})
	}
	resp, b := ts.expect("PROPFIND", aliceBook, "alice", map[string]string{"Depth": "0"}, propCUP, http.StatusMultiStatus)
	if resp.ContentLength != int64(len(b)) {
		t.Errorf("a small answer: Content-Length %d for %d bytes", resp.ContentLength, len(b))
	}
}

// TestPutRefusesControlCharactersAndInvalidUTF8: a PUT to a card name
// holding a control character (C0, DEL, C1) or bytes that are not UTF-8,
// or of a body that is not UTF-8, is refused with 400 and the reason, and
// nothing is stored; UTF-8 names and bodies beyond ASCII are stored.
func TestPutRefusesControlCharactersAndInvalidUTF8(t *testing.T) {
	pgtest.ForBackends(t, testPutRefusesControlCharactersAndInvalidUTF8)
}

func testPutRefusesControlCharactersAndInvalidUTF8(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	good := vcard3("u1", "Zoë Ünïcødé")
	for _, tc := range []struct {
		name, path, body string
		status           int
		want             string // in the answer
	}{
		{"BEL in the name", "a%07b.vcf", good, http.StatusBadRequest, `holds the control character U+0007`},
		{"terminal escape in the name", "%1b%5d0%3bowned%07.vcf", good, http.StatusBadRequest, `holds the control character U+001B`},
		{"newline in the name", "a%0ab.vcf", good, http.StatusBadRequest, `holds the control character U+000A`},
		{"tab in the name", "a%09b.vcf", good, http.StatusBadRequest, `holds the control character U+0009`},
		{"DEL in the name", "a%7f.vcf", good, http.StatusBadRequest, `holds the control character U+007F`},
		{"C1 CSI in the name", "a%c2%9b2J.vcf", good, http.StatusBadRequest, `holds the control character U+009B`},
		{"invalid UTF-8 in the name", "a%ff.vcf", good, http.StatusBadRequest, `is not valid UTF-8`},
		{"overlong UTF-8 in the name", "%c0%ae.vcf", good, http.StatusBadRequest, `is not valid UTF-8`},
		{"Latin-1 body", "latin1.vcf", strings.Replace(good, "Zoë", "Zo\xeb", 1), http.StatusBadRequest, `byte 0xeb at offset`},
		{"overlong body", "overlong.vcf", strings.Replace(good, "Zoë", "Zo\xc0\xaf", 1), http.StatusBadRequest, `byte 0xc0 at offset`},
		{"surrogate in the body", "surrogate.vcf", strings.Replace(good, "Zoë", "Zo\xed\xa0\x80", 1), http.StatusBadRequest, `byte 0xed at offset`},
		{"truncated body", "truncated.vcf", good[:len(good)-2] + "\xe2\x82", http.StatusBadRequest, `byte 0xe2 at offset`},
		{"UTF-8 name and body", "z%c3%b6%c3%ab.vcf", good, http.StatusCreated, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := storeSnapshot(t, ts)
			card := strings.Replace(tc.body, "UID:u1", "UID:"+tc.name, 1) // no UID conflict between the cases
			status, _, body := ts.rawDo(t, "PUT", aliceBook+tc.path, "alice", "alice-pw", map[string]string{"Content-Type": "text/vcard"}, card)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("PUT %s: %d %q, want %d with %q", tc.path, status, body, tc.status, tc.want)
			}
			if status != http.StatusCreated {
				if diff := diffSnapshots(before, storeSnapshot(t, ts)); diff != "" {
					t.Fatalf("a refused PUT changed the store:\n%s", diff)
				}
				if strings.ContainsAny(body, "\x07\x1b\x7f\u009b") {
					t.Errorf("the answer holds the control characters: %q", body)
				}
			}
		})
	}
}

// failingStoreWriter closes the store on the first write of the answer,
// so that the walk of the book fails after the answer has begun.
type failingStoreWriter struct {
	stingyWriter
	db interface{ Close() error }
}

func (w *failingStoreWriter) Write(p []byte) (int, error) {
	if w.writes == 0 {
		w.db.Close()
	}
	w.writes++
	w.attempted += len(p)
	return len(p), nil
}

// TestAnswerCutWhenTheStoreFailsMidway: a store error after the 207 has
// begun cuts the connection (http.ErrAbortHandler) instead of ending the
// multistatus, so that a client cannot take the partial answer for the
// whole book.
func TestAnswerCutWhenTheStoreFailsMidway(t *testing.T) {
	pgtest.ForBackends(t, testAnswerCutWhenTheStoreFailsMidway)
}

func testAnswerCutWhenTheStoreFailsMidway(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	for i := range 300 { // more than a batch of the store (256 cards)
		uid := fmt.Sprintf("c%03d", i)
		ts.putCard("alice", uid+".vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:"+uid+"\r\nFN:Card "+uid+"\r\nNOTE:"+strings.Repeat("n", 1000)+"\r\nEND:VCARD\r\n")
	}
	h, err := New(Options{Store: ts.db, FailedLoginDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("PROPFIND", aliceBook, strings.NewReader(`<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop></D:propfind>`))
	r.SetBasicAuth("alice", "alice-pw")
	r.Header.Set("Depth", "1")
	w := &failingStoreWriter{stingyWriter: stingyWriter{header: http.Header{}}, db: ts.db}
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Fatalf("the handler ended with %v, want the panic http.ErrAbortHandler", p)
			}
		}()
		h.ServeHTTP(w, r)
	}()
	if w.status != http.StatusMultiStatus || w.writes == 0 {
		t.Fatalf("status %d after %d writes", w.status, w.writes)
	}
}

// TestMultigetRefusesEmptyHref: an empty DAV:href (or one of blanks) has
// no response a client could match, so the multiget is refused with 400
// naming it, not answered with an empty href.
func TestMultigetRefusesEmptyHref(t *testing.T) { pgtest.ForBackends(t, testMultigetRefusesEmptyHref) }

func testMultigetRefusesEmptyHref(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("alice", "a.vcf", vcard3("a", "Alice A"))
	for _, empty := range []string{"", "  \n "} {
		_, b := ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"},
			secMultiget(aliceBook+"a.vcf", empty), http.StatusBadRequest)
		mustContain(t, b, "empty DAV:href")
	}
}
