package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/state"
)

// get sends a GET with optional Basic credentials and returns the status,
// the body and the header.
func get(t *testing.T, c *http.Client, target, user, pass string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestServeProtections runs `cardbridge serve` once and checks, in order:
// /healthz tells a stranger and a non-admin user only {"status":"ok"} while
// an admin (server.admins) sees the failing pair and its error; a web
// sign-in to a foreign Host is refused; wrong passwords back off to 429
// after five, each logged once in the documented line.
func TestServeProtections(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-folder-secret-path")
	os.WriteFile(missing, []byte("a file where the pair wants a folder"), 0o600)
	port := freePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`state: %s/state.db
server:
  listen: 127.0.0.1:%d
  admins: [alice]
pairs:
  p:
    a: {type: vdir, path: %s}
    b: {type: server, user: alice, addressbook: contacts}
    every: 1m
`, dir, port, missing)), 0o600)
	for _, u := range []string{"alice", "bob"} {
		if r := cbStdin(t, u+"-password\n", "--config", cfg, "user", "add", u); r.code != 0 {
			t.Fatalf("user add: %s", r.stderr)
		}
	}
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	defer stopServe(t, cmd, stderr)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	var admin string
	if !eventually(15*time.Second, func() bool {
		req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
		req.SetBasicAuth("alice", "alice-password")
		resp, err := c.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		admin = string(b)
		return strings.Contains(admin, `"runs":1`)
	}) {
		t.Fatalf("the admin's /healthz never showed the run: %s\n%s", admin, stderr)
	}
	if !strings.Contains(admin, `"status":"degraded"`) || !strings.Contains(admin, `"pair":"p"`) || !strings.Contains(admin, "no-such-folder-secret-path") {
		t.Errorf("admin /healthz: %s", admin)
	}
	for _, who := range []struct{ name, user, pass string }{{"stranger", "", ""}, {"non-admin", "bob", "bob-password"}} {
		st, body, _ := get(t, c, base+"/healthz", who.user, who.pass)
		if st != http.StatusOK || body != "{\"status\":\"ok\"}\n" {
			t.Errorf("%s /healthz: %d %q, want 200 {\"status\":\"ok\"} and nothing else", who.name, st, body)
		}
	}

	// A sign-in sent to a foreign Host (DNS rebinding) is refused.
	form := url.Values{"user": {"alice"}, "password": {"alice-password"}}.Encode()
	for host, want := range map[string]int{"evil.example:" + fmt.Sprint(port): http.StatusForbidden, fmt.Sprintf("localhost:%d", port): http.StatusSeeOther} {
		req, _ := http.NewRequest(http.MethodPost, base+"/ui/login", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("sign-in with Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}

	// Password guessing: five answered, then 429 (the right password too).
	for i := range 5 {
		if st, _, _ := get(t, c, base+"/addressbooks/bob/", "bob", fmt.Sprint("guess", i)); st != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, st)
		}
	}
	st, _, hdr := get(t, c, base+"/addressbooks/bob/", "bob", "bob-password")
	if st != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("after 5 wrong passwords: %d (Retry-After %q), want 429 with Retry-After", st, hdr.Get("Retry-After"))
	}
	if n := strings.Count(stderr.String(), `level=WARN msg="authentication failed" remote=127.0.0.1 user=bob via=carddav reason=password`); n != 5 {
		t.Errorf("%d failure lines for bob, want 5:\n%s", n, stderr)
	}
}

// selfSigned writes an ECDSA certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS: under TLS, a client offering only CBC suites in TLS 1.2
// cannot connect, AEAD suites and TLS 1.3 can, and every answer (CardDAV,
// web page, /healthz) carries Strict-Transport-Security.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	port := freePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s/state.db\nserver:\n  listen: 127.0.0.1:%d\n  tls_cert: %s\n  tls_key: %s\n", dir, port, certFile, keyFile)), 0o600)
	if r := cbStdin(t, "alice-password\n", "--config", cfg, "user", "add", "alice"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	defer stopServe(t, cmd, stderr)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !eventually(10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("serve did not listen:\n%s", stderr)
	}
	cbc := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA}
	for _, c := range []struct {
		name   string
		max    uint16
		suites []uint16
		ok     bool
	}{
		{"TLS 1.2 CBC only", tls.VersionTLS12, cbc, false},
		{"TLS 1.2 AES-GCM", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, true},
		{"TLS 1.2 ChaCha20-Poly1305", tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, true},
		{"TLS 1.3", tls.VersionTLS13, nil, true},
	} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MaxVersion: c.max, CipherSuites: c.suites})
		if err == nil {
			conn.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: handshake error %v, want success %v", c.name, err, c.ok)
		}
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "https://" + addr
	for _, p := range []string{"/healthz", "/ui/login", "/.well-known/carddav", "/addressbooks/alice/"} {
		_, _, hdr := get(t, hc, base+p, "", "")
		if v := hdr.Get("Strict-Transport-Security"); !strings.HasPrefix(v, "max-age=") {
			t.Errorf("%s: Strict-Transport-Security %q", p, v)
		}
	}
}

// TestHSTSOnlyWhenSecure: plain HTTP answers carry no HSTS unless the
// public URL is https (TLS ends at a proxy).
func TestHSTSOnlyWhenSecure(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, secure := range []bool{false, true} {
		w := &headerRecorder{h: http.Header{}}
		withHSTS(ok, secure).ServeHTTP(w, &http.Request{})
		if got := w.h.Get("Strict-Transport-Security") != ""; got != secure {
			t.Errorf("secure %v: HSTS %q", secure, w.h.Get("Strict-Transport-Security"))
		}
	}
}

type headerRecorder struct{ h http.Header }

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(int)             {}

// TestHostChecker: which Host headers the sign-in accepts.
func TestHostChecker(t *testing.T) {
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	hostname, _ := os.Hostname()
	cases := []struct {
		name   string
		server config.Server
		addr   string
		tls    bool
		host   string
		want   bool
	}{
		{"loopback listen, same", config.Server{}, "127.0.0.1:5232", false, "127.0.0.1:5232", true},
		{"loopback listen, localhost", config.Server{}, "127.0.0.1:5232", false, "LOCALHOST:5232", true},
		{"loopback listen, ::1", config.Server{}, "127.0.0.1:5232", false, "[::1]:5232", true},
		{"loopback listen, other port", config.Server{}, "127.0.0.1:5232", false, "127.0.0.1:80", false},
		{"loopback listen, rebound name", config.Server{}, "127.0.0.1:5232", false, "evil.example:5232", false},
		{"public url", config.Server{PublicURL: "https://dav.example.com/"}, "127.0.0.1:5232", false, "dav.example.com", true},
		{"public url with port", config.Server{PublicURL: "https://dav.example.com/"}, "127.0.0.1:5232", false, "dav.example.com:443", true},
		{"public url, proxy passing the upstream", config.Server{PublicURL: "https://dav.example.com/"}, "127.0.0.1:5232", false, "127.0.0.1:5232", true},
		{"public url, another name", config.Server{PublicURL: "https://dav.example.com/"}, "127.0.0.1:5232", false, "evil.example", false},
		{"all interfaces, an address", config.Server{}, "0.0.0.0:5232", false, "192.168.1.20:5232", true},
		{"all interfaces, the machine's name", config.Server{}, "0.0.0.0:5232", false, hostname + ":5232", hostname != ""},
		{"all interfaces, another name", config.Server{}, "0.0.0.0:5232", false, "evil.example:5232", false},
		{"one address", config.Server{}, "192.168.1.20:5232", true, "192.168.1.20:5232", true},
		{"one address, another", config.Server{}, "192.168.1.20:5232", true, "192.168.1.21:5232", false},
	}
	for _, c := range cases {
		if got := hostChecker(c.server, tcp(c.addr), c.tls)(c.host); got != c.want {
			t.Errorf("%s: Host %q: %v, want %v", c.name, c.host, got, c.want)
		}
	}
}

// countingListener counts Accept calls that reached the kernel's queue.
type countingListener struct {
	net.Listener
	accepted chan struct{}
}

func (c *countingListener) Accept() (net.Conn, error) {
	conn, err := c.Listener.Accept()
	if err == nil {
		c.accepted <- struct{}{}
	}
	return conn, err
}

// TestLimitListener: with max 2, the third connection is not accepted
// until one of the first two closes; Close ends a waiting Accept.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cl := &countingListener{Listener: inner, accepted: make(chan struct{}, 10)}
	l := newLimitListener(cl, 2, slog.New(slog.NewTextHandler(logs, nil)))
	defer l.Close()
	var dialed []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		dialed = append(dialed, c)
	}
	conns := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(conns)
				return
			}
			conns <- c
		}
	}()
	first := <-conns
	<-conns
	if !eventually(10*time.Second, func() bool { return strings.Contains(logs.String(), "max_connections reached") }) {
		t.Fatal("the third Accept did not wait for a slot")
	}
	if n := len(cl.accepted); n != 2 {
		t.Fatalf("%d connections taken from the kernel while 2 are open, want 2", n)
	}
	first.Close()
	select {
	case <-conns:
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("the third connection was not accepted after one closed")
	}
	first.Close() // a second Close frees nothing more
	if len(l.slots) != 2 {
		t.Fatalf("%d slots taken, want 2", len(l.slots))
	}
	l.Close()
	if _, ok := <-conns; ok {
		t.Fatal("Accept went on after Close")
	}
	_ = dialed
}

// TestServeMaxConnections: serve with max_connections 2 holding two idle
// connections does not answer a third until one of them closes.
func TestServeMaxConnections(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s/state.db\nserver:\n  listen: 127.0.0.1:%d\n  max_connections: 2\n", dir, port)), 0o600)
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	defer stopServe(t, cmd, stderr)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var idle []net.Conn
	if !eventually(10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		idle = append(idle, c)
		return true
	}) {
		t.Fatalf("serve did not listen:\n%s", stderr)
	}
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	idle = append(idle, c2)
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	if !eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "max_connections reached") }) {
		t.Fatalf("serve did not hold back a third connection:\n%s", stderr)
	}
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	fmt.Fprintf(c3, "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr)
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c3).ReadString('\n')
		answered <- line
	}()
	select {
	case line := <-answered:
		t.Fatalf("the third connection was served while two were open: %q", line)
	case <-time.After(500 * time.Millisecond):
	}
	idle[0].Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case line := <-answered:
		if !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("third connection: %q", line)
		}
	case <-ctx.Done():
		t.Fatal("the third connection was not served after one closed")
	}
}

// hashes is an authguard.HashSource of bcrypt hashes made here.
type hashes map[string]string

func (h hashes) UserPasswordHash(_ context.Context, user string) (string, error) {
	if v, ok := h[user]; ok {
		return v, nil
	}
	return "", fmt.Errorf("user %s: %w", user, state.ErrNotFound)
}

// TestHealthHandler: what /healthz answers whom, and when the state does
// not answer.
func TestHealthHandler(t *testing.T) {
	hs := hashes{}
	for _, u := range []string{"alice", "bob"} {
		h, _ := bcrypt.GenerateFromPassword([]byte(u+"-pw"), bcrypt.MinCost)
		hs[u] = string(h)
	}
	guard, err := authguard.New(authguard.Options{Hashes: hs, FreeFailures: 1000})
	if err != nil {
		t.Fatal(err)
	}
	pairs := func() []daemon.PairStatus {
		return []daemon.PairStatus{{Pair: "secret-pair", Runs: 1, OK: false, Error: "vdir /home/frank/x: not a directory"}}
	}
	up := func(context.Context) (int, error) { return 6, nil }
	down := func(context.Context) (int, error) { return 0, errors.New("database is locked") }
	for _, c := range []struct {
		name       string
		ping       func(context.Context) (int, error)
		user, pass string
		status     int
		body       string // exact, or a prefix ending in "…"
	}{
		{"stranger", up, "", "", 200, "{\"status\":\"ok\"}\n"},
		{"non-admin", up, "bob", "bob-pw", 200, "{\"status\":\"ok\"}\n"},
		{"wrong password", up, "alice", "nope", 401, "unauthorized\n"},
		{"admin", up, "alice", "alice-pw", 200, `{"status":"degraded","pairs":[{"pair":"secret-pair",…`},
		{"state down, stranger", down, "", "", 503, "{\"status\":\"unavailable\"}\n"},
		{"state down, admin", down, "alice", "alice-pw", 503, "{\"status\":\"unavailable\"}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := healthHandler(guard, []string{"alice"}, pairs, c.ping)
			r := httptestRequest("GET", "/healthz")
			if c.user != "" {
				r.SetBasicAuth(c.user, c.pass)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			body := w.Body.String()
			ok := body == c.body
			if p, found := strings.CutSuffix(c.body, "…"); found {
				ok = strings.HasPrefix(body, p) && strings.Contains(body, "not a directory")
			}
			if w.Code != c.status || !ok {
				t.Errorf("%d %q, want %d %q", w.Code, body, c.status, c.body)
			}
		})
	}
}

func httptestRequest(method, target string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = "192.0.2.1:5555"
	return r
}
