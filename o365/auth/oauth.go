package auth

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// newDefaultClient is the client used when none is given: 60 s per request.
func newDefaultClient() *http.Client { return &http.Client{Timeout: 60 * time.Second} }

// withRefreshScope is hc with a transport that adds scope to the refresh
// requests it sends to tokenURL. Microsoft's v2.0 token endpoint documents
// scope as required on grant_type=refresh_token (it is what the new access
// token is for), and golang.org/x/oauth2's token source sends none; the
// RoundTripper is the one place to add it without writing the refresh by
// hand. Everything else of hc (its transport, timeout, jar) is kept: it is
// still the project's client that talks to the identity platform.
func withRefreshScope(hc *http.Client, tokenURL string, scopes []string) *http.Client {
	c := *hc
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = refreshScope{base: base, tokenURL: tokenURL, scope: strings.Join(scopes, " ")}
	return &c
}

// refreshScope is the RoundTripper of withRefreshScope.
type refreshScope struct {
	base     http.RoundTripper
	tokenURL string
	scope    string
}

// RoundTrip implements http.RoundTripper: a POST of grant_type=refresh_token
// without scope to tokenURL is sent with scope; any other request as is.
func (t refreshScope) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil || req.URL.String() != t.tokenURL {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the token request: %w", err)
	}
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("grant_type") == "refresh_token" && form.Get("scope") == "" {
		form.Set("scope", t.scope)
		body = []byte(form.Encode())
	}
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.base.RoundTrip(r)
}
