package carddav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

// size returns the number of cards p holds.
func (p *prefetched) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.cards)
}

// multigets is an http.RoundTripper counting addressbook-multiget
// REPORTs (n) and addressbook-query REPORTs (queries).
type multigets struct{ n, queries atomic.Int32 }

// RoundTrip counts r when it is a multiget or a query and sends it.
func (m *multigets) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == "REPORT" && r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			data, _ := io.ReadAll(b)
			b.Close()
			if bytes.Contains(data, []byte("addressbook-multiget")) {
				m.n.Add(1)
			}
			if bytes.Contains(data, []byte("addressbook-query")) {
				m.queries.Add(1)
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// newSideFunc opens a side on the test's book with the given prefetch
// limit, sending through hc (nil: a plain client).
type newSideFunc func(t *testing.T, limit int64, hc *http.Client) *Side

// testPrefetch checks that cards listed by sync-collection with their data
// (when the server gives it: dataInSync) are read without a multiget, as
// listed, once; that a write drops the listed data; that an answer over
// the limit falls back to multiget; and that Prefetch reads a book with
// one addressbook-query when a round reads most of it.
func testPrefetch(t *testing.T, open newSideFunc, dataInSync bool) {
	ctx := context.Background()
	writer := open(t, 0, nil)
	const n = 30
	ids := make([]string, 0, n)
	for i := range n {
		c, err := vcard.Parse([]byte(fmt.Sprintf(card, fmt.Sprintf("pre-%02d", i), fmt.Sprintf("Person %02d", i), fmt.Sprintf("Person %02d", i))))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := writer.Create(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ref.ID)
	}
	count := &multigets{}
	reader := open(t, 0, &http.Client{Transport: count})
	cs, err := reader.Changes(ctx, "")
	if err != nil || len(cs.Changed) != n {
		t.Fatalf("full round: %d changed, %v", len(cs.Changed), err)
	}
	listed := map[string]string{}
	for _, r := range cs.Changed {
		listed[r.ID] = r.Version
	}
	if got, want := reader.pre.size(), map[bool]int{true: n, false: 0}[dataInSync]; got != want {
		t.Errorf("%d cards came with the listing, want %d", got, want)
	}
	check := func(items []engine.Item, want map[string]string) {
		t.Helper()
		for _, it := range items {
			if it.Err != nil || it.Card == nil {
				t.Errorf("%s: %v", it.ID, it.Err)
				continue
			}
			if v, ok := want[it.ID]; ok && it.Version != v {
				t.Errorf("%s: version %s, listed %s", it.ID, it.Version, v)
			}
		}
	}
	items, err := reader.Get(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	check(items, listed)
	if got := count.n.Load(); dataInSync && got != 0 {
		t.Errorf("%d multigets after a listing with the cards' data, want 0", got)
	} else if !dataInSync && got == 0 {
		t.Error("no multigets after a listing without the cards' data")
	}
	// Handed out once: a second read asks the server.
	items, err = reader.Get(ctx, ids[:3])
	if err != nil {
		t.Fatal(err)
	}
	check(items, listed)
	if count.n.Load() == 0 {
		t.Error("a second Get of the same cards made no request")
	}

	// An incremental round brings the changed card's new data.
	c, _ := vcard.Parse([]byte(fmt.Sprintf(card, "pre-00", "Changed Name", "Changed Name")))
	if _, err := writer.Update(ctx, engine.Ref{ID: ids[0], Version: listed[ids[0]]}, c); err != nil {
		t.Fatal(err)
	}
	before := count.n.Load()
	cs2, err := reader.Changes(ctx, cs.Token)
	if err != nil || len(cs2.Changed) != 1 || cs2.Changed[0].ID != ids[0] {
		t.Fatalf("incremental round: %+v, %v", cs2, err)
	}
	items, err = reader.Get(ctx, ids[:1])
	if err != nil || items[0].Card == nil || items[0].Card.FN() != "Changed Name" {
		t.Fatalf("changed card: %+v, %v", items, err)
	}
	if dataInSync && count.n.Load() != before {
		t.Error("the changed card was read with a multiget")
	}

	// A write drops what the listing brought: the read after it reaches
	// the server and sees the write.
	cs3, err := reader.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var ref1 engine.Ref
	for _, r := range cs3.Changed {
		if r.ID == ids[1] {
			ref1 = r
		}
	}
	c, _ = vcard.Parse([]byte(fmt.Sprintf(card, "pre-01", "Written Here", "Written Here")))
	if _, err := reader.Update(ctx, ref1, c); err != nil {
		t.Fatal(err)
	}
	before = count.n.Load()
	items, err = reader.Get(ctx, ids[1:2])
	if err != nil || items[0].Card == nil || items[0].Card.FN() != "Written Here" {
		t.Fatalf("card after our write: %+v, %v", items, err)
	}
	if count.n.Load() == before {
		t.Error("the card written was served from the listing")
	}

	// Over the limit: the round is listed without data, multiget reads.
	count2 := &multigets{}
	small := open(t, 512, &http.Client{Transport: count2})
	cs4, err := small.Changes(ctx, "")
	if err != nil || len(cs4.Changed) != n || !cs4.Full {
		t.Fatalf("round over the limit: %d changed, %v", len(cs4.Changed), err)
	}
	if small.pre.size() != 0 {
		t.Errorf("%d cards kept from an answer over the limit", small.pre.size())
	}
	items, err = small.Get(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	check(items, nil)
	if count2.n.Load() == 0 {
		t.Error("no multiget after a round listed without data")
	}
	// Prefetching off: never asks for data.
	count3 := &multigets{}
	off := open(t, -1, &http.Client{Transport: count3})
	_, err = off.Changes(ctx, "")
	if err != nil || off.pre.size() != 0 {
		t.Errorf("prefetch off: %d cards kept, %v", off.pre.size(), err)
	}
	if err := off.Prefetch(ctx, ids); err != nil || count3.queries.Load() != 0 || off.pre.size() != 0 {
		t.Errorf("prefetch off: Prefetch made %d queries, kept %d, %v", count3.queries.Load(), off.pre.size(), err)
	}

	// Prefetch: the whole book with one query when a round reads most of
	// it; nothing when the listing brought the cards or when it reads few.
	count4 := &multigets{}
	bulk := open(t, 0, &http.Client{Transport: count4})
	if _, err := bulk.Changes(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := bulk.Prefetch(ctx, ids); err != nil {
		t.Fatal(err)
	}
	wantQueries := map[bool]int32{true: 0, false: 1}[dataInSync]
	if got := count4.queries.Load(); got != wantQueries {
		t.Errorf("Prefetch of the whole book made %d queries, want %d", got, wantQueries)
	}
	if got := bulk.pre.size(); got != n {
		t.Errorf("Prefetch kept %d cards, want %d", got, n)
	}
	items, err = bulk.Get(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	check(items, nil)
	if got := count4.n.Load(); got != 0 {
		t.Errorf("%d multigets after Prefetch, want 0", got)
	}
	if err := bulk.Prefetch(ctx, ids[:3]); err != nil || count4.queries.Load() != wantQueries {
		t.Errorf("Prefetch of 3 of %d cards: %d queries, %v", n, count4.queries.Load(), err)
	}
	// Over the limit: Prefetch gives up, Get reads by multiget.
	count5 := &multigets{}
	tight := open(t, 512, &http.Client{Transport: count5})
	if _, err := tight.Changes(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := tight.Prefetch(ctx, ids); !errors.Is(err, ErrAnswerTooLarge) {
		t.Errorf("Prefetch over the limit: %v, want ErrAnswerTooLarge", err)
	}
	items, err = tight.Get(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	check(items, nil)
	if count5.n.Load() == 0 {
		t.Error("no multiget after a Prefetch over the limit")
	}
}

// TestPrefetchOwnServer runs testPrefetch against our server.
func TestPrefetchOwnServer(t *testing.T) {
	u, _ := ownServer(t)
	testPrefetch(t, func(t *testing.T, limit int64, hc *http.Client) *Side {
		s, err := New(context.Background(), Options{URL: u, Username: "alice", Password: "pw", PrefetchLimit: limit, HTTPClient: hc,
			MultigetChunk: 5, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, true)
}

// referencePrefetch returns a newSideFunc on the book "prefetch" of a
// reference server at root.
func referencePrefetch(root string) newSideFunc {
	return func(t *testing.T, limit int64, hc *http.Client) *Side {
		s, err := New(context.Background(), Options{URL: root, Username: "user", Password: "x", AddressBook: "prefetch", Create: true,
			PrefetchLimit: limit, HTTPClient: hc, MultigetChunk: 5, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// TestFakePrefetchEdges: a card whose later sync-collection page comes
// without data is not served from the earlier page; a refused
// addressbook-query leaves the reads to multiget.
func TestFakePrefetchEdges(t *testing.T) {
	var multigets, queries atomic.Int32
	resp := func(href, etag, data string) string {
		d := ""
		if data != "" {
			d = "<C:address-data>" + data + "</C:address-data>"
		}
		return `<D:response><D:href>` + href + `</D:href><D:propstat><D:prop><D:getetag>"` + etag + `"</D:getetag>` + d +
			`</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>`
	}
	ms := func(body, token string) string {
		return `<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` + body +
			`<D:sync-token>` + token + `</D:sync-token></D:multistatus>`
	}
	_, s := newFake(t, true, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body := string(b)
		if r.Method != "REPORT" {
			http.Error(w, "no", 405)
			return
		}
		switch {
		case strings.Contains(body, "addressbook-query"):
			queries.Add(1)
			w.WriteHeader(403)
			fmt.Fprint(w, `<D:error xmlns:D="DAV:"><D:need-privileges/></D:error>`)
		case strings.Contains(body, "addressbook-multiget"):
			multigets.Add(1)
			var out strings.Builder
			for _, id := range []string{"a", "c1", "c2", "c3", "c4"} {
				if strings.Contains(body, "/book/"+id+".vcf") {
					etag := "1"
					if id == "a" {
						etag = "2"
					}
					out.WriteString(resp("/book/"+id+".vcf", etag, fmt.Sprintf(card, id, "New "+id, "New "+id)))
				}
			}
			w.WriteHeader(207)
			fmt.Fprint(w, ms(out.String(), "x"))
		case strings.Contains(body, "<D:sync-token></D:sync-token>"):
			// Page 1: a with its data, then a 507 on the book.
			w.WriteHeader(207)
			fmt.Fprint(w, ms(resp("/book/a.vcf", "1", fmt.Sprintf(card, "a", "Old a", "Old a"))+
				`<D:response><D:href>/book/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>`, "p1"))
		case strings.Contains(body, ">p1<"):
			// Page 2: a changed again, this time without data (a server
			// may leave it out), and four cards without data.
			w.WriteHeader(207)
			fmt.Fprint(w, ms(resp("/book/a.vcf", "2", "")+resp("/book/c1.vcf", "1", "")+resp("/book/c2.vcf", "1", "")+
				resp("/book/c3.vcf", "1", "")+resp("/book/c4.vcf", "1", ""), "p2"))
		default:
			w.WriteHeader(403)
			fmt.Fprint(w, `<D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>`)
		}
	})
	ctx := context.Background()
	cs, err := s.Changes(ctx, "")
	if err != nil || cs.Token != "p2" || len(cs.Changed) != 5 {
		t.Fatalf("paged round: %+v, %v", cs, err)
	}
	if s.pre.size() != 0 {
		t.Errorf("%d cards kept; a's data is older than its listed version", s.pre.size())
	}
	ids := []string{"a.vcf", "c1.vcf", "c2.vcf", "c3.vcf", "c4.vcf"}
	if err := s.Prefetch(ctx, ids); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("refused query: %v, want the 403", err)
	}
	if queries.Load() != 1 {
		t.Errorf("%d queries, want 1", queries.Load())
	}
	items, err := s.Get(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Err != nil || it.Card == nil || !strings.HasPrefix(it.Card.FN(), "New ") {
			t.Errorf("%s: %+v", it.ID, it)
		}
	}
	if items[0].Version != `"2"` {
		t.Errorf("a: version %s, want the listed \"2\"", items[0].Version)
	}
	if multigets.Load() == 0 {
		t.Error("no multiget after a refused query")
	}
}
