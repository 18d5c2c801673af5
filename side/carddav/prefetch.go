package carddav

import (
	"context"
	"fmt"
	"github.com/cardbridge/cardbridge/carddav/davxml"
	"net/http"
	"sync"
)

// prefetched holds the cards a sync-collection answer carried with their
// data, by id, until Get hands them out (once) or a write to one drops it.
// Get serves them as they were listed: the version the round reported is
// the version it reads.
type prefetched struct {
	mu    sync.Mutex
	cards map[string]davxml.Prop // ETag, LastModified and AddressData only
}

// reset forgets every card.
func (p *prefetched) reset() {
	p.mu.Lock()
	p.cards = nil
	p.mu.Unlock()
}

// put keeps the card id with the listed properties.
func (p *prefetched) put(id string, prop davxml.Prop) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cards == nil {
		p.cards = map[string]davxml.Prop{}
	}
	p.cards[id] = davxml.Prop{ETag: prop.ETag, LastModified: prop.LastModified, AddressData: prop.AddressData}
}

// drop forgets the card id.
func (p *prefetched) drop(id string) {
	p.mu.Lock()
	delete(p.cards, id)
	p.mu.Unlock()
}

// take returns the card id and forgets it.
func (p *prefetched) take(id string) (davxml.Prop, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prop, ok := p.cards[id]
	if ok {
		delete(p.cards, id)
	}
	return prop, ok
}

// has reports whether the card id is held.
func (p *prefetched) has(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.cards[id]
	return ok
}

// minBulk is the fewest multiget chunks' worth of cards Prefetch reads
// with one addressbook-query: below it multigets cost little whatever the
// server.
const minBulk = 2

// Prefetch reads the whole book with one addressbook-query when ids (the
// cards a round will read, less those its listing brought) are at least
// half of the book and at least minBulk multiget chunks: one request
// instead of many, and O(n) on servers whose multiget looks every href up
// in the whole book (Xandikos 0.2: a 1,000-card download by multiget
// takes about 17 s). The cards of ids are kept for Get; an answer over the
// prefetch limit, a refusal or a bad answer leaves them to multiget.
func (s *Side) Prefetch(ctx context.Context, ids []string) error {
	if s.prefetchLimit <= 0 {
		return nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !s.pre.has(id) {
			want[id] = true
		}
	}
	size := int(s.listed.Load())
	if len(want) < minBulk*s.chunk || size == 0 || 2*len(want) < size {
		return nil
	}
	resp, err := s.do(ctx, request{method: "REPORT", url: s.book, header: map[string]string{"Depth": "1"},
		body: queryAllBody(), maxBody: s.prefetchLimit})
	if err != nil {
		return fmt.Errorf("carddav: addressbook-query of the whole book: %w", err)
	}
	if resp.status != http.StatusMultiStatus {
		return s.statusErr("REPORT addressbook-query", resp, nil)
	}
	ms, err := parseMultistatus(resp.body)
	if err != nil {
		return fmt.Errorf("carddav: addressbook-query: %w", err)
	}
	kept := 0
	for _, r := range resources(ms) {
		id, ok := s.hrefID(r.href)
		if !ok || !want[id] || r.status != http.StatusOK || !r.hasETag || !hasData(&r.prop) {
			continue
		}
		s.pre.put(id, r.prop)
		kept++
	}
	s.log.Debug("carddav: book read with one addressbook-query", "book", s.book.String(), "wanted", len(want), "kept", kept)
	return nil
}
