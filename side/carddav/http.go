package carddav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cardbridge/cardbridge/retry"
)

// Retry and size limits.
const (
	// maxTries bounds the attempts of an idempotent request: with the
	// doubling pauses from backoffBase, about 4 s of retries, enough for a
	// server restart.
	maxTries = 5
	// maxBody bounds what is read of a response body.
	maxBody = 256 << 20
	// excerptLen bounds the body excerpt an error carries.
	excerptLen = 200
)

// maxPause caps one retry pause, a server's Retry-After included.
const maxPause = 30 * time.Second

// backoffBase is the first retry pause; later ones double, with jitter
// (retry.Backoff).
// A variable so that tests can shorten it.
var backoffBase = 250 * time.Millisecond

// httpHeader is rq's header as an http.Header (for retry.Idempotent).
func (rq request) httpHeader() http.Header {
	h := make(http.Header, len(rq.header))
	for k, v := range rq.header {
		h.Set(k, v)
	}
	return h
}

// response is a finished HTTP exchange with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
	url    *url.URL // the URL answered (after manual redirects: the last)
	tries  int      // attempts made
}

// HTTPError is the error for an unexpected HTTP status. It carries the
// status and a short excerpt of the body (the server's reason).
type HTTPError struct {
	Method  string
	URL     string
	Status  int
	Excerpt string
	// kind is the sync error the status maps to (nil for none).
	kind error
}

// Error describes the failed request.
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Excerpt != "" {
		s += ": " + e.Excerpt
	}
	if e.kind != nil {
		s += " (" + e.kind.Error() + ")"
	}
	return s
}

// Unwrap returns the sync error the status maps to, if any.
func (e *HTTPError) Unwrap() error { return e.kind }

// excerpt returns a short one-line excerpt of body for error messages.
func excerpt(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > excerptLen {
		s = s[:excerptLen]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// httpErr builds the HTTPError for resp, wrapping kind.
func httpErr(method string, resp *response, kind error) *HTTPError {
	return &HTTPError{Method: method, URL: resp.url.String(), Status: resp.status, Excerpt: excerpt(resp.body), kind: kind}
}

// request describes one request do sends.
type request struct {
	method string
	url    *url.URL
	header map[string]string
	body   []byte
	// maxBody bounds the answer's body (0: the package's maxBody); a
	// longer one fails with ErrAnswerTooLarge.
	maxBody int64
}

// ErrAnswerTooLarge is the error for an answer whose body exceeds what
// the request allows. It is not retried.
var ErrAnswerTooLarge = errors.New("answer too large")

// do sends rq with the in-flight cap, the per-request timeout, credentials
// for the configured host, and bounded jittered retries when rq is
// idempotent. Redirects are not followed (see follow).
func (s *Side) do(ctx context.Context, rq request) (*response, error) {
	var lastErr error
	idempotent := retry.Idempotent(rq.method, rq.httpHeader())
	for try := 1; ; try++ {
		resp, err := s.once(ctx, rq)
		if err == nil {
			resp.tries = try
			if !idempotent || try >= maxTries || !retryStatus(resp.status) {
				return resp, nil
			}
			lastErr = httpErr(rq.method, resp, nil)
		} else {
			if ctx.Err() != nil || errors.Is(err, ErrAnswerTooLarge) || !(idempotent || notSent(err)) || try >= maxTries {
				return nil, err
			}
			lastErr = err
		}
		d := retry.Backoff(try-1, backoffBase, maxPause, rand.Float64())
		if resp != nil {
			if ra, ok := retry.After(resp.header.Get("Retry-After"), time.Now()); ok && ra > 0 {
				d = min(ra, maxPause)
			}
		}
		s.log.Debug("carddav: retrying", "method", rq.method, "url", rq.url.String(), "try", try, "err", lastErr, "pause", d)
		if err := retry.Sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("%w (last: %v)", err, lastErr)
		}
	}
}

// notSent reports whether err is a failure to connect: the request never
// reached the server, so any request, idempotent or not, may be sent again.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryStatus reports whether status is worth a retry.
func retryStatus(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	}
	return false
}

// once sends one attempt of rq.
func (s *Side) once(ctx context.Context, rq request) (*response, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	actx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(actx, rq.method, rq.url.String(), body)
	if err != nil {
		return nil, err
	}
	if rq.body != nil {
		ct := "application/xml; charset=utf-8"
		if rq.method == http.MethodPut {
			ct = "text/vcard; charset=utf-8"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	if s.username != "" && sameOrigin(rq.url, s.origin) {
		req.SetBasicAuth(s.username, s.password)
	}
	req.Header.Set("User-Agent", "cardbridge")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", rq.method, rq.url, err)
	}
	defer resp.Body.Close()
	limit := rq.maxBody
	if limit <= 0 {
		limit = maxBody
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", rq.method, rq.url, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s %s: %w (more than %d bytes)", rq.method, rq.url, ErrAnswerTooLarge, limit)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b, url: rq.url}, nil
}

// sameOrigin reports whether a and b share scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// follow sends rq and follows up to 5 redirects itself, keeping the method
// and body (net/http would turn a PROPFIND into a GET on 301/302).
func (s *Side) follow(ctx context.Context, rq request) (*response, error) {
	for range 6 {
		resp, err := s.do(ctx, rq)
		if err != nil {
			return nil, err
		}
		switch resp.status {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			loc, err := rq.url.Parse(resp.header.Get("Location"))
			if err != nil || resp.header.Get("Location") == "" {
				return resp, nil
			}
			rq.url = loc
			continue
		}
		return resp, nil
	}
	return nil, errors.New("carddav: too many redirects from " + rq.url.String())
}
