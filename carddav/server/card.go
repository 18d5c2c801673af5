package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

const vcardType = "text/vcard; charset=utf-8"

// acceptVersion is the vCard version an Accept header asks for: 4.0 when a
// text/vcard;version=4.0 range is preferred, 3.0 otherwise.
func acceptVersion(accept string) string {
	best, bestQ := vcard.V30, -1.0
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
		v := vcard.V30
		if params["version"] == vcard.V40 {
			v = vcard.V40
		}
		if q > 0 && q > bestQ {
			best, bestQ = v, q
		}
	}
	return best
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
	h.Set("Vary", "Accept")
	if inm := rq.r.Header.Get("If-None-Match"); inm != "" && etagListHas(inm, t.card.ETag) {
		rq.w.WriteHeader(http.StatusNotModified)
		return
	}
	data := render(t.card.Data, acceptVersion(rq.r.Header.Get("Accept")))
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
	if rq.r.ContentLength > rq.h.maxSize {
		rq.writeError(http.StatusRequestEntityTooLarge, "<C:max-resource-size/>")
		return
	}
	data, err := io.ReadAll(io.LimitReader(rq.r.Body, rq.h.maxSize+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rq.writeError(http.StatusRequestEntityTooLarge, "<C:max-resource-size/>")
			return
		}
		rq.badRequest("reading the body: " + err.Error())
		return
	}
	if int64(len(data)) > rq.h.maxSize {
		rq.writeError(http.StatusRequestEntityTooLarge, "<C:max-resource-size/>")
		return
	}
	if rq.refuseNonUTF8(data) {
		return
	}
	if ct := rq.r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt != "text/vcard" && mt != "text/x-vcard" &&
			mt != "text/directory" && mt != "text/plain" && mt != "application/octet-stream" {
			rq.writeError(http.StatusUnsupportedMediaType, "<C:supported-address-data/>")
			return
		}
	}
	card, err := vcard.Parse(data)
	if err != nil {
		rq.writeError(http.StatusBadRequest, "<C:valid-address-data/><D:responsedescription>"+esc(err.Error())+"</D:responsedescription>")
		return
	}
	b, err := rq.h.db.AddressBook(rq.ctx, rq.user, rq.rt.book)
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			http.Error(rq.w, "no such address book", http.StatusConflict)
			return
		}
		rq.fail(err)
		return
	}
	etag, created, err := rq.h.db.PutCard(rq.ctx, b.ID, rq.rt.href, card.UID(), data, rq.precondition())
	var uc *state.UIDConflictError
	switch {
	case errors.As(err, &uc):
		rq.writeError(http.StatusConflict, "<C:no-uid-conflict>"+hrefElem(rq.h.cardHref(rq.user, b.Name, uc.Href))+"</C:no-uid-conflict>")
		return
	case errors.Is(err, state.ErrPreconditionFailed):
		http.Error(rq.w, "precondition failed", http.StatusPreconditionFailed)
		return
	case err != nil:
		rq.fail(err)
		return
	}
	rq.changed(b.Name)
	rq.w.Header().Set("ETag", `"`+etag+`"`)
	if created {
		rq.w.Header().Set("Location", rq.h.cardHref(rq.user, b.Name, rq.rt.href))
		rq.w.WriteHeader(http.StatusCreated)
		return
	}
	rq.w.WriteHeader(http.StatusNoContent)
}

// delete serves DELETE of a card or an address book.
func (rq *request) delete() {
	switch rq.rt.kind {
	case kindCard:
		b, ok := rq.loadBook()
		if !ok {
			return
		}
		err := rq.h.db.DeleteCard(rq.ctx, b.ID, rq.rt.href, rq.precondition())
		switch {
		case errors.Is(err, state.ErrPreconditionFailed):
			http.Error(rq.w, "precondition failed", http.StatusPreconditionFailed)
			return
		case err != nil:
			rq.fail(err)
			return
		}
		rq.changed(b.Name)
	case kindBook:
		b, ok := rq.loadBook()
		if !ok {
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
