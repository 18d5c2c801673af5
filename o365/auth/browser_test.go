package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// browserIDP is a fake whose authorize endpoint redirects to the loopback
// with a code (and the state, or forgedState when set), and whose token
// endpoint checks the PKCE verifier against the challenge.
func browserIDP(t *testing.T, forgedState string) *idp {
	f := newIDP(t)
	var mu sync.Mutex
	var challenge, redirect string
	f.authorize = func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for k, want := range map[string]string{"client_id": testClientID, "response_type": "code", "code_challenge_method": "S256"} {
			if q.Get(k) != want {
				t.Errorf("authorize %s = %q, want %q", k, q.Get(k), want)
			}
		}
		if !strings.HasPrefix(q.Get("redirect_uri"), "http://localhost:") || q.Get("state") == "" || len(q.Get("code_challenge")) != 43 {
			t.Errorf("authorize query %v", q)
		}
		if !strings.Contains(q.Get("scope"), "offline_access") {
			t.Errorf("authorize scope %q", q.Get("scope"))
		}
		mu.Lock()
		challenge, redirect = q.Get("code_challenge"), q.Get("redirect_uri")
		mu.Unlock()
		state := q.Get("state")
		if forgedState != "" {
			state = forgedState
		}
		http.Redirect(w, r, q.Get("redirect_uri")+"/?"+url.Values{"code": {"AUTHCODE-1"}, "state": {state}}.Encode(), http.StatusFound)
	}
	f.token = func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		v := r.Form.Get("code_verifier")
		sum := sha256.Sum256([]byte(v))
		switch {
		case r.Form.Get("grant_type") != "authorization_code" || r.Form.Get("code") != "AUTHCODE-1":
			oauthErr(w, 400, "invalid_grant", "AADSTS70000: bad code.")
		case r.Form.Get("redirect_uri") != redirect:
			oauthErr(w, 400, "invalid_grant", "AADSTS50011: redirect_uri mismatch.")
		case len(v) < 43 || len(v) > 128 || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge:
			oauthErr(w, 400, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		default:
			tokenOK(w, "AT-browser", "RT-browser", fakeJWT(map[string]any{"upn": "bob@contoso.com", "tid": "tid-2"}))
		}
	}
	return f
}

// browse is a fake browser: it follows the authorize URL's redirect to the
// loopback and returns the page's status and text through got.
func browse(t *testing.T, got *string) func(string) error {
	return func(u string) error {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		*got = fmt.Sprintf("%d %s", resp.StatusCode, b)
		return nil
	}
}

func TestBrowserLogin(t *testing.T) {
	f := browserIDP(t, "")
	st := newStore()
	var out bytes.Buffer
	var pageText string
	id, err := LoginBrowser(context.Background(), f.account("browser"), st, LoginOptions{Out: &out, OpenBrowser: browse(t, &pageText), BrowserTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if *id != (Identity{User: "bob@contoso.com", Tenant: "tid-2"}) {
		t.Errorf("identity %+v", id)
	}
	if !strings.HasPrefix(pageText, "200 ") || !strings.Contains(pageText, "close this tab") {
		t.Errorf("page %q", pageText)
	}
	if !strings.Contains(out.String(), f.srv.URL+"/"+testTenant+"/oauth2/v2.0/authorize?") {
		t.Errorf("output %q lacks the authorize URL", out.String())
	}
	if tok := st.get("work"); tok.RefreshToken != "RT-browser" || tok.Flow != "browser" || tok.User != "bob@contoso.com" {
		t.Errorf("stored %+v", tok)
	}
	if f.count("token") != 1 {
		t.Errorf("%d token calls", f.count("token"))
	}
}

func TestBrowserWrongStateRejected(t *testing.T) {
	f := browserIDP(t, "forged-state")
	st := newStore()
	var pageText string
	_, err := LoginBrowser(context.Background(), f.account("browser"), st, LoginOptions{OpenBrowser: browse(t, &pageText), BrowserTimeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "state") {
		t.Fatalf("error %v", err)
	}
	if !strings.HasPrefix(pageText, "400 ") {
		t.Errorf("page %q, want a 400", pageText)
	}
	if f.count("token") != 0 || len(st.saves) != 0 {
		t.Error("a code with a wrong state was redeemed")
	}
}

func TestBrowserAuthorizeError(t *testing.T) {
	f := newIDP(t)
	f.authorize = func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		http.Redirect(w, r, q.Get("redirect_uri")+"/?"+url.Values{"error": {"access_denied"},
			"error_description": {"AADSTS65004: User declined to consent to access the app. Trace ID: 1"}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	}
	var pageText string
	_, err := LoginBrowser(context.Background(), f.account("browser"), newStore(), LoginOptions{OpenBrowser: browse(t, &pageText), BrowserTimeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "access_denied: AADSTS65004: User declined to consent to access the app.") || strings.Contains(err.Error(), "Trace") {
		t.Fatalf("error %v", err)
	}
}

func TestBrowserTimeoutAndCancel(t *testing.T) {
	f := browserIDP(t, "")
	_, err := LoginBrowser(context.Background(), f.account("browser"), newStore(), LoginOptions{BrowserTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LoginBrowser(ctx, f.account("browser"), newStore(), LoginOptions{}); err == nil {
		t.Error("cancelled login succeeded")
	}
}
