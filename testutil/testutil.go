// Package testutil holds the small helpers the tests of several packages
// share, so that each lives once: a buffer safe for concurrent writers
// (a logger, a child process's output), polling for a condition, a
// settable clock, a free loopback port, a self-signed RSA certificate,
// a small JPEG, golden files and a CardDAV PUT of a card.
// It imports only the standard library, so any package's tests (and the
// bench tools) can use it without an import cycle.
package testutil

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"image"
	"image/color"
	"image/jpeg"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// LockedBuffer is a bytes.Buffer safe for concurrent writers and readers.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Eventually polls cond every 20 ms until it holds or limit passes, and
// reports whether it held.
func Eventually(limit time.Duration, cond func() bool) bool {
	return poll(limit, 20*time.Millisecond, cond)
}

// WaitFor polls cond every millisecond until it holds, and fails the test
// naming what it waited for when limit passes first.
func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(limit, time.Millisecond, cond) {
		t.Fatalf("timed out after %v waiting for %s", limit, what)
	}
}

func poll(limit, every time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(every) {
		if cond() {
			return true
		}
	}
	return cond()
}

// Clock is a settable clock safe for concurrent use; its Now is meant for
// the Clock/Now options of the code under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock that reads t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// RSACert makes a 2048-bit RSA key and a self-signed certificate for it
// named cn, valid from an hour ago for valid; der is the certificate's
// encoding.
func RSACert(t testing.TB, cn string, valid time.Duration) (key *rsa.PrivateKey, cert *x509.Certificate, der []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(valid)}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

// Golden compares got with the golden file at path; with update it writes
// got there first (making the folder). A missing or different file fails
// the test (it goes on), naming the file and accept, the command that
// rewrites the golden files.
func Golden(t testing.TB, path string, got []byte, update bool, accept string) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: %v (run %s)", path, err, accept)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (%s to accept):\n--- got\n%s\n--- want\n%s", path, accept, got, want)
	}
}

// JPEG is a small valid JPEG (8 by 8 pixels) whose colour is shade: photos
// for tests, a different one for each shade.
func JPEG(t testing.TB, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, color.RGBA{shade, 255 - shade, 40, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
