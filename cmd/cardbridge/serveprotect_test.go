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
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
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
	cfg := serveConfig(t, dir, port, adminAndPair(missing))
	for _, u := range []string{"alice", "bob"} {
		addUser(t, cfg, u, u+"-password")
	}
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	defer stopServe(t, cmd, stderr)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	var admin string
	if !testutil.Eventually(15*time.Second, func() bool {
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
	cfg := serveConfig(t, dir, port, fmt.Sprintf("  tls_cert: %s\n  tls_key: %s\n", certFile, keyFile))
	addUser(t, cfg, "alice", "alice-password")
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	defer stopServe(t, cmd, stderr)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !testutil.Eventually(10*time.Second, func() bool {
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

// TestServeMaxConnections: serve with max_connections 2 holding two idle
// connections does not answer a third until one of them closes.
func TestServeMaxConnections(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfg := serveConfig(t, dir, port, "  max_connections: 2\n")
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	defer stopServe(t, cmd, stderr)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var idle []net.Conn
	if !testutil.Eventually(10*time.Second, func() bool {
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
	if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "max_connections reached") }) {
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
