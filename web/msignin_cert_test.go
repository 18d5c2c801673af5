package web

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/graphsim"
)

// testCertificate makes a self-signed RSA certificate and writes it with
// its key (PKCS#8) to a PEM file.
func testCertificate(t *testing.T, name string) (*x509.Certificate, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, p
}

// TestMicrosoftSignInCertificate: with certificate_file instead of a
// secret the code is redeemed with a client assertion that graphsim
// checks against the app's registered certificate: the registered one
// signs in, another is refused with a page naming the credential.
func TestMicrosoftSignInCertificate(t *testing.T) {
	m := newMSEnv(t)
	good, goodFile := testCertificate(t, "signin-app")
	_, otherFile := testCertificate(t, "someone-else")
	// The app has the certificate and no secret.
	m.sim.AddApp(graphsim.App{ClientID: msClient, Certificate: good, Audience: graphsim.AudienceMultipleOrgs,
		RedirectURIs: []string{"http://127.0.0.1/ui/login/microsoft/callback"}})
	ms := &m.cfg.Server.MicrosoftSignIn
	ms.ClientSecretFile = ""

	ms.CertificateFile = otherFile
	b := m.browser()
	st, _, body := b.get(m.start(b, simUser, simPass))
	if st != http.StatusBadGateway || !strings.Contains(body, "invalid_client") || !strings.Contains(body, "AADSTS700027") ||
		!strings.Contains(body, "certificate_file") || !strings.Contains(body, "not signed in") {
		t.Fatalf("another certificate: %d\n%s", st, body)
	}
	if signedInAs(t, b) != "" {
		t.Fatal("a refused credential made a session")
	}

	ms.CertificateFile = goodFile
	b = m.browser()
	if st, loc, body := b.get(m.start(b, simUser, simPass)); st != http.StatusSeeOther || loc != "/ui/" {
		t.Fatalf("the registered certificate: %d %s\n%s", st, loc, body)
	}
	if who := signedInAs(t, b); who != "alice-2" {
		t.Fatalf("signed in as %q", who)
	}
}
