package server

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// report serves REPORT: addressbook-multiget, addressbook-query and
// sync-collection, on an address book (multiget also on a card).
func (rq *request) report() {
	root, err := rq.readXML()
	if err != nil {
		rq.refuseBody(err)
		return
	}
	if root == nil {
		rq.badRequest("REPORT needs a body")
		return
	}
	supported := root.is(nsCard, "addressbook-multiget") || root.is(nsCard, "addressbook-query") || root.is(nsDAV, "sync-collection")
	if !supported || (rq.rt.kind != kindBook && !(rq.rt.kind == kindCard && root.is(nsCard, "addressbook-multiget"))) {
		rq.writeError(http.StatusForbidden, "<D:supported-report/>")
		return
	}
	b, ok := rq.loadBook()
	if !ok {
		return
	}
	switch {
	case root.is(nsCard, "addressbook-multiget"):
		rq.multiget(&b, root)
	case root.is(nsCard, "addressbook-query"):
		rq.query(&b, root)
	default:
		rq.syncCollection(&b, root)
	}
}

// cardOfHref returns the card href (store name) a multiget href names in
// book b, or false when it names no card of b.
func (rq *request) cardOfHref(b *state.AddressBook, href string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", false
	}
	rt, ok := rq.h.parsePath(u.EscapedPath())
	if !ok || rt.kind != kindCard || rt.user != rq.user || rt.book != b.Name {
		return "", false
	}
	return rt.href, true
}

// multiget serves addressbook-multiget: each href found gets its
// properties, each other one a 404 response.
func (rq *request) multiget(b *state.AddressBook, root *node) {
	pr := parsePropReq(root)
	var hrefs, names []string
	for _, c := range root.children {
		if !c.is(nsDAV, "href") {
			continue
		}
		href := strings.TrimSpace(c.text.String())
		hrefs = append(hrefs, href)
		if n, ok := rq.cardOfHref(b, href); ok {
			names = append(names, n)
		}
	}
	cards, err := rq.h.db.GetCards(rq.ctx, b.ID, names)
	if err != nil {
		rq.fail(err)
		return
	}
	var m multistatus
	for _, href := range hrefs {
		n, ok := rq.cardOfHref(b, href)
		c, found := cards[n]
		if !ok || !found {
			m.addStatus(href, http.StatusNotFound)
			continue
		}
		r := &res{kind: kindCard, href: href, book: b, card: &c}
		m.add(href, rq.propsOf(r, pr)...)
	}
	rq.writeXML(http.StatusMultiStatus, m.done(""))
}

// query serves addressbook-query: prop-filters with text-match (collations
// i;unicode-casemap, i;ascii-casemap, i;octet; match types equals,
// contains, starts-with, ends-with), is-not-defined, param-filters, and
// limit.
func (rq *request) query(b *state.AddressBook, root *node) {
	pr := parsePropReq(root)
	filter := root.child(nsCard, "filter")
	limit := 0
	if l := root.child(nsCard, "limit"); l != nil {
		if n := l.child(nsCard, "nresults"); n != nil {
			limit, _ = strconv.Atoi(strings.TrimSpace(n.text.String()))
		}
	}
	cards, err := rq.h.db.Cards(rq.ctx, b.ID)
	if err != nil {
		rq.fail(err)
		return
	}
	var m multistatus
	count := 0
	truncated := false
	for i := range cards {
		c := &cards[i]
		if filter != nil && len(filter.children) > 0 {
			vc, err := vcard.Parse(c.Data)
			if err != nil || !matchFilter(vc, filter) {
				continue
			}
		}
		if limit > 0 && count == limit {
			truncated = true
			break
		}
		count++
		r := &res{kind: kindCard, href: rq.h.cardHref(rq.user, b.Name, c.Href), book: b, card: c}
		m.add(r.href, rq.propsOf(r, pr)...)
	}
	if truncated {
		m.addStatus(rq.h.bookHref(rq.user, b.Name), http.StatusInsufficientStorage)
	}
	rq.writeXML(http.StatusMultiStatus, m.done(""))
}

// matchFilter applies a CARDDAV:filter to a card.
func matchFilter(c *vcard.Card, f *node) bool {
	allOf := f.attrValue("test") == "allof"
	for _, pf := range f.children {
		if !pf.is(nsCard, "prop-filter") {
			continue
		}
		ok := matchPropFilter(c, pf)
		if allOf && !ok {
			return false
		}
		if !allOf && ok {
			return true
		}
	}
	return allOf
}

func matchPropFilter(c *vcard.Card, pf *node) bool {
	props := c.All(pf.attrValue("name"))
	if pf.child(nsCard, "is-not-defined") != nil {
		return len(props) == 0
	}
	if len(props) == 0 {
		return false
	}
	allOf := pf.attrValue("test") == "allof"
	tests := 0
	for _, t := range pf.children {
		var ok bool
		switch {
		case t.is(nsCard, "text-match"):
			ok = false
			for _, p := range props {
				if textMatch(t, p.Text()) || textMatch(t, p.Value) {
					ok = true
					break
				}
			}
		case t.is(nsCard, "param-filter"):
			ok = false
			for _, p := range props {
				if matchParamFilter(p, t) {
					ok = true
					break
				}
			}
		default:
			continue
		}
		tests++
		if allOf && !ok {
			return false
		}
		if !allOf && ok {
			return true
		}
	}
	return tests == 0 || allOf
}

func matchParamFilter(p vcard.Property, pf *node) bool {
	values := p.Param(pf.attrValue("name"))
	if pf.child(nsCard, "is-not-defined") != nil {
		return len(values) == 0
	}
	if len(values) == 0 {
		return false
	}
	tm := pf.child(nsCard, "text-match")
	if tm == nil {
		return true
	}
	for _, v := range values {
		if textMatch(tm, v) {
			return true
		}
	}
	return false
}

// textMatch applies a CARDDAV:text-match to value.
func textMatch(tm *node, value string) bool {
	want := tm.text.String()
	switch tm.attrValue("collation") {
	case "i;octet":
	default:
		want, value = strings.ToLower(want), strings.ToLower(value)
	}
	var ok bool
	switch tm.attrValue("match-type") {
	case "equals":
		ok = value == want
	case "starts-with":
		ok = strings.HasPrefix(value, want)
	case "ends-with":
		ok = strings.HasSuffix(value, want)
	default:
		ok = strings.Contains(value, want)
	}
	if tm.attrValue("negate-condition") == "yes" {
		return !ok
	}
	return ok
}

// parseToken reads a sync-token (the store's token, bare or wrapped in
// syncTokenURI) of book b; false when it is not one.
func parseToken(b *state.AddressBook, tok string) (int64, bool) {
	tok = strings.TrimPrefix(strings.TrimSpace(tok), syncTokenURI)
	id, seq, err := state.ParseSyncToken(tok)
	if err != nil || id != b.ID {
		return 0, false
	}
	return seq, true
}

// syncCollection serves sync-collection (RFC 6578) with limit.
func (rq *request) syncCollection(b *state.AddressBook, root *node) {
	pr := parsePropReq(root)
	var since int64
	tokNode := root.child(nsDAV, "sync-token")
	initial := tokNode == nil || strings.TrimSpace(tokNode.text.String()) == ""
	if !initial {
		seq, ok := parseToken(b, tokNode.text.String())
		if !ok {
			rq.writeError(http.StatusForbidden, "<D:valid-sync-token/>")
			return
		}
		since = seq
	}
	limit := -1
	if l := root.child(nsDAV, "limit"); l != nil {
		if n := l.child(nsDAV, "nresults"); n != nil {
			v, err := strconv.Atoi(strings.TrimSpace(n.text.String()))
			if err != nil || v < 0 {
				rq.badRequest("invalid nresults")
				return
			}
			limit = v
		}
	}
	db := rq.h.db
	changed, deleted, newSeq, err := db.CardChanges(rq.ctx, b.ID, since)
	if errors.Is(err, state.ErrInvalidSyncToken) && initial {
		// The change log no longer reaches back to the book's creation:
		// an initial sync lists the cards as they are.
		refs, err := db.CardRefs(rq.ctx, b.ID)
		if err != nil {
			rq.fail(err)
			return
		}
		book, err := db.AddressBook(rq.ctx, rq.user, b.Name)
		if err != nil {
			rq.fail(err)
			return
		}
		changed, deleted, newSeq = nil, nil, book.SyncSeq
		for _, c := range refs {
			if c.Seq <= newSeq {
				changed = append(changed, c.Href)
			}
		}
		limit = -1
	} else if errors.Is(err, state.ErrInvalidSyncToken) {
		rq.writeError(http.StatusForbidden, "<D:valid-sync-token/>")
		return
	} else if err != nil {
		rq.fail(err)
		return
	}
	truncated := false
	if limit >= 0 && len(changed)+len(deleted) > limit {
		// Find the latest change number cut such that the changes since
		// `since` up to cut are at most limit: the answer holds those, and
		// the token of cut resumes with the rest.
		total := len(changed) + len(deleted)
		lo, hi := since, newSeq // total(lo)-total(lo) = 0 <= limit; hi gives > limit
		var laterChanged, laterDeleted []string
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			c2, d2, _, err := db.CardChanges(rq.ctx, b.ID, mid)
			if err != nil {
				rq.fail(err)
				return
			}
			if total-(len(c2)+len(d2)) <= limit {
				lo = mid
				laterChanged, laterDeleted = c2, d2
			} else {
				hi = mid
			}
		}
		if lo == since {
			laterChanged, laterDeleted = changed, deleted
		}
		later := make(map[string]bool, len(laterChanged)+len(laterDeleted))
		for _, h := range laterChanged {
			later[h] = true
		}
		for _, h := range laterDeleted {
			later[h] = true
		}
		changed, deleted = without(changed, later), without(deleted, later)
		newSeq = lo
		truncated = true
	}
	if initial {
		deleted = nil
	}
	var cards map[string]state.Card
	if len(changed) > 0 {
		if pr.needsData() {
			cards, err = db.GetCards(rq.ctx, b.ID, changed)
		} else {
			cards, err = cardRefsOf(rq, b.ID, changed)
		}
		if err != nil {
			rq.fail(err)
			return
		}
	}
	sort.Strings(changed)
	sort.Strings(deleted)
	var m multistatus
	for _, h := range changed {
		href := rq.h.cardHref(rq.user, b.Name, h)
		c, ok := cards[h]
		if !ok {
			m.addStatus(href, http.StatusNotFound)
			continue
		}
		r := &res{kind: kindCard, href: href, book: b, card: &c}
		m.add(href, rq.propsOf(r, pr)...)
	}
	for _, h := range deleted {
		m.addStatus(rq.h.cardHref(rq.user, b.Name, h), http.StatusNotFound)
	}
	if truncated {
		m.addStatus(rq.h.bookHref(rq.user, b.Name), http.StatusInsufficientStorage)
	}
	rq.writeXML(http.StatusMultiStatus, m.done("<D:sync-token>"+esc(bookToken(b.ID, newSeq))+"</D:sync-token>"))
}

func without(hrefs []string, drop map[string]bool) []string {
	out := hrefs[:0:0]
	for _, h := range hrefs {
		if !drop[h] {
			out = append(out, h)
		}
	}
	return out
}

// cardRefsOf returns the cards named by hrefs without reading their data
// when the book is large, with it otherwise (GetCards).
func cardRefsOf(rq *request, bookID int64, hrefs []string) (map[string]state.Card, error) {
	if len(hrefs) <= 500 {
		return rq.h.db.GetCards(rq.ctx, bookID, hrefs)
	}
	refs, err := rq.h.db.CardRefs(rq.ctx, bookID)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(hrefs))
	for _, h := range hrefs {
		want[h] = true
	}
	out := make(map[string]state.Card, len(hrefs))
	for _, c := range refs {
		if want[c.Href] {
			out[c.Href] = c
		}
	}
	return out, nil
}
