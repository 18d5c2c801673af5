package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/api"
)

// LoginOptions tune the interactive logins.
type LoginOptions struct {
	// Out is where the device code message or the browser URL is shown (the
	// CLI passes stderr); nil discards.
	Out io.Writer
	// OpenBrowser opens url in the user's browser; nil only prints it. An
	// error is not fatal (the URL is printed anyway).
	OpenBrowser func(url string) error
	// HTTPClient talks to the identity platform; nil uses a client with a
	// 60 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// BrowserTimeout bounds the wait for the browser's redirect; 0 is 5
	// minutes.
	BrowserTimeout time.Duration
	// Logger receives debug lines (never a token or code); nil discards.
	Logger *slog.Logger
}

// defaults fills the unset options.
func (o LoginOptions) defaults() LoginOptions {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.HTTPClient == nil {
		o.HTTPClient = newDefaultClient()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BrowserTimeout <= 0 {
		o.BrowserTimeout = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// checkDelegated refuses a login for an app-only account.
func checkDelegated(acc config.Account) (Endpoints, error) {
	if f := flowOf(acc); IsAppOnly(f) {
		return Endpoints{}, fmt.Errorf("account %s uses flow %s (app-only): it needs no login", acc.Name, f)
	}
	if acc.ClientID == "" {
		return Endpoints{}, fmt.Errorf("account %s: no client_id", acc.Name)
	}
	if err := requireTenant(acc); err != nil {
		return Endpoints{}, err
	}
	return EndpointsFor(acc)
}

// LoginDevice signs acc in with the device code flow of golang.org/x/oauth2
// (Config.DeviceAuth, then Config.DeviceAccessToken, which polls every
// interval and adds 5 s on slow_down): it shows the code and URL on o.Out
// and waits until the user signs in, declines or the code expires, then
// stores the tokens.
func LoginDevice(ctx context.Context, acc config.Account, store Store, o LoginOptions) (*Identity, error) {
	o = o.defaults()
	ep, err := checkDelegated(acc)
	if err != nil {
		return nil, err
	}
	cfg, hctx := oauthConfig(acc, ep, ""), withHTTPClient(ctx, o.HTTPClient)
	da, err := cfg.DeviceAuth(hctx)
	if err != nil {
		return nil, fmt.Errorf("account %s: device code login: %w", acc.Name, tokenError(ctx, "devicecode", err))
	}
	if da.DeviceCode == "" {
		return nil, fmt.Errorf("account %s: device code login: the answer has no device_code", acc.Name)
	}
	if da.Expiry.IsZero() { // the answer gave no expires_in: Microsoft's 15 minutes
		da.Expiry = time.Now().Add(15 * time.Minute)
	}
	fmt.Fprintf(o.Out, "To sign in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	tok, err := cfg.DeviceAccessToken(hctx, da)
	now := o.Now()
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = &oauth2.RetrieveError{ErrorCode: "expired_token"} // da.Expiry passed
	}
	tr, err := tokenAnswer(ctx, tok, err, da.DeviceCode)
	if err == nil {
		return finishLogin(ctx, acc, store, FlowDevice, ep, tr, now, o.Logger)
	}
	var oe *OAuthError
	if errors.As(err, &oe) {
		switch oe.Code {
		case "authorization_declined", "access_denied":
			return nil, fmt.Errorf("account %s: the sign-in was declined", acc.Name)
		case "expired_token":
			return nil, fmt.Errorf("account %s: the code expired before the sign-in finished; run `cardbridge login %s` again", acc.Name, acc.Name)
		case "bad_verification_code":
			return nil, fmt.Errorf("account %s: the identity platform did not recognise the device code (bad_verification_code); run `cardbridge login %s` again", acc.Name, acc.Name)
		}
	}
	return nil, fmt.Errorf("account %s: device code login: %w", acc.Name, err)
}

// finishLogin stores the tokens of a delegated login and returns who signed in.
func finishLogin(ctx context.Context, acc config.Account, store Store, flow string, ep Endpoints, tr *api.TokenResponse, now time.Time, log *slog.Logger) (*Identity, error) {
	if tr.RefreshToken == "" {
		return nil, fmt.Errorf("account %s: the sign-in gave no refresh token (was offline_access granted?)", acc.Name)
	}
	id := identityFrom(tr.IDToken, tr.AccessToken)
	if id.User == "" {
		id.User = acc.User
	}
	t := Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Expiry: expiryOf(tr, now),
		User: id.User, Tenant: acc.Tenant, Flow: flow, ClientID: acc.ClientID, Scopes: ep.DelegatedScopes()}
	if err := store.SaveToken(ctx, acc.Name, t); err != nil {
		return nil, fmt.Errorf("account %s: storing the tokens: %w", acc.Name, err)
	}
	if id.Tenant == "" {
		id.Tenant = acc.Tenant
	}
	log.Debug("signed in", "account", acc.Name, "user", id.User, "tenant", id.Tenant, "flow", flow)
	return &id, nil
}

// randomString is n random bytes, base64url without padding.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// callback is what the loopback redirect delivered.
type callback struct {
	code string
	err  error
}

// LoginBrowser signs acc in with the authorization code flow and PKCE
// (S256): it listens on 127.0.0.1 (and [::1]) on a random port, shows (and,
// with o.OpenBrowser, opens) the authorize URL with redirect_uri
// http://localhost:PORT, waits for the redirect (o.BrowserTimeout or ctx),
// checks state, redeems the code with the verifier and stores the tokens.
func LoginBrowser(ctx context.Context, acc config.Account, store Store, o LoginOptions) (*Identity, error) {
	o = o.defaults()
	ep, err := checkDelegated(acc)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("account %s: browser login: listening on the loopback interface: %w", acc.Name, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	listeners := []net.Listener{ln}
	// Browsers may resolve localhost to ::1 first; serve it too when we can.
	if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(port))); err == nil {
		listeners = append(listeners, ln6)
	}
	redirectURI := "http://localhost:" + strconv.Itoa(port)

	req, err := newAuthCodeRequest(acc, ep, redirectURI)
	if err != nil {
		return nil, err
	}
	stateParam, authURL := req.State, req.URL

	results := make(chan callback, 1)
	deliver := func(c callback) {
		select {
		case results <- c:
		default: // one result is enough
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		code, errCode := v.Get("code"), v.Get("error")
		if r.URL.Path != "/" || (code == "" && errCode == "") {
			http.NotFound(w, r) // favicon, stray requests: not the redirect
			return
		}
		if v.Get("state") != stateParam {
			page(w, http.StatusBadRequest, "Sign-in failed", "The answer does not belong to this sign-in (state mismatch). Run cardbridge login again.")
			deliver(callback{err: fmt.Errorf("account %s: browser login: the redirect's state does not match (a forged or stale redirect); run `cardbridge login %s --browser` again", acc.Name, acc.Name)})
			return
		}
		if errCode != "" {
			oe := AuthorizeError(errCode, v.Get("error_description"), code)
			page(w, http.StatusOK, "Sign-in failed", oe.Code+": "+oe.Description)
			deliver(callback{err: fmt.Errorf("account %s: browser login: %w", acc.Name, oe)})
			return
		}
		page(w, http.StatusOK, "Signed in", "cardbridge received the sign-in; you can close this tab and return to the terminal.")
		deliver(callback{code: code})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	for _, l := range listeners {
		go srv.Serve(l)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()

	fmt.Fprintf(o.Out, "To sign in, open this URL in a browser:\n\n  %s\n\n", authURL)
	if o.OpenBrowser != nil {
		if err := o.OpenBrowser(authURL); err != nil {
			o.Logger.Debug("could not open a browser", "error", err.Error())
		}
	}

	timer := time.NewTimer(o.BrowserTimeout)
	defer timer.Stop()
	var cb callback
	select {
	case cb = <-results:
	case <-timer.C:
		return nil, fmt.Errorf("account %s: browser login: no answer from the browser within %v", acc.Name, o.BrowserTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("account %s: browser login: %w", acc.Name, ctx.Err())
	}
	if cb.err != nil {
		return nil, cb.err
	}
	return RedeemCode(ctx, acc, store, cb.code, req, o)
}

// page writes a small HTML page.
func page(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>cardbridge: %s</title></head>"+
		"<body style=\"font-family:sans-serif;margin:3em\"><h1>%s</h1><p>%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}

// Logout forgets the tokens of account acc. Microsoft's identity platform
// has no endpoint to revoke a refresh token; to revoke it everywhere, sign
// out of the sessions in the account's security settings.
func Logout(ctx context.Context, acc string, store Store) error {
	if err := store.DeleteToken(ctx, acc); err != nil {
		return fmt.Errorf("account %s: logout: %w", acc, err)
	}
	return nil
}
