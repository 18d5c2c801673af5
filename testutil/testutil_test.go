package testutil

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLockedBufferConcurrentWriters(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				fmt.Fprint(&b, "x")
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("%d bytes, want 800", n)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	if !Eventually(time.Second, func() bool { n++; return n >= 3 }) {
		t.Fatal("a condition that holds on the third poll was not seen")
	}
	if Eventually(30*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported as held")
	}
}

func TestWaitForFailsNamingWhat(t *testing.T) {
	n := 0
	WaitFor(t, time.Second, "three polls", func() bool { n++; return n >= 3 })
	ft := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() { // Fatalf ends the goroutine as it would a test
		defer close(done)
		WaitFor(ft, 10*time.Millisecond, "the impossible", func() bool { return false })
	}()
	<-done
	if !strings.Contains(ft.msg, "the impossible") {
		t.Fatalf("failure %q does not name what was awaited", ft.msg)
	}
}

// fatalRecorder records a Fatalf or an Errorf instead of failing the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Errorf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestClock(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(t0)
	c.Add(90 * time.Second)
	if got := c.Now(); !got.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("Now after Add(90s) = %v, want %v", got, t0.Add(90*time.Second))
	}
}

func TestFreePortIsListenable(t *testing.T) {
	p := FreePort(t)
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	ln.Close()
}

func TestRSACert(t *testing.T) {
	key, cert, der := RSACert(t, "unit", 2*time.Hour)
	if cert.Subject.CommonName != "unit" || !cert.PublicKey.(*rsa.PublicKey).Equal(&key.PublicKey) {
		t.Fatalf("certificate %q does not carry the key", cert.Subject.CommonName)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) || cert.NotAfter.Sub(now) < time.Hour {
		t.Fatalf("validity %v..%v does not cover now plus an hour", cert.NotBefore, cert.NotAfter)
	}
	if c2, err := x509.ParseCertificate(der); err != nil || !c2.Equal(cert) {
		t.Fatalf("der does not parse to the certificate: %v", err)
	}
}

// TestGolden: update writes the file (and its folder), an equal output
// passes, a different one and a missing file fail naming the file and the
// command that accepts.
func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "golden", "card.vcf")
	for _, tc := range []struct {
		name   string
		got    string
		update bool
		fails  bool
	}{
		{"missing", "one", false, true},
		{"update", "one", true, false},
		{"equal", "one", false, false},
		{"different", "two", false, true},
	} {
		rec := &fatalRecorder{TB: t}
		Golden(rec, path, []byte(tc.got), tc.update, "go test -update")
		if failed := rec.msg != ""; failed != tc.fails {
			t.Errorf("%s: failure %q, want failing %v", tc.name, rec.msg, tc.fails)
		}
		if tc.fails && (!strings.Contains(rec.msg, path) || !strings.Contains(rec.msg, "go test -update")) {
			t.Errorf("%s: failure %q does not name the file and the command", tc.name, rec.msg)
		}
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "one" {
		t.Errorf("golden file = %q, %v; want the updated output", b, err)
	}
}

// TestPutVCard: the PUT carries the card, Basic auth, the vCard type and
// If-Match only when an ETag is given, and the answer's status comes back.
func TestPutVCard(t *testing.T) {
	type seen struct{ method, user, pass, ctype, ifMatch, body string }
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, u, p, r.Header.Get("Content-Type"), r.Header.Get("If-Match"), string(b)}
		if got.ifMatch != "" {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	if st := PutVCard(t, srv.URL+"/x.vcf", "alice", "pw", "BEGIN:VCARD", ""); st != http.StatusCreated {
		t.Errorf("status %d, want 201", st)
	}
	if want := (seen{"PUT", "alice", "pw", "text/vcard; charset=utf-8", "", "BEGIN:VCARD"}); got != want {
		t.Errorf("server saw %+v, want %+v", got, want)
	}
	if st := PutVCard(t, srv.URL+"/x.vcf", "alice", "pw", "BEGIN:VCARD", `"e1"`); st != http.StatusPreconditionFailed || got.ifMatch != `"e1"` {
		t.Errorf("status %d, If-Match %q", st, got.ifMatch)
	}
}
