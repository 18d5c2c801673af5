package server

// Read-only address books (state.AddressBook.ReadOnly): books the system
// keeps for its users to read, such as the organisation directory. A
// client's write to one — PUT or DELETE of a card, PROPPATCH of the book or
// a card, MKCOL inside it, DELETE of the book — answers 403 with a DAV:error
// holding DAV:need-privileges (RFC 3744 §7.1.1) that names the resource and
// the privilege the write needs, and changes nothing; the book's and its
// cards' DAV:current-user-privilege-set list the read privileges only, which
// is how iOS, DAVx5 and Thunderbird learn to show it as read-only. GET,
// PROPFIND and the reports work as on any book. (The server has no MOVE or
// COPY: they answer 405 on every book.)

import (
	"net/http"

	"github.com/cardbridge/cardbridge/carddav/davxml"
	"github.com/cardbridge/cardbridge/state"
)

// readOnlyAllowHeader is the Allow header of a read-only book and its cards.
const readOnlyAllowHeader = "OPTIONS, GET, HEAD, PROPFIND, REPORT"

// allowed is the Allow header of OPTIONS on the route: the read methods
// only in a read-only book (and when the book cannot be read, as for any
// other path, every method the server has).
func (rq *request) allowed() string {
	if rq.rt.kind == kindBook || rq.rt.kind == kindCard {
		if b, err := rq.h.db.AddressBook(rq.ctx, rq.user, rq.rt.book); err == nil && b.ReadOnly {
			return readOnlyAllowHeader
		}
	}
	return allowHeader
}

// readPrivileges is the DAV:current-user-privilege-set of a read-only
// book and of its cards.
var readPrivileges = []string{"read", "read-current-user-privilege-set"}

// refusePrivilege answers 403 with a DAV:error saying that the user lacks
// privilege (a DAV: privilege, e.g. "write-content") on the resource href.
func (rq *request) refusePrivilege(href, privilege string) {
	rq.writeError(http.StatusForbidden, "the address book is read-only",
		davxml.Elem(davxml.DAV("need-privileges"),
			davxml.Elem(davxml.DAV("resource"), davxml.Href(href),
				davxml.Elem(davxml.DAV("privilege"), davxml.Empty(davxml.DAV(privilege))))))
}

// refuseReadOnlyPut answers a PUT of the route's card into read-only book
// b: it needs DAV:write-content on the card when it exists, DAV:bind on
// the book when it would be created.
func (rq *request) refuseReadOnlyPut(b state.AddressBook) {
	m, err := rq.h.db.GetCards(rq.ctx, b.ID, []string{rq.rt.href})
	if err != nil {
		rq.fail(err)
		return
	}
	if _, exists := m[rq.rt.href]; exists {
		rq.refusePrivilege(rq.h.cardHref(rq.user, b.Name, rq.rt.href), "write-content")
		return
	}
	rq.refusePrivilege(rq.h.bookHref(rq.user, b.Name), "bind")
}
