// Package client is the remote-CardDAV side of cardbridge: an address
// book on any CardDAV server (RFC 6352), reached over HTTP(S).
//
// What it does, beyond what go-webdav's client offers:
//
//   - Discovery (in New): the configured URL may be the server root, a
//     principal or an address book. The client reads the URL's
//     resourcetype, current-user-principal and addressbook-home-set,
//     falling back to /.well-known/carddav (following redirects itself, so
//     that a PROPFIND stays a PROPFIND), then lists the home set and picks
//     the book named by Options.AddressBook (display name or path). A
//     missing book is created with an extended MKCOL only when
//     Options.Create is set.
//   - Changes: sync-collection (RFC 6578) when the book supports it, with
//     an invalid token reported as engine.ErrTokenExpired; otherwise every
//     round is a full PROPFIND listing (ChangeSet.Full, token "propfind").
//   - Reads: the sync-collection REPORT asks for the cards' data along
//     with their ETags, so that a round's changed cards come in the same
//     answer (one request for a whole first download); an answer over
//     Options.PrefetchLimit is dropped and the round listed again without
//     data. When the data did not come and a round reads at least half of
//     the book, Prefetch (engine.Prefetcher) reads the whole book with one
//     addressbook-query (servers that look every multiget href up in the
//     whole book, as Xandikos does, answer it in O(n) instead of O(n²)).
//     Cards not read so come from addressbook-multiget in chunks (default
//     100), tolerating per-href 404s (Item.Err wraps engine.ErrNotFound);
//     weak and unquoted ETags are accepted.
//   - Writes: If-None-Match: * on create, If-Match on update and delete;
//     412 gives engine.ErrPrecondition; refusals (403, 409, 413, 415, 507, a
//     404 on PUT) give engine.ErrRefused with the status and the server's
//     reason.
//   - At most Options.MaxInFlight requests at once (default 4), a timeout
//     on every request (default 60 s), and bounded jittered retries of
//     idempotent requests on 5xx, resets and timeouts.
//
// Ids are card names inside the book ("uid.vcf", unescaped), or escaped
// absolute paths ("/other/place.vcf") for cards a server lists outside
// it. Versions are ETags, normalised to their quoted form (W/ kept).
package carddav

import (
	"context"
	"errors"
	"fmt"
	"github.com/cardbridge/cardbridge/carddav/davxml"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cardbridge/cardbridge/engine"
)

// Defaults of Options.
const (
	DefaultMultigetChunk = 100
	DefaultMaxInFlight   = 4
	DefaultTimeout       = 60 * time.Second
	// DefaultPrefetchLimit bounds an answer carrying many cards' data (a
	// sync-collection with address-data, a whole-book query): about 40,000
	// plain cards.
	DefaultPrefetchLimit = 64 << 20
)

// propfindToken is the token Changes hands out when the book has no
// sync-collection: every round is then a full listing.
const propfindToken = "propfind"

// Options configure New.
type Options struct {
	// URL is the server root, a principal or an address book. Required.
	URL string
	// Username and Password are sent with Basic authentication to the
	// URL's host (only) when Username is set.
	Username, Password string
	// AddressBook picks the book by display name or path (absolute path,
	// or last path segment). Empty: the URL's book, else the only book of
	// the home set.
	AddressBook string
	// Create allows New to create a missing AddressBook (extended MKCOL).
	Create bool
	// HTTPClient sends the requests (default: a new http.Client). Its
	// redirect policy is replaced: the client follows redirects itself.
	HTTPClient *http.Client
	// MultigetChunk is the number of hrefs per addressbook-multiget
	// (default 100).
	MultigetChunk int
	// MaxInFlight caps the requests in flight (default 4).
	MaxInFlight int
	// Timeout bounds every request attempt (default 60 s).
	Timeout time.Duration
	// PrefetchLimit bounds, in bytes, a sync-collection answer that carries
	// the cards' data and Prefetch's whole-book query (default
	// DefaultPrefetchLimit); a larger answer is dropped and the cards read
	// by multiget. Negative: never ask for data in sync-collection and
	// never Prefetch.
	PrefetchLimit int64
	// Logger receives debug messages (nil: discarded).
	Logger *slog.Logger
}

// Side is an address book on a CardDAV server. It implements engine.Side
// and engine.Changer, and is safe for concurrent use.
type Side struct {
	hc       *http.Client
	log      *slog.Logger
	username string
	password string
	origin   *url.URL // the configured URL: credentials go to its host only
	book     *url.URL // the address book, with a trailing slash
	bookName string   // display name (or path) for Name
	chunk    int
	timeout  time.Duration
	sem      chan struct{}
	// hasSync reports whether the book supports sync-collection.
	hasSync atomic.Bool
	// listed is the number of cards the last full round listed (0: none
	// yet), which Prefetch weighs a read against.
	listed atomic.Int64
	// prefetchLimit is Options.PrefetchLimit with its default applied.
	prefetchLimit int64
	// pre holds the cards the last Changes received with their data, until
	// Get hands them out or a write to them drops them.
	pre prefetched
}

var (
	_ engine.Side        = (*Side)(nil)
	_ engine.Changer     = (*Side)(nil)
	_ engine.Concurrency = (*Side)(nil)
	_ engine.Prefetcher  = (*Side)(nil)
)

// New connects to o.URL, discovers the address book and returns the side.
func New(ctx context.Context, o Options) (*Side, error) {
	if o.URL == "" {
		return nil, errors.New("carddav: no url")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("carddav: invalid url %q", o.URL)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	hc := &http.Client{}
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s := &Side{
		hc:       hc,
		log:      o.Logger,
		username: o.Username,
		password: o.Password,
		origin:   u,
		chunk:    o.MultigetChunk,
		timeout:  o.Timeout,

		prefetchLimit: o.PrefetchLimit,
	}
	if s.prefetchLimit == 0 {
		s.prefetchLimit = DefaultPrefetchLimit
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.chunk <= 0 {
		s.chunk = DefaultMultigetChunk
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	n := o.MaxInFlight
	if n <= 0 {
		n = DefaultMaxInFlight
	}
	s.sem = make(chan struct{}, n)
	if err := s.discover(ctx, u, o.AddressBook, o.Create); err != nil {
		return nil, err
	}
	return s, nil
}

// The side's contract and the capabilities it offers the engine.
var (
	_ engine.Side       = (*Side)(nil)
	_ engine.Closer     = (*Side)(nil)
	_ engine.Identifier = (*Side)(nil)
)

// Close releases the side's idle connections and the cards prefetched
// but not read. The side stays usable: a later request opens a new
// connection.
func (s *Side) Close() error {
	s.pre.reset()
	s.hc.CloseIdleConnections()
	return nil
}

// Identity is "carddav " and the address book's URL as discovery found
// it (without user information), so that two configured URLs leading to
// the same book are one target. It never fails.
func (s *Side) Identity(context.Context) (string, error) {
	u := *s.book
	u.User = nil
	return "carddav " + u.String(), nil
}

// BookURL returns the address book's URL.
func (s *Side) BookURL() string { return s.book.String() }

// Name describes the side.
func (s *Side) Name() string { return "carddav " + s.book.String() }

// WriteConcurrency asks the engine for as many writes in flight as
// requests allowed.
func (s *Side) WriteConcurrency() int { return cap(s.sem) }

// collection is an address book found during discovery.
type collection struct {
	url         *url.URL
	displayName string
	hasSync     bool
}

// discoverProps are the properties read on every discovery step.
var discoverProps = propfindBody(davxml.DAV("resourcetype"), davxml.DAV("displayname"), davxml.DAV("current-user-principal"), davxml.CardDAV("addressbook-home-set"), davxml.DAV("supported-report-set"), davxml.DAV("sync-token"))

// propfind sends a PROPFIND of depth to u (following redirects) and
// returns the answering URL and the resources of the 207.
func (s *Side) propfind(ctx context.Context, u *url.URL, depth string, body []byte) (*url.URL, []resource, error) {
	resp, err := s.follow(ctx, request{method: "PROPFIND", url: u, header: map[string]string{"Depth": depth}, body: body})
	if err != nil {
		return nil, nil, fmt.Errorf("carddav: %w", err)
	}
	if resp.status != http.StatusMultiStatus {
		return resp.url, nil, s.statusErr("PROPFIND", resp, nil)
	}
	ms, err := parseMultistatus(resp.body)
	if err != nil {
		return resp.url, nil, fmt.Errorf("carddav: PROPFIND %s: %w", resp.url, err)
	}
	return resp.url, resources(ms), nil
}

// statusErr is the error for an unexpected status, with a hint for 401.
func (s *Side) statusErr(method string, resp *response, kind error) error {
	e := httpErr(method, resp, kind)
	if resp.status == http.StatusUnauthorized {
		return fmt.Errorf("carddav: authentication failed (check username and password): %w", e)
	}
	return fmt.Errorf("carddav: %w", e)
}

// self returns the resource of rs that is u itself (or the only one).
func self(u *url.URL, rs []resource) (resource, bool) {
	for _, r := range rs {
		if sameCollection(u, r.href) {
			return r, true
		}
	}
	if len(rs) == 1 {
		return rs[0], true
	}
	return resource{}, false
}

// sameCollection reports whether href names the collection at u.
func sameCollection(u *url.URL, href string) bool {
	h, err := u.Parse(href)
	if err != nil {
		return false
	}
	return cleanPath(h) == cleanPath(u)
}

// cleanPath is the unescaped path of u without a trailing slash.
func cleanPath(u *url.URL) string {
	return strings.TrimRight(path.Clean("/"+u.Path), "/")
}

// discover finds the address book from start and sets s.book.
func (s *Side) discover(ctx context.Context, start *url.URL, want string, create bool) error {
	at, rs, err := s.propfind(ctx, start, "0", discoverProps)
	var he *HTTPError
	if err != nil && !(errors.As(err, &he) && he.Status != http.StatusUnauthorized) {
		return err
	}
	var me resource
	found := false
	if err == nil {
		me, found = self(at, rs)
	}
	if found && isAddressBook(&me.prop) {
		name := displayName(at, me.prop)
		if want == "" || matches(at, name, want) {
			s.setBook(at, name, me.prop)
			return nil
		}
	}
	var home *url.URL
	switch {
	case found && me.prop.HomeSet != nil && len(me.prop.HomeSet.Hrefs) > 0:
		home, err = at.Parse(strings.TrimSpace(me.prop.HomeSet.Hrefs[0]))
	case found && me.prop.CurrentPrincipal != nil && len(me.prop.CurrentPrincipal.Hrefs) > 0:
		var p *url.URL
		if p, err = at.Parse(strings.TrimSpace(me.prop.CurrentPrincipal.Hrefs[0])); err == nil {
			home, err = s.homeOf(ctx, p)
		}
	case found && isAddressBook(&me.prop):
		// A book that is not the one asked for: look at its siblings.
		home, err = at.Parse("..")
	default:
		home, err = s.wellKnown(ctx, start)
	}
	if err != nil {
		return err
	}
	return s.pickBook(ctx, home, want, create)
}

// wellKnown finds the home set through /.well-known/carddav.
func (s *Side) wellKnown(ctx context.Context, start *url.URL) (*url.URL, error) {
	wk, _ := start.Parse("/.well-known/carddav")
	at, rs, err := s.propfind(ctx, wk, "0", discoverProps)
	if err != nil {
		return nil, fmt.Errorf("carddav: %s is neither an address book nor a principal, and discovery failed: %w", start, err)
	}
	me, ok := self(at, rs)
	if !ok {
		return nil, fmt.Errorf("carddav: no principal found from %s", start)
	}
	if me.prop.HomeSet != nil && len(me.prop.HomeSet.Hrefs) > 0 {
		return at.Parse(strings.TrimSpace(me.prop.HomeSet.Hrefs[0]))
	}
	if me.prop.CurrentPrincipal != nil && len(me.prop.CurrentPrincipal.Hrefs) > 0 {
		p, err := at.Parse(strings.TrimSpace(me.prop.CurrentPrincipal.Hrefs[0]))
		if err != nil {
			return nil, err
		}
		return s.homeOf(ctx, p)
	}
	return nil, fmt.Errorf("carddav: no current-user-principal at %s", at)
}

// homeOf reads the addressbook-home-set of principal p.
func (s *Side) homeOf(ctx context.Context, p *url.URL) (*url.URL, error) {
	at, rs, err := s.propfind(ctx, p, "0", propfindBody(davxml.CardDAV("addressbook-home-set")))
	if err != nil {
		return nil, err
	}
	me, ok := self(at, rs)
	if !ok || me.prop.HomeSet == nil || len(me.prop.HomeSet.Hrefs) == 0 {
		return nil, fmt.Errorf("carddav: principal %s has no addressbook-home-set", at)
	}
	return at.Parse(strings.TrimSpace(me.prop.HomeSet.Hrefs[0]))
}

// pickBook lists the books of home and picks want (creating it when
// allowed).
func (s *Side) pickBook(ctx context.Context, home *url.URL, want string, create bool) error {
	at, rs, err := s.propfind(ctx, home, "1", discoverProps)
	if err != nil {
		return err
	}
	var books []collection
	for _, r := range rs {
		if !isAddressBook(&r.prop) || r.status != http.StatusOK {
			continue
		}
		u, err := at.Parse(r.href)
		if err != nil {
			continue
		}
		books = append(books, collection{url: withSlash(u), displayName: displayName(u, r.prop), hasSync: supportsSync(&r.prop) || r.prop.SyncToken != nil})
	}
	var names []string
	for _, b := range books {
		names = append(names, fmt.Sprintf("%s (%s)", b.displayName, b.url.Path))
	}
	found := "none"
	if len(names) > 0 {
		found = strings.Join(names, ", ")
	}
	if want == "" {
		if len(books) == 1 {
			return s.useBook(ctx, books[0])
		}
		if len(books) == 0 {
			return fmt.Errorf("carddav: no address book at %s", at)
		}
		return fmt.Errorf("carddav: several address books at %s, set addressbook to one of: %s", at, found)
	}
	for _, exact := range []bool{true, false} {
		for _, b := range books {
			if (exact && (b.displayName == want || pathMatches(b.url, want))) ||
				(!exact && strings.EqualFold(b.displayName, want)) {
				return s.useBook(ctx, b)
			}
		}
	}
	if !create {
		return fmt.Errorf("carddav: no address book %q at %s; found: %s", want, at, found)
	}
	return s.createBook(ctx, at, want)
}

// useBook reads the book's capabilities and makes it s's book.
func (s *Side) useBook(ctx context.Context, b collection) error {
	at, rs, err := s.propfind(ctx, b.url, "0", discoverProps)
	if err != nil {
		return err
	}
	me, ok := self(at, rs)
	if !ok {
		return fmt.Errorf("carddav: address book %s did not describe itself", at)
	}
	s.setBook(at, displayName(at, me.prop), me.prop)
	return nil
}

// createBook creates the book want under home with an extended MKCOL.
func (s *Side) createBook(ctx context.Context, home *url.URL, want string) error {
	seg := path.Base(strings.Trim(want, "/"))
	if seg == "" || seg == "." || seg == "/" {
		return fmt.Errorf("carddav: cannot create an address book named %q", want)
	}
	u, err := withSlash(home).Parse(url.PathEscape(seg) + "/")
	if err != nil {
		return err
	}
	resp, err := s.do(ctx, request{method: "MKCOL", url: u, body: mkcolBody(seg)})
	if err != nil {
		return fmt.Errorf("carddav: creating address book: %w", err)
	}
	if resp.status != http.StatusCreated && resp.status != http.StatusOK {
		return s.statusErr("MKCOL", resp, nil)
	}
	s.log.Info("carddav: created address book", "url", u.String())
	return s.useBook(ctx, collection{url: u, displayName: seg})
}

// setBook records the chosen book.
func (s *Side) setBook(u *url.URL, name string, p davxml.Prop) {
	s.book = withSlash(u)
	s.bookName = name
	s.hasSync.Store(supportsSync(&p) || p.SyncToken != nil)
}

// withSlash returns u with a trailing slash on its path.
func withSlash(u *url.URL) *url.URL {
	c := *u
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
		if c.RawPath != "" {
			c.RawPath += "/"
		}
	}
	return &c
}

// displayName is the book's display name, or its last path segment.
func displayName(u *url.URL, p davxml.Prop) string {
	if p.DisplayName != nil && strings.TrimSpace(*p.DisplayName) != "" {
		return strings.TrimSpace(*p.DisplayName)
	}
	return path.Base(cleanPath(u))
}

// matches reports whether the book at u named name is want.
func matches(u *url.URL, name, want string) bool {
	return name == want || strings.EqualFold(name, want) || pathMatches(u, want)
}

// pathMatches reports whether want is u's path or last segment.
func pathMatches(u *url.URL, want string) bool {
	p := cleanPath(u)
	w := strings.TrimRight(want, "/")
	if uw, err := url.PathUnescape(w); err == nil {
		w = uw
	}
	return w != "" && (p == w || path.Base(p) == w)
}
