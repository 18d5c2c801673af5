package server

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/cardbridge/cardbridge/carddav/davxml"
)

// cardNameProblem says why name cannot be the name of a new card ("" when
// it can): it must be UTF-8 without control characters (C0, DEL, C1),
// which a client, a log line or a terminal showing the name would
// otherwise receive as they are.
func cardNameProblem(name string) string {
	if !utf8.ValidString(name) {
		return fmt.Sprintf("the card name %q is not valid UTF-8", name)
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return fmt.Sprintf("the card name %q holds the control character %U", name, r)
		}
	}
	return ""
}

// nameProblem says why s cannot name a user, book or card ("" when it
// can): it must be UTF-8 without NUL, which is all PostgreSQL's text holds.
// No resource is named otherwise on any backend, so such a path answers
// 404 without asking the store (on PostgreSQL the query itself would fail),
// and a MKCOL or PUT creating one is refused.
func nameProblem(kind, s string) string {
	if !utf8.ValidString(s) {
		return fmt.Sprintf("the %s name %q is not valid UTF-8", kind, s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Sprintf("the %s name %q holds the control character U+0000", kind, s)
	}
	return ""
}

// utf8Problem says why data, a card's body, is not UTF-8 ("" when it is):
// the first invalid byte and its offset.
func utf8Problem(data []byte) string {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return fmt.Sprintf("the card is not valid UTF-8: byte 0x%02x at offset %d (vCards are UTF-8, RFC 6350 §3.1)", data[i], i)
		}
		i += n
	}
	return ""
}

// refuseCardName answers 400 with the reason when the route's card name
// cannot be stored (see cardNameProblem), and reports whether it did.
func (rq *request) refuseCardName() bool {
	msg := cardNameProblem(rq.rt.href)
	if msg == "" {
		return false
	}
	http.Error(rq.w, msg, http.StatusBadRequest)
	return true
}

// refuseNonUTF8 answers 400 valid-address-data with the reason when data
// is not UTF-8, and reports whether it did.
func (rq *request) refuseNonUTF8(data []byte) bool {
	msg := utf8Problem(data)
	if msg == "" {
		return false
	}
	rq.writeError(http.StatusBadRequest, msg, davxml.Empty(davxml.CardDAV("valid-address-data")))
	return true
}
