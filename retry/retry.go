// Package retry is the one retry and pacing rule of cardbridge's outgoing
// HTTP: the CardDAV client (side/carddav) and the Graph client (o365/graph)
// both ask it whether a request may be sent again (Idempotent), how long
// a server asked them to wait (After: Retry-After as seconds or an HTTP
// date), how long to back off when it did not (Backoff: capped,
// exponential, jittered), and wait with Sleep, which a cancelled context
// ends. The in-flight limits stay with each client (a CardDAV server's
// connection cap, Graph's 4 requests per mailbox), as they count
// different things.
package retry

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxAfter caps a Retry-After read as seconds (about 11.5 days): a larger
// or absurd value is read as this, and the caller's own cap applies.
const maxAfter = 1e6

// Idempotent reports whether a request may be sent again after a failure
// that may have reached the server (a 5xx, a reset, a timeout): the safe
// methods (GET, HEAD, OPTIONS, and WebDAV's PROPFIND and REPORT), PUT, and
// DELETE or PATCH with an If-Match precondition (a repeat finds the
// version changed and fails, instead of applying twice). POST and MKCOL
// are not; a request that never reached the server may always go again,
// which the caller knows, not this rule.
func Idempotent(method string, hdr http.Header) bool {
	switch strings.ToUpper(method) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, "PROPFIND", "REPORT":
		return true
	case http.MethodDelete, http.MethodPatch:
		return hdr.Get("If-Match") != ""
	}
	return false
}

// After reads a Retry-After value: delay-seconds (fractions accepted, as
// some servers send them) or an HTTP date, relative to now. ok is false
// when v is empty or neither form; a negative number or a date in the
// past is a wait of 0.
func After(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || math.IsNaN(s) {
			return 0, true
		}
		return time.Duration(min(s, maxAfter) * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Backoff is the pause before retry n (0 for the first) when the server
// gave no Retry-After: base·2ⁿ, at most limit, then jittered down by up to
// half with j in [0, 1) (a j outside it counts as 0.5), so that clients
// failing together do not retry together.
func Backoff(n int, base, limit time.Duration, j float64) time.Duration {
	d := limit
	if n >= 0 && n < 32 && base<<n > 0 {
		d = min(base<<n, limit)
	}
	if j < 0 || j >= 1 || math.IsNaN(j) {
		j = 0.5
	}
	return d/2 + time.Duration(j*float64(d/2))
}

// Sleep waits d, or until ctx ends, when it returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
