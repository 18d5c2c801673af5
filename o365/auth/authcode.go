package auth

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"github.com/cardbridge/cardbridge/config"
)

// AuthCodeRequest is one authorization request of the code flow with PKCE
// (S256): the URL to send the browser to, and the state and verifier the
// redirect is checked and redeemed with. LoginBrowser makes one for its
// loopback redirect; a web app (serve's "Connect Office 365") makes one for
// its own callback with NewAuthCodeRequest and finishes with RedeemCode.
type AuthCodeRequest struct {
	// URL is the authorize endpoint with the request's parameters.
	URL string
	// State is the random state parameter the redirect must carry back.
	State string
	// Verifier is the PKCE code verifier (secret until redeemed).
	Verifier string
	// RedirectURI is where the identity platform sends the browser back.
	RedirectURI string
}

// NewAuthCodeRequest builds an authorization request for the delegated
// account acc with the given redirect URI: a fresh random state and PKCE
// verifier, the account's delegated scopes (with offline_access) and, when
// acc.User is set, a login hint.
func NewAuthCodeRequest(acc config.Account, redirectURI string) (AuthCodeRequest, error) {
	ep, err := checkDelegated(acc)
	if err != nil {
		return AuthCodeRequest{}, err
	}
	return newAuthCodeRequest(acc, ep, redirectURI)
}

// newAuthCodeRequest is NewAuthCodeRequest once the endpoints are known.
func newAuthCodeRequest(acc config.Account, ep Endpoints, redirectURI string) (AuthCodeRequest, error) {
	stateParam, err := randomString(24)
	if err != nil {
		return AuthCodeRequest{}, fmt.Errorf("account %s: authorization request: %w", acc.Name, err)
	}
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("response_mode", "query"), oauth2.SetAuthURLParam("prompt", "select_account")}
	if acc.User != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", acc.User))
	}
	return AuthCodeRequest{URL: oauthConfig(acc, ep, redirectURI).AuthCodeURL(stateParam, opts...), State: stateParam,
		Verifier: verifier, RedirectURI: redirectURI}, nil
}

// RedeemCode redeems the authorization code a redirect delivered, with the
// request's verifier and redirect URI, and stores the tokens of acc in
// store (flow browser). A refused code (expired, already redeemed, wrong
// verifier) is an *OAuthError naming its AADSTS reason; no code, verifier or
// token is ever in the error.
func RedeemCode(ctx context.Context, acc config.Account, store Store, code string, req AuthCodeRequest, o LoginOptions) (*Identity, error) {
	o = o.defaults()
	ep, err := checkDelegated(acc)
	if err != nil {
		return nil, err
	}
	now := o.Now()
	cfg := oauthConfig(acc, ep, req.RedirectURI)
	tok, err := cfg.Exchange(withHTTPClient(ctx, o.HTTPClient), code, oauth2.VerifierOption(req.Verifier),
		oauth2.SetAuthURLParam("scope", strings.Join(cfg.Scopes, " ")))
	tr, err := tokenAnswer(ctx, tok, err, code, req.Verifier)
	if err != nil {
		return nil, fmt.Errorf("account %s: redeeming the code: %w", acc.Name, err)
	}
	return finishLogin(ctx, acc, store, FlowBrowser, ep, tr, now, o.Logger)
}

// AuthorizeError is the error an authorize redirect reported (its error
// and error_description parameters), reduced like every answer of the
// identity platform: the code, the AADSTS code and the first sentence, with
// code (the redirect's code parameter, if any) scrubbed.
func AuthorizeError(errCode, description, code string) *OAuthError {
	return sanitizeTokenError("authorize", 200, errCode, description, "", "", redactor{code})
}
