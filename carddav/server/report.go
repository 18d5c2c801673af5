package server

import (
	"errors"
	"fmt"
	"github.com/cardbridge/cardbridge/carddav/davxml"
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
	supported := root.Is(davxml.CardDAV("addressbook-multiget")) || root.Is(davxml.CardDAV("addressbook-query")) || root.Is(davxml.DAV("sync-collection"))
	if !supported || (rq.rt.kind != kindBook && !(rq.rt.kind == kindCard && root.Is(davxml.CardDAV("addressbook-multiget")))) {
		rq.writeError(http.StatusForbidden, "", davxml.Empty(davxml.DAV("supported-report")))
		return
	}
	b, ok := rq.loadBook()
	if !ok {
		return
	}
	switch {
	case root.Is(davxml.CardDAV("addressbook-multiget")):
		rq.multiget(&b, root)
	case root.Is(davxml.CardDAV("addressbook-query")):
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
	if !ok || rt.kind != kindCard || rt.user != rq.user || rt.book != b.Name || nameProblem("card", rt.href) != "" {
		return "", false
	}
	return rt.href, true
}

// multiget serves addressbook-multiget: each href found gets its
// properties, each other one a 404 response, in the order asked; an href
// asked again (in any spelling of the same card) is answered once. More
// than the handler's maxHrefs href elements are refused with 403
// DAV:number-of-matches-within-limits.
func (rq *request) multiget(b *state.AddressBook, root *davxml.Element) {
	pr := parsePropReq(root)
	n := 0
	for _, c := range root.Children {
		if c.Is(davxml.DAV("href")) {
			if strings.TrimSpace(c.Text) == "" {
				// A response must name its resource: an empty href
				// has no answer the client could match.
				rq.badRequest("addressbook-multiget names an empty DAV:href")
				return
			}
			n++
		}
	}
	if n > rq.h.maxHrefs {
		rq.writeError(http.StatusForbidden,
			fmt.Sprintf("this addressbook-multiget names %d hrefs; the server answers at most %d per request: ask for them in smaller batches", n, rq.h.maxHrefs),
			davxml.Empty(davxml.DAV("number-of-matches-within-limits")))
		return
	}
	// asked is an href of the request, answered once: name is the card
	// it names in b ("" when it names none).
	type asked struct{ href, name string }
	var hrefs []asked
	var names []string
	seen := map[string]bool{}
	for _, c := range root.Children {
		if !c.Is(davxml.DAV("href")) {
			continue
		}
		href := strings.TrimSpace(c.Text)
		name, ok := rq.cardOfHref(b, href)
		key := "\x00" + href // an href naming no card of b, as written
		if ok {
			key = name
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		if !ok {
			name = ""
		}
		hrefs = append(hrefs, asked{href, name})
		if ok {
			names = append(names, name)
		}
	}
	m := rq.newMultistatus()
	next := 0 // the first of hrefs not answered
	// skipped answers the hrefs before the next that names a card of b.
	skipped := func() error {
		for ; next < len(hrefs) && hrefs[next].name == ""; next++ {
			if err := m.addStatus(hrefs[next].href, http.StatusNotFound); err != nil {
				return err
			}
		}
		return nil
	}
	err := rq.h.db.EachCardOf(rq.ctx, b.ID, names, pr.needsData(), func(_ string, c state.Card, found bool) error {
		if err := skipped(); err != nil {
			return err
		}
		href := hrefs[next].href
		next++
		if !found {
			return m.addStatus(href, http.StatusNotFound)
		}
		return m.add(href, rq.propsOf(&res{kind: kindCard, href: href, book: b, card: &c}, pr)...)
	})
	if err == nil {
		err = skipped()
	}
	if err != nil {
		m.fail(err)
		return
	}
	m.done("")
}

// errEnough stops a walk of the cards that has found what it needs.
var errEnough = errors.New("enough")

// query serves addressbook-query: prop-filters with text-match (collations
// i;unicode-casemap, i;ascii-casemap, i;octet; match types equals,
// contains, starts-with, ends-with), is-not-defined, param-filters, and
// limit. A filter beyond the bounds of checkFilter is refused with 403
// CARDDAV:supported-filter and the bound it passes.
func (rq *request) query(b *state.AddressBook, root *davxml.Element) {
	pr := parsePropReq(root)
	filter := root.Child(davxml.CardDAV("filter"))
	if err := checkFilter(filter); err != nil {
		rq.writeError(http.StatusForbidden, err.Error(), davxml.Empty(davxml.CardDAV("supported-filter")))
		return
	}
	limit := 0
	if l := root.Child(davxml.CardDAV("limit")); l != nil {
		if n := l.Child(davxml.CardDAV("nresults")); n != nil {
			limit, _ = strconv.Atoi(strings.TrimSpace(n.Text))
		}
	}
	filtered := filter != nil && len(filter.Children) > 0
	m := rq.newMultistatus()
	count := 0
	truncated := false
	err := rq.h.db.EachCard(rq.ctx, b.ID, filtered || pr.needsData(), func(c state.Card) error {
		if filtered {
			vc, err := vcard.Parse(c.Data)
			if err != nil || !matchFilter(vc, filter) {
				return m.gone()
			}
		}
		if limit > 0 && count == limit {
			truncated = true
			return errEnough
		}
		count++
		r := &res{kind: kindCard, href: rq.h.cardHref(rq.user, b.Name, c.Href), book: b, card: &c}
		return m.add(r.href, rq.propsOf(r, pr)...)
	})
	if err != nil && !errors.Is(err, errEnough) {
		m.fail(err)
		return
	}
	if truncated {
		m.addStatus(rq.h.bookHref(rq.user, b.Name), http.StatusInsufficientStorage)
	}
	m.done("")
}

// The bounds of an addressbook-query filter, so that the work of a query
// grows with the book, not with the product of the book and the filter.
const (
	maxFilterElems   = 512  // elements inside CARDDAV:filter, whatever they are
	maxPropFilters   = 64   // CARDDAV:prop-filter elements
	maxParamFilters  = 64   // CARDDAV:param-filter elements
	maxTextMatches   = 128  // CARDDAV:text-match elements
	maxTextMatchSize = 1024 // bytes of one text-match
)

// checkFilter reports the first bound (see maxFilterElems...) filter
// passes, or nil.
func checkFilter(filter *davxml.Element) error {
	var elems, props, params, texts int
	var walk func(n *davxml.Element) error
	walk = func(n *davxml.Element) error {
		for _, c := range n.Children {
			elems++
			switch {
			case c.Is(davxml.CardDAV("prop-filter")):
				props++
			case c.Is(davxml.CardDAV("param-filter")):
				params++
			case c.Is(davxml.CardDAV("text-match")):
				texts++
				if l := len(c.Text); l > maxTextMatchSize {
					return fmt.Errorf("addressbook-query: a text-match of %d bytes; at most %d are accepted", l, maxTextMatchSize)
				}
			}
			switch {
			case elems > maxFilterElems:
				return fmt.Errorf("addressbook-query: the filter holds more than %d elements", maxFilterElems)
			case props > maxPropFilters:
				return fmt.Errorf("addressbook-query: the filter holds more than %d prop-filters", maxPropFilters)
			case params > maxParamFilters:
				return fmt.Errorf("addressbook-query: the filter holds more than %d param-filters", maxParamFilters)
			case texts > maxTextMatches:
				return fmt.Errorf("addressbook-query: the filter holds more than %d text-matches", maxTextMatches)
			}
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if filter == nil {
		return nil
	}
	return walk(filter)
}

// matchFilter applies a CARDDAV:filter to a card.
func matchFilter(c *vcard.Card, f *davxml.Element) bool {
	allOf := f.AttrValue("test") == "allof"
	for _, pf := range f.Children {
		if !pf.Is(davxml.CardDAV("prop-filter")) {
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

func matchPropFilter(c *vcard.Card, pf *davxml.Element) bool {
	props := c.All(pf.AttrValue("name"))
	if pf.Child(davxml.CardDAV("is-not-defined")) != nil {
		return len(props) == 0
	}
	if len(props) == 0 {
		return false
	}
	allOf := pf.AttrValue("test") == "allof"
	tests := 0
	for _, t := range pf.Children {
		var ok bool
		switch {
		case t.Is(davxml.CardDAV("text-match")):
			ok = false
			for _, p := range props {
				if textMatch(t, p.Text()) || textMatch(t, p.Value) {
					ok = true
					break
				}
			}
		case t.Is(davxml.CardDAV("param-filter")):
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

func matchParamFilter(p vcard.Property, pf *davxml.Element) bool {
	values := p.Param(pf.AttrValue("name"))
	if pf.Child(davxml.CardDAV("is-not-defined")) != nil {
		return len(values) == 0
	}
	if len(values) == 0 {
		return false
	}
	tm := pf.Child(davxml.CardDAV("text-match"))
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
func textMatch(tm *davxml.Element, value string) bool {
	want := tm.Text
	switch tm.AttrValue("collation") {
	case "i;octet":
	default:
		want, value = strings.ToLower(want), strings.ToLower(value)
	}
	var ok bool
	switch tm.AttrValue("match-type") {
	case "equals":
		ok = value == want
	case "starts-with":
		ok = strings.HasPrefix(value, want)
	case "ends-with":
		ok = strings.HasSuffix(value, want)
	default:
		ok = strings.Contains(value, want)
	}
	if tm.AttrValue("negate-condition") == "yes" {
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
func (rq *request) syncCollection(b *state.AddressBook, root *davxml.Element) {
	pr := parsePropReq(root)
	q, ok := rq.parseSyncQuery(b, root)
	if !ok {
		return
	}
	ch, err := rq.cardChanges(b, q.since)
	switch {
	case errors.Is(err, state.ErrInvalidSyncToken) && q.initial:
		// The change log no longer reaches back to the book's creation:
		// an initial sync lists the cards as they are.
		ch, err = rq.currentCards(b)
		q.limit = -1
	case errors.Is(err, state.ErrInvalidSyncToken):
		rq.writeError(http.StatusForbidden, "", davxml.Empty(davxml.DAV("valid-sync-token")))
		return
	}
	if err != nil {
		rq.fail(err)
		return
	}
	truncated := false
	if q.limit >= 0 && ch.count() > q.limit {
		if err := rq.truncateChanges(b, q.since, q.limit, &ch); err != nil {
			rq.fail(err)
			return
		}
		truncated = true
	}
	if q.initial {
		ch.deleted = nil
	}
	rq.writeSyncAnswer(b, pr, ch, truncated)
}

// syncQuery is what a sync-collection REPORT asks for.
type syncQuery struct {
	since   int64 // the change number of the client's token (0 when initial)
	initial bool  // no token: every card
	limit   int   // the most changes in one answer, -1 for no limit
}

// parseSyncQuery reads the token and the limit of a sync-collection
// REPORT of book b; false when it answered the request (an error).
func (rq *request) parseSyncQuery(b *state.AddressBook, root *davxml.Element) (syncQuery, bool) {
	q := syncQuery{limit: -1}
	tokNode := root.Child(davxml.DAV("sync-token"))
	q.initial = tokNode == nil || strings.TrimSpace(tokNode.Text) == ""
	if !q.initial {
		seq, ok := parseToken(b, tokNode.Text)
		if !ok {
			rq.writeError(http.StatusForbidden, "", davxml.Empty(davxml.DAV("valid-sync-token")))
			return q, false
		}
		q.since = seq
	}
	if l := root.Child(davxml.DAV("limit")); l != nil {
		if n := l.Child(davxml.DAV("nresults")); n != nil {
			v, err := strconv.Atoi(strings.TrimSpace(n.Text))
			if err != nil || v < 0 {
				rq.badRequest("invalid nresults")
				return q, false
			}
			q.limit = v
		}
	}
	return q, true
}

// syncChanges are the cards of a book changed and deleted since a change
// number, up to change seq.
type syncChanges struct {
	changed, deleted []string
	seq              int64
}

// count returns the number of changes in ch.
func (ch syncChanges) count() int { return len(ch.changed) + len(ch.deleted) }

// cardChanges returns the changes of book b since change number since.
func (rq *request) cardChanges(b *state.AddressBook, since int64) (syncChanges, error) {
	changed, deleted, seq, err := rq.h.db.CardChanges(rq.ctx, b.ID, since)
	return syncChanges{changed: changed, deleted: deleted, seq: seq}, err
}

// currentCards returns every card of book b as changed, up to the book's
// current change number.
func (rq *request) currentCards(b *state.AddressBook) (syncChanges, error) {
	db := rq.h.db
	book, err := db.AddressBook(rq.ctx, rq.user, b.Name)
	if err != nil {
		return syncChanges{}, err
	}
	ch := syncChanges{seq: book.SyncSeq}
	err = db.EachCard(rq.ctx, b.ID, false, func(c state.Card) error {
		if c.Seq <= ch.seq {
			ch.changed = append(ch.changed, c.Href)
		}
		return nil
	})
	if err != nil {
		return syncChanges{}, err
	}
	return ch, nil
}

// truncateChanges cuts ch, the changes of book b since change number
// since, to at most limit: it finds the latest change number cut such that
// the changes from since up to cut are at most limit, keeps those and sets
// ch.seq to cut, whose token resumes with the rest.
func (rq *request) truncateChanges(b *state.AddressBook, since int64, limit int, ch *syncChanges) error {
	total := ch.count()
	lo, hi := since, ch.seq // total(lo)-total(lo) = 0 <= limit; hi gives > limit
	var later syncChanges
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		after, err := rq.cardChanges(b, mid)
		if err != nil {
			return err
		}
		if total-after.count() <= limit {
			lo = mid
			later = after
		} else {
			hi = mid
		}
	}
	if lo == since {
		later = *ch
	}
	drop := make(map[string]bool, later.count())
	for _, h := range later.changed {
		drop[h] = true
	}
	for _, h := range later.deleted {
		drop[h] = true
	}
	ch.changed, ch.deleted = without(ch.changed, drop), without(ch.deleted, drop)
	ch.seq = lo
	return nil
}

// writeSyncAnswer writes the multistatus of a sync-collection of book b:
// the changed cards with the properties pr asks for, the deleted ones as
// 404, a 507 on the book when truncated, and the token of ch.seq.
func (rq *request) writeSyncAnswer(b *state.AddressBook, pr propReq, ch syncChanges, truncated bool) {
	sort.Strings(ch.changed)
	sort.Strings(ch.deleted)
	m := rq.newMultistatus()
	err := rq.h.db.EachCardOf(rq.ctx, b.ID, ch.changed, pr.needsData(), func(h string, c state.Card, found bool) error {
		href := rq.h.cardHref(rq.user, b.Name, h)
		if !found {
			return m.addStatus(href, http.StatusNotFound)
		}
		return m.add(href, rq.propsOf(&res{kind: kindCard, href: href, book: b, card: &c}, pr)...)
	})
	for _, h := range ch.deleted {
		if err != nil {
			break
		}
		err = m.addStatus(rq.h.cardHref(rq.user, b.Name, h), http.StatusNotFound)
	}
	if err != nil {
		m.fail(err)
		return
	}
	if truncated {
		m.addStatus(rq.h.bookHref(rq.user, b.Name), http.StatusInsufficientStorage)
	}
	m.done(bookToken(b.ID, ch.seq))
}

// without returns hrefs without those in drop.
func without(hrefs []string, drop map[string]bool) []string {
	out := hrefs[:0:0]
	for _, h := range hrefs {
		if !drop[h] {
			out = append(out, h)
		}
	}
	return out
}
