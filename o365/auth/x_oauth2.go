package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/api"
)

// oauthConfig is the golang.org/x/oauth2 configuration of acc's delegated
// flows (public client: the client id goes in the form, there is no secret).
func oauthConfig(acc config.Account, ep Endpoints, redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: acc.ClientID,
		Endpoint: oauth2.Endpoint{AuthURL: ep.AuthorizeURL(acc.Tenant), TokenURL: ep.TokenURL(acc.Tenant),
			DeviceAuthURL: ep.DeviceCodeURL(acc.Tenant), AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: redirectURI,
		Scopes:      ep.loginScopes(),
	}
}

// withHTTPClient is ctx carrying hc for golang.org/x/oauth2 (nil: the
// 60 s default client).
func withHTTPClient(ctx context.Context, hc *http.Client) context.Context {
	if hc == nil {
		hc = newDefaultClient()
	}
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// tokenAnswer checks a token of golang.org/x/oauth2 (or turns its error into
// the project's: an *OAuthError for an error answer of the identity
// platform, with its AADSTS code and hint) and returns it as the endpoint's
// answer. No secret of the request (secrets) nor any token-like text is in
// the error.
func tokenAnswer(ctx context.Context, tok *oauth2.Token, err error, secrets ...string) (*api.TokenResponse, error) {
	if err != nil {
		return nil, tokenError(ctx, "token", err, secrets...)
	}
	if tok.AccessToken == "" {
		return nil, errors.New("token endpoint: the answer has no access_token")
	}
	if tt := strings.ToLower(tok.TokenType); tt != "" && tt != "bearer" {
		return nil, errors.New("token endpoint: the token_type of the answer is not Bearer")
	}
	tr := &api.TokenResponse{TokenType: tok.TokenType, AccessToken: tok.AccessToken,
		RefreshToken: tok.RefreshToken, ExpiresIn: int(tok.ExpiresIn)}
	tr.IDToken, _ = tok.Extra("id_token").(string)
	tr.Scope, _ = tok.Extra("scope").(string)
	return tr, nil
}

// tokenError is err of golang.org/x/oauth2 as the project's error: an
// *oauth2.RetrieveError with an error code becomes an *OAuthError (AADSTS
// code, first sentence, hint, trace ids); one without is "HTTP STATUS" (the
// body of a proxy's page or a 5xx is not shown); anything else is scrubbed.
func tokenError(ctx context.Context, endpoint string, err error, secrets ...string) error {
	red := redactor(secrets)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if re.ErrorCode != "" {
			var te api.TokenError
			_ = json.Unmarshal(re.Body, &te) // trace and correlation ids, when JSON
			return sanitizeTokenError(endpoint, status, re.ErrorCode, re.ErrorDescription, te.TraceID, te.CorrelationID, red)
		}
		return fmt.Errorf("%s endpoint: HTTP %d %s", endpoint, status, http.StatusText(status))
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s endpoint: %w", endpoint, ctxErr)
	}
	return fmt.Errorf("%s endpoint: %s", endpoint, red.scrub(err.Error()))
}

// expiryOf is when a token answered at now expires (one hour when the answer
// does not say).
func expiryOf(tr *api.TokenResponse, now time.Time) time.Time {
	sec := tr.ExpiresIn
	if sec <= 0 {
		sec = 3600
	}
	return now.Add(time.Duration(sec) * time.Second)
}
