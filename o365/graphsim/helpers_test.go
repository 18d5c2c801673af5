package graphsim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

type testEnv struct {
	t     *testing.T
	s     *Server
	ts    *httptest.Server
	clock *testutil.Clock
	alice *Mailbox
	bob   *Mailbox
	key   *rsa.PrivateKey
	cert  *x509.Certificate
}

var (
	certOnce sync.Once
	testKey  *rsa.PrivateKey
	testCert *x509.Certificate
	otherKey *rsa.PrivateKey
	otherCrt *x509.Certificate
)

func newEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	certOnce.Do(func() {
		testKey, testCert, _ = testutil.RSACert(t, "cardbridge-test", 24*time.Hour)
		otherKey, otherCrt, _ = testutil.RSACert(t, "cardbridge-test", 24*time.Hour)
	})
	fc := testutil.NewClock(time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC))
	if opts.Clock == nil {
		opts.Clock = fc.Now
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	s := New(opts)
	s.AddApp(App{ClientID: "pub", Audience: AudienceMultipleOrgs, PublicClient: true, RedirectURIs: []string{"http://localhost", "https://app.example/cb"}})
	s.AddApp(App{ClientID: "conf", Secret: "s3cret", Certificate: testCert, RedirectURIs: []string{"https://app.example/cb"}})
	e := &testEnv{t: t, s: s, clock: fc, key: testKey, cert: testCert}
	e.alice = s.AddUser(User{ID: "11111111-1111-4111-8111-111111111111", UPN: "alice@contoso.example", DisplayName: "Alice", Password: "pw"})
	e.bob = s.AddUser(User{ID: "22222222-2222-4222-8222-222222222222", UPN: "bob@contoso.example", DisplayName: "Bob", Password: "pw2"})
	e.ts = httptest.NewServer(s)
	t.Cleanup(e.ts.Close)
	return e
}

// tok returns a delegated token for alice from the public app.
func (e *testEnv) tok() string {
	t, err := e.s.IssueToken("pub", "alice@contoso.example")
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

type resp struct {
	status int
	h      http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

func (r resp) errCode(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	e, _ := m["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error envelope: %s", r.body)
	}
	if _, ok := e["innerError"].(map[string]any)["request-id"]; !ok {
		t.Fatalf("no innerError.request-id: %s", r.body)
	}
	return e["code"].(string)
}

// do sends a request; body may be nil, []byte, string or any JSON value.
func (e *testEnv) do(method, path, tok string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.ts.URL + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (e *testEnv) form(path string, v url.Values) resp {
	e.t.Helper()
	res, err := noRedirect.PostForm(e.ts.URL+path, v)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func (r resp) aad(t *testing.T) (string, float64) {
	t.Helper()
	m := r.json(t)
	codes, _ := m["error_codes"].([]any)
	if m["error"] == nil || len(codes) == 0 || m["trace_id"] == nil || m["correlation_id"] == nil || m["timestamp"] == nil {
		t.Fatalf("not an AADSTS error: %s", r.body)
	}
	if !strings.HasPrefix(m["error_description"].(string), "AADSTS") {
		t.Fatalf("description: %s", m["error_description"])
	}
	return m["error"].(string), codes[0].(float64)
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// assertion builds a client assertion JWT.
func assertion(key *rsa.PrivateKey, cert *x509.Certificate, alg string, useSHA1 bool, claims map[string]any) string {
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if useSHA1 {
		s := sha1.Sum(cert.Raw)
		hdr["x5t"] = b64u(s[:])
	} else {
		s := sha256.Sum256(cert.Raw)
		hdr["x5t#S256"] = b64u(s[:])
	}
	hb, _ := json.Marshal(hdr)
	cb, _ := json.Marshal(claims)
	signed := b64u(hb) + "." + b64u(cb)
	d := sha256.Sum256([]byte(signed))
	var sig []byte
	if alg == "PS256" {
		sig, _ = rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, _ = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	}
	return signed + "." + b64u(sig)
}
