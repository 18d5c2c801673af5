package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/config"
)

// credential is an app-only client's proof: a secret or a certificate.
type credential interface {
	// params are the credential's parameters of a token request to tokenURL
	// (client_secret, or client_assertion_type and client_assertion), and
	// the secrets among them (to keep them out of errors).
	params(tokenURL, clientID string, now time.Time) (url.Values, []string, error)
}

// secretCredential is a client secret.
type secretCredential struct{ secret string }

func (c secretCredential) params(_, _ string, _ time.Time) (url.Values, []string, error) {
	return url.Values{"client_secret": {c.secret}}, []string{c.secret}, nil
}

// loadSecret reads acc's client secret from its environment variable or file.
func loadSecret(acc config.Account, lookupEnv func(string) (string, bool)) (credential, error) {
	switch {
	case acc.ClientSecretEnv != "":
		v, ok := lookupEnv(acc.ClientSecretEnv)
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return nil, fmt.Errorf("account %s: the client secret's environment variable %s is not set or empty", acc.Name, acc.ClientSecretEnv)
		}
		return secretCredential{v}, nil
	case acc.ClientSecretFile != "":
		b, err := os.ReadFile(acc.ClientSecretFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the file's contents never appear in a PathError; keep the message short
			}
			return nil, fmt.Errorf("account %s: client secret file %s: %w", acc.Name, acc.ClientSecretFile, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return nil, fmt.Errorf("account %s: client secret file %s is empty", acc.Name, acc.ClientSecretFile)
		}
		return secretCredential{v}, nil
	}
	return nil, fmt.Errorf("account %s: flow client-secret needs client_secret_env or client_secret_file", acc.Name)
}

// Assertion algorithms of the certificate credential.
const (
	// AlgPS256 is RSASSA-PSS with SHA-256 (the default; what Microsoft
	// currently asks for).
	AlgPS256 = "PS256"
	// AlgRS256 is RSASSA-PKCS1-v1_5 with SHA-256 (older tenants).
	AlgRS256 = "RS256"
)

// certCredential is a certificate and its RSA key: each token request
// carries a fresh signed JWT assertion.
type certCredential struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	alg  string
}

// loadCertificate reads acc's PEM file: the first CERTIFICATE block is the
// client's certificate; the key is an RSA PRIVATE KEY (PKCS#1) or a PRIVATE
// KEY (PKCS#8) block, and must match the certificate.
func loadCertificate(acc config.Account, alg string) (credential, error) {
	if acc.CertificateFile == "" {
		return nil, fmt.Errorf("account %s: flow client-certificate needs certificate_file", acc.Name)
	}
	switch alg {
	case "":
		alg = AlgPS256
	case AlgPS256, AlgRS256:
	default:
		return nil, fmt.Errorf("account %s: assertion algorithm %q (expected PS256 or RS256)", acc.Name, alg)
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("account %s: certificate file %s: %s", acc.Name, acc.CertificateFile, fmt.Sprintf(format, a...))
	}
	b, err := os.ReadFile(acc.CertificateFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fail("%v", err)
	}
	c := &certCredential{alg: alg}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			if c.cert != nil {
				continue // a chain: the first is the client's
			}
			if c.cert, err = x509.ParseCertificate(blk.Bytes); err != nil {
				return nil, fail("bad CERTIFICATE block: %v", err)
			}
		case "RSA PRIVATE KEY":
			if c.key, err = x509.ParsePKCS1PrivateKey(blk.Bytes); err != nil {
				return nil, fail("bad RSA PRIVATE KEY block (PKCS#1)") // the parser's error says nothing useful and the block is secret
			}
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, fail("bad PRIVATE KEY block (PKCS#8)")
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fail("the private key is a %T, not RSA", k)
			}
			c.key = rk
		case "ENCRYPTED PRIVATE KEY":
			return nil, fail("the private key is encrypted; store it unencrypted (the file should be readable by its owner only)")
		}
	}
	switch {
	case c.cert == nil:
		return nil, fail("no CERTIFICATE block")
	case c.key == nil:
		return nil, fail("no RSA private key (RSA PRIVATE KEY or PRIVATE KEY block)")
	}
	if pub, ok := c.cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&c.key.PublicKey) {
		return nil, fail("the private key does not belong to the certificate")
	}
	return c, nil
}

// assertionLifetime is how long a client assertion is valid.
const assertionLifetime = 10 * time.Minute

func (c *certCredential) params(tokenURL, clientID string, now time.Time) (url.Values, []string, error) {
	jwt, err := c.assertion(tokenURL, clientID, now)
	if err != nil {
		return nil, nil, err
	}
	return url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {jwt}}, []string{jwt}, nil
}

// assertion builds the signed JWT of a token request to aud.
func (c *certCredential) assertion(aud, clientID string, now time.Time) (string, error) {
	sum := sha256.Sum256(c.cert.Raw)
	header := map[string]string{"alg": c.alg, "typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}
	if c.alg == AlgRS256 {
		sha := sha1.Sum(c.cert.Raw)
		header["x5t"] = base64.RawURLEncoding.EncodeToString(sha[:])
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims := map[string]any{
		"aud": aud, "iss": clientID, "sub": clientID, "jti": hex.EncodeToString(jti[:]),
		"nbf": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(signing))
	var sig []byte
	if c.alg == AlgPS256 {
		sig, err = rsa.SignPSS(rand.Reader, c.key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, digest[:])
	}
	if err != nil {
		return "", fmt.Errorf("signing the client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
