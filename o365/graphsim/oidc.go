package graphsim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// IDTokenLifetime is the lifetime of the ID tokens graphsim issues (the
// identity platform's default: one hour).
const IDTokenLifetime = time.Hour

// signingKey returns t's RSA signing key and its kid, made on first use.
func (t *tenant) signingKey() (*rsa.PrivateKey, string) {
	t.keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("graphsim: RSA key: " + err.Error())
		}
		sum := sha256.Sum256(k.N.Bytes())
		t.key, t.kid = k, base64.RawURLEncoding.EncodeToString(sum[:15])
	})
	return t.key, t.kid
}

// SigningKey returns the ID-token signing key of a tenant (id or domain;
// "" the default tenant) and its kid, as its JWKS publishes them: a test
// can sign a token as that tenant would (or check one). nil when the
// tenant is unknown.
func (s *Server) SigningKey(tenantIDOrDomain string) (*rsa.PrivateKey, string) {
	t := s.tenantOf(tenantIDOrDomain)
	if t == nil {
		return nil, ""
	}
	return t.signingKey()
}

// Issuer is the ID-token issuer of a tenant id for a simulator at base
// (scheme://host): "<base>/<tid>/v2.0", as login.microsoftonline.com's.
func Issuer(base, tenantID string) string {
	return strings.TrimRight(base, "/") + "/" + strings.ToLower(tenantID) + "/v2.0"
}

// serveOIDC serves /{tenant}/v2.0/.well-known/openid-configuration and
// /{tenant}/discovery/v2.0/keys. A tenant id or domain gets its own
// document (issuer with its id) and keys; organizations and common a
// document whose issuer is the "{tenantid}" template, with every
// tenant's keys.
func (s *Server) serveOIDC(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	discovery := len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration"
	keys := len(parts) == 4 && parts[1] == "discovery" && parts[2] == "v2.0" && parts[3] == "keys"
	if !discovery && !keys {
		s.writeAADError(w, aerr(404, "invalid_request", 900561, "The endpoint only accepts /{tenant}/v2.0/.well-known/openid-configuration and /{tenant}/discovery/v2.0/keys."))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeAADError(w, aerr(405, "invalid_request", 900561, "The endpoint only accepts GET requests. Received a %s request.", r.Method))
		return
	}
	seg := strings.ToLower(parts[0])
	var tenants []*tenant
	switch seg {
	case "organizations", "common":
		s.mu.Lock()
		tenants = append(tenants, s.tenants...)
		s.mu.Unlock()
	default:
		t := s.tenantOf(seg)
		if t == nil {
			s.writeAADError(w, aerr(400, "invalid_tenant", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", parts[0]))
			return
		}
		tenants, seg = []*tenant{t}, t.id
	}
	base := requestBase(r)
	w.Header().Set("Cache-Control", "max-age=86400, private")
	if keys {
		var jwks []map[string]any
		for _, t := range tenants {
			k, kid := t.signingKey()
			jwks = append(jwks, map[string]any{"kty": "RSA", "use": "sig", "kid": kid, "alg": "RS256",
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
				"issuer": Issuer(base, t.id)})
		}
		writeJSONPlain(w, 200, map[string]any{"keys": jwks})
		return
	}
	issuer := Issuer(base, seg)
	if len(tenants) != 1 {
		issuer = base + "/{tenantid}/v2.0"
	}
	login := base + "/" + seg + "/oauth2/v2.0/"
	writeJSONPlain(w, 200, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                login + "authorize",
		"token_endpoint":                        login + "token",
		"device_authorization_endpoint":         login + "devicecode",
		"jwks_uri":                              base + "/" + seg + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "name", "preferred_username", "oid", "tid", "ver", "email"},
		"code_challenge_methods_supported":      []string{"plain", "S256"},
		"request_uri_parameter_supported":       false,
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

// idToken makes the RS256 ID token (name and preferred_username only
// with the profile scope, email with email, as the identity platform
// documents) of user m for app, signed with the
// key of m's tenant, issued by it at base; nonce "" leaves the claim out
// (refresh grants).
func (s *Server) idToken(base string, app *App, m *Mailbox, scopes []string, nonce string) string {
	t := s.tenantOf(m.user.Tenant)
	key, kid := t.signingKey()
	s.mu.Lock()
	f := m.user
	if _, du := s.dirUserLocked(f.ID); du != nil {
		f = du.f
	}
	s.mu.Unlock()
	now := s.now()
	sub := sha256.Sum256([]byte(app.ClientID + "|" + strings.ToLower(f.ID)))
	claims := map[string]any{
		"ver": "2.0",
		"iss": Issuer(base, t.id),
		"aud": app.ClientID,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(IDTokenLifetime).Unix(),
		"tid": t.id,
		"oid": strings.ToLower(f.ID),
		"sub": base64.RawURLEncoding.EncodeToString(sub[:])[:43],
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	for _, sc := range scopes {
		switch sc {
		case "profile":
			claims["name"] = f.DisplayName
			claims["preferred_username"] = f.UPN
		case "email":
			if mail, _ := userProp(&f, "mail").(string); mail != "" {
				claims["email"] = mail
			}
		}
	}
	hdr, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": kid})
	body, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(body)
	d := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		panic("graphsim: sign ID token: " + err.Error())
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}
