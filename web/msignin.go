package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
)

// signInCallbackPath is the redirect URI's path of "Sign in with
// Microsoft" under the base URL.
const signInCallbackPath = Prefix + "login/microsoft/callback"

// signInCookie binds a "Sign in with Microsoft" in flight to the browser
// that started it (there is no session yet): the callback's state must be
// one this cookie's browser started.
const signInCookie = "cardbridge_signin"

// SignInRedirectURI is the redirect URI (type Web) to register in the app
// of server.microsoft_sign_in for a server whose public URL is baseURL.
func SignInRedirectURI(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + signInCallbackPath
}

// oauthConfig is the authorization-code client of the sign-in app; the
// authorize and token endpoints are the single allowed tenant's, or
// "organizations" for several.
// With server.microsoft_sign_in.contacts the same authorization asks for
// the contacts too (signInContactScopes). The app's credential is not in
// the config: it goes with the code (clientAuthOptions).
func (h *Handler) oauthConfig(ms config.MicrosoftSignIn) (*oauth2.Config, error) {
	tenant := "organizations"
	if len(ms.Tenants) == 1 {
		tenant = ms.Tenants[0]
	}
	base := ms.Authority() + "/" + tenant + "/oauth2/v2.0/"
	scopes := []string{oidc.ScopeOpenID, "profile", "email"}
	if ms.Contacts {
		cs, err := signInContactScopes(ms, tenant)
		if err != nil {
			return nil, err
		}
		scopes = append(scopes, cs...)
	}
	return &oauth2.Config{ClientID: ms.ClientID, RedirectURL: SignInRedirectURI(h.base), Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: base + "authorize", TokenURL: base + "token", AuthStyle: oauth2.AuthStyleInParams}}, nil
}

// signInContactScopes are the scopes a sign-in with contacts adds:
// Contacts.ReadWrite, offline_access (the refresh token the syncs use) and
// User.Read of the sign-in app's Graph (auth.Endpoints.ContactScopes), the
// ones its tokens are stored and refreshed with.
func signInContactScopes(ms config.MicrosoftSignIn, tenant string) ([]string, error) {
	ep, err := auth.EndpointsFor(ms.Account("server.microsoft_sign_in", tenant))
	if err != nil {
		return nil, err
	}
	return ep.ContactScopes(), nil
}

// clientAuthOptions are the parameters that authenticate the sign-in app
// when it redeems a code at tokenURL: its client secret, or a client
// assertion signed with its certificate_file's key (private_key_jwt), made
// by o365/auth as for flow client-certificate.
func (h *Handler) clientAuthOptions(ms config.MicrosoftSignIn, tokenURL string) ([]oauth2.AuthCodeOption, error) {
	p, err := auth.ClientAuthParams(ms.Account("server.microsoft_sign_in", ""), tokenURL, os.LookupEnv, h.o.Now())
	if err != nil {
		return nil, err
	}
	var opts []oauth2.AuthCodeOption
	for k, v := range p {
		if len(v) > 0 {
			opts = append(opts, oauth2.SetAuthURLParam(k, v[0]))
		}
	}
	return opts, nil
}

// microsoftStart begins "Sign in with Microsoft": a fresh state, nonce and
// PKCE verifier, kept with a cookie of this browser, and a redirect to the
// authorize page.
func (h *Handler) microsoftStart(w http.ResponseWriter, r *http.Request) {
	ms := h.o.Config.Server.MicrosoftSignIn
	if !ms.Configured() {
		h.fail(w, r, nil, http.StatusNotFound, "Sign in with Microsoft is not set up",
			"This server has no Microsoft sign-in: its administrator sets server.microsoft_sign_in (client_id, tenants, client secret) in the configuration.")
		return
	}
	browser, err1 := randomToken(32)
	st, err2 := randomToken(32)
	nonce, err3 := randomToken(32)
	if err := errors.Join(err1, err2, err3); err != nil {
		h.internal(w, r, nil, "preparing the Microsoft sign-in", err)
		return
	}
	verifier := oauth2.GenerateVerifier()
	now := h.o.Now()
	if err := h.o.DB.SaveSignInState(r.Context(), state.SignInState{StateHash: hashToken(st), BrowserHash: hashToken(browser),
		Verifier: verifier, Nonce: nonce, RedirectURI: SignInRedirectURI(h.base), Created: now, Expires: now.Add(oauthLifetime)}); err != nil {
		h.internal(w, r, nil, "preparing the Microsoft sign-in", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: browser, Path: Prefix + "login/", MaxAge: int(oauthLifetime.Seconds()),
		HttpOnly: true, Secure: h.o.Secure, SameSite: http.SameSiteLaxMode})
	conf, err := h.oauthConfig(ms)
	if err != nil {
		h.internal(w, r, nil, "preparing the Microsoft sign-in", err)
		return
	}
	u := conf.AuthCodeURL(st, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce),
		oauth2.SetAuthURLParam("response_mode", "query"), oauth2.SetAuthURLParam("prompt", "select_account"))
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// idClaims are the ID token's claims the sign-in uses.
type idClaims struct {
	TenantID string `json:"tid"`
	ObjectID string `json:"oid"`
	UPN      string `json:"preferred_username"`
}

// signInRefused shows a sign-in failure: nothing was stored and no session
// made.
func (h *Handler) signInRefused(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.fail(w, r, nil, status, "Sign-in refused", msg+" You are not signed in; start again from the sign-in page.")
}

// microsoftCallback finishes "Sign in with Microsoft": the state must be
// one this browser started (used once); the code is redeemed (with the
// PKCE verifier), the ID token verified with its tenant's discovery
// document and keys (issuer, audience = the client id, expiry, signature)
// and its nonce compared with the one sent; a tenant not allowed is
// refused (403). The person is found by tenant id + object id, or made a
// local user on their first sign-in, and a session starts.
func (h *Handler) microsoftCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ms := h.o.Config.Server.MicrosoftSignIn
	if !ms.Configured() {
		h.fail(w, r, nil, http.StatusNotFound, "Sign in with Microsoft is not set up", "This server has no Microsoft sign-in (server.microsoft_sign_in).")
		return
	}
	q := r.URL.Query()
	st := q.Get("state")
	c, cerr := r.Cookie(signInCookie)
	var pending state.SignInState
	var err error
	if st != "" && cerr == nil && c.Value != "" && len(c.Value) <= 128 && len(st) <= 128 {
		pending, err = h.o.DB.TakeSignInState(ctx, hashToken(st), hashToken(c.Value), h.o.Now())
	} else {
		err = state.ErrNotFound
	}
	if errors.Is(err, state.ErrNotFound) {
		h.log.Warn("web: Microsoft sign-in callback with a state this browser did not start")
		h.signInRefused(w, r, http.StatusBadRequest,
			"This answer does not belong to a sign-in started in this browser (state mismatch, or it was used or expired).")
		return
	}
	if err != nil {
		h.internal(w, r, nil, "checking the sign-in", err)
		return
	}
	if e := q.Get("error"); e != "" {
		h.signInRefused(w, r, http.StatusBadRequest, "Microsoft answered "+e+": "+q.Get("error_description")+".")
		return
	}
	code := q.Get("code")
	if code == "" {
		h.signInRefused(w, r, http.StatusBadRequest, "The answer has neither a code nor an error.")
		return
	}
	cctx := oidc.ClientContext(ctx, h.o.HTTPClient)
	conf, err := h.oauthConfig(ms)
	if err != nil {
		h.internal(w, r, nil, "preparing the Microsoft sign-in", err)
		return
	}
	conf.RedirectURL = pending.RedirectURI
	opts, err := h.clientAuthOptions(ms, conf.Endpoint.TokenURL)
	if err != nil {
		h.internal(w, r, nil, "reading the sign-in app's credential", err)
		return
	}
	tok, err := conf.Exchange(cctx, code, append(opts, oauth2.VerifierOption(pending.Verifier))...)
	if err != nil {
		var re *oauth2.RetrieveError
		msg := "Microsoft refused the code."
		if errors.As(err, &re) && re.ErrorCode != "" {
			msg = "Microsoft refused the code: " + re.ErrorCode + ": " + re.ErrorDescription
			if re.ErrorCode == "invalid_client" {
				msg += " (the sign-in app's credential, server.microsoft_sign_in's client secret or certificate_file, is not one its app registration has)"
			}
		}
		h.log.Warn("web: redeeming the sign-in code", "err", err)
		h.signInRefused(w, r, http.StatusBadGateway, msg)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		h.signInRefused(w, r, http.StatusBadGateway, "Microsoft's answer has no ID token.")
		return
	}
	tid, err := unverifiedTenant(raw)
	if err != nil {
		h.signInRefused(w, r, http.StatusBadRequest, "The ID token cannot be read: "+err.Error()+".")
		return
	}
	if !ms.Allowed(tid) {
		h.log.Warn("web: Microsoft sign-in from a tenant not allowed", "tid", tid)
		h.fail(w, r, nil, http.StatusForbidden, "Organisation not allowed",
			"Your Microsoft account belongs to an organisation (tenant "+tid+") that may not sign in to this server; its administrator allows organisations in server.microsoft_sign_in.tenants. You are not signed in.")
		return
	}
	idt, claims, err := h.verifyIDToken(cctx, ms, tid, raw)
	if err != nil {
		h.log.Warn("web: ID token refused", "tid", tid, "err", err)
		h.signInRefused(w, r, http.StatusBadRequest, "The ID token was refused: "+err.Error()+".")
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pending.Nonce)) != 1 {
		h.log.Warn("web: ID token with the wrong nonce", "tid", tid)
		h.signInRefused(w, r, http.StatusBadRequest, "The ID token was refused: its nonce is not the one this sign-in sent (a replayed token).")
		return
	}
	user, err := h.microsoftUser(ctx, claims, ms.UserNames)
	if err != nil {
		h.internal(w, r, nil, "finding the local user", err)
		return
	}
	landing := Prefix
	if ms.Contacts {
		landing += "?contacts=" + h.keepContacts(ctx, ms, user, claims, tok)
	}
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: Prefix + "login/", MaxAge: -1, HttpOnly: true, Secure: h.o.Secure, SameSite: http.SameSiteLaxMode})
	h.log.Info("web: signed in with Microsoft", "user", user, "tid", claims.TenantID, "oid", claims.ObjectID)
	h.startSessionTo(w, r, user, landing)
}

// verifyIDToken checks raw with the discovery document and keys of tenant
// tid (its issuer "<authority>/<tid>/v2.0"): signature, issuer, audience
// (the client id) and expiry; the claims must carry that tid and an oid.
func (h *Handler) verifyIDToken(ctx context.Context, ms config.MicrosoftSignIn, tid, raw string) (*oidc.IDToken, idClaims, error) {
	provider, err := h.providers.get(ctx, ms.Authority()+"/"+tid+"/v2.0")
	if err != nil {
		return nil, idClaims{}, err
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: ms.ClientID, Now: h.o.Now}).Verify(ctx, raw)
	if err != nil {
		return nil, idClaims{}, err
	}
	var cl idClaims
	if err := idt.Claims(&cl); err != nil {
		return nil, idClaims{}, err
	}
	if !strings.EqualFold(cl.TenantID, tid) || cl.ObjectID == "" {
		return nil, idClaims{}, errors.New("the token names no object id or another tenant")
	}
	return idt, cl, nil
}

// unverifiedTenant reads the tid claim of an ID token without checking it:
// only to choose whose keys check it (a tenant not allowed is refused
// before anything of it is fetched).
func unverifiedTenant(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("its payload is not base64url")
	}
	var cl idClaims
	if err := json.Unmarshal(b, &cl); err != nil {
		return "", errors.New("its payload is not JSON")
	}
	if !tenantIDRE.MatchString(cl.TenantID) {
		return "", errors.New("it names no tenant id (tid)")
	}
	return strings.ToLower(cl.TenantID), nil
}

// tenantIDRE is a tenant id: a GUID.
var tenantIDRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// microsoftUser is the local user of the person of claims: found by tenant
// id + object id, or made on their first sign-in (named after the UPN or
// its local part as server.microsoft_sign_in.user_names says, made
// unique; no password).
func (h *Handler) microsoftUser(ctx context.Context, cl idClaims, mode string) (string, error) {
	id, err := h.o.DB.MicrosoftUser(ctx, cl.TenantID, cl.ObjectID)
	if err == nil {
		if id.UPN != cl.UPN {
			if err := h.o.DB.SetMicrosoftUPN(ctx, cl.TenantID, cl.ObjectID, cl.UPN); err != nil {
				h.log.Warn("web: recording the UPN", "user", id.User, "err", err)
			}
		}
		return id.User, nil
	}
	if !errors.Is(err, state.ErrNotFound) {
		return "", err
	}
	id, err = h.o.DB.AddMicrosoftUser(ctx, cl.TenantID, cl.ObjectID, cl.UPN, pairs.UserNameFromUPN(cl.UPN, mode))
	if errors.Is(err, state.ErrExists) {
		// Another sign-in of the same person made it just now.
		id, err = h.o.DB.MicrosoftUser(ctx, cl.TenantID, cl.ObjectID)
	}
	if err != nil {
		return "", err
	}
	h.log.Info("web: user created by a Microsoft sign-in", "user", id.User, "tid", id.TenantID, "oid", id.ObjectID)
	return id.User, nil
}

// providerCache keeps the OpenID Connect provider (discovery document and
// key set, whose keys go-oidc fetches again for a kid it does not know) of
// each issuer asked for: only allowed tenants' issuers reach it, so it is
// bounded by server.microsoft_sign_in.tenants. A failed discovery is not
// kept.
type providerCache struct {
	mu sync.Mutex
	m  map[string]*oidc.Provider
}

// get returns issuer's provider, discovered on first use. The provider
// outlives the request (its key set fetches keys later), so it keeps
// ctx's values (the HTTP client) but not its cancellation.
func (c *providerCache) get(ctx context.Context, issuer string) (*oidc.Provider, error) {
	c.mu.Lock()
	p := c.m[issuer]
	c.mu.Unlock()
	if p != nil {
		return p, nil
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Discovery checks that the document's issuer is issuer.
	found, err := oidc.NewProvider(dctx, issuer)
	if err != nil {
		return nil, err
	}
	var pc oidc.ProviderConfig
	if err := found.Claims(&pc); err != nil {
		return nil, fmt.Errorf("discovery document of %s: %w", issuer, err)
	}
	// The key set fetches with the context it is made with: the
	// request's values (the HTTP client), not its end.
	p = pc.NewProvider(context.WithoutCancel(ctx))
	c.mu.Lock()
	c.m[issuer] = p
	c.mu.Unlock()
	return p, nil
}
