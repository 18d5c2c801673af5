package server

import (
	"bytes"
	"encoding/xml"
	"errors"
	"github.com/cardbridge/cardbridge/carddav/davxml"
	"net/http"
	"strconv"
	"strings"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// res is a resource whose properties are written.
type res struct {
	kind kind
	href string
	book *state.AddressBook
	card *state.Card // Data nil when not loaded
}

// propReq is what a PROPFIND or REPORT asks for.
type propReq struct {
	allprop, propname bool
	props             []*davxml.Element
}

// parsePropReq reads the D:prop, D:allprop or D:propname child of parent
// (none: allprop).
func parsePropReq(parent *davxml.Element) propReq {
	if parent == nil {
		return propReq{allprop: true}
	}
	if p := parent.Child(davxml.DAV("prop")); p != nil {
		return propReq{props: p.Children}
	}
	if parent.Child(davxml.DAV("propname")) != nil {
		return propReq{propname: true}
	}
	return propReq{allprop: true}
}

// needsData reports whether writing pr needs the cards' data.
func (pr propReq) needsData() bool {
	if pr.allprop {
		return true
	}
	for _, p := range pr.props {
		if p.Is(davxml.CardDAV("address-data")) || p.Is(davxml.DAV("getcontentlength")) {
			return true
		}
	}
	return false
}

// allProps are the properties allprop and propname give (those a resource
// has).
var allProps = []xml.Name{
	davxml.DAV("resourcetype"),
	davxml.DAV("displayname"),
	davxml.DAV("getetag"),
	davxml.DAV("getcontenttype"),
	davxml.DAV("getlastmodified"),
	davxml.DAV("getcontentlength"),
	davxml.DAV("sync-token"),
	davxml.CS("getctag"),
	davxml.CardDAV("addressbook-description"),
}

// propsOf returns the properties pr asks of r as propstat groups. When the
// client prefers a minimal answer (see minimal), the 404 group of the
// properties r does not have is left out.
func (rq *request) propsOf(r *res, pr propReq) []davxml.PropGroup {
	ok := davxml.PropGroup{Status: http.StatusOK}
	missing := davxml.PropGroup{Status: http.StatusNotFound}
	switch {
	case pr.allprop || pr.propname:
		for _, n := range allProps {
			v := rq.propValue(r, &davxml.Element{Name: n})
			if v == nil {
				continue
			}
			if pr.propname {
				v = davxml.Empty(n)
			}
			ok.Props = append(ok.Props, v)
		}
	default:
		for _, p := range pr.props {
			if v := rq.propValue(r, p); v != nil {
				ok.Props = append(ok.Props, v)
			} else {
				missing.Props = append(missing.Props, davxml.Empty(p.Name))
			}
		}
	}
	if rq.minimal() {
		return []davxml.PropGroup{ok}
	}
	return []davxml.PropGroup{ok, missing}
}

// minimal reports whether the client asked for a minimal answer to a
// PROPFIND or REPORT: "Prefer: return=minimal" (RFC 7240, RFC 8144) or
// Microsoft's older "Brief: t". Apple's clients send both; the answer then
// leaves out the properties that are not found, which for a book of
// thousands of cards is most of the body.
func (rq *request) minimal() bool {
	if strings.EqualFold(strings.TrimSpace(rq.r.Header.Get("Brief")), "t") {
		return true
	}
	for _, v := range rq.r.Header.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			name, _, _ := strings.Cut(pref, ";")
			if strings.EqualFold(strings.Join(strings.Fields(name), ""), "return=minimal") {
				return true
			}
		}
	}
	return false
}

// privileges returns a DAV:current-user-privilege-set of the DAV:
// privileges names.
func privileges(names ...string) *davxml.Element {
	set := davxml.Elem(davxml.DAV("current-user-privilege-set"))
	for _, n := range names {
		set.Children = append(set.Children, davxml.Elem(davxml.DAV("privilege"), davxml.Empty(davxml.DAV(n))))
	}
	return set
}

// reportSet returns the DAV:supported-report-set of the home set and the
// books.
func reportSet() *davxml.Element {
	set := davxml.Elem(davxml.DAV("supported-report-set"))
	for _, r := range []xml.Name{davxml.CardDAV("addressbook-multiget"), davxml.CardDAV("addressbook-query"), davxml.DAV("sync-collection")} {
		set.Children = append(set.Children, davxml.Elem(davxml.DAV("supported-report"), davxml.Elem(davxml.DAV("report"), davxml.Empty(r))))
	}
	return set
}

// bookToken is the sync-token (an absolute URI) of book at change seq.
func bookToken(id, seq int64) string { return syncTokenURI + state.FormatSyncToken(id, seq) }

// propValue returns property p of r as it is written, nil when r does not
// have it.
func (rq *request) propValue(r *res, p *davxml.Element) *davxml.Element {
	render, ok := propRenderers[p.Name]
	if !ok {
		return nil
	}
	return render(rq, r, p)
}

// propRenderer writes property p of r, nil when r does not have it.
type propRenderer func(rq *request, r *res, p *davxml.Element) *davxml.Element

// propRenderers holds the renderer of each property the server knows, by
// its name (read only). A property not in it is one no resource has.
var propRenderers = map[xml.Name]propRenderer{
	davxml.DAV("current-user-principal"): func(rq *request, _ *res, p *davxml.Element) *davxml.Element {
		return davxml.HrefProp(p.Name, rq.h.principalHref(rq.user))
	},
	davxml.DAV("owner"): func(rq *request, r *res, p *davxml.Element) *davxml.Element {
		if r.kind == kindRoot {
			return nil
		}
		return davxml.HrefProp(p.Name, rq.h.principalHref(rq.user))
	},
	davxml.DAV("principal-collection-set"): func(rq *request, _ *res, p *davxml.Element) *davxml.Element {
		return davxml.HrefProp(p.Name, rq.h.prefix+"/principals/")
	},
	davxml.DAV("current-user-privilege-set"): privilegeSetProp,
	davxml.DAV("resourcetype"):               resourceTypeProp,
	davxml.DAV("displayname"):                displayNameProp,
	davxml.DAV("principal-URL"): func(rq *request, r *res, p *davxml.Element) *davxml.Element {
		if r.kind != kindPrincipal {
			return nil
		}
		return davxml.HrefProp(p.Name, rq.h.principalHref(rq.user))
	},
	davxml.DAV("supported-report-set"): func(_ *request, r *res, p *davxml.Element) *davxml.Element {
		switch r.kind {
		case kindHome, kindBook:
			return reportSet()
		case kindRoot, kindPrincipal:
			return emptyChildren(p.Name)
		}
		return nil
	},
	davxml.DAV("sync-token"): bookProp(func(_ *request, b *state.AddressBook) string {
		return bookToken(b.ID, b.SyncSeq)
	}),
	davxml.DAV("getetag"): cardProp(func(_ *request, c *state.Card) string {
		return `"` + c.ETag + `"`
	}),
	davxml.DAV("getcontenttype"): cardProp(func(*request, *state.Card) string {
		return "text/vcard; charset=utf-8"
	}),
	davxml.DAV("getlastmodified"): cardProp(func(_ *request, c *state.Card) string {
		return c.Modified.UTC().Format(http.TimeFormat)
	}),
	davxml.DAV("getcontentlength"): cardDataProp(func(rq *request, data []byte, _ *davxml.Element) string {
		return strconv.Itoa(len(rq.render(data, "")))
	}),
	davxml.CardDAV("addressbook-home-set"): func(rq *request, r *res, p *davxml.Element) *davxml.Element {
		if r.kind != kindRoot && r.kind != kindPrincipal {
			return nil
		}
		return davxml.HrefProp(p.Name, rq.h.homeHref(rq.user))
	},
	davxml.CardDAV("addressbook-description"): bookProp(func(_ *request, b *state.AddressBook) string {
		return b.Description
	}),
	davxml.CardDAV("supported-address-data"): supportedAddressDataProp,
	davxml.CardDAV("max-resource-size"): func(rq *request, r *res, p *davxml.Element) *davxml.Element {
		if r.kind != kindBook && r.kind != kindHome {
			return nil
		}
		return davxml.Text(p.Name, strconv.FormatInt(rq.h.maxSize, 10))
	},
	davxml.CardDAV("address-data"): cardDataProp(func(rq *request, data []byte, p *davxml.Element) string {
		return string(rq.render(data, requestedVersion(p)))
	}),
	davxml.CS("getctag"): bookProp(func(_ *request, b *state.AddressBook) string {
		return state.FormatSyncToken(b.ID, b.SyncSeq)
	}),
}

// bookProp returns a renderer of a text property only books have.
func bookProp(value func(rq *request, b *state.AddressBook) string) propRenderer {
	return func(rq *request, r *res, p *davxml.Element) *davxml.Element {
		if r.kind != kindBook {
			return nil
		}
		return davxml.Text(p.Name, value(rq, r.book))
	}
}

// cardProp returns a renderer of a text property only cards have.
func cardProp(value func(rq *request, c *state.Card) string) propRenderer {
	return func(rq *request, r *res, p *davxml.Element) *davxml.Element {
		if r.kind != kindCard {
			return nil
		}
		return davxml.Text(p.Name, value(rq, r.card))
	}
}

// cardDataProp returns a renderer of a text property only cards have,
// made from the card's data (nil when it cannot be read).
func cardDataProp(value func(rq *request, data []byte, p *davxml.Element) string) propRenderer {
	return func(rq *request, r *res, p *davxml.Element) *davxml.Element {
		if r.kind != kindCard {
			return nil
		}
		data := rq.cardData(r.card)
		if data == nil {
			return nil
		}
		return davxml.Text(p.Name, value(rq, data, p))
	}
}

// emptyChildren returns element name holding an empty element of each of
// names.
func emptyChildren(name xml.Name, names ...xml.Name) *davxml.Element {
	e := davxml.Elem(name)
	for _, n := range names {
		e.Children = append(e.Children, davxml.Empty(n))
	}
	return e
}

// privilegeSetProp writes DAV:current-user-privilege-set: what the user
// may do with r (read only, for a read-only book and its cards).
func privilegeSetProp(_ *request, r *res, _ *davxml.Element) *davxml.Element {
	if r.book != nil && r.book.ReadOnly {
		return privileges(readPrivileges...)
	}
	switch r.kind {
	case kindRoot, kindPrincipal:
		return privileges("read", "read-current-user-privilege-set")
	case kindHome:
		return privileges("read", "bind", "unbind", "write-properties", "read-current-user-privilege-set")
	default:
		return privileges("read", "write", "write-properties", "write-content", "bind", "unbind", "read-current-user-privilege-set")
	}
}

// resourceTypeProp writes DAV:resourcetype.
func resourceTypeProp(_ *request, r *res, p *davxml.Element) *davxml.Element {
	switch r.kind {
	case kindRoot, kindHome:
		return emptyChildren(p.Name, davxml.DAV("collection"))
	case kindPrincipal:
		return emptyChildren(p.Name, davxml.DAV("principal"))
	case kindBook:
		return emptyChildren(p.Name, davxml.DAV("collection"), davxml.CardDAV("addressbook"))
	case kindCard:
		return emptyChildren(p.Name)
	}
	return nil
}

// displayNameProp writes DAV:displayname: the user's name for the
// principal and the home set, a book's display name (else its name).
func displayNameProp(rq *request, r *res, p *davxml.Element) *davxml.Element {
	switch r.kind {
	case kindRoot:
		return davxml.Text(p.Name, "cardbridge")
	case kindPrincipal, kindHome:
		return davxml.Text(p.Name, rq.user)
	case kindBook:
		if r.book.DisplayName != "" {
			return davxml.Text(p.Name, r.book.DisplayName)
		}
		return davxml.Text(p.Name, r.book.Name)
	}
	return nil
}

// supportedAddressDataProp writes CARDDAV:supported-address-data of books
// and the home set: vCard 3.0 and 4.0.
func supportedAddressDataProp(_ *request, r *res, p *davxml.Element) *davxml.Element {
	if r.kind != kindBook && r.kind != kindHome {
		return nil
	}
	e := davxml.Elem(p.Name)
	for _, v := range []string{vcard.V30, vcard.V40} {
		e.Children = append(e.Children, &davxml.Element{Name: davxml.CardDAV("address-data-type"),
			Attr: []xml.Attr{{Name: xml.Name{Local: "content-type"}, Value: "text/vcard"}, {Name: xml.Name{Local: "version"}, Value: v}}})
	}
	return e
}

// cardData returns the stored data of c, reading it when not loaded (nil
// when that fails).
func (rq *request) cardData(c *state.Card) []byte {
	if c.Data != nil {
		return c.Data
	}
	m, err := rq.h.db.GetCards(rq.ctx, c.BookID, []string{c.Href})
	if err != nil {
		rq.h.log.Error("carddav: reading card", "href", c.Href, "err", err)
		return nil
	}
	got, ok := m[c.Href]
	if !ok {
		return nil
	}
	c.Data = got.Data
	return c.Data
}

// requestedVersion is the vCard version an address-data element asks for
// in its version attribute, "" when it names none (or one not served).
func requestedVersion(p *davxml.Element) string {
	if p == nil {
		return ""
	}
	switch v := strings.TrimSpace(p.AttrValue("version")); v {
	case vcard.V30, vcard.V40:
		return v
	}
	return ""
}

// render returns stored card data for a client that asked for version
// ("" when it did not: see request.version): the data itself when it is of
// the version served (re-encoded for Thunderbird when it holds a \;),
// else its Export to that version.
func (rq *request) render(data []byte, asked string) []byte {
	c, err := vcard.Parse(data)
	if err != nil {
		return data
	}
	version := rq.version(asked, c.Version)
	if c.Version == version {
		if version == vcard.V40 && bytes.Contains(data, []byte(`\;`)) && readsV40Only(rq.r.Header.Get("User-Agent")) {
			// another 4.0 writer's \; in a text value, which ical.js
			// would show: the encoding writes it as a bare ';'
			return c.Export(version).Encode()
		}
		return data
	}
	return c.Export(version).Encode()
}

// target loads the resource of the route; false (after answering) when it
// fails.
func (rq *request) target(withData bool) (*res, bool) {
	h := rq.h
	switch rq.rt.kind {
	case kindRoot:
		href := rq.r.URL.EscapedPath()
		if !strings.HasSuffix(href, "/") {
			href += "/"
		}
		return &res{kind: kindRoot, href: href}, true
	case kindPrincipal:
		return &res{kind: kindPrincipal, href: h.principalHref(rq.user)}, true
	case kindHome:
		return &res{kind: kindHome, href: h.homeHref(rq.user)}, true
	}
	b, ok := rq.loadBook()
	if !ok {
		return nil, false
	}
	if rq.rt.kind == kindBook {
		return &res{kind: kindBook, href: h.bookHref(rq.user, b.Name), book: &b}, true
	}
	m, err := h.db.GetCards(rq.ctx, b.ID, []string{rq.rt.href})
	if err != nil {
		rq.fail(err)
		return nil, false
	}
	c, found := m[rq.rt.href]
	if !found {
		http.Error(rq.w, "not found", http.StatusNotFound)
		return nil, false
	}
	return &res{kind: kindCard, href: h.cardHref(rq.user, b.Name, c.Href), book: &b, card: &c}, true
}

// eachMember calls fn for each member of collection r, reading a book's
// cards in bounded batches (state.DB.EachCard), with their data when
// withData. An error of fn ends the walk and is returned.
func (rq *request) eachMember(r *res, withData bool, fn func(*res) error) error {
	h := rq.h
	switch r.kind {
	case kindHome:
		books, err := h.db.AddressBooks(rq.ctx, rq.user)
		if err != nil {
			return err
		}
		for i := range books {
			if err := fn(&res{kind: kindBook, href: h.bookHref(rq.user, books[i].Name), book: &books[i]}); err != nil {
				return err
			}
		}
	case kindBook:
		return h.db.EachCard(rq.ctx, r.book.ID, withData, func(c state.Card) error {
			return fn(&res{kind: kindCard, href: h.cardHref(rq.user, r.book.Name, c.Href), book: r.book, card: &c})
		})
	}
	return nil
}

// propfind serves PROPFIND (Depth 0 and 1).
func (rq *request) propfind() {
	root, err := rq.readXML()
	if err != nil {
		rq.refuseBody(err)
		return
	}
	if root != nil && !root.Is(davxml.DAV("propfind")) {
		rq.badRequest("the body is not a DAV:propfind")
		return
	}
	pr := parsePropReq(root)
	depth := strings.TrimSpace(rq.r.Header.Get("Depth"))
	if depth == "" {
		// RFC 4918 reads a missing Depth as infinity; clients that omit it
		// (Apple on the home set) want the collection and its members, so
		// a missing Depth is capped at 1 rather than refused.
		if rq.rt.kind == kindCard {
			depth = "0"
		} else {
			depth = "1"
		}
	}
	switch strings.ToLower(depth) {
	case "0", "1":
	case "infinity":
		rq.writeError(http.StatusForbidden, "", davxml.Empty(davxml.DAV("propfind-finite-depth")))
		return
	default:
		rq.badRequest("invalid Depth header")
		return
	}
	t, ok := rq.target(false)
	if !ok {
		return
	}
	m := rq.newMultistatus()
	if err := m.add(t.href, rq.propsOf(t, pr)...); err != nil {
		m.fail(err)
		return
	}
	if depth == "1" {
		err := rq.eachMember(t, pr.needsData(), func(c *res) error {
			return m.add(c.href, rq.propsOf(c, pr)...)
		})
		if err != nil {
			m.fail(err)
			return
		}
	}
	m.done("")
}

// proppatch serves PROPPATCH: displayname and addressbook-description of a
// book, Apple's me-card on the home set (accepted, not stored); anything
// else is refused with 403 (and the rest of the request with 424).
func (rq *request) proppatch() {
	root, err := rq.readXML()
	if err != nil {
		rq.refuseBody(err)
		return
	}
	if root == nil || !root.Is(davxml.DAV("propertyupdate")) {
		rq.badRequest("the body is not a DAV:propertyupdate")
		return
	}
	t, ok := rq.target(false)
	if !ok {
		return
	}
	if t.book != nil && t.book.ReadOnly {
		rq.refusePrivilege(t.href, "write-properties")
		return
	}
	var book state.AddressBook
	if t.book != nil {
		book = *t.book
	}
	var allowed, refused []*davxml.Element
	for _, op := range root.Children {
		set := op.Is(davxml.DAV("set"))
		if !set && !op.Is(davxml.DAV("remove")) {
			continue
		}
		for _, p := range op.Child(davxml.DAV("prop")).ChildrenOrNil() {
			value := ""
			if set {
				value = strings.TrimSpace(p.Text)
			}
			switch {
			case t.kind == kindBook && p.Is(davxml.DAV("displayname")):
				book.DisplayName = value
			case t.kind == kindBook && p.Is(davxml.CardDAV("addressbook-description")):
				book.Description = value
			case t.kind == kindHome && p.Is(davxml.CS("me-card")):
				// Accepted so that Apple carries on; not stored.
			default:
				refused = append(refused, davxml.Empty(p.Name))
				continue
			}
			allowed = append(allowed, davxml.Empty(p.Name))
		}
	}
	m := rq.newMultistatus()
	if len(refused) > 0 {
		m.add(t.href, davxml.PropGroup{Status: http.StatusForbidden, Props: refused},
			davxml.PropGroup{Status: http.StatusFailedDependency, Props: allowed})
		m.done("")
		return
	}
	if t.kind == kindBook && len(allowed) > 0 {
		if err := rq.h.db.UpdateAddressBook(rq.ctx, book.ID, book.DisplayName, book.Description); err != nil {
			rq.fail(err)
			return
		}
		rq.changed(book.Name)
	}
	m.add(t.href, davxml.PropGroup{Status: http.StatusOK, Props: allowed})
	m.done("")
}

// mkcol serves MKCOL and extended MKCOL (RFC 5689) of an address book.
func (rq *request) mkcol() {
	root, err := rq.readXML()
	if err != nil {
		rq.refuseBody(err)
		return
	}
	switch rq.rt.kind {
	case kindBook:
	case kindCard:
		if b, err := rq.h.db.AddressBook(rq.ctx, rq.user, rq.rt.book); err == nil && b.ReadOnly {
			rq.refusePrivilege(rq.h.bookHref(rq.user, b.Name), "bind")
			return
		}
		rq.writeError(http.StatusForbidden, "", davxml.Empty(davxml.DAV("resource-must-be-null")))
		return
	default:
		rq.w.Header().Set("Allow", allowHeader)
		http.Error(rq.w, "the collection exists", http.StatusMethodNotAllowed)
		return
	}
	displayName, description := rq.rt.book, ""
	if root != nil {
		if !root.Is(davxml.DAV("mkcol")) {
			http.Error(rq.w, "unsupported MKCOL body", http.StatusUnsupportedMediaType)
			return
		}
		for _, set := range root.Children {
			if !set.Is(davxml.DAV("set")) {
				continue
			}
			for _, p := range set.Child(davxml.DAV("prop")).ChildrenOrNil() {
				switch {
				case p.Is(davxml.DAV("resourcetype")):
					if p.Child(davxml.CardDAV("addressbook")) == nil {
						rq.writeError(http.StatusForbidden, "", davxml.Empty(davxml.DAV("valid-resourcetype")))
						return
					}
				case p.Is(davxml.DAV("displayname")):
					displayName = strings.TrimSpace(p.Text)
				case p.Is(davxml.CardDAV("addressbook-description")):
					description = strings.TrimSpace(p.Text)
				}
			}
		}
	}
	_, err = rq.h.db.CreateAddressBook(rq.ctx, rq.user, rq.rt.book, displayName, description)
	switch {
	case errors.Is(err, state.ErrExists):
		rq.w.Header().Set("Allow", allowHeader)
		http.Error(rq.w, "the address book exists", http.StatusMethodNotAllowed)
		return
	case errors.Is(err, state.ErrNotFound):
		http.Error(rq.w, "no such user", http.StatusConflict)
		return
	case err != nil && strings.Contains(err.Error(), "not allowed"):
		http.Error(rq.w, err.Error(), http.StatusForbidden)
		return
	case err != nil:
		rq.fail(err)
		return
	}
	rq.changed(rq.rt.book)
	rq.w.Header().Set("Location", rq.h.bookHref(rq.user, rq.rt.book))
	rq.w.WriteHeader(http.StatusCreated)
}
