package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"

	"github.com/cardbridge/cardbridge/bench/davclient"
)

// ack is an acknowledged PUT: made against ifMatch, it gave etag and
// wrote marker.
type ack struct {
	client  int
	ifMatch string
	etag    string
	marker  string
}

// ledger is what every writer had acknowledged, shared by the clients.
type ledger struct {
	mu     sync.Mutex
	shared map[string][]ack // href -> acks of the shared card
	// problems the clients found while running (bogus 412s, answers
	// that do not say what was asked).
	problems []string
	bogus412 int
}

func (l *ledger) addShared(href string, a ack) {
	l.mu.Lock()
	l.shared[href] = append(l.shared[href], a)
	l.mu.Unlock()
}

func (l *ledger) problem(bogus bool, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if bogus {
		l.bogus412++
	}
	if len(l.problems) < 40 {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

// client is one simulated CardDAV client (a phone or a mail client).
type client struct {
	id     int
	d      *davclient.Client
	rng    *rand.Rand
	led    *ledger
	mix    []string // 100 entries, one per percent
	base   int      // base cards: 0..base-1
	shared []int    // indices of shared cards
	owned  []int    // indices of this client's cards

	etags   map[string]string // href -> last ETag seen
	lastAck map[string]string // owned href -> marker of the last acknowledged PUT
	created []string          // hrefs created and not deleted
	deleted []string          // hrefs deleted
	token   string
	seq     int

	// Counters, read after the run.
	conflicts, retries, gaveUp, ownedBySync, creates, deletes, tokenResets int
}

func newClient(id int, d *davclient.Client, seed int64, led *ledger, mix map[string]int, base int, shared, owned []int) *client {
	c := &client{id: id, d: d, rng: rand.New(rand.NewPCG(uint64(seed), uint64(id))), led: led, base: base,
		shared: shared, owned: owned, etags: map[string]string{}, lastAck: map[string]string{}}
	for _, op := range sortedKeys(mix) {
		for range mix[op] {
			c.mix = append(c.mix, op)
		}
	}
	return c
}

// run works until stop ends (see davclient.RunMix).
func (c *client) run(stop, ctx context.Context) {
	davclient.RunMix(stop, ctx, c.rng, c.mix, c, func(op string, err error) {
		c.led.problem(false, "client %d: %s: %v", c.id, op, err)
	})
}

func (c *client) marker() string {
	c.seq++
	return fmt.Sprintf("c%d-%d", c.id, c.seq)
}

// expect reports an answer whose status is not among want.
func (c *client) expect(what string, r davclient.Response, want ...int) error {
	for _, w := range want {
		if r.Status == w {
			return nil
		}
	}
	return fmt.Errorf("%s: unexpected status %d: %.200s", what, r.Status, r.Body)
}

// Sync does one sync-collection REPORT from the client's token; a refused
// token is counted and dropped.
func (c *client) Sync(ctx context.Context) error {
	ms, err := davclient.SyncCollection(ctx, c.d.Do, c.d.Book, c.token)
	if errors.Is(err, davclient.ErrTokenRefused) {
		c.tokenResets++
		c.token = ""
		return nil
	}
	if err != nil {
		return err
	}
	c.token = ms.SyncToken
	return nil
}

// Multiget reads up to 10 random base cards in one REPORT.
func (c *client) Multiget(ctx context.Context) error {
	paths := davclient.DistinctPaths(10, func() string { return c.d.CardPath(baseHref(c.rng.IntN(c.base))) })
	return davclient.Multiget(ctx, c.d.Do, c.d.Book, paths)
}

// Get reads a random base card.
func (c *client) Get(ctx context.Context) error {
	_, err := c.get(ctx, baseHref(c.rng.IntN(c.base)))
	return err
}

// get reads a card and remembers its ETag.
func (c *client) get(ctx context.Context, href string) (davclient.Response, error) {
	r, err := davclient.Get(ctx, c.d.Do, c.d.Book, href)
	if err == nil {
		c.etags[href] = r.ETag
	}
	return r, err
}

// put writes card href with If-Match etag; a 412 is checked to be real.
func (c *client) put(ctx context.Context, href, etag, data string) (r davclient.Response, changedETag string, err error) {
	r, err = c.d.Do(ctx, davclient.KindPut, "PUT", c.d.CardPath(href), map[string]string{"If-Match": etag, "Content-Type": "text/vcard; charset=utf-8"}, data)
	if err != nil {
		return r, "", err
	}
	o, err := davclient.JudgeIfMatch(ctx, c.get, r, href, etag)
	if o.Conflict {
		c.conflicts++
	}
	if o.Bogus {
		c.led.problem(true, "client %d: PUT %s If-Match %s answered 412 but the card still has that ETag", c.id, href, etag)
	}
	if err == nil && !o.Conflict {
		c.etags[href] = r.ETag
	}
	return r, o.CurETag, err
}

// PutOwned rewrites one of the client's own cards, retrying its 412s.
func (c *client) PutOwned(ctx context.Context) error {
	i := c.owned[c.rng.IntN(len(c.owned))]
	href := baseHref(i)
	etag, ok := c.etags[href]
	if !ok {
		if _, err := c.get(ctx, href); err != nil {
			return err
		}
		etag = c.etags[href]
	}
	for try := 0; try < 3; try++ {
		m := c.marker()
		r, cur, err := c.put(ctx, href, etag, davclient.CardText(baseUID(i), i, m))
		if err != nil {
			return err
		}
		if r.Status != http.StatusPreconditionFailed {
			c.lastAck[href] = m
			return nil
		}
		// Nobody else writes this card but the pair: a 412 here means
		// the pair wrote it back.
		c.ownedBySync++
		c.retries++
		etag = cur
	}
	return fmt.Errorf("PUT of owned card %s: 412 three times in a row", href)
}

// PutShared rewrites one of the shared cards; its 412s are expected.
func (c *client) PutShared(ctx context.Context) error {
	i := c.shared[c.rng.IntN(len(c.shared))]
	href := baseHref(i)
	etag, ok := c.etags[href]
	if !ok { // a stale ETag is fine: it provokes the 412s this is about
		if _, err := c.get(ctx, href); err != nil {
			return err
		}
		etag = c.etags[href]
	}
	for try := 0; try < 5; try++ {
		m := c.marker()
		r, cur, err := c.put(ctx, href, etag, davclient.CardText(baseUID(i), i, m))
		if err != nil {
			return err
		}
		if r.Status != http.StatusPreconditionFailed {
			c.led.addShared(href, ack{client: c.id, ifMatch: etag, etag: r.ETag, marker: m})
			return nil
		}
		c.retries++
		etag = cur
	}
	c.gaveUp++
	return nil
}

// Create creates a new card.
func (c *client) Create(ctx context.Context) error {
	c.seq++
	href, _, text := davclient.NewCard(c.id, c.seq)
	r, err := c.d.Do(ctx, davclient.KindCreate, "PUT", c.d.CardPath(href), davclient.CreateHeader(), text)
	if err != nil {
		return err
	}
	if err := c.expect("create "+href, r, http.StatusCreated); err != nil {
		return err
	}
	c.creates++
	c.etags[href] = r.ETag
	c.created = append(c.created, href)
	return nil
}

// Delete deletes one of the cards the client created (creating one when
// there is none).
func (c *client) Delete(ctx context.Context) error {
	if len(c.created) == 0 {
		return c.Create(ctx)
	}
	k := c.rng.IntN(len(c.created))
	href := c.created[k]
	etag := c.etags[href]
	r, err := c.d.Do(ctx, davclient.KindDelete, "DELETE", c.d.CardPath(href), map[string]string{"If-Match": etag}, "")
	if err != nil {
		return err
	}
	switch r.Status {
	case http.StatusNoContent, http.StatusOK:
		c.deletes++
		c.created = append(c.created[:k], c.created[k+1:]...)
		c.deleted = append(c.deleted, href)
		delete(c.etags, href)
		return nil
	case http.StatusPreconditionFailed:
		// Only the pair may have rewritten it: re-read, check, retry next time.
		c.conflicts++
		cur, err := c.get(ctx, href)
		if err != nil {
			return err
		}
		if cur.ETag == etag {
			c.led.problem(true, "client %d: DELETE %s If-Match %s answered 412 but the card still has that ETag", c.id, href, etag)
		}
		return nil
	}
	return c.expect("DELETE "+href, r)
}
