package serve

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/state"
	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/testutil"
)

func TestIsLoopback(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:5232": true, "127.1.2.3:1": true, "[::1]:5232": true, "localhost:5232": true,
		"0.0.0.0:5232": false, ":5232": false, "[::]:5232": false, "192.168.1.2:5232": false, "dav.example.com:443": false,
	} {
		if got := isLoopback(listen); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", listen, got, want)
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
	logs := &testutil.LockedBuffer{}
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
	if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(logs.String(), "max_connections reached") }) {
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

// TestCheckSignIn: serve refuses to start with a Microsoft sign-in whose
// client secret it cannot read, naming where it looked.
func TestCheckSignIn(t *testing.T) {
	ms := config.MicrosoftSignIn{ClientID: "11111111-2222-3333-4444-555555555555", Tenants: []string{"aaaaaaaa-0000-4000-8000-000000000001"}}
	if err := checkSignIn(config.Server{}); err != nil {
		t.Fatalf("no sign-in: %v", err)
	}
	ms.ClientSecretEnv = "CARDBRIDGE_TEST_NO_SUCH_SECRET"
	if err := checkSignIn(config.Server{MicrosoftSignIn: ms}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "CARDBRIDGE_TEST_NO_SUCH_SECRET") {
		t.Fatalf("unset secret: %v", err)
	}
	t.Setenv("CARDBRIDGE_TEST_NO_SUCH_SECRET", "s")
	if err := checkSignIn(config.Server{MicrosoftSignIn: ms}); err != nil {
		t.Fatalf("secret set: %v", err)
	}
	ms.ClientSecretEnv, ms.ClientSecretFile = "", t.TempDir()+"/missing"
	if err := checkSignIn(config.Server{MicrosoftSignIn: ms}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "client_secret_file") {
		t.Fatalf("missing file: %v", err)
	}
	// certificate_file: its certificate and key are read and must match.
	key, _, der := testutil.RSACert(t, "signin", time.Hour)
	other, _, _ := testutil.RSACert(t, "other", time.Hour)
	ms.ClientSecretFile = ""
	for _, c := range []struct {
		name string
		key  *rsa.PrivateKey
		want string
	}{{"matching key", key, ""}, {"another key", other, "does not belong to the certificate"}} {
		ms.CertificateFile = filepath.Join(t.TempDir(), "app.pem")
		data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(c.key)})...)
		if err := os.WriteFile(ms.CertificateFile, data, 0o600); err != nil {
			t.Fatal(err)
		}
		err := checkSignIn(config.Server{MicrosoftSignIn: ms})
		if c.want == "" && err != nil || c.want != "" && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
