package server

import (
	"bytes"
	"errors"
	"github.com/cardbridge/cardbridge/carddav/davxml"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

const vcardType = "text/vcard; charset=utf-8"

// acceptVersion is the vCard version an Accept header asks for: the version
// parameter of the text/vcard range it prefers most, or "" when that range
// names no version (or there is none): the client did not ask.
func acceptVersion(accept string) string {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || (mt != "text/vcard" && mt != "text/x-vcard") {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				q = f
			}
		}
		v := ""
		switch strings.TrimSpace(params["version"]) {
		case vcard.V40:
			v = vcard.V40
		case vcard.V30:
			v = vcard.V30
		}
		if q > 0 && q > bestQ {
			best, bestQ = v, q
		}
	}
	return best
}

// needsV30 reports whether a User-Agent is one of Apple's Contacts clients
// (iOS dataaccessd/accountsd, macOS AddressBook/Contacts with its CardDAV
// plugin), which read only vCard 3.0 and never ask for a version: a 4.0
// card makes macOS fail the whole sync.
func needsV30(ua string) bool {
	if strings.HasPrefix(ua, "iOS/") || strings.HasPrefix(ua, "macOS/") {
		return true
	}
	for _, s := range [...]string{"dataaccessd", "accountsd", "AddressBook", "CardDAVPlugin", "CoreDAV", "Mac OS X/", "Mac_OS_X/"} {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}

// readsV40Only reports whether a User-Agent is Thunderbird's: its address
// book reads vCards with ical.js, which follows RFC 6350's grammar and
// keeps the backslash of a 3.0 \; (FN:Doe\; Jane shows as "Doe\; Jane"),
// so it is served 4.0, where ';' in text is written bare.
func readsV40Only(ua string) bool { return strings.Contains(ua, "Thunderbird/") }

// version is the vCard version to serve a card stored in stored (V21, V30
// or V40) in, when the client asked for asked ("" when it did not): what it
// asked for; else 3.0 for Apple's clients and 4.0 for Thunderbird; else the
// stored version (3.0 for 2.1, which is never served), so that a card
// comes back in the version its writer used.
func (rq *request) version(asked, stored string) string {
	ua := rq.r.Header.Get("User-Agent")
	switch {
	case asked != "":
		return asked
	case needsV30(ua):
		return vcard.V30
	case readsV40Only(ua), stored == vcard.V40:
		return vcard.V40
	}
	return vcard.V30
}

// cleanBody returns a PUT body as it is stored: without a UTF-8 byte order
// mark, every line ending in CRLF (bare LF ends, or CR ends in a body
// without LF, rewritten), without blank lines, with a final CRLF. A 2.1
// card (never served: the server offers 3.0 and 4.0) is stored as its 3.0
// form, and a body whose lines cannot be cleaned without changing the card
// as vcard.Parse read it (a bare CR inside a line of an LF body is a
// newline in a value) is stored as the card's encoding.
func cleanBody(data []byte, card *vcard.Card) []byte {
	if card.Version == vcard.V21 {
		return card.Export(vcard.V30).Encode()
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	crlf := bytes.Count(data, []byte("\r\n"))
	lf, cr := bytes.Count(data, []byte("\n")), bytes.Count(data, []byte("\r"))
	if crlf == lf && crlf == cr && bytes.HasSuffix(data, []byte("\r\n")) &&
		!bytes.HasPrefix(data, []byte("\r\n")) && !bytes.Contains(data, []byte("\r\n\r\n")) {
		return data // already clean
	}
	if lf > 0 && cr > crlf {
		return card.Encode()
	}
	out := make([]byte, 0, len(data)+len(data)/32+2)
	for len(data) > 0 {
		i := bytes.IndexAny(data, "\r\n")
		line := data
		if i >= 0 {
			line = data[:i]
			if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			data = data[i+1:]
		} else {
			data = nil
		}
		if len(line) > 0 {
			out = append(append(out, line...), '\r', '\n')
		}
	}
	if c, err := vcard.Parse(out); err != nil || c.Hash() != card.Hash() || c.UID() != card.UID() {
		return card.Encode()
	}
	return out
}

// get serves GET and HEAD of a card (collections answer a short text).
func (rq *request) get() {
	if rq.rt.kind != kindCard {
		rq.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(rq.w, "cardbridge CardDAV server\n")
		return
	}
	t, ok := rq.target(true)
	if !ok {
		return
	}
	etag := `"` + t.card.ETag + `"`
	h := rq.w.Header()
	h.Set("ETag", etag)
	h.Set("Last-Modified", t.card.Modified.UTC().Format(http.TimeFormat))
	h.Set("Vary", "Accept, User-Agent")
	if inm := rq.r.Header.Get("If-None-Match"); inm != "" && etagListHas(inm, t.card.ETag) {
		rq.w.WriteHeader(http.StatusNotModified)
		return
	}
	data := rq.render(t.card.Data, acceptVersion(rq.r.Header.Get("Accept")))
	h.Set("Content-Type", vcardType)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	rq.w.WriteHeader(http.StatusOK)
	if rq.r.Method != http.MethodHead {
		rq.w.Write(data)
	}
}

// etagListHas reports whether an If-None-Match/If-Match value lists etag
// (or is "*").
func etagListHas(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		if e == "*" || strings.TrimPrefix(e, "W/") == `"`+etag+`"` {
			return true
		}
	}
	return false
}

// precondition reads If-Match and If-None-Match. An If-Match value that is
// no strong etag never matches.
func (rq *request) precondition() state.Precondition {
	var pre state.Precondition
	if im := strings.TrimSpace(rq.r.Header.Get("If-Match")); im != "" {
		first, _, _ := strings.Cut(im, ",")
		first = strings.TrimSpace(first)
		switch {
		case first == "*":
			pre.IfMatch = "*"
		case len(first) >= 2 && first[0] == '"' && first[len(first)-1] == '"':
			pre.IfMatch = first[1 : len(first)-1]
		default:
			pre.IfMatch = "\x00never" // weak or malformed: no strong match
		}
		if pre.IfMatch == "" {
			pre.IfMatch = "\x00never"
		}
	}
	if strings.TrimSpace(rq.r.Header.Get("If-None-Match")) == "*" {
		pre.IfNoneMatch = true
	}
	return pre
}

// put serves PUT of a card.
func (rq *request) put() {
	if rq.rt.kind != kindCard {
		rq.w.Header().Set("Allow", allowHeader)
		http.Error(rq.w, "PUT is for cards", http.StatusMethodNotAllowed)
		return
	}
	if rq.refuseCardName() {
		return
	}
	b, bookErr := rq.h.db.AddressBook(rq.ctx, rq.user, rq.rt.book)
	if bookErr == nil && b.ReadOnly {
		rq.refuseReadOnlyPut(b)
		return
	}
	if rq.r.ContentLength > rq.h.maxSize {
		rq.writeError(http.StatusRequestEntityTooLarge, "", davxml.Empty(davxml.CardDAV("max-resource-size")))
		return
	}
	data, err := io.ReadAll(io.LimitReader(rq.r.Body, rq.h.maxSize+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rq.writeError(http.StatusRequestEntityTooLarge, "", davxml.Empty(davxml.CardDAV("max-resource-size")))
			return
		}
		rq.badRequest("reading the body: " + err.Error())
		return
	}
	if int64(len(data)) > rq.h.maxSize {
		rq.writeError(http.StatusRequestEntityTooLarge, "", davxml.Empty(davxml.CardDAV("max-resource-size")))
		return
	}
	if rq.refuseNonUTF8(data) {
		return
	}
	if ct := rq.r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt != "text/vcard" && mt != "text/x-vcard" &&
			mt != "text/directory" && mt != "text/plain" && mt != "application/octet-stream" {
			rq.writeError(http.StatusUnsupportedMediaType, "", davxml.Empty(davxml.CardDAV("supported-address-data")))
			return
		}
	}
	card, err := vcard.Parse(data)
	if err != nil {
		rq.writeError(http.StatusBadRequest, err.Error(), davxml.Empty(davxml.CardDAV("valid-address-data")))
		return
	}
	if err := bookErr; err != nil {
		if errors.Is(err, state.ErrNotFound) {
			http.Error(rq.w, "no such address book", http.StatusConflict)
			return
		}
		rq.fail(err)
		return
	}
	stored := cleanBody(data, card)
	etag, created, err := rq.h.db.PutCard(rq.ctx, b.ID, rq.rt.href, card.UID(), stored, rq.precondition())
	var uc *state.UIDConflictError
	if errors.As(err, &uc) {
		rq.writeError(http.StatusConflict, "", davxml.HrefProp(davxml.CardDAV("no-uid-conflict"), rq.h.cardHref(rq.user, b.Name, uc.Href)))
		return
	}
	if rq.failedWrite(err) {
		return
	}
	rq.changed(b.Name)
	if bytes.Equal(stored, data) {
		// A strong ETag in a PUT answer says the stored card is the body
		// (RFC 4918 9.7.1, RFC 6352 6.3.2.3); when it is not, the client
		// reads the card back for its ETag.
		rq.w.Header().Set("ETag", `"`+etag+`"`)
	}
	if created {
		rq.w.Header().Set("Location", rq.h.cardHref(rq.user, b.Name, rq.rt.href))
		rq.w.WriteHeader(http.StatusCreated)
		return
	}
	rq.w.WriteHeader(http.StatusNoContent)
}

// failedWrite answers the error of a card's PUT or DELETE and reports
// whether there was one: 412 when the request's precondition does not hold,
// else as rq.fail does.
func (rq *request) failedWrite(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, state.ErrPreconditionFailed):
		http.Error(rq.w, "precondition failed", http.StatusPreconditionFailed)
	case errors.Is(err, state.ErrReadOnly):
		// made read-only since the request read the book
		if rq.r.Method == http.MethodDelete {
			rq.refusePrivilege(rq.h.bookHref(rq.user, rq.rt.book), "unbind")
		} else {
			rq.refusePrivilege(rq.h.cardHref(rq.user, rq.rt.book, rq.rt.href), "write-content")
		}
	default:
		rq.fail(err)
	}
	return true
}

// delete serves DELETE of a card or an address book.
func (rq *request) delete() {
	switch rq.rt.kind {
	case kindCard:
		b, ok := rq.loadBook()
		if !ok {
			return
		}
		if b.ReadOnly {
			// DELETE needs DAV:unbind on the parent (RFC 3744 §7.1.1)
			rq.refusePrivilege(rq.h.bookHref(rq.user, b.Name), "unbind")
			return
		}
		if rq.failedWrite(rq.h.db.DeleteCard(rq.ctx, b.ID, rq.rt.href, rq.precondition())) {
			return
		}
		rq.changed(b.Name)
	case kindBook:
		b, ok := rq.loadBook()
		if !ok {
			return
		}
		if b.ReadOnly {
			rq.refusePrivilege(rq.h.homeHref(rq.user), "unbind")
			return
		}
		if err := rq.h.db.DeleteAddressBook(rq.ctx, b.ID); err != nil {
			rq.fail(err)
			return
		}
		rq.changed(b.Name)
	default:
		http.Error(rq.w, "this collection cannot be deleted", http.StatusForbidden)
		return
	}
	rq.w.WriteHeader(http.StatusNoContent)
}
