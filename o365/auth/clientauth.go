package auth

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/cardbridge/cardbridge/config"
)

// delegatedCredential is the credential of a delegated account whose app
// is a confidential client (a web app, such as server.microsoft_sign_in's):
// its certificate_file, or its client secret; nil when acc names none (a
// public client, as every configured delegated account: acc.Confidential
// unset).
func delegatedCredential(acc config.Account, lookupEnv func(string) (string, bool), alg string) (credential, error) {
	switch {
	case !acc.Confidential:
		return nil, nil
	case acc.CertificateFile != "":
		return loadCertificate(acc, alg)
	case acc.ClientSecretEnv != "" || acc.ClientSecretFile != "":
		return loadSecret(acc, lookupEnv)
	}
	return nil, nil
}

// ClientAuthParams are the parameters of a token request to tokenURL that
// authenticate acc's app as a confidential client: client_secret, or with
// acc.CertificateFile a fresh client assertion signed with its key
// (private_key_jwt, PS256, with the x5t#S256 header Microsoft identifies
// the certificate by; the same assertion as flow client-certificate's).
// The secret or key is read on every call (lookupEnv reads
// client_secret_env; nil is os.LookupEnv). An error names the account and
// the file or variable.
func ClientAuthParams(acc config.Account, tokenURL string, lookupEnv func(string) (string, bool), now time.Time) (url.Values, error) {
	acc.Confidential = true
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	c, err := delegatedCredential(acc, lookupEnv, "")
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("account %s: no client credential (client secret or certificate_file)", acc.Name)
	}
	p, _, err := c.params(tokenURL, acc.ClientID, now)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", acc.Name, err)
	}
	return p, nil
}

// withClientAuth is hc with a transport that adds cred's parameters (a
// client secret, or a fresh client assertion) to the refresh requests it
// sends to tokenURL: golang.org/x/oauth2's token source sends a client
// secret but no assertion, and the RoundTripper is the one place to add
// either without writing the refresh by hand.
func withClientAuth(hc *http.Client, tokenURL, clientID string, cred credential, now func() time.Time) *http.Client {
	c := *hc
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = clientAuth{base: base, tokenURL: tokenURL, clientID: clientID, cred: cred, now: now}
	return &c
}

// clientAuth is the RoundTripper of withClientAuth.
type clientAuth struct {
	base     http.RoundTripper
	tokenURL string
	clientID string
	cred     credential
	now      func() time.Time
}

// RoundTrip implements http.RoundTripper: a POST of grant_type=refresh_token
// to tokenURL gets the credential's parameters; any other request goes as
// it is.
func (t clientAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil || req.URL.String() != t.tokenURL {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the token request: %w", err)
	}
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("grant_type") == "refresh_token" {
		p, _, err := t.cred.params(t.tokenURL, t.clientID, t.now())
		if err != nil {
			return nil, err
		}
		for k, v := range p {
			form[k] = v
		}
		body = []byte(form.Encode())
	}
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.base.RoundTrip(r)
}

// ContactScopes are the delegated scopes of a sign-in that also grants
// the contacts (server.microsoft_sign_in.contacts): Contacts.ReadWrite,
// offline_access and User.Read of e's Graph, without MailboxSettings.Read.
// Tokens stored with them refresh with them (see Source).
func (e Endpoints) ContactScopes() []string { return e.contactScopes() }
