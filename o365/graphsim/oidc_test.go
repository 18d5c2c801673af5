package graphsim

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/cardbridge/cardbridge/o365/api"
)

const fabrikam = "99999999-9999-4999-8999-999999999999"

// oidcEnv: contoso (alice, bob) and fabrikam (olga), the multi-tenant
// public app "pub".
func oidcEnv(t *testing.T) *testEnv {
	t.Helper()
	e := newEnv(t, Options{AutoApprove: true})
	must(t, e.s.AddTenant(fabrikam, "fabrikam.example"))
	e.s.AddUser(User{ID: "0a000000-0000-4000-8000-00000000000a", UPN: "olga@fabrikam.example", DisplayName: "Olga", Tenant: fabrikam})
	return e
}

// signIn runs the authorization-code flow with PKCE at authority for
// login and returns the token response.
func (e *testEnv) signIn(authority, login, scope, nonce string) map[string]any {
	e.t.Helper()
	verifier, challenge := pkce()
	redirect := "http://localhost:53682/"
	q := url.Values{"client_id": {"pub"}, "response_type": {"code"}, "redirect_uri": {redirect}, "scope": {scope}, "state": {"xyz"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "login_hint": {login}, "nonce": {nonce}}
	code := codeFrom(e.t, e.do("GET", "/"+authority+"/oauth2/v2.0/authorize?"+q.Encode(), "", nil))
	r := e.form("/"+authority+"/oauth2/v2.0/token", url.Values{"client_id": {"pub"}, "grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirect}, "code_verifier": {verifier}})
	if r.status != 200 {
		e.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

func signJWT(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	hb, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": kid})
	cb, _ := json.Marshal(claims)
	signed := b64u(hb) + "." + b64u(cb)
	d := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + b64u(sig)
}

func TestOIDCDiscoveryAndIDToken(t *testing.T) {
	e := oidcEnv(t)
	ctx := context.Background()
	contoso := e.s.Options().Tenant
	provider, err := oidc.NewProvider(ctx, Issuer(e.ts.URL, contoso))
	if err != nil {
		t.Fatal(err)
	}
	if got := provider.Endpoint().AuthURL; got != e.ts.URL+"/"+contoso+"/oauth2/v2.0/authorize" {
		t.Fatalf("authorization_endpoint %s", got)
	}
	verify := func(clientID, raw string) (*oidc.IDToken, error) {
		return provider.Verifier(&oidc.Config{ClientID: clientID, Now: e.clock.Now}).Verify(ctx, raw)
	}
	res := e.signIn(contoso, "alice@contoso.example", "openid profile email offline_access Contacts.ReadWrite", "n-0123456789")
	raw, _ := res["id_token"].(string)
	if raw == "" || res["refresh_token"] == nil {
		t.Fatalf("no id_token: %v", res)
	}
	idt, err := verify("pub", raw)
	if err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	var cl struct {
		Oid, Tid, Name, Email string
		Preferred             string `json:"preferred_username"`
	}
	must(t, idt.Claims(&cl))
	if idt.Nonce != "n-0123456789" || cl.Oid != e.alice.User().ID || cl.Tid != contoso || cl.Preferred != "alice@contoso.example" || cl.Name != "Alice" || cl.Email != "alice@contoso.example" || idt.Subject == "" || idt.Subject == cl.Oid {
		t.Fatalf("claims: nonce %q sub %q %+v", idt.Nonce, idt.Subject, cl)
	}

	var ac api.IDTokenClaims
	must(t, idt.Claims(&ac))
	if ac.Issuer != Issuer(e.ts.URL, contoso) || ac.TenantID != contoso || ac.ObjectID != e.alice.User().ID || ac.Nonce != "n-0123456789" {
		t.Fatalf("api claims: %+v", ac)
	}

	// another tenant: its own issuer and keys
	fabProvider, err := oidc.NewProvider(ctx, Issuer(e.ts.URL, fabrikam))
	if err != nil {
		t.Fatal(err)
	}
	olga := e.signIn("organizations", "olga@fabrikam.example", "openid profile", "n-olga")["id_token"].(string)
	if _, err := fabProvider.Verifier(&oidc.Config{ClientID: "pub", Now: e.clock.Now}).Verify(ctx, olga); err != nil {
		t.Fatalf("fabrikam's token refused by fabrikam: %v", err)
	}
	fabKey, fabKid := e.s.SigningKey(fabrikam)
	_, contosoKid := e.s.SigningKey("")
	goodClaims := func() map[string]any {
		now := e.clock.Now()
		return map[string]any{"iss": Issuer(e.ts.URL, contoso), "aud": "pub", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"tid": contoso, "oid": e.alice.User().ID, "sub": "x", "nonce": "n-0123456789"}
	}

	refused := []struct {
		name  string
		check func() error
	}{
		{"wrong audience", func() error { _, err := verify("someone-else", raw); return err }},
		{"wrong nonce (the caller's check)", func() error {
			idt, err := verify("pub", raw)
			if err == nil && idt.Nonce != "n-other" {
				err = errNonce
			}
			return err
		}},
		{"other tenant's token (issuer)", func() error { _, err := verify("pub", olga); return err }},
		{"signed with the other tenant's key and kid", func() error {
			_, err := verify("pub", signJWT(t, fabKey, fabKid, goodClaims()))
			return err
		}},
		{"signed with the other tenant's key under this tenant's kid", func() error {
			_, err := verify("pub", signJWT(t, fabKey, contosoKid, goodClaims()))
			return err
		}},
		{"expired", func() error {
			e.clock.Add(IDTokenLifetime + 10*time.Minute)
			defer e.clock.Add(-(IDTokenLifetime + 10*time.Minute))
			_, err := verify("pub", raw)
			return err
		}},
	}
	for _, c := range refused {
		if err := c.check(); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	// the control: a token signed with contoso's own key passes
	contosoKey, _ := e.s.SigningKey(contoso)
	if _, err := verify("pub", signJWT(t, contosoKey, contosoKid, goodClaims())); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
}

var errNonce = &oidcTestErr{"nonce mismatch"}

type oidcTestErr struct{ s string }

func (e *oidcTestErr) Error() string { return e.s }

func TestOIDCDocumentsAndRules(t *testing.T) {
	e := oidcEnv(t)
	contoso := e.s.Options().Tenant
	// by domain: the issuer has the tenant id
	doc := e.do("GET", "/contoso.example/v2.0/.well-known/openid-configuration", "", nil).json(t)
	if doc["issuer"] != Issuer(e.ts.URL, contoso) || doc["jwks_uri"] != e.ts.URL+"/"+contoso+"/discovery/v2.0/keys" {
		t.Fatalf("doc: %v", doc)
	}
	// organizations: the {tenantid} template and every tenant's keys
	org := e.do("GET", "/organizations/v2.0/.well-known/openid-configuration", "", nil).json(t)
	if org["issuer"] != e.ts.URL+"/{tenantid}/v2.0" {
		t.Fatalf("organizations issuer: %v", org["issuer"])
	}
	var ks struct{ Keys []map[string]any }
	r := e.do("GET", "/organizations/discovery/v2.0/keys", "", nil)
	json.Unmarshal(r.body, &ks)
	if len(ks.Keys) != 2 || ks.Keys[0]["kid"] == ks.Keys[1]["kid"] {
		t.Fatalf("keys: %s", r.body)
	}
	r = e.do("GET", "/"+fabrikam+"/discovery/v2.0/keys", "", nil)
	json.Unmarshal(r.body, &ks)
	if _, kid := e.s.SigningKey(fabrikam); len(ks.Keys) != 1 || ks.Keys[0]["kid"] != kid {
		t.Fatalf("fabrikam keys: %s", r.body)
	}
	if r := e.do("GET", "/nosuch.example/v2.0/.well-known/openid-configuration", "", nil); r.status != 400 {
		t.Fatalf("unknown tenant: %d", r.status)
	}
	// no openid scope, no id_token; openid alone: no name or username
	if res := e.signIn(contoso, "alice@contoso.example", "Contacts.ReadWrite", ""); res["id_token"] != nil {
		t.Fatalf("id_token without openid: %v", res)
	}
	bare := e.signIn(contoso, "alice@contoso.example", "openid", "")["id_token"].(string)
	var cl map[string]any
	body, _ := b64url(strings.Split(bare, ".")[1])
	json.Unmarshal(body, &cl)
	if cl["preferred_username"] != nil || cl["name"] != nil || cl["nonce"] != nil || cl["oid"] != e.alice.User().ID {
		t.Fatalf("openid alone: %v", cl)
	}
	// a user of another tenant at a tenant's authority: AADSTS50020
	_, challenge := pkce()
	q := url.Values{"client_id": {"pub"}, "response_type": {"code"}, "redirect_uri": {"http://localhost:1/"}, "scope": {"openid"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "login_hint": {"olga@fabrikam.example"}}
	if r := e.do("GET", "/"+contoso+"/oauth2/v2.0/authorize?"+q.Encode(), "", nil); r.status != 400 || !strings.Contains(string(r.body), "AADSTS50020") {
		t.Fatalf("foreign user: %d %s", r.status, r.body)
	}
}
