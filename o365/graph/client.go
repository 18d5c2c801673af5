package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cardbridge/cardbridge/retry"
)

// TokenSource gives the bearer token of the mailbox's account.
type TokenSource interface {
	// Token returns a valid access token (cached or refreshed).
	Token(ctx context.Context) (string, error)
	// Invalidate drops the cached access token after Graph refused it
	// with 401; the next Token call gets a fresh one.
	Invalidate()
}

// Options configure a Client. Zero values take the defaults given.
type Options struct {
	// BaseURL is Graph's version root, e.g. https://graph.microsoft.com/v1.0
	// (or a simulator's http://127.0.0.1:PORT/v1.0). Links are followed only
	// on its scheme and host.
	BaseURL string
	// Mailbox is "me" (delegated) or a user id or UPN (app-only): paths
	// are /me/… or /users/{mailbox}/…. Default "me".
	Mailbox string
	// Tokens gives the bearer token. Required.
	Tokens TokenSource
	// HTTPClient sends the requests (default http.DefaultClient). The
	// Client uses a copy whose redirects never leave the Graph host.
	HTTPClient *http.Client
	// MaxInFlight is the most requests in flight at once (default 4) of
	// a Client without Limiters. With Limiters it must be 0 or equal to
	// Limiters.PerMailbox().
	MaxInFlight int
	// Limiters, when set, is the process's registry of in-flight limits:
	// the Client shares its limit with every other Client of the same
	// registry, Graph host (of BaseURL), AppID and MailboxKey. Without
	// it the Client has a limit of its own.
	Limiters *Limiters
	// AppID is the application (client) id the tokens are issued to;
	// required with Limiters.
	AppID string
	// MailboxKey names the mailbox for Limiters, compared without case:
	// the user id or UPN the requests reach. Default: Mailbox, unless that
	// is "me", when MailboxKey is required with Limiters (the signed-in
	// user's id or UPN, or another name that is the same for every Client
	// on that mailbox).
	MailboxKey string
	// MaxPageSize is sent as Prefer: odata.maxpagesize for delta rounds and
	// lists (default 500).
	MaxPageSize int
	// Timeout bounds one HTTP request, reading its answer included
	// (default 60s).
	Timeout time.Duration
	// MaxRetries bounds the retries of one request (default 8).
	MaxRetries int
	// MaxReadConflictRetries bounds the retries of a read (GET or HEAD
	// without If-Match) answered 412: Exchange gives transient 412
	// ErrorIrresolvableConflict without any precondition asked (default 3;
	// MaxRetries bounds them too). A 412 on a request with If-Match is a
	// real precondition failure and is never retried.
	MaxReadConflictRetries int
	// MaxWait bounds the total time one request (or one Batch call) spends
	// waiting to retry (default 10 minutes).
	MaxWait time.Duration
	// Logger gets debug lines for requests and retries; never headers nor
	// tokens. Default: discard.
	Logger *slog.Logger
	// Sleep waits d or until ctx ends (tests; default a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0,1) for back-off jitter (tests; default
	// math/rand/v2).
	Rand func() float64
}

// Defaults of Options.
const (
	DefaultMaxInFlight = 4
	DefaultMaxPageSize = 500
	DefaultTimeout     = 60 * time.Second
	DefaultMaxRetries  = 8
	// DefaultMaxReadConflictRetries is the default of
	// Options.MaxReadConflictRetries.
	DefaultMaxReadConflictRetries = 3
	DefaultMaxWait                = 10 * time.Minute
)

// back-off without Retry-After: backoffBase·2^n, at most backoffMax, with
// jitter taking it down to half.
const (
	backoffBase = time.Second
	backoffMax  = time.Minute
	maxBody     = 256 << 20
)

// back-off after Exchange's transient 412 on a plain read: the store's
// own write conflict, gone within milliseconds, not a sign of load, so
// its retries start at 50–100 ms (conflictBackoffBase·2^n, at most
// conflictBackoffMax) rather than the second of a throttled or failing
// service, which would stall a delta round's chain of pages.
const (
	conflictBackoffBase = 100 * time.Millisecond
	conflictBackoffMax  = 2 * time.Second
)

// Client is a Graph client for one mailbox. It is safe for concurrent use.
// Clients on one mailbox keep its in-flight limit together only when made
// with the same Options.Limiters (or when they are one Client).
type Client struct {
	base     *url.URL
	baseStr  string // without trailing slash
	root     string // "me" or "users/{mailbox}" (escaped)
	mailbox  string
	tokens   TokenSource
	hc       *http.Client
	sem      *semaphore
	maxIn    int
	pageSize int
	timeout  time.Duration
	retries  int
	conflict int // Options.MaxReadConflictRetries
	maxWait  time.Duration
	log      *slog.Logger
	sleep    func(ctx context.Context, d time.Duration) error
	// realSleep: sleep is the real timer (no Options.Sleep), so a wait
	// may count the time already gone by.
	realSleep bool
	rand      func() float64

	nReq, nSub, nRetry, nThrottled, nWaited atomic.Int64
}

// New checks o and returns a Client.
func New(o Options) (*Client, error) {
	if o.Tokens == nil {
		return nil, errors.New("graph: Options.Tokens is required")
	}
	if o.BaseURL == "" {
		return nil, errors.New("graph: Options.BaseURL is required")
	}
	bs := strings.TrimRight(o.BaseURL, "/")
	base, err := url.Parse(bs)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("graph: BaseURL %q is not an http(s) URL", o.BaseURL)
	}
	if base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("graph: BaseURL %q must have no query, fragment or user", o.BaseURL)
	}
	c := &Client{base: base, baseStr: bs, tokens: o.Tokens, mailbox: o.Mailbox,
		maxIn: o.MaxInFlight, pageSize: o.MaxPageSize, timeout: o.Timeout,
		retries: o.MaxRetries, conflict: o.MaxReadConflictRetries, maxWait: o.MaxWait, log: o.Logger, sleep: o.Sleep, rand: o.Rand}
	if c.mailbox == "" {
		c.mailbox = "me"
	}
	if strings.EqualFold(c.mailbox, "me") {
		c.root = "me"
	} else {
		c.root = "users/" + url.PathEscape(c.mailbox)
	}
	orDefault(&c.maxIn, DefaultMaxInFlight)
	orDefault(&c.pageSize, DefaultMaxPageSize)
	orDefault(&c.timeout, DefaultTimeout)
	orDefault(&c.retries, DefaultMaxRetries)
	orDefault(&c.conflict, DefaultMaxReadConflictRetries)
	orDefault(&c.maxWait, DefaultMaxWait)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.sleep == nil {
		c.sleep, c.realSleep = sleepCtx, true
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	hc := http.DefaultClient
	if o.HTTPClient != nil {
		hc = o.HTTPClient
	}
	cp := *hc
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("graph: stopped after 10 redirects")
		}
		if !c.onHost(req.URL) {
			return fmt.Errorf("%w: redirect to %s://%s", errOffHost, req.URL.Scheme, req.URL.Host)
		}
		return nil
	}
	c.hc = &cp
	if o.Limiters == nil {
		c.sem = newSemaphore(c.maxIn)
		return c, nil
	}
	if o.MaxInFlight > 0 && o.MaxInFlight != o.Limiters.PerMailbox() {
		return nil, fmt.Errorf("graph: Options.MaxInFlight %d differs from the shared limit of %d per mailbox (Options.Limiters)", o.MaxInFlight, o.Limiters.PerMailbox())
	}
	if strings.TrimSpace(o.AppID) == "" {
		return nil, errors.New("graph: Options.AppID (the application id) is required with Options.Limiters")
	}
	key := strings.TrimSpace(o.MailboxKey)
	if key == "" && c.root != "me" {
		key = c.mailbox
	}
	if key == "" || strings.EqualFold(key, "me") {
		return nil, errors.New(`graph: Options.MailboxKey is required with Options.Limiters when the mailbox is "me": "me" names a different mailbox for every signed-in user`)
	}
	c.maxIn = o.Limiters.PerMailbox()
	c.sem = o.Limiters.get(limiterKey{host: base.Host, app: strings.TrimSpace(o.AppID), mailbox: key})
	return c, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Mailbox returns the mailbox the Client works on ("me" or a user id/UPN).
func (c *Client) Mailbox() string { return c.mailbox }

// Stats counts a Client's work, for benchmarks.
type Stats struct {
	// Requests is the HTTP requests sent (retries and $batch calls
	// included).
	Requests int64
	// SubRequests is the sub-requests sent inside $batch calls.
	SubRequests int64
	// Retries is the requests and sub-requests sent again.
	Retries int64
	// Throttled is the 429 and 503 answers and sub-responses.
	Throttled int64
	// Waited is the total time spent waiting to retry.
	Waited time.Duration
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.nReq.Load(), SubRequests: c.nSub.Load(), Retries: c.nRetry.Load(),
		Throttled: c.nThrottled.Load(), Waited: time.Duration(c.nWaited.Load())}
}

// errOffHost marks refused links and redirects off the Graph host.
var errOffHost = errors.New("refusing to leave the Graph host")

// onHost reports whether u has the configured Graph scheme and host.
func (c *Client) onHost(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host) && u.User == nil
}

// resolve turns a Do path into a full URL (see Do).
func (c *Client) resolve(path string) (*url.URL, error) {
	// No space is valid in a URL; OData filters are written with them.
	path = strings.ReplaceAll(path, " ", "%20")
	lower := strings.ToLower(path)
	var full string
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"), strings.HasPrefix(path, "//"):
		u, err := url.Parse(path)
		if err != nil {
			return nil, fmt.Errorf("graph: bad link: %w", err)
		}
		if !c.onHost(u) {
			return nil, fmt.Errorf("graph: %w: link to %s://%s is not on the configured Graph endpoint %s://%s",
				errOffHost, u.Scheme, u.Host, c.base.Scheme, c.base.Host)
		}
		return u, nil
	case path == "":
		full = c.baseStr + "/" + c.root
	case strings.HasPrefix(path, "/"):
		full = c.baseStr + path
	case strings.HasPrefix(path, "?"):
		full = c.baseStr + "/" + c.root + path
	default:
		full = c.baseStr + "/" + c.root + "/" + path
	}
	u, err := url.Parse(full)
	if err != nil {
		return nil, fmt.Errorf("graph: bad path %q: %w", path, err)
	}
	if !c.onHost(u) {
		return nil, fmt.Errorf("graph: %w: %q", errOffHost, path)
	}
	return u, nil
}

// subURL is an Op's URL inside a $batch: relative to the version root.
func (c *Client) subURL(path string) string {
	path = strings.ReplaceAll(path, " ", "%20")
	switch {
	case path == "":
		return "/" + c.root
	case strings.HasPrefix(path, "/"):
		return path
	case strings.HasPrefix(path, "?"):
		return "/" + c.root + path
	}
	return "/" + c.root + "/" + path
}

// plainRead reports whether a request is a read that asks no
// precondition: a 412 to it is Exchange's transient
// ErrorIrresolvableConflict, not a stale change key, and may be retried.
func plainRead(method string, hdr http.Header) bool {
	m := strings.ToUpper(method)
	return (m == http.MethodGet || m == http.MethodHead) && hdr.Get("If-Match") == "" && hdr.Get("If-None-Match") == ""
}

// call is one logical request of the request path.
type call struct {
	method     string
	u          *url.URL
	hdr        http.Header
	body       []byte
	idempotent bool
	weight     int    // in-flight slots
	subs       int    // sub-requests (for $batch)
	tok        string // the token of the last attempt, scrubbed from errors
}

// Do sends one request through the request path and returns the answer
// with its body read (resp.Body is a reader over the same bytes).
//
// path is relative to the mailbox root ("contactFolders/x/contacts" →
// BASE/me/contactFolders/x/contacts), absolute to BaseURL when it starts
// with "/" ("/$batch"), or a full URL (a nextLink or deltaLink), accepted
// only on the configured Graph scheme and host. Spaces in path are sent
// as %20. hdr adds headers (Prefer values are joined to
// IdType="ImmutableId"); body is sent with hdr's Content-Type, or
// application/json. On a 2xx answer with a body, out (when not nil) gets
// the JSON decoded. An answer ≥ 400 gives a *Error (the answer and body
// are returned as well).
func (c *Client) Do(ctx context.Context, method, path string, hdr http.Header, body []byte, out any) (*http.Response, []byte, error) {
	method = strings.ToUpper(method)
	u, err := c.resolve(path)
	if err != nil {
		return nil, nil, err
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	cl := &call{method: method, u: u, hdr: hdr, body: body, idempotent: retry.Idempotent(method, hdr), weight: 1}
	resp, b, err := c.send(ctx, cl)
	if err != nil {
		return resp, b, err
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp, b, fmt.Errorf("graph: %s %s: unreadable answer: %w", method, u.Path, err)
		}
	}
	return resp, b, nil
}

// timeoutError is a request that outlived Options.Timeout.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string { return fmt.Sprintf("no answer within %s", e.d) }
func (e *timeoutError) Timeout() bool { return true }

// tokenError is a failure of the TokenSource.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "getting a token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// send runs cl with the retry policy.
func (c *Client) send(ctx context.Context, cl *call) (*http.Response, []byte, error) {
	var waited time.Duration
	refreshed := false
	conflicts := 0 // transient 412s of a plain read
	for n := 0; ; n++ {
		resp, body, tok, err := c.attempt(ctx, cl)
		cl.tok = tok
		if ctx.Err() != nil && (err != nil || resp == nil) {
			return nil, nil, fmt.Errorf("graph: %s %s: %w", cl.method, cl.u.Path, ctx.Err())
		}
		var (
			wait      time.Duration
			why       string
			throttled bool
			last      error
		)
		if err != nil {
			last = &scrubbed{err, tok}
			var te *tokenError
			if errors.As(err, &te) || errors.Is(err, errOffHost) || (!cl.idempotent && !refused(err)) {
				return nil, nil, fmt.Errorf("graph: %s %s: %w", cl.method, cl.u.Path, last)
			}
			why = "transport error"
			wait = c.backoff(n)
		} else {
			st := resp.StatusCode
			if st < 400 {
				return resp, body, nil
			}
			apiErr := newError(cl.method, cl.u.Path, st, resp.Header, body, tok)
			last = apiErr
			switch {
			case st == http.StatusUnauthorized:
				if refreshed {
					return resp, body, apiErr
				}
				refreshed = true
				c.tokens.Invalidate()
				c.nRetry.Add(1)
				c.log.Debug("graph: 401, refreshing the token", "method", cl.method, "path", cl.u.Path)
				continue
			case st == http.StatusTooManyRequests:
				throttled = true
			case st == http.StatusServiceUnavailable:
				throttled = true
				if !cl.idempotent && resp.Header.Get("Retry-After") == "" {
					return resp, body, apiErr
				}
			case st == http.StatusInternalServerError, st == http.StatusBadGateway, st == http.StatusGatewayTimeout:
				if !cl.idempotent {
					return resp, body, apiErr
				}
			case st == http.StatusPreconditionFailed && plainRead(cl.method, cl.hdr):
				if conflicts >= c.conflict {
					return resp, body, &giveUpError{cl.method, cl.u.Path, fmt.Sprintf("giving up after %d retries", n), apiErr}
				}
				conflicts++
			default:
				return resp, body, apiErr
			}
			if throttled {
				c.nThrottled.Add(1)
			}
			why = resp.Status
			wait = apiErr.RetryAfter
			switch {
			case wait > 0:
			case st == http.StatusPreconditionFailed:
				wait = c.conflictBackoff(conflicts - 1)
			default:
				wait = c.backoff(n)
			}
		}
		switch {
		case n >= c.retries:
			return resp, body, &giveUpError{cl.method, cl.u.Path, fmt.Sprintf("giving up after %d retries", n), last}
		case waited+wait > c.maxWait && throttled:
			return resp, body, &giveUpError{cl.method, cl.u.Path, fmt.Sprintf("throttled by Graph for longer than %s", c.maxWait), last}
		case waited+wait > c.maxWait:
			return resp, body, &giveUpError{cl.method, cl.u.Path, fmt.Sprintf("Graph kept failing for longer than %s", c.maxWait), last}
		}
		c.log.Info("graph: retrying", "method", cl.method, "path", cl.u.Path, "why", why, "wait", wait, "retry", n+1)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, nil, fmt.Errorf("graph: %s %s: waiting to retry: %w", cl.method, cl.u.Path, err)
		}
		waited += wait
		c.nWaited.Add(int64(wait))
		c.nRetry.Add(1)
	}
}

// giveUpError ends a request whose retries ran out; it wraps the last
// failure (a *Error for an answer).
type giveUpError struct {
	method, path, reason string
	last                 error
}

func (e *giveUpError) Error() string {
	if ae, ok := e.last.(*Error); ok {
		return fmt.Sprintf("graph: %s %s: %s; last answer: %s", e.method, e.path, e.reason, ae.detail())
	}
	return fmt.Sprintf("graph: %s %s: %s; last error: %v", e.method, e.path, e.reason, e.last)
}

func (e *giveUpError) Unwrap() error { return e.last }

// scrubbed is an error whose text never holds secret.
type scrubbed struct {
	err    error
	secret string
}

func (e *scrubbed) Error() string { return scrub(e.err.Error(), e.secret) }
func (e *scrubbed) Unwrap() error { return e.err }

// refused reports whether err says the connection was refused: the
// request surely was not processed, so even a POST may go again.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// attempt sends cl once. It returns the token used, to scrub it from
// errors.
func (c *Client) attempt(ctx context.Context, cl *call) (resp *http.Response, body []byte, tok string, err error) {
	tok, err = c.tokens.Token(ctx)
	if err != nil {
		return nil, nil, "", &tokenError{err}
	}
	if tok == "" {
		return nil, nil, "", &tokenError{errors.New("empty token")}
	}
	w, err := c.sem.acquire(ctx, cl.weight)
	if err != nil {
		return nil, nil, tok, err
	}
	defer c.sem.release(w)
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, cl.u.String(), rd)
	if err != nil {
		return nil, nil, tok, err
	}
	for k, vs := range cl.hdr {
		ck := http.CanonicalHeaderKey(k)
		if ck == "Authorization" || ck == "Prefer" {
			continue
		}
		req.Header[ck] = append([]string(nil), vs...)
	}
	prefer := []string{`IdType="ImmutableId"`}
	for _, v := range cl.hdr.Values("Prefer") {
		if v != "" && !strings.Contains(v, "IdType") {
			prefer = append(prefer, v)
		}
	}
	req.Header.Set("Prefer", strings.Join(prefer, ", "))
	req.Header.Set("Authorization", "Bearer "+tok)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if cl.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	c.nReq.Add(1)
	c.nSub.Add(int64(cl.subs))
	start := time.Now()
	resp, err = c.hc.Do(req)
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err != nil {
		if ctx.Err() == nil && actx.Err() != nil {
			err = &timeoutError{c.timeout}
		}
		c.log.Debug("graph: request failed", "method", cl.method, "path", cl.u.Path, "err", scrub(err.Error(), tok))
		return nil, nil, tok, err
	}
	c.log.Debug("graph: request", "method", cl.method, "path", cl.u.Path, "status", resp.StatusCode, "took", time.Since(start))
	return resp, body, tok, nil
}

// backoff is the wait before retry n+1 without Retry-After: exponential
// with jitter.
func (c *Client) backoff(n int) time.Duration {
	return retry.Backoff(n, backoffBase, backoffMax, c.rand())
}

// conflictBackoff is the wait before the n-th retry (from 0) of a read
// that met a transient 412.
func (c *Client) conflictBackoff(n int) time.Duration {
	return retry.Backoff(n, conflictBackoffBase, conflictBackoffMax, c.rand())
}

// orDefault sets *v to def when it is zero or less: an Options number left
// unset.
func orDefault[T ~int | ~int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
