package web

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
)

const (
	msClient   = "33333333-4444-4555-8666-777777777777"
	msSecret   = "web-app-secret"
	msFabrikam = "99999999-9999-4999-8999-999999999999"
	msOlgaPass = "olga-at-microsoft"
)

// msEnv is env with "Sign in with Microsoft" set up against graphsim: the
// confidential multi-tenant app msClient, contoso (alice) allowed and
// fabrikam (olga) not. Its UI talks to graphsim through a transport that
// can rewrite the ID token of the token answer (re-signed with a tenant's
// key), to try tokens the simulator would not issue.
type msEnv struct {
	*env
	ui      *httptest.Server
	contoso string
	mu      sync.Mutex
	// mutate, when set, changes the ID token's claims and returns the
	// tenant whose key signs the result.
	mutate func(claims map[string]any) string
	// fetched counts the UI's requests by path.
	fetched map[string]int
}

func newMSEnv(t *testing.T) *msEnv {
	t.Helper()
	e := newEnv(t)
	m := &msEnv{env: e, contoso: e.sim.Options().Tenant, fetched: map[string]int{}}
	if err := e.sim.AddTenant(msFabrikam, "fabrikam.example"); err != nil {
		t.Fatal(err)
	}
	e.sim.AddUser(graphsim.User{ID: "0a000000-0000-4000-8000-00000000000a", UPN: "olga@fabrikam.example", DisplayName: "Olga", Password: msOlgaPass, Tenant: msFabrikam})
	e.sim.AddApp(graphsim.App{ClientID: msClient, Secret: msSecret, Audience: graphsim.AudienceMultipleOrgs,
		RedirectURIs: []string{"http://127.0.0.1/ui/login/microsoft/callback"}})
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte(msSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Two allowed tenants: the authorize endpoint is "organizations", so
	// fabrikam's people get as far as the callback.
	e.cfg.Server.MicrosoftSignIn = config.MicrosoftSignIn{ClientID: msClient, Tenants: []string{m.contoso, "aaaaaaaa-0000-4000-8000-000000000001"},
		ClientSecretFile: secret, LoginURL: e.simTS.URL}
	mux := http.NewServeMux()
	m.ui = httptest.NewServer(mux)
	t.Cleanup(m.ui.Close)
	h, err := New(Options{DB: e.db, Config: e.cfg, Pairs: e.pairs, Guard: e.guard, BaseURL: m.ui.URL, FailedLoginDelay: -1, Now: e.clock.Now,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: m}})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(Prefix, h)
	return m
}

func (m *msEnv) setMutate(f func(map[string]any) string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mutate = f
}

// RoundTrip passes requests to graphsim and rewrites the ID token of a
// token answer when mutate is set.
func (m *msEnv) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	m.mu.Lock()
	f := m.mutate
	m.fetched[req.URL.Path]++
	m.mu.Unlock()
	if err != nil || f == nil || !strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	raw, _ := body["id_token"].(string)
	parts := strings.Split(raw, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	key, kid := m.sim.SigningKey(f(claims))
	body["id_token"] = signTestJWT(m.t, key, kid, claims)
	b, _ := json.Marshal(body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func signTestJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	hb, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": kid})
	cb, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Error(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (m *msEnv) browser() *browser {
	b := m.env.browser()
	b.ui = m.ui.URL
	return b
}

// start begins the sign-in in b and returns the callback URL graphsim
// sends the browser to after login signs in.
func (m *msEnv) start(b *browser, login, password string) string {
	m.t.Helper()
	st, loc, body := b.get("/ui/login/microsoft")
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, m.simTS.URL+"/organizations/oauth2/v2.0/authorize?") {
		m.t.Fatalf("start: %d %s\n%s", st, loc, body)
	}
	q := mustURL(m.t, loc).Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("state") == "" || q.Get("client_id") != msClient ||
		!strings.Contains(q.Get("scope"), "openid") || q.Get("redirect_uri") != m.ui.URL+"/ui/login/microsoft/callback" {
		m.t.Fatalf("authorize URL %s", loc)
	}
	cb := m.consent(loc, login, password)
	if !strings.HasPrefix(cb, m.ui.URL+"/ui/login/microsoft/callback?") {
		m.t.Fatalf("callback %s", cb)
	}
	return cb
}

// signedInAs is who b's session is ("" for none).
func signedInAs(t *testing.T, b *browser) string {
	t.Helper()
	st, _, body := b.get("/ui/")
	if st != http.StatusOK {
		return ""
	}
	_, rest, ok := strings.Cut(body, `<span id="user">`)
	name, _, _ := strings.Cut(rest, "<")
	if !ok || name == "" {
		t.Fatalf("dashboard without the user's name:\n%s", body)
	}
	return name
}

// TestMicrosoftSignIn: the first sign-in makes a user (not the local
// alice, though the UPN is alice@...) and a session; a later one, with
// another UPN, finds the same user; a tenant not allowed is refused with
// a 403 page; a replayed state, a tampered nonce, and ID tokens for
// another audience, expired, or signed with another tenant's key are each
// refused with a clear page and no session.
func TestMicrosoftSignIn(t *testing.T) {
	m := newMSEnv(t)
	ctx := context.Background()

	st, _, body := m.browser().get("/ui/login")
	if st != http.StatusOK || !strings.Contains(body, `action="/ui/login/microsoft"`) || !strings.Contains(body, "Sign in with Microsoft") {
		t.Fatalf("sign-in page: %d\n%s", st, body)
	}

	b := m.browser()
	cb := m.start(b, simUser, simPass)
	saved := b.c.Jar.Cookies(mustURL(t, cb))
	st, loc, body := b.get(cb)
	if st != http.StatusSeeOther || loc != "/ui/" {
		t.Fatalf("callback: %d %s\n%s", st, loc, body)
	}
	id, err := m.db.MicrosoftUser(ctx, m.contoso, m.simMB.User().ID)
	if err != nil || id.User != "alice-2" || id.UPN != simUser {
		t.Fatalf("identity %+v %v (want a new user alice-2: the local alice is someone else)", id, err)
	}
	if who := signedInAs(t, b); who != "alice-2" {
		t.Fatalf("signed in as %q", who)
	}
	// the new user has no password
	if st, _, _ := m.browser().post("/ui/login", "", url.Values{"user": {"alice-2"}, "password": {state.NoPassword}}); st != http.StatusUnauthorized {
		t.Fatalf("password sign-in of a Microsoft user: %d", st)
	}

	// a replayed callback (with the browser's cookie) is refused: its state was used
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(mustURL(t, cb), saved)
	replay := m.browser()
	replay.c.Jar = jar
	if st, _, body := replay.get(cb); st != http.StatusBadRequest || !strings.Contains(body, "does not belong to a sign-in started in this browser") {
		t.Fatalf("replay: %d\n%s", st, body)
	}
	if signedInAs(t, replay) != "" {
		t.Fatal("replay made a session")
	}

	// the second sign-in, under a new UPN, is the same person
	m.setMutate(func(c map[string]any) string {
		c["preferred_username"] = "alice.smith@contoso.example"
		return m.contoso
	})
	b2 := m.browser()
	if st, loc, body := b2.get(m.start(b2, simUser, simPass)); st != http.StatusSeeOther || loc != "/ui/" {
		t.Fatalf("second sign-in: %d %s\n%s", st, loc, body)
	}
	m.setMutate(nil)
	if who := signedInAs(t, b2); who != "alice-2" {
		t.Fatalf("second sign-in as %q", who)
	}
	if id, _ := m.db.MicrosoftUser(ctx, m.contoso, m.simMB.User().ID); id.UPN != "alice.smith@contoso.example" {
		t.Fatalf("UPN not updated: %+v", id)
	}
	if us, _ := m.db.Users(ctx); len(us) != 3 {
		t.Fatalf("users %v, want alice, bob, alice-2", us)
	}

	refusals := []struct {
		name     string
		login    string
		password string
		tamper   func(t *testing.T) // before the callback
		mutate   func(map[string]any) string
		status   int
		want     string
	}{
		{name: "tenant not allowed", login: "olga@fabrikam.example", password: msOlgaPass,
			status: http.StatusForbidden, want: "may not sign in to this server"},
		{name: "stored nonce tampered", tamper: func(t *testing.T) {
			raw, err := sql.Open("sqlite", "file:"+m.db.Path()+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(`UPDATE web_signin_states SET nonce = 'not-the-one-sent'`); err != nil {
				t.Fatal(err)
			}
		}, status: http.StatusBadRequest, want: "its nonce is not the one this sign-in sent"},
		{name: "another audience", mutate: func(c map[string]any) string { c["aud"] = "44444444-0000-4000-8000-000000000000"; return m.contoso },
			status: http.StatusBadRequest, want: "The ID token was refused"},
		{name: "expired", mutate: func(c map[string]any) string {
			past := m.clock.Now().Add(-2 * time.Hour).Unix()
			c["iat"], c["nbf"], c["exp"] = past-60, past-60, past
			return m.contoso
		}, status: http.StatusBadRequest, want: "The ID token was refused"},
		{name: "another issuer", mutate: func(c map[string]any) string { c["iss"] = graphsim.Issuer(m.simTS.URL, msFabrikam); return m.contoso },
			status: http.StatusBadRequest, want: "The ID token was refused"},
		{name: "no object id", mutate: func(c map[string]any) string { delete(c, "oid"); return m.contoso },
			status: http.StatusBadRequest, want: "names no object id"},
		{name: "signed with another tenant's key", mutate: func(map[string]any) string { return msFabrikam },
			status: http.StatusBadRequest, want: "The ID token was refused"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			login, pass := c.login, c.password
			if login == "" {
				login, pass = simUser, simPass
			}
			b := m.browser()
			cb := m.start(b, login, pass)
			if c.tamper != nil {
				c.tamper(t)
			}
			m.setMutate(c.mutate)
			defer m.setMutate(nil)
			st, _, body := b.get(cb)
			if st != c.status || !strings.Contains(body, c.want) || !strings.Contains(body, "not signed in") {
				t.Fatalf("%d, want %d with %q:\n%s", st, c.status, c.want, body)
			}
			if signedInAs(t, b) != "" {
				t.Fatal("refused sign-in made a session")
			}
		})
	}
	if us, _ := m.db.Users(ctx); len(us) != 3 {
		t.Fatalf("refused sign-ins made users: %v", us)
	}
	// Each tenant's discovery is fetched once and kept; nothing of a
	// tenant not allowed is fetched.
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.fetched["/"+m.contoso+"/v2.0/.well-known/openid-configuration"]; n != 1 {
		t.Errorf("contoso's discovery fetched %d times, want 1 (%v)", n, m.fetched)
	}
	for p, n := range m.fetched {
		if strings.HasPrefix(p, "/"+msFabrikam) {
			t.Errorf("fetched %s (%d times) of a tenant not allowed", p, n)
		}
	}
}

// TestLocalPasswordsOff: with server.local_passwords: false the sign-in
// page has no password form and a posted password is refused (403)
// without being checked, while Sign in with Microsoft still works (here
// with user_names: upn, naming the new user by the whole UPN).
func TestLocalPasswordsOff(t *testing.T) {
	m := newMSEnv(t)
	m.cfg.Server.NoLocalPasswords = true
	m.cfg.Server.MicrosoftSignIn.UserNames = "upn"
	st, _, body := m.browser().get("/ui/login")
	if st != http.StatusOK || strings.Contains(body, `action="/ui/login"`) || strings.Contains(body, `type="password"`) || !strings.Contains(body, "Sign in with Microsoft") {
		t.Fatalf("sign-in page: %d\n%s", st, body)
	}
	b := m.browser()
	st, _, body = b.post("/ui/login", "", url.Values{"user": {"alice"}, "password": {"alice-pw"}})
	if st != http.StatusForbidden || !strings.Contains(body, "turned off") {
		t.Fatalf("password sign-in: %d\n%s", st, body)
	}
	if signedInAs(t, b) != "" {
		t.Fatal("password sign-in made a session")
	}
	if st, loc, body := b.get(m.start(b, simUser, simPass)); st != http.StatusSeeOther || loc != "/ui/" {
		t.Fatalf("Microsoft sign-in: %d %s\n%s", st, loc, body)
	}
	if who := signedInAs(t, b); who != simUser {
		t.Fatalf("signed in as %q, want the whole UPN (user_names: upn)", who)
	}
	// the default keeps the password form and no Microsoft button without the app
	m.cfg.Server.NoLocalPasswords = false
	m.cfg.Server.MicrosoftSignIn = config.MicrosoftSignIn{}
	st, _, body = m.browser().get("/ui/login")
	if st != http.StatusOK || !strings.Contains(body, `type="password"`) || strings.Contains(body, "Sign in with Microsoft") {
		t.Fatalf("default sign-in page: %d\n%s", st, body)
	}
	if st, _, body := m.browser().get("/ui/login/microsoft"); st != http.StatusNotFound || !strings.Contains(body, "server.microsoft_sign_in") {
		t.Fatalf("start without the app: %d\n%s", st, body)
	}
}
