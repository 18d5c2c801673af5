package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/cardbridge/cardbridge/config"
)

// refreshMargin is how long before its expiry an access token is replaced.
const refreshMargin = 2 * time.Minute

// SourceOptions tune NewSourceWith.
type SourceOptions struct {
	// HTTPClient talks to the identity platform; nil uses a client with a
	// 60 s timeout.
	HTTPClient *http.Client
	// Logger receives debug lines (refreshes, never a token); nil discards.
	Logger *slog.Logger
	// LookupEnv reads client_secret_env; nil uses os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// AssertionAlg is the client assertion's algorithm for flow
	// client-certificate: AlgPS256 (default) or AlgRS256.
	AssertionAlg string
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// Source gives access tokens for one account; it is what the Graph client
// uses (graph.TokenSource). It is safe for concurrent use, refreshes at most
// once at a time, and stores every rotated refresh token before handing out
// the access token that came with it.
type Source struct {
	acc   config.Account
	flow  string
	ep    Endpoints
	store Store
	hc    *http.Client
	log   *slog.Logger
	now   func() time.Time
	cred  credential // app-only flows
	// clientAuth authenticates the refreshes of a delegated account whose
	// app is a confidential client; nil for a public client.
	clientAuth credential
	sem        chan struct{}

	mu          sync.Mutex
	tok         Token  // the current token (AccessToken "" when none yet)
	invalidated string // an access token Graph refused (Invalidate)
	unsaved     bool   // tok holds a rotated refresh token not stored yet
	needLogin   *NeedLoginError
	failedRT    string // the refresh token that gave needLogin
}

// NewSource returns the Source of acc. For the app-only flows the client
// secret (client_secret_env from the process environment, or
// client_secret_file) or the certificate is read here: a missing one is an
// error naming the variable or file. httpClient and log may be nil.
func NewSource(acc config.Account, store Store, httpClient *http.Client, log *slog.Logger) (*Source, error) {
	return NewSourceWith(acc, store, SourceOptions{HTTPClient: httpClient, Logger: log})
}

// NewSourceWith is NewSource with all options.
func NewSourceWith(acc config.Account, store Store, o SourceOptions) (*Source, error) {
	if store == nil {
		return nil, fmt.Errorf("account %s: no token store", acc.Name)
	}
	if err := requireTenant(acc); err != nil {
		return nil, err
	}
	ep, err := EndpointsFor(acc)
	if err != nil {
		return nil, err
	}
	s := &Source{acc: acc, flow: flowOf(acc), ep: ep, store: store, hc: o.HTTPClient, log: o.Logger, now: o.Now, sem: make(chan struct{}, 1)}
	if s.hc == nil {
		s.hc = newDefaultClient()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	switch s.flow {
	case FlowDevice, FlowBrowser:
		if s.clientAuth, err = delegatedCredential(acc, lookup, o.AssertionAlg); err != nil {
			return nil, err
		}
	case FlowClientSecret:
		if s.cred, err = loadSecret(acc, lookup); err != nil {
			return nil, err
		}
	case FlowClientCertificate:
		if s.cred, err = loadCertificate(acc, o.AssertionAlg); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("account %s: unknown flow %q", acc.Name, acc.Flow)
	}
	return s, nil
}

// Endpoints are the endpoints of the Source's account.
func (s *Source) Endpoints() Endpoints { return s.ep }

// Token returns a valid access token: the cached one until refreshMargin
// before it expires (or until Invalidate), else a refreshed one. A delegated
// account that must sign in again gets a *NeedLoginError; asking again
// returns the same error without another request, until a new login is
// stored.
func (s *Source) Token(ctx context.Context) (string, error) {
	if at, ok := s.cached(); ok {
		return at, nil
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.sem }()
	if at, ok := s.cached(); ok { // another caller refreshed while we waited
		return at, nil
	}
	return s.obtain(ctx)
}

// Invalidate drops the cached access token (after Graph answered 401): the
// next Token refreshes.
func (s *Source) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.AccessToken != "" {
		s.invalidated = s.tok.AccessToken
	}
	s.log.Debug("access token invalidated", "account", s.acc.Name)
}

// cached returns the current access token when it is still good.
func (s *Source) cached() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usable(s.tok) && !s.unsaved {
		return s.tok.AccessToken, true
	}
	return "", false
}

// usable reports whether t's access token may be handed out. s.mu is held.
func (s *Source) usable(t Token) bool {
	return t.AccessToken != "" && t.AccessToken != s.invalidated && s.now().Add(refreshMargin).Before(t.Expiry)
}

// obtain gets a new access token; the caller holds s.sem.
func (s *Source) obtain(ctx context.Context) (string, error) {
	s.mu.Lock()
	pending, unsaved := s.tok, s.unsaved
	s.mu.Unlock()
	if unsaved { // a rotated refresh token could not be stored: store it first
		if err := s.store.SaveToken(ctx, s.acc.Name, pending); err != nil {
			return "", fmt.Errorf("account %s: storing the new refresh token: %w", s.acc.Name, err)
		}
		s.mu.Lock()
		s.unsaved = false
		ok := s.usable(pending)
		s.mu.Unlock()
		if ok {
			return pending.AccessToken, nil
		}
	}

	// Another process may have refreshed (or logged in) since: read the store.
	stored, found, err := s.store.LoadToken(ctx, s.acc.Name)
	if err != nil {
		return "", fmt.Errorf("account %s: loading the token: %w", s.acc.Name, err)
	}
	var mismatch string
	if found {
		mismatch = s.mismatch(stored)
	}
	if found && mismatch == "" {
		s.mu.Lock()
		ok := s.usable(stored)
		if ok {
			s.tok = stored
		}
		s.mu.Unlock()
		if ok {
			return stored.AccessToken, nil
		}
	}

	if s.cred != nil {
		return s.clientCredentials(ctx)
	}
	switch {
	case !found:
		return "", s.fail(&NeedLoginError{Account: s.acc.Name, Reason: "not logged in"}, "")
	case mismatch != "":
		return "", s.fail(&NeedLoginError{Account: s.acc.Name, Reason: mismatch}, "")
	case stored.RefreshToken == "":
		return "", s.fail(&NeedLoginError{Account: s.acc.Name, Reason: "no refresh token stored"}, "")
	}
	s.mu.Lock()
	prev, failedRT := s.needLogin, s.failedRT
	s.mu.Unlock()
	if prev != nil && failedRT == stored.RefreshToken {
		return "", prev // never retry a refresh token that was refused
	}
	return s.refresh(ctx, stored)
}

// fail records a NeedLoginError (for the refresh token rt, "" when none) and
// returns it.
func (s *Source) fail(e *NeedLoginError, rt string) error {
	s.mu.Lock()
	s.needLogin, s.failedRT = e, rt
	s.tok = Token{}
	s.mu.Unlock()
	s.log.Debug("account needs login", "account", s.acc.Name, "reason", e.Reason)
	return e
}

// mismatch says why a stored token does not belong to the configured
// account; "" when it does.
func (s *Source) mismatch(t Token) string {
	if t.ClientID != s.acc.ClientID || !strings.EqualFold(legacyTenant(t.Tenant), s.acc.Tenant) {
		return "the account's client_id or tenant changed"
	}
	if IsAppOnly(t.Flow) != IsAppOnly(s.flow) || (IsAppOnly(s.flow) && t.Flow != s.flow) {
		return "the account's flow changed"
	}
	want := s.ep.DelegatedScopes()
	if IsAppOnly(s.flow) {
		want = s.ep.AppScopes()
	}
	if len(t.Scopes) > 0 && !slices.Equal(t.Scopes, want) && (IsAppOnly(s.flow) || !slices.Equal(t.Scopes, s.ep.contactScopes())) {
		return "the account's cloud or scopes changed"
	}
	return ""
}

// refresh redeems the stored refresh token through an oauth2.TokenSource;
// the caller holds s.sem.
func (s *Source) refresh(ctx context.Context, stored Token) (string, error) {
	scopes := s.ep.DelegatedScopes()
	if slices.Equal(stored.Scopes, s.ep.contactScopes()) {
		scopes = stored.Scopes // signed in before MailboxSettings.Read was asked for
	}
	cfg := oauthConfig(s.acc, s.ep, "")
	cfg.Scopes = scopes
	now := s.now()
	hc := withRefreshScope(s.hc, cfg.Endpoint.TokenURL, scopes)
	if s.clientAuth != nil {
		hc = withClientAuth(hc, cfg.Endpoint.TokenURL, s.acc.ClientID, s.clientAuth, s.now)
	}
	tok, err := cfg.TokenSource(withHTTPClient(ctx, hc), &oauth2.Token{RefreshToken: stored.RefreshToken}).Token()
	tr, err := tokenAnswer(ctx, tok, err, stored.RefreshToken)
	if err != nil {
		var oe *OAuthError
		if errors.As(err, &oe) && oe.needsLogin() {
			return "", s.fail(&NeedLoginError{Account: s.acc.Name, Reason: oe.reason(), Hint: oe.Hint}, stored.RefreshToken)
		}
		s.log.Debug("token refresh failed", "account", s.acc.Name, "error", err.Error())
		return "", fmt.Errorf("account %s: refreshing the access token: %w", s.acc.Name, err)
	}
	nt := stored
	nt.AccessToken, nt.Expiry, nt.Scopes = tr.AccessToken, expiryOf(tr, now), scopes
	rotated := tr.RefreshToken != "" && tr.RefreshToken != stored.RefreshToken
	if tr.RefreshToken != "" {
		nt.RefreshToken = tr.RefreshToken
	}
	if err := s.store.SaveToken(ctx, s.acc.Name, nt); err != nil {
		// Keep it in memory and store it before anything else next time.
		s.mu.Lock()
		s.tok, s.unsaved = nt, true
		s.mu.Unlock()
		return "", fmt.Errorf("account %s: storing the new refresh token: %w", s.acc.Name, err)
	}
	s.mu.Lock()
	s.tok, s.needLogin, s.failedRT = nt, nil, ""
	s.mu.Unlock()
	s.log.Debug("access token refreshed", "account", s.acc.Name, "expiry", nt.Expiry, "refresh_token_rotated", rotated)
	return nt.AccessToken, nil
}

// clientCredentials requests an app-only token; the caller holds s.sem.
func (s *Source) clientCredentials(ctx context.Context) (string, error) {
	scopes := s.ep.AppScopes()
	tokenURL := s.ep.TokenURL(s.acc.Tenant)
	now := s.now()
	params, secrets, err := s.cred.params(tokenURL, s.acc.ClientID, now)
	if err != nil {
		return "", fmt.Errorf("account %s: %w", s.acc.Name, err)
	}
	cc := clientcredentials.Config{ClientID: s.acc.ClientID, TokenURL: tokenURL, Scopes: scopes,
		EndpointParams: params, AuthStyle: oauth2.AuthStyleInParams}
	tok, err := cc.Token(withHTTPClient(ctx, s.hc))
	tr, err := tokenAnswer(ctx, tok, err, secrets...)
	if err != nil {
		s.log.Debug("app-only token request failed", "account", s.acc.Name, "error", err.Error())
		return "", fmt.Errorf("account %s: requesting an app-only token (flow %s): %w", s.acc.Name, s.flow, err)
	}
	nt := Token{AccessToken: tr.AccessToken, Expiry: expiryOf(tr, now), User: s.acc.User,
		Tenant: s.acc.Tenant, Flow: s.flow, ClientID: s.acc.ClientID, Scopes: scopes}
	if err := s.store.SaveToken(ctx, s.acc.Name, nt); err != nil {
		// Only a cache: the token is good without it.
		s.log.Warn("could not store the app-only access token", "account", s.acc.Name, "error", err.Error())
	}
	s.mu.Lock()
	s.tok = nt
	s.mu.Unlock()
	s.log.Debug("app-only access token obtained", "account", s.acc.Name, "expiry", nt.Expiry)
	return nt.AccessToken, nil
}
