package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graphsim"
)

// TestConfidentialDelegatedRefresh: a delegated account of a confidential
// client (config.Account.Confidential, as server.microsoft_sign_in's)
// redeems a code with ClientAuthParams' assertion and refreshes with a
// fresh one on every refresh, against graphsim's checks; the same account
// without Confidential (a public client's refresh), or with a certificate
// the app does not have, is refused.
func TestConfidentialDelegatedRefresh(t *testing.T) {
	cert, certFile, _ := testCert(t)
	_, otherFile, _ := testCert(t)
	sim := graphsim.New(graphsim.Options{AutoApprove: true})
	sim.AddUser(graphsim.User{UPN: "alice@contoso.example"})
	const client = "conf"
	sim.AddApp(graphsim.App{ClientID: client, Certificate: cert, RedirectURIs: []string{"https://dav.example/cb"}})
	base := "http://127.0.0.1:9" // in process, never over the network
	hc := &http.Client{Transport: handlerTransport{sim}}
	tenant := sim.Options().Tenant
	acc := config.Account{Name: "web-alice", Tenant: tenant, ClientID: client, Flow: FlowBrowser, LoginURL: base, GraphURL: base + "/v1.0",
		CertificateFile: certFile, Confidential: true}
	ep, err := EndpointsFor(acc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The code, as the web page's sign-in gets and redeems it.
	verifier := "a-verifier-of-enough-length-for-pkce-0123456789abcdef"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {client}, "response_type": {"code"}, "redirect_uri": {"https://dav.example/cb"}, "login_hint": {"alice@contoso.example"},
		"scope": {strings.Join(append(ep.ContactScopes(), "openid"), " ")}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	resp, err := (&http.Client{Transport: handlerTransport{sim}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		Get(ep.AuthorizeURL(tenant) + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{"client_id": {client}, "grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://dav.example/cb"}, "code_verifier": {verifier}}
	params, err := ClientAuthParams(acc, ep.TokenURL(tenant), nil, time.Now())
	if err != nil || params.Get("client_assertion") == "" || params.Get("client_secret") != "" {
		t.Fatalf("client auth params %v %v", params, err)
	}
	for k, v := range params {
		form[k] = v
	}
	resp, err = hc.PostForm(ep.TokenURL(tenant), form)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if resp.StatusCode != 200 || tr.RefreshToken == "" {
		t.Fatalf("code redemption with the assertion: %d", resp.StatusCode)
	}

	stored := Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Expiry: time.Now().Add(-time.Minute),
		Tenant: tenant, Flow: FlowBrowser, ClientID: client, Scopes: ep.ContactScopes()}
	refresh := func(a config.Account) (Token, error) {
		st := newStore()
		st.SaveToken(ctx, a.Name, stored)
		s, err := NewSourceWith(a, st, SourceOptions{HTTPClient: hc})
		if err != nil {
			return Token{}, err
		}
		_, err = s.Token(ctx)
		return st.get(a.Name), err
	}
	public := acc
	public.Confidential = false
	if _, err := refresh(public); err == nil || !strings.Contains(err.Error(), "AADSTS7000218") {
		t.Fatalf("refresh as a public client: %v, want AADSTS7000218", err)
	}
	other := acc
	other.CertificateFile = otherFile
	if _, err := refresh(other); err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("refresh with another certificate: %v, want AADSTS700027", err)
	}
	got, err := refresh(acc)
	if err != nil || got.RefreshToken == stored.RefreshToken || !got.Expiry.After(time.Now()) {
		t.Fatalf("refresh with the certificate: %v (rotated %v)", err, got.RefreshToken != stored.RefreshToken)
	}
	if _, err := ClientAuthParams(config.Account{Name: "x"}, ep.TokenURL(tenant), nil, time.Now()); err == nil || !strings.Contains(err.Error(), "no client credential") {
		t.Fatalf("no credential: %v", err)
	}
}
