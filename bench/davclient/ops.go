package davclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
)

// Kinds of request, the labels a Recorder gets.
const (
	KindSync     = "sync-collection"
	KindMultiget = "multiget"
	KindGet      = "get"
	KindPut      = "put"
	KindCreate   = "create"
	KindDelete   = "delete"
	KindQuery    = "query" // the checkers' full listings
	KindSeed     = "seed"  // the cards a run starts with
)

// Doer sends one request as Client.Do does; a generator may spread its
// requests over several servers or retry them.
type Doer func(ctx context.Context, kind, method, path string, hdr map[string]string, body string) (Response, error)

// ErrTokenRefused is a sync-collection REPORT whose token the server
// refused (403 with valid-sync-token).
var ErrTokenRefused = errors.New("sync-collection: sync token refused")

// SyncCollection sends a sync-collection REPORT of book from token and
// returns the answer, which has a sync token. A refused token gives
// ErrTokenRefused; any status but 207 is an error.
func SyncCollection(ctx context.Context, do Doer, book, token string) (*Multistatus, error) {
	r, err := do(ctx, KindSync, "REPORT", book, map[string]string{"Depth": "0", "Content-Type": "application/xml"}, SyncBody(token))
	if err != nil {
		return nil, err
	}
	if r.Status == http.StatusForbidden && strings.Contains(string(r.Body), "valid-sync-token") {
		return nil, ErrTokenRefused
	}
	if r.Status != http.StatusMultiStatus {
		return nil, fmt.Errorf("sync-collection: unexpected status %d: %.200s", r.Status, r.Body)
	}
	ms, err := ParseMultistatus(r.Body)
	if err != nil {
		return nil, err
	}
	if ms.SyncToken == "" {
		return nil, errors.New("sync-collection: no sync-token in the answer")
	}
	return ms, nil
}

// Multiget sends an addressbook-multiget REPORT of paths (distinct) in
// book and checks the answer: only the paths asked for, each card there
// with the UID its name says (UID.vcf).
func Multiget(ctx context.Context, do Doer, book string, paths []string) error {
	asked := make(map[string]bool, len(paths))
	for _, p := range paths {
		asked[p] = true
	}
	r, err := do(ctx, KindMultiget, "REPORT", book, map[string]string{"Depth": "1", "Content-Type": "application/xml"}, MultigetBody(paths))
	if err != nil {
		return err
	}
	if r.Status != http.StatusMultiStatus {
		return fmt.Errorf("multiget: unexpected status %d: %.200s", r.Status, r.Body)
	}
	ms, err := ParseMultistatus(r.Body)
	if err != nil {
		return err
	}
	got := 0
	for _, resp := range ms.Responses {
		if !asked[resp.Href] {
			return fmt.Errorf("multiget: an answer for %s, which was not asked for", resp.Href)
		}
		for _, ps := range resp.Propstats {
			if strings.Contains(ps.Status, " 200 ") {
				if u := UIDOf([]byte(ps.Prop.AddressData)); u+".vcf" != path.Base(resp.Href) {
					return fmt.Errorf("multiget: %s holds UID %q", resp.Href, u)
				}
				got++
			}
		}
	}
	if got != len(paths) {
		return fmt.Errorf("multiget: %d of %d cards in the answer", got, len(paths))
	}
	return nil
}

// Get reads card href (UID.vcf) of book and checks that it is there and
// holds that UID.
func Get(ctx context.Context, do Doer, book, href string) (Response, error) {
	r, err := do(ctx, KindGet, "GET", book+href, nil, "")
	if err != nil {
		return r, err
	}
	if r.Status != http.StatusOK {
		return r, fmt.Errorf("GET %s: unexpected status %d: %.200s", href, r.Status, r.Body)
	}
	if u := UIDOf(r.Body); u+".vcf" != href {
		return r, fmt.Errorf("GET %s: UID %q", href, u)
	}
	return r, nil
}

// Outcome is what the answer to an If-Match PUT says.
type Outcome struct {
	// Conflict is a 412: the card had changed; CurETag is its ETag now.
	Conflict bool
	CurETag  string
	// Bogus is a 412 although the card still has the ETag the PUT was
	// made against.
	Bogus bool
}

// JudgeIfMatch judges the answer r to a PUT of href made with If-Match
// etag: a 200 or 204 must give a new ETag; a 412 is checked by re-reading
// the card with reread. Any other status is an error.
func JudgeIfMatch(ctx context.Context, reread func(context.Context, string) (Response, error), r Response, href, etag string) (Outcome, error) {
	switch r.Status {
	case http.StatusNoContent, http.StatusOK:
		if r.ETag == "" || r.ETag == etag {
			return Outcome{}, fmt.Errorf("PUT %s: ETag %q after a change from %q", href, r.ETag, etag)
		}
		return Outcome{}, nil
	case http.StatusPreconditionFailed:
		cur, err := reread(ctx, href)
		if err != nil {
			return Outcome{Conflict: true}, err
		}
		return Outcome{Conflict: true, CurETag: cur.ETag, Bogus: cur.ETag == etag}, nil
	}
	return Outcome{}, fmt.Errorf("PUT %s: unexpected status %d: %.200s", href, r.Status, r.Body)
}

// NewCard is the seq-th card client creates: its name, its marker
// ("created-" and its UID) and its text.
func NewCard(client, seq int) (href, marker, text string) {
	uid := fmt.Sprintf("new-c%d-%d", client, seq)
	marker = "created-" + uid
	return uid + ".vcf", marker, CardText(uid, seq, marker)
}

// CreateHeader is the header of a PUT that creates a card: If-None-Match *.
func CreateHeader() map[string]string {
	return map[string]string{"If-None-Match": "*", "Content-Type": "text/vcard; charset=utf-8"}
}

// Card is one card of a listing.
type Card struct {
	Href   string // its name in the book
	UID    string
	ETag   string
	Marker string
}

// List is the book's cards, through an addressbook-query.
func (d *Client) List(ctx context.Context) ([]Card, error) {
	r, err := d.Do(ctx, KindQuery, "REPORT", d.Book, map[string]string{"Depth": "1", "Content-Type": "application/xml"}, QueryAllBody)
	if err != nil {
		return nil, err
	}
	if r.Status != http.StatusMultiStatus {
		return nil, fmt.Errorf("addressbook-query of %s: status %d: %.200s", d.Book, r.Status, r.Body)
	}
	ms, err := ParseMultistatus(r.Body)
	if err != nil {
		return nil, err
	}
	var out []Card
	for _, resp := range ms.Responses {
		for _, ps := range resp.Propstats {
			if strings.Contains(ps.Status, " 200 ") {
				data := []byte(ps.Prop.AddressData)
				out = append(out, Card{Href: path.Base(resp.Href), UID: UIDOf(data), ETag: ps.Prop.ETag, Marker: MarkerOf(data)})
			}
		}
	}
	return out, nil
}

// Seed creates n cards in the book with If-None-Match PUTs, 8 at a time:
// card(i) is the name and the text of card i. It returns the created
// cards' ETags by name; the error is the first failure.
func (d *Client) Seed(ctx context.Context, n int, card func(i int) (href, text string)) (map[string]string, error) {
	etags := make(map[string]string, n)
	var mu sync.Mutex
	var first error
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				href, text := card(i)
				r, err := d.Do(ctx, KindSeed, "PUT", d.CardPath(href), CreateHeader(), text)
				if err == nil && r.Status != http.StatusCreated {
					err = fmt.Errorf("seed PUT %s: status %d: %.200s", href, r.Status, r.Body)
				}
				mu.Lock()
				if err != nil && first == nil {
					first = err
				} else if err == nil {
					etags[href] = r.ETag
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("seeding %s: %w", d.Book, first)
	}
	return etags, nil
}
