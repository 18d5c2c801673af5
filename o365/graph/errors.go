package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/retry"
)

// Error is an error answer of Graph (status ≥ 400), built from its error
// envelope {"error":{"code","message","innerError":{…}}}. Branch on Status
// and Code (through IsNotFound, IsPrecondition, IsGone, IsThrottled), never
// on Message.
type Error struct {
	// Status is the HTTP status of the answer (or of the batch
	// sub-response).
	Status int
	// Code is Graph's error code, e.g. "ErrorItemNotFound".
	Code string
	// Message is Graph's error message (never holds the bearer token).
	Message string
	// RetryAfter is the answer's Retry-After, 0 when it had none.
	RetryAfter time.Duration
	// RequestID is innerError's request-id, for support requests.
	RequestID string
	// Method and Path name the request (Path without its query).
	Method, Path string
}

// Error describes the error: "graph: GET /v1.0/me/contacts/x: 404 ErrorItemNotFound: …".
func (e *Error) Error() string {
	if e.Method != "" {
		return "graph: " + e.Method + " " + e.Path + ": " + e.detail()
	}
	return "graph: " + e.detail()
}

// detail is the error without the request: "404 ErrorItemNotFound: …".
func (e *Error) detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RequestID != "" {
		b.WriteString(" [request-id " + e.RequestID + "]")
	}
	return b.String()
}

// newError builds an *Error from an answer's status, headers and body;
// secret (the token used) is scrubbed from the message.
func newError(method, path string, status int, h http.Header, body []byte, secret string) *Error {
	e := &Error{Status: status, Method: method, Path: path}
	if h != nil {
		e.RetryAfter, _ = retry.After(h.Get("Retry-After"), time.Now())
	}
	var env api.ErrorBody
	if err := json.Unmarshal(body, &env); err == nil && (env.Error.Code != "" || env.Error.Message != "") {
		e.Code = env.Error.Code
		e.Message = env.Error.Message
		if env.Error.InnerError != nil {
			e.RequestID = env.Error.InnerError.RequestID
		}
	} else if len(body) > 0 {
		m := strings.TrimSpace(string(body))
		if len(m) > 200 {
			m = m[:200] + "…"
		}
		e.Message = m
	}
	e.Message = scrub(e.Message, secret)
	return e
}

// scrub removes secret from s.
func scrub(s, secret string) string {
	if secret == "" || !strings.Contains(s, secret) {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}

// asError finds a *Error in err's chain.
func asError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// IsNotFound reports whether err is a 404 answer (ErrorItemNotFound,
// itemNotFound, ResourceNotFound, …).
func IsNotFound(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	if e.Status == http.StatusNotFound {
		return true
	}
	switch strings.ToLower(e.Code) {
	case "erroritemnotfound", "itemnotfound", "resourcenotfound":
		return true
	}
	return false
}

// IsPrecondition reports whether err is a 412 answer: the If-Match change
// key is stale (ErrorIrresolvableConflict).
func IsPrecondition(err error) bool {
	e, ok := asError(err)
	return ok && (e.Status == http.StatusPreconditionFailed ||
		(e.Status == http.StatusConflict && strings.EqualFold(e.Code, "ErrorIrresolvableConflict")))
}

// IsGone reports whether err says a delta link (or a nextLink in the
// middle of a round) expired: 410, or the codes SyncStateNotFound,
// ResyncRequired and SyncStateInvalid in any case. The caller starts a new
// round without a link.
func IsGone(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	if e.Status == http.StatusGone {
		return true
	}
	switch strings.ToLower(e.Code) {
	case "syncstatenotfound", "resyncrequired", "syncstateinvalid":
		return true
	}
	return false
}

// ContactError is an error about one contact of one account: it names the
// account (its name in the configuration), the mailbox, the operation, the
// contact's display name when known and its id, around the cause (often an
// *Error, which carries the status, Microsoft's code and the request id).
type ContactError struct {
	// Account is the configured account's name ("" when unknown).
	Account string
	// Mailbox is the mailbox the request acted for.
	Mailbox string
	// Op is the operation: "read", "create", "update", "delete", "photo".
	Op string
	// ContactID is Graph's id of the contact ("" for a create).
	ContactID string
	// DisplayName is the contact's display name when known.
	DisplayName string
	// Err is the cause.
	Err error
}

// Error reads: `o365 account "work" (mailbox a@b): update contact "Ann Lee" (id AAMk…): graph: …`.
func (e *ContactError) Error() string {
	var b strings.Builder
	b.WriteString("o365")
	if e.Account != "" {
		fmt.Fprintf(&b, " account %q", e.Account)
	}
	if e.Mailbox != "" {
		fmt.Fprintf(&b, " (mailbox %s)", e.Mailbox)
	}
	b.WriteString(": " + e.Op + " contact")
	if e.DisplayName != "" {
		fmt.Fprintf(&b, " %q", e.DisplayName)
	}
	if e.ContactID != "" {
		fmt.Fprintf(&b, " (id %s)", e.ContactID)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is/As and IsNotFound etc. see it.
func (e *ContactError) Unwrap() error { return e.Err }
