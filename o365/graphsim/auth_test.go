package graphsim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

const tenantPath = "/organizations/oauth2/v2.0"

func TestDeviceCodeFlow(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.form(tenantPath+"/devicecode", url.Values{"client_id": {"pub"}, "scope": {"Contacts.ReadWrite offline_access User.Read"}})
	if r.status != 200 {
		t.Fatalf("devicecode: %d %s", r.status, r.body)
	}
	dc := r.json(t)
	for _, k := range []string{"device_code", "user_code", "verification_uri", "expires_in", "interval", "message"} {
		if dc[k] == nil {
			t.Fatalf("missing %s: %s", k, r.body)
		}
	}
	if !strings.HasSuffix(dc["verification_uri"].(string), "/devicelogin") || dc["interval"].(float64) != 5 {
		t.Fatalf("devicecode answer: %s", r.body)
	}
	poll := url.Values{"client_id": {"pub"}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc["device_code"].(string)}}
	if c, _ := e.form(tenantPath+"/token", poll).aad(t); c != "authorization_pending" {
		t.Fatalf("want pending, got %s", c)
	}
	// polled again at once: slow_down
	if c, _ := e.form(tenantPath+"/token", poll).aad(t); c != "slow_down" {
		t.Fatalf("want slow_down, got %s", c)
	}
	e.clock.Add(11 * time.Second)
	if c, _ := e.form(tenantPath+"/token", poll).aad(t); c != "authorization_pending" {
		t.Fatalf("want pending after waiting, got %s", c)
	}
	if err := e.s.ApproveDeviceCode(dc["user_code"].(string), "alice@contoso.example"); err != nil {
		t.Fatal(err)
	}
	r = e.form(tenantPath+"/token", poll)
	tok := r.json(t)
	if r.status != 200 || tok["access_token"] == nil || tok["refresh_token"] == nil || tok["token_type"] != "Bearer" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	if g := e.do("GET", "/v1.0/me", tok["access_token"].(string), nil); g.status != 200 || g.json(t)["userPrincipalName"] != "alice@contoso.example" {
		t.Fatalf("/me: %d %s", g.status, g.body)
	}
	// redeemed once only
	if c, _ := e.form(tenantPath+"/token", poll).aad(t); c != "invalid_grant" {
		t.Fatalf("second redemption: %s", c)
	}

	// declined
	dc2 := e.form(tenantPath+"/devicecode", url.Values{"client_id": {"pub"}, "scope": {"Contacts.ReadWrite"}}).json(t)
	e.s.DeclineDeviceCode(dc2["user_code"].(string))
	poll.Set("device_code", dc2["device_code"].(string))
	if c, _ := e.form(tenantPath+"/token", poll).aad(t); c != "authorization_declined" {
		t.Fatalf("declined: %s", c)
	}
	// expired
	dc3 := e.form(tenantPath+"/devicecode", url.Values{"client_id": {"pub"}, "scope": {"Contacts.ReadWrite"}}).json(t)
	e.clock.Add(16 * time.Minute)
	poll.Set("device_code", dc3["device_code"].(string))
	if c, code := e.form(tenantPath+"/token", poll).aad(t); c != "expired_token" || code != 70019 {
		t.Fatalf("expired: %s %v", c, code)
	}
	if err := e.s.ApproveDeviceCode(dc3["user_code"].(string), "alice@contoso.example"); err == nil {
		t.Fatal("approving an expired code should fail")
	}
	// bad scope, unknown client, confidential app
	if c, _ := e.form(tenantPath+"/devicecode", url.Values{"client_id": {"pub"}, "scope": {"Contacts.ReadWrit"}}).aad(t); c != "invalid_scope" {
		t.Fatalf("bad scope: %s", c)
	}
	if c, code := e.form(tenantPath+"/devicecode", url.Values{"client_id": {"nope"}, "scope": {"Contacts.ReadWrite"}}).aad(t); c != "unauthorized_client" || code != 700016 {
		t.Fatalf("unknown client: %s %v", c, code)
	}
	if c, code := e.form("/contoso.example/oauth2/v2.0/devicecode", url.Values{"client_id": {"conf"}, "scope": {"Contacts.ReadWrite"}}).aad(t); c != "invalid_client" || code != 7000218 {
		t.Fatalf("confidential device code: %s", c)
	}
	// unknown tenant
	if c, code := e.form("/nosuch.example/oauth2/v2.0/devicecode", url.Values{"client_id": {"pub"}, "scope": {"Contacts.ReadWrite"}}).aad(t); c != "invalid_request" || code != 90002 {
		t.Fatalf("tenant: %s %v", c, code)
	}
}

func TestDeviceLoginPage(t *testing.T) {
	e := newEnv(t, Options{})
	dc := e.form(tenantPath+"/devicecode", url.Values{"client_id": {"pub"}, "scope": {"Contacts.ReadWrite"}}).json(t)
	uc := dc["user_code"].(string)
	if r := e.do("GET", "/devicelogin", "", nil); r.status != 200 || !strings.Contains(string(r.body), "<form") {
		t.Fatalf("page: %d", r.status)
	}
	if r := e.form("/devicelogin", url.Values{"otc": {uc}, "login": {"alice@contoso.example"}, "passwd": {"wrong"}, "consent": {"accept"}}); r.status != 401 {
		t.Fatalf("wrong password: %d", r.status)
	}
	if r := e.form("/devicelogin", url.Values{"otc": {uc}, "login": {"alice@contoso.example"}, "passwd": {"pw"}, "consent": {"accept"}}); r.status != 200 {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	e.clock.Add(6 * time.Second)
	r := e.form(tenantPath+"/token", url.Values{"client_id": {"pub"}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc["device_code"].(string)}})
	if r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	if r.json(t)["refresh_token"] != nil {
		t.Fatal("no offline_access, yet a refresh token")
	}
}

func pkce() (verifier, challenge string) {
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-test-verifier"
	s := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(s[:])
}

func authorizeURL(redirect, challenge, hint string) string {
	q := url.Values{"client_id": {"pub"}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {"offline_access https://graph.microsoft.com/Contacts.ReadWrite User.Read"}, "state": {"xyz"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	if hint != "" {
		q.Set("login_hint", hint)
	}
	return tenantPath + "/authorize?" + q.Encode()
}

func codeFrom(t *testing.T, r resp) string {
	t.Helper()
	if r.status != 302 {
		t.Fatalf("want redirect, got %d %s", r.status, r.body)
	}
	u, _ := url.Parse(r.h.Get("Location"))
	if u.Query().Get("state") != "xyz" {
		t.Fatalf("state lost: %s", u)
	}
	return u.Query().Get("code")
}

func TestAuthCodePKCE(t *testing.T) {
	e := newEnv(t, Options{AutoApprove: true})
	verifier, challenge := pkce()
	redirect := "http://localhost:53682/"
	code := codeFrom(t, e.do("GET", authorizeURL(redirect, challenge, "alice@contoso.example"), "", nil))
	redeem := url.Values{"client_id": {"pub"}, "grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {"wrong-verifier"}}
	if c, n := e.form(tenantPath+"/token", redeem).aad(t); c != "invalid_grant" || n != 501481 {
		t.Fatalf("pkce mismatch: %s %v", c, n)
	}
	// the code was consumed by the failed attempt too: a new one
	code = codeFrom(t, e.do("GET", authorizeURL(redirect, challenge, "alice@contoso.example"), "", nil))
	redeem.Set("code", code)
	redeem.Set("code_verifier", verifier)
	redeem.Set("redirect_uri", "http://localhost:1/")
	if c, _ := e.form(tenantPath+"/token", redeem).aad(t); c != "invalid_grant" {
		t.Fatalf("redirect mismatch: %s", c)
	}
	code = codeFrom(t, e.do("GET", authorizeURL(redirect, challenge, "alice@contoso.example"), "", nil))
	redeem.Set("code", code)
	redeem.Set("redirect_uri", redirect)
	r := e.form(tenantPath+"/token", redeem)
	if r.status != 200 || r.json(t)["refresh_token"] == nil {
		t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	if !strings.Contains(r.json(t)["scope"].(string), "Contacts.ReadWrite") {
		t.Fatalf("scope: %s", r.body)
	}
	if c, n := e.form(tenantPath+"/token", redeem).aad(t); c != "invalid_grant" || n != 54005 {
		t.Fatalf("reused code: %s %v", c, n)
	}
	// expired code
	code = codeFrom(t, e.do("GET", authorizeURL(redirect, challenge, "alice@contoso.example"), "", nil))
	e.clock.Add(11 * time.Minute)
	redeem.Set("code", code)
	if c, n := e.form(tenantPath+"/token", redeem).aad(t); c != "invalid_grant" || n != 70008 {
		t.Fatalf("expired code: %s %v", c, n)
	}
	// unregistered redirect: an error page, no redirect
	if r := e.do("GET", authorizeURL("https://evil.example/cb", challenge, ""), "", nil); r.status != 400 || !strings.Contains(string(r.body), "AADSTS50011") {
		t.Fatalf("bad redirect: %d %s", r.status, r.body)
	}
}

func TestConsentPage(t *testing.T) {
	e := newEnv(t, Options{})
	_, challenge := pkce()
	r := e.do("GET", authorizeURL("http://127.0.0.1:9999", challenge, ""), "", nil)
	if r.status != 400 { // 127.0.0.1 is not registered, only localhost
		t.Fatalf("127.0.0.1 vs localhost: %d", r.status)
	}
	r = e.do("GET", authorizeURL("http://localhost:9999", challenge, "alice@contoso.example"), "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `name="session"`) {
		t.Fatalf("consent page: %d %s", r.status, r.body)
	}
	body := string(r.body)
	i := strings.Index(body, `name="session" value="`) + len(`name="session" value="`)
	session := body[i : i+strings.Index(body[i:], `"`)]
	if r := e.form(tenantPath+"/authorize", url.Values{"session": {session}, "login": {"alice@contoso.example"}, "passwd": {"bad"}, "consent": {"accept"}}); r.status != 200 || !strings.Contains(string(r.body), "AADSTS50126") {
		t.Fatalf("bad password: %d", r.status)
	}
	code := codeFrom(t, e.form(tenantPath+"/authorize", url.Values{"session": {session}, "login": {"alice@contoso.example"}, "passwd": {"pw"}, "consent": {"accept"}}))
	if code == "" {
		t.Fatal("no code")
	}
	// decline
	r = e.do("GET", authorizeURL("http://localhost:9999", challenge, ""), "", nil)
	body = string(r.body)
	i = strings.Index(body, `name="session" value="`) + len(`name="session" value="`)
	session = body[i : i+strings.Index(body[i:], `"`)]
	r = e.form(tenantPath+"/authorize", url.Values{"session": {session}, "consent": {"decline"}})
	u, _ := url.Parse(r.h.Get("Location"))
	if r.status != 302 || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "xyz" {
		t.Fatalf("decline: %d %s", r.status, u)
	}
}

func refreshVia(e *testEnv, rt string) resp {
	return e.form(tenantPath+"/token", url.Values{"client_id": {"pub"}, "grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

func firstRefresh(t *testing.T, e *testEnv) string {
	dc := e.form(tenantPath+"/devicecode", url.Values{"client_id": {"pub"}, "scope": {"Contacts.ReadWrite offline_access"}}).json(t)
	e.s.ApproveDeviceCode(dc["user_code"].(string), "alice@contoso.example")
	r := e.form(tenantPath+"/token", url.Values{"client_id": {"pub"}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc["device_code"].(string)}})
	return r.json(t)["refresh_token"].(string)
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, Options{})
	rt := firstRefresh(t, e)
	r := refreshVia(e, rt)
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	rt2 := r.json(t)["refresh_token"].(string)
	if rt2 == "" || rt2 == rt {
		t.Fatal("refresh token not rotated")
	}
	if c, _ := refreshVia(e, rt).aad(t); c != "invalid_grant" {
		t.Fatalf("old refresh token reused: %s", c)
	}
	if r := refreshVia(e, rt2); r.status != 200 {
		t.Fatalf("new refresh token: %d", r.status)
	}
	// a refresh token for another client
	r = e.form("/contoso.example/oauth2/v2.0/token", url.Values{"client_id": {"conf"}, "client_secret": {"s3cret"}, "grant_type": {"refresh_token"}, "refresh_token": {rt2}})
	if c, _ := r.aad(t); c != "invalid_grant" {
		t.Fatalf("cross-client: %s", c)
	}

	// reuse allowed, with a grace
	e2 := newEnv(t, Options{RefreshReuse: true, RefreshReuseGrace: time.Minute})
	rt = firstRefresh(t, e2)
	if refreshVia(e2, rt).status != 200 || refreshVia(e2, rt).status != 200 {
		t.Fatal("reuse within grace refused")
	}
	e2.clock.Add(2 * time.Minute)
	if c, _ := refreshVia(e2, rt).aad(t); c != "invalid_grant" {
		t.Fatal("reuse after grace accepted")
	}

	// revocation
	rt = firstRefresh(t, e2)
	e2.s.RevokeRefreshTokens("alice@contoso.example")
	if c, n := refreshVia(e2, rt).aad(t); c != "invalid_grant" || n != 50173 {
		t.Fatalf("revoked: %s %v", c, n)
	}
	// lifetime
	rt = firstRefresh(t, e2)
	e2.clock.Add(91 * 24 * time.Hour)
	if c, n := refreshVia(e2, rt).aad(t); c != "invalid_grant" || n != 700082 {
		t.Fatalf("expired refresh: %s %v", c, n)
	}
}

// TestSignInFrequency: a Conditional Access sign-in frequency policy ends
// a sign-in after its period however often the token is refreshed
// (AADSTS70043); rotation does not extend it.
func TestSignInFrequency(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddApp(App{ClientID: "pub", Audience: AudienceMultipleOrgs, PublicClient: true, SignInFrequency: 24 * time.Hour,
		RedirectURIs: []string{"http://localhost"}})
	rt := firstRefresh(t, e)
	for range 3 {
		e.clock.Add(7 * time.Hour)
		r := refreshVia(e, rt)
		if r.status != 200 {
			t.Fatalf("refresh within the period: %d %s", r.status, r.body)
		}
		rt = r.json(t)["refresh_token"].(string)
	}
	e.clock.Add(4 * time.Hour) // 25 h after sign-in
	if c, n := refreshVia(e, rt).aad(t); c != "invalid_grant" || n != 70043 {
		t.Fatalf("after the sign-in frequency: %s %v", c, n)
	}
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, Options{})
	tokenURL := e.ts.URL + "/contoso.example/oauth2/v2.0/token"
	base := url.Values{"client_id": {"conf"}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for a, b := range base {
			out[a] = b
		}
		out.Set(k, v)
		return out
	}
	r := e.form("/contoso.example/oauth2/v2.0/token", with("client_secret", "s3cret"))
	if r.status != 200 || r.json(t)["refresh_token"] != nil {
		t.Fatalf("secret: %d %s", r.status, r.body)
	}
	appTok := r.json(t)["access_token"].(string)
	if c, n := e.form("/contoso.example/oauth2/v2.0/token", with("client_secret", "nope")).aad(t); c != "invalid_client" || n != 7000215 {
		t.Fatalf("bad secret: %s %v", c, n)
	}
	if c, _ := e.form("/common/oauth2/v2.0/token", with("client_secret", "s3cret")).aad(t); c != "invalid_request" {
		t.Fatalf("/common: %s", c)
	}
	if c, _ := e.form("/contoso.example/oauth2/v2.0/token", url.Values{"client_id": {"conf"}, "grant_type": {"client_credentials"}, "scope": {"Contacts.ReadWrite"}, "client_secret": {"s3cret"}}).aad(t); c != "invalid_scope" {
		t.Fatalf("delegated scope with client credentials: %s", c)
	}
	if c, n := e.form("/contoso.example/oauth2/v2.0/token", base).aad(t); c != "invalid_client" || n != 7000218 {
		t.Fatalf("no credential: %s %v", c, n)
	}
	// app-only reaches /users/{upn}, not /me
	if g := e.do("GET", "/v1.0/me/contacts", appTok, nil); g.status != 400 {
		t.Fatalf("app-only /me: %d", g.status)
	}
	if g := e.do("GET", "/v1.0/users/bob@contoso.example/contacts", appTok, nil); g.status != 200 {
		t.Fatalf("app-only /users: %d %s", g.status, g.body)
	}
	if g := e.do("GET", "/v1.0/users/nobody@contoso.example/contacts", appTok, nil); g.status != 404 || g.errCode(t) != "ErrorInvalidUser" {
		t.Fatalf("unknown user: %d %s", g.status, g.body)
	}

	now := e.clock.Now().Unix()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"aud": tokenURL, "iss": "conf", "sub": "conf", "jti": randToken(8), "nbf": now, "exp": now + 600}
		if mod != nil {
			mod(c)
		}
		return c
	}
	send := func(jwt string) resp {
		v := with("client_assertion", jwt)
		v.Set("client_assertion_type", assertionType)
		return e.form("/contoso.example/oauth2/v2.0/token", v)
	}
	for _, alg := range []string{"RS256", "PS256"} {
		for _, sha1 := range []bool{false, true} {
			if r := send(assertion(testKey, testCert, alg, sha1, claims(nil))); r.status != 200 {
				t.Fatalf("%s sha1=%v: %d %s", alg, sha1, r.status, r.body)
			}
		}
	}
	cases := []struct {
		name string
		jwt  string
		code float64
	}{
		{"wrong cert", assertion(otherKey, otherCrt, "PS256", false, claims(nil)), 700027},
		{"wrong key, right thumbprint", assertion(otherKey, testCert, "RS256", false, claims(nil)), 700027},
		{"wrong aud", assertion(testKey, testCert, "PS256", false, claims(func(c map[string]any) { c["aud"] = "https://login.microsoftonline.com/x/oauth2/v2.0/token" })), 700212},
		{"exp too far", assertion(testKey, testCert, "PS256", false, claims(func(c map[string]any) { c["exp"] = now + 3600 })), 700024},
		{"expired", assertion(testKey, testCert, "PS256", false, claims(func(c map[string]any) { c["nbf"] = now - 1200; c["exp"] = now - 700 })), 700024},
		{"iss", assertion(testKey, testCert, "PS256", false, claims(func(c map[string]any) { c["iss"] = "pub" })), 700021},
	}
	for _, c := range cases {
		r := send(c.jwt)
		if code, n := r.aad(t); code != "invalid_client" || n != c.code {
			t.Errorf("%s: %s %v %s", c.name, code, n, r.body)
		}
	}
	jwt := assertion(testKey, testCert, "RS256", false, claims(nil))
	if send(jwt).status != 200 {
		t.Fatal("fresh jti")
	}
	if _, n := send(jwt).aad(t); n != 700025 {
		t.Fatalf("jti replay: %v", n)
	}
}

// TestSignInAudience: the authority's tenant segment must fit the app's
// supported account types, with Microsoft's codes (the portal's default
// registration is single-tenant: /organizations is AADSTS50059, /common
// AADSTS50194); client credentials always need a tenant id or domain; an
// app without "Allow public client flows" needs a credential (7000218).
func TestSignInAudience(t *testing.T) {
	e := newEnv(t, Options{})
	apps := map[string]App{
		"single":   {ClientID: "single", PublicClient: true},
		"multi":    {ClientID: "multi", Audience: AudienceMultipleOrgs, PublicClient: true},
		"both":     {ClientID: "both", Audience: AudienceOrgsAndPersonal, PublicClient: true},
		"personal": {ClientID: "personal", Audience: AudiencePersonal, PublicClient: true},
		"foreign":  {ClientID: "foreign", Tenant: "fabrikam.example", PublicClient: true},
		"private":  {ClientID: "private", Audience: AudienceMultipleOrgs},
		"svc":      {ClientID: "svc", Secret: "pw"},
		"svcmulti": {ClientID: "svcmulti", Secret: "pw", Audience: AudienceMultipleOrgs},
	}
	for _, a := range apps {
		e.s.AddApp(a)
	}
	tenantID := e.s.opts.Tenant
	device := url.Values{"scope": {"Contacts.ReadWrite offline_access"}}
	creds := url.Values{"grant_type": {"client_credentials"}, "scope": {GraphResource + ".default"}, "client_secret": {"pw"}}
	cases := []struct {
		app, tenant, endpoint string
		form                  url.Values
		want                  float64 // 0: accepted
	}{
		{"single", "organizations", "devicecode", device, 50059},
		{"single", "common", "devicecode", device, 50194},
		{"single", "consumers", "devicecode", device, 700016},
		{"single", "contoso.example", "devicecode", device, 0},
		{"single", tenantID, "devicecode", device, 0},
		{"foreign", "contoso.example", "devicecode", device, 700016},
		{"multi", "organizations", "devicecode", device, 0},
		{"multi", "common", "devicecode", device, 0},
		{"multi", "contoso.example", "devicecode", device, 0},
		{"multi", "consumers", "devicecode", device, 700016},
		{"both", "consumers", "devicecode", device, 0},
		{"both", "common", "devicecode", device, 0},
		{"both", "organizations", "devicecode", device, 0},
		{"personal", "consumers", "devicecode", device, 0},
		{"personal", "common", "devicecode", device, 0},
		{"personal", "organizations", "devicecode", device, 9002331},
		{"personal", "contoso.example", "devicecode", device, 9002331},
		{"private", "organizations", "devicecode", device, 7000218},
		{"svc", "organizations", "token", creds, 50059},
		{"svc", "common", "token", creds, 50194},
		{"svc", "contoso.example", "token", creds, 0},
		{"svc", tenantID, "token", creds, 0},
		{"svcmulti", "organizations", "token", creds, 50059},
		{"svcmulti", "common", "token", creds, 50059},
		{"svcmulti", "contoso.example", "token", creds, 0},
		{"nosuch", "contoso.example", "token", creds, 700016},
	}
	for _, c := range cases {
		v := url.Values{"client_id": {c.app}}
		for k, x := range c.form {
			v[k] = x
		}
		r := e.form("/"+c.tenant+"/oauth2/v2.0/"+c.endpoint, v)
		if c.want == 0 {
			if r.status != 200 {
				t.Errorf("%s at /%s %s: %d %s, want 200", c.app, c.tenant, c.endpoint, r.status, r.body)
			}
			continue
		}
		_, n := r.aad(t)
		if n != c.want {
			t.Errorf("%s at /%s %s: AADSTS%v, want AADSTS%v (%s)", c.app, c.tenant, c.endpoint, n, c.want, r.body)
			continue
		}
		desc, _ := r.json(t)["error_description"].(string)
		if !strings.HasPrefix(desc, fmt.Sprintf("AADSTS%d: ", int(c.want))) {
			t.Errorf("%s at /%s: description %q", c.app, c.tenant, desc)
		}
	}
	// the authorize page shows the same refusals before any redirect
	q := url.Values{"client_id": {"single"}, "response_type": {"code"}, "redirect_uri": {"http://localhost:1/cb"}, "scope": {"Contacts.ReadWrite"}}
	if r := e.do("GET", "/common/oauth2/v2.0/authorize?"+q.Encode(), "", nil); r.status != 400 || !strings.Contains(string(r.body), "AADSTS50194") {
		t.Errorf("authorize single-tenant at /common: %d %s", r.status, r.body)
	}
}
