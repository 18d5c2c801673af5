// Package server is cardbridge's built-in CardDAV server (RFC 6352), with
// WebDAV sync (RFC 6578), the CalendarServer getctag, extended MKCOL
// (RFC 5689) and vCard 3.0/4.0 negotiation, serving the users, address books
// and cards of the state database (state.DB) to iOS/macOS Contacts, DAVx5,
// Thunderbird, Evolution and vdirsyncer.
//
// URL layout, relative to Options.Prefix:
//
//	/.well-known/carddav                  301 to / (no authentication)
//	/ and /principals/                    lead to the user's principal
//	/principals/<user>/                   principal
//	/addressbooks/<user>/                 address book home set
//	/addressbooks/<user>/<book>/          address book
//	/addressbooks/<user>/<book>/<href>    card (href as stored, e.g. <uid>.vcf)
//
// Every path but the well-known redirect needs HTTP Basic authentication
// against the users' bcrypt hashes, checked by an authguard.Guard (shared
// with the web page): wrong passwords back off per client and per user and
// get 429 with Retry-After when too early, 503 when too many compares are
// waiting. A user reaches only their own principal, home set, books and
// cards (other users' paths answer 404).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/state"
)

// Options configure the handler New returns.
type Options struct {
	// Store holds the users, address books and cards served. Required.
	Store Store
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// MaxResourceSize is the largest card a PUT may store (default 1 MiB);
	// a larger one is refused with 413 and the max-resource-size
	// precondition. Request bodies are limited to twice this size.
	MaxResourceSize int64
	// OnChange, when not nil, is called after a client changed a book of
	// user (PUT or DELETE of a card, MKCOL, PROPPATCH or DELETE of a book).
	OnChange func(user, book string)
	// Guard checks the Basic credentials (backoff, bounded bcrypt, the
	// failure log) through Guard.CheckDevice, so that a user's app
	// passwords are taken as well as their password when the guard has
	// Options.AppPasswords; nil makes one with authguard's defaults over
	// Store (with Store's app passwords when it has them, as *state.DB).
	// serve shares one between the CardDAV server and the web page.
	Guard *authguard.Guard
	// FailedLoginDelay is a fixed pause before answering a request whose
	// credentials are wrong, on top of the Guard's backoff (default none;
	// the backoff is what slows guessing).
	FailedLoginDelay time.Duration
	// Prefix is the URL path the handler is mounted at ("" for the root),
	// e.g. "/dav"; every path of the layout is below it.
	Prefix string
	// MaxMultigetHrefs is the most href elements an addressbook-multiget
	// may name (default DefaultMaxMultigetHrefs); more are refused with
	// 403 DAV:number-of-matches-within-limits and the limit in the text.
	MaxMultigetHrefs int
}

// DefaultMaxMultigetHrefs is the default of Options.MaxMultigetHrefs.
// vdirsyncer asks for every card it lacks in one multiget (it never
// splits them), so the default lets it download a 10,000-card book;
// cardbridge's own client asks for 100 at a time, DAVx5 and Thunderbird
// for fewer still. The answer is streamed and names each card once
// whatever the count, so the limit bounds a request's work, not memory.
const DefaultMaxMultigetHrefs = 10_000

const (
	defaultMaxResourceSize = 1 << 20
	// maxXMLDepth is the deepest element nesting accepted in a request body.
	maxXMLDepth = 64
	// syncTokenURI prefixes the store's sync tokens to make them the
	// absolute URIs RFC 6578 asks for.
	syncTokenURI = "http://cardbridge.invalid/sync/"
)

// handler is the http.Handler New returns.
type handler struct {
	db       Store
	log      *slog.Logger
	maxSize  int64
	onChange func(user, book string)
	delay    time.Duration
	prefix   string
	maxHrefs int
	guard    *authguard.Guard
}

// New returns the CardDAV handler serving o.Store.
func New(o Options) (http.Handler, error) {
	if o.Store == nil {
		return nil, errors.New("carddav server: no store")
	}
	h := &handler{
		db:       o.Store,
		log:      o.Logger,
		maxSize:  o.MaxResourceSize,
		onChange: o.OnChange,
		delay:    o.FailedLoginDelay,
		guard:    o.Guard,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.maxSize <= 0 {
		h.maxSize = defaultMaxResourceSize
	}
	if h.guard == nil {
		ao := authguard.Options{Hashes: o.Store, Logger: h.log}
		if ap, ok := o.Store.(authguard.AppPasswordSource); ok { // *state.DB: app passwords too
			ao.AppPasswords = ap
		}
		g, err := authguard.New(ao)
		if err != nil {
			return nil, fmt.Errorf("carddav server: %w", err)
		}
		h.guard = g
	}
	h.maxHrefs = o.MaxMultigetHrefs
	if h.maxHrefs <= 0 {
		h.maxHrefs = DefaultMaxMultigetHrefs
	}
	p := strings.TrimRight(o.Prefix, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if strings.ContainsAny(p, "?#") {
		return nil, fmt.Errorf("carddav server: invalid prefix %q", o.Prefix)
	}
	h.prefix = p
	return h, nil
}

// kind is the kind of resource a path names.
type kind int

const (
	kindRoot kind = iota // "/", "/principals/", "/addressbooks/"
	kindPrincipal
	kindHome
	kindBook
	kindCard
)

// route is a parsed request path.
type route struct {
	kind kind
	user string // the user named by the path ("" for kindRoot)
	book string
	href string
}

// parsePath splits the escaped path p (with the prefix) into a route.
func (h *handler) parsePath(p string) (route, bool) {
	if h.prefix != "" {
		if p == h.prefix {
			p = "/"
		} else if rest, ok := strings.CutPrefix(p, h.prefix+"/"); ok {
			p = "/" + rest
		} else {
			return route{}, false
		}
	}
	var segs []string
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if s == "" {
			continue
		}
		u, err := url.PathUnescape(s)
		if err != nil || u == "" || u == "." || u == ".." || strings.Contains(u, "/") {
			return route{}, false
		}
		segs = append(segs, u)
	}
	switch {
	case len(segs) == 0:
		return route{kind: kindRoot}, true
	case segs[0] == "principals" && len(segs) == 1:
		return route{kind: kindRoot}, true
	case segs[0] == "principals" && len(segs) == 2:
		return route{kind: kindPrincipal, user: segs[1]}, true
	case segs[0] == "addressbooks" && len(segs) == 1:
		return route{kind: kindRoot}, true
	case segs[0] == "addressbooks" && len(segs) == 2:
		return route{kind: kindHome, user: segs[1]}, true
	case segs[0] == "addressbooks" && len(segs) == 3:
		return route{kind: kindBook, user: segs[1], book: segs[2]}, true
	case segs[0] == "addressbooks" && len(segs) == 4:
		return route{kind: kindCard, user: segs[1], book: segs[2], href: segs[3]}, true
	}
	return route{}, false
}

// Hrefs of the layout (escaped, with the prefix).
func (h *handler) rootHref() string { return h.prefix + "/" }
func (h *handler) principalHref(user string) string {
	return h.prefix + "/principals/" + url.PathEscape(user) + "/"
}
func (h *handler) homeHref(user string) string {
	return h.prefix + "/addressbooks/" + url.PathEscape(user) + "/"
}
func (h *handler) bookHref(user, book string) string {
	return h.homeHref(user) + url.PathEscape(book) + "/"
}
func (h *handler) cardHref(user, book, href string) string {
	return h.bookHref(user, book) + url.PathEscape(href)
}

func (h *handler) isWellKnown(p string) bool {
	for _, base := range []string{"", h.prefix} {
		if p == base+"/.well-known/carddav" || p == base+"/.well-known/carddav/" {
			return true
		}
	}
	return false
}

const allowHeader = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT, MKCOL"

// ServeHTTP serves one request.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if h.isWellKnown(p) {
		http.Redirect(w, r, h.rootHref(), http.StatusMovedPermanently)
		return
	}
	user, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 2*h.maxSize)
	rt, ok := h.parsePath(p)
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if rt.kind != kindRoot && rt.user != user {
		// Another user's principal, home, books and cards do not exist for
		// this one.
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if msg := nameProblem("address book", rt.book); msg != "" {
		if r.Method == "MKCOL" && rt.kind == kindBook {
			http.Error(w, msg, http.StatusBadRequest)
		} else {
			http.Error(w, "not found", http.StatusNotFound)
		}
		return
	}
	if nameProblem("card", rt.href) != "" && r.Method != http.MethodPut {
		// PUT refuses the name with its reason (cardNameProblem).
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	rq := &request{h: h, w: w, r: r, ctx: r.Context(), user: user, rt: rt}
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("DAV", "1, 3, addressbook, extended-mkcol")
		w.Header().Set("Allow", rq.allowed())
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	case "PROPFIND":
		rq.propfind()
	case "PROPPATCH":
		rq.proppatch()
	case "REPORT":
		rq.report()
	case "MKCOL":
		rq.mkcol()
	case http.MethodGet, http.MethodHead:
		rq.get()
	case http.MethodPut:
		rq.put()
	case http.MethodDelete:
		rq.delete()
	default:
		w.Header().Set("Allow", allowHeader)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// authenticate checks the request's Basic credentials and returns the user,
// or answers 401 (wrong or missing credentials), 429 (too many failures:
// try after Retry-After) or 503 (too many checks waiting) and returns
// false.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="cardbridge", charset="UTF-8"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return "", false
	}
	// The user's password or one of their app passwords (the guard's
	// Options.AppPasswords), each checked anew: a revoked one fails here.
	d := h.guard.CheckDevice(r.Context(), h.guard.ClientAddr(r), "carddav", user, pass)
	switch d.Outcome {
	case authguard.OK:
		return user, true
	case authguard.Throttled:
		w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
		http.Error(w, "too many failed logins; try again later", http.StatusTooManyRequests)
		return "", false
	case authguard.Busy, authguard.Unavailable:
		w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
		http.Error(w, "too many logins being checked; try again later", http.StatusServiceUnavailable)
		return "", false
	}
	if h.delay > 0 {
		t := time.NewTimer(h.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="cardbridge", charset="UTF-8"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
	return "", false
}

// request is one authenticated request being served.
type request struct {
	h    *handler
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	user string
	rt   route
}

func (rq *request) changed(book string) {
	if rq.h.onChange != nil {
		rq.h.onChange(rq.user, book)
	}
}

// fail answers a store error: 404 for ErrNotFound, 500 otherwise.
func (rq *request) fail(err error) {
	if errors.Is(err, state.ErrNotFound) {
		http.Error(rq.w, "not found", http.StatusNotFound)
		return
	}
	rq.h.log.Error("carddav: request failed", "method", rq.r.Method, "path", rq.r.URL.Path, "user", rq.user, "err", err)
	http.Error(rq.w, "internal server error", http.StatusInternalServerError)
}

// loadBook reads the book of the route; false (after answering) when it
// fails.
func (rq *request) loadBook() (state.AddressBook, bool) {
	b, err := rq.h.db.AddressBook(rq.ctx, rq.user, rq.rt.book)
	if err != nil {
		rq.fail(err)
		return b, false
	}
	return b, true
}
