package auth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/testutil"
)

const testSecret = "CS-SECRET-0123456789abcdef"

// secretIDP is a fake accepting client credentials with testSecret.
func secretIDP(t *testing.T) *idp {
	f := newIDP(t)
	f.token = func(w http.ResponseWriter, r *http.Request) {
		if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("scope") != "https://graph.microsoft.com/.default" || r.Form.Get("client_id") != testClientID {
			t.Errorf("client credentials form %v", r.Form)
		}
		if r.Form.Get("client_secret") != testSecret {
			oauthErr(w, 401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is "+r.Form.Get("client_secret"))
			return
		}
		tokenOK(w, "AT-app-"+time.Now().Format("150405.000000000"), "", "")
	}
	return f
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestClientSecret(t *testing.T) {
	f := secretIDP(t)
	acc := f.account(FlowClientSecret)
	acc.User, acc.ClientSecretEnv = "bob@contoso.com", "CARDBRIDGE_BOT_SECRET"
	st, c := newStore(), newClock()
	s, err := NewSourceWith(acc, st, SourceOptions{LookupEnv: env(map[string]string{"CARDBRIDGE_BOT_SECRET": testSecret + "\n"}), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at, err := s.Token(ctx)
	if err != nil || !strings.HasPrefix(at, "AT-app-") {
		t.Fatalf("Token = %q, %v", at, err)
	}
	tok := st.get("work")
	if tok.AccessToken != at || tok.RefreshToken != "" || tok.Flow != FlowClientSecret || tok.User != "bob@contoso.com" {
		t.Errorf("stored %+v", tok)
	}
	// Another run reuses the stored token.
	s2, _ := NewSourceWith(acc, st, SourceOptions{LookupEnv: env(map[string]string{"CARDBRIDGE_BOT_SECRET": testSecret}), Now: c.Now})
	if at2, err := s2.Token(ctx); err != nil || at2 != at || f.count("token") != 1 {
		t.Errorf("second run: %q, %v, %d requests", at2, err, f.count("token"))
	}
	// Expired: requested again (no refresh token, no login).
	c.Add(59 * time.Minute)
	if at3, err := s2.Token(ctx); err != nil || at3 == at || f.count("token") != 2 {
		t.Errorf("after expiry: %q, %v, %d requests", at3, err, f.count("token"))
	}

	// From a file.
	acc.ClientSecretEnv, acc.ClientSecretFile = "", filepath.Join(t.TempDir(), "secret")
	os.WriteFile(acc.ClientSecretFile, []byte(testSecret+"\n"), 0o600)
	s3, err := NewSourceWith(acc, newStore(), SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Token(ctx); err != nil {
		t.Errorf("secret from a file: %v", err)
	}
}

func TestClientSecretMissingOrWrong(t *testing.T) {
	f := secretIDP(t)
	acc := f.account(FlowClientSecret)
	acc.ClientSecretEnv = "CARDBRIDGE_BOT_SECRET"
	_, err := NewSourceWith(acc, newStore(), SourceOptions{LookupEnv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "CARDBRIDGE_BOT_SECRET") {
		t.Errorf("missing env: %v", err)
	}
	acc.ClientSecretEnv, acc.ClientSecretFile = "", filepath.Join(t.TempDir(), "nope")
	_, err = NewSourceWith(acc, newStore(), SourceOptions{})
	if err == nil || !strings.Contains(err.Error(), acc.ClientSecretFile) {
		t.Errorf("missing file: %v", err)
	}
	acc.ClientSecretFile = ""
	if _, err := NewSourceWith(acc, newStore(), SourceOptions{}); err == nil {
		t.Error("no secret source accepted")
	}

	acc.ClientSecretEnv = "S"
	const wrong = "WRONG-SECRET-abcdef"
	s, _ := NewSourceWith(acc, newStore(), SourceOptions{LookupEnv: env(map[string]string{"S": wrong})})
	_, err = s.Token(context.Background())
	var nl *NeedLoginError
	if err == nil || errors.As(err, &nl) || !strings.Contains(err.Error(), "invalid_client: AADSTS7000215: Invalid client secret provided.") || strings.Contains(err.Error(), wrong) {
		t.Errorf("wrong secret: %v", err)
	}
}

// testCert makes an RSA key and a self-signed certificate; PEM files with a
// PKCS#1 and a PKCS#8 key.
func testCert(t *testing.T) (cert *x509.Certificate, pkcs1, pkcs8 string) {
	t.Helper()
	key, cert, der := testutil.RSACert(t, "cardbridge test", time.Hour)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	pkcs1, pkcs8 = filepath.Join(dir, "p1.pem"), filepath.Join(dir, "p8.pem")
	os.WriteFile(pkcs1, append(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), certPEM...), 0o600)
	os.WriteFile(pkcs8, append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})...), 0o600)
	return cert, pkcs1, pkcs8
}

// certIDP is a fake that verifies client assertions against cert.
func certIDP(t *testing.T, cert *x509.Certificate, alg string, now func() time.Time) *idp {
	f := newIDP(t)
	var mu sync.Mutex
	jtis := map[string]bool{}
	f.token = func(w http.ResponseWriter, r *http.Request) {
		fail := func(format string, a ...any) {
			t.Errorf(format, a...)
			oauthErr(w, 401, "invalid_client", "AADSTS700027: Client assertion failed signature validation.")
		}
		if r.Form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_secret") != "" {
			fail("form %v", r.Form)
			return
		}
		parts := strings.Split(r.Form.Get("client_assertion"), ".")
		if len(parts) != 3 {
			fail("assertion has %d parts", len(parts))
			return
		}
		var hdr map[string]string
		var cl map[string]any
		hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
		cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &cl) != nil {
			fail("undecodable assertion")
			return
		}
		sum := sha256.Sum256(cert.Raw)
		if hdr["alg"] != alg || hdr["typ"] != "JWT" || hdr["x5t#S256"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
			fail("header %v", hdr)
			return
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		pub := cert.PublicKey.(*rsa.PublicKey)
		var err error
		if alg == AlgPS256 {
			err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
		} else {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
		}
		if err != nil {
			fail("signature: %v", err)
			return
		}
		nbf, _ := cl["nbf"].(float64)
		exp, _ := cl["exp"].(float64)
		jti, _ := cl["jti"].(string)
		mu.Lock()
		dup := jtis[jti]
		jtis[jti] = true
		mu.Unlock()
		if cl["aud"] != f.tokenURL() || cl["iss"] != testClientID || cl["sub"] != testClientID || jti == "" || dup ||
			exp <= nbf || exp-nbf > 600 || now().Sub(time.Unix(int64(nbf), 0)).Abs() > time.Minute {
			fail("claims %v", cl)
			return
		}
		tokenOK(w, "AT-cert-"+jti, "", "")
	}
	return f
}

func TestClientCertificate(t *testing.T) {
	cert, pkcs1, pkcs8 := testCert(t)
	for _, tc := range []struct{ alg, file string }{{"", pkcs1}, {AlgPS256, pkcs8}, {AlgRS256, pkcs1}} {
		alg := tc.alg
		if alg == "" {
			alg = AlgPS256
		}
		c := newClock()
		f := certIDP(t, cert, alg, c.Now)
		acc := f.account(FlowClientCertificate)
		acc.CertificateFile, acc.User = tc.file, "bob@contoso.com"
		s, err := NewSourceWith(acc, newStore(), SourceOptions{AssertionAlg: tc.alg, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // each request has its own assertion (jti)
			if at, err := s.Token(context.Background()); err != nil || !strings.HasPrefix(at, "AT-cert-") {
				t.Errorf("%s %s: %q, %v", alg, filepath.Base(tc.file), at, err)
			}
			c.Add(time.Hour)
		}
	}
}

func TestClientCertificateBadFiles(t *testing.T) {
	_, pkcs1, _ := testCert(t)
	_, other, _ := testCert(t)
	dir := t.TempDir()
	b1, _ := os.ReadFile(pkcs1)
	bo, _ := os.ReadFile(other)
	blocks := func(b []byte) (key, cert []byte) {
		k, rest := pem.Decode(b)
		return pem.EncodeToMemory(k), rest
	}
	k1, _ := blocks(b1)
	_, co := blocks(bo)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	for file, want := range map[string]string{
		write("nokey.pem", co):                   "no RSA private key",
		write("nocert.pem", k1):                  "no CERTIFICATE",
		write("mismatch.pem", append(k1, co...)): "does not belong",
		write("enc.pem", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")): "encrypted",
		filepath.Join(dir, "missing.pem"): "missing.pem",
	} {
		acc := newIDPAccount(FlowClientCertificate)
		acc.CertificateFile = file
		_, err := NewSourceWith(acc, newStore(), SourceOptions{})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: %v, want an error with %q", filepath.Base(file), err, want)
		}
	}
	acc := newIDPAccount(FlowClientCertificate)
	acc.CertificateFile = pkcs1
	if _, err := NewSourceWith(acc, newStore(), SourceOptions{AssertionAlg: "HS256"}); err == nil {
		t.Error("HS256 accepted")
	}
}

func newIDPAccount(flow string) config.Account {
	return config.Account{Name: "work", Tenant: testTenant, ClientID: testClientID, Flow: flow}
}
