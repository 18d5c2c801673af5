package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/graphsim"

	"github.com/cardbridge/cardbridge/testutil"
)

// TestGraphsimRedirectURIs: `cardbridge graphsim` accepts serve's "Connect
// Office 365" callback on a loopback address as the README says, and the
// --redirect-uri ones (a serve behind public_url); any other redirect is
// refused with AADSTS50011, and a bad --redirect-uri is a usage error.
func TestGraphsimRedirectURIs(t *testing.T) {
	for _, bad := range []string{"dav.example.com/cb", "http://dav.example.com/ui/connect/callback", "ftp://x/cb", "https://x.example/cb#frag"} {
		if r := cb(t, nil, "graphsim", "--listen", "127.0.0.1:0", "--redirect-uri", bad); r.code != exitUsage || !strings.Contains(r.stderr, "--redirect-uri") {
			t.Errorf("--redirect-uri %s: exit %d %s", bad, r.code, r.stderr)
		}
	}
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(binary, "graphsim", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--contacts", "1",
		"--redirect-uri", "https://dav.example.com/ui/connect/callback")
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if !testutil.Eventually(10*time.Second, func() bool {
		res, err := http.Get(base + "/devicelogin")
		if err == nil {
			res.Body.Close()
		}
		return err == nil
	}) {
		t.Fatal("graphsim did not start")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}
	for redirect, ok := range map[string]bool{
		"http://127.0.0.1:5232/ui/connect/callback":   true,
		"http://localhost:8080/ui/connect/callback":   true,
		"https://dav.example.com/ui/connect/callback": true,
		"https://other.example/ui/connect/callback":   false,
	} {
		q := url.Values{"client_id": {graphsim.StandaloneClientID}, "response_type": {"code"}, "redirect_uri": {redirect},
			"scope": {"Contacts.ReadWrite offline_access"}, "login_hint": {"alice@contoso.example"}}
		res, err := noRedirect.Get(base + "/contoso.example/oauth2/v2.0/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := res.StatusCode == http.StatusFound && strings.HasPrefix(res.Header.Get("Location"), redirect+"?code="); got != ok {
			t.Errorf("%s: %d %s %s, want accepted=%v", redirect, res.StatusCode, res.Header.Get("Location"), b, ok)
		}
		if !ok && !strings.Contains(string(b), "AADSTS50011") {
			t.Errorf("%s: %s, want AADSTS50011", redirect, b)
		}
	}
	if s := out.String(); !strings.Contains(s, "tenant: contoso.example") || !strings.Contains(s, "connect:") {
		t.Errorf("printed configuration:\n%s", s)
	}
}

// TestO365SignInHintsE2E: the binary against graphsim's single-tenant app
// (the portal's default): a login or sync at an authority Microsoft refuses
// fails with the AADSTS code and the hint naming what to change.
func TestO365SignInHintsE2E(t *testing.T) {
	env := newSim(t, 1)
	cases := []struct {
		flow, tenant, code, hint string
		args                     []string
	}{
		{"device", "organizations", "AADSTS50059", "; hint: the app registration is single-tenant: set tenant to the Directory (tenant) ID", []string{"login", "work"}},
		{"device", "common", "AADSTS50194", "; hint: the app registration is single-tenant", []string{"login", "work"}},
		{"client-secret", "fabrikam.example", "AADSTS90002", "; hint: the tenant does not exist in this cloud: check tenant", []string{"sync"}},
	}
	for _, c := range cases {
		cfg, _ := env.workspace(t, c.flow, "merge")
		text, _ := os.ReadFile(cfg)
		os.WriteFile(cfg, []byte(strings.Replace(string(text), "tenant: contoso.example", "tenant: "+c.tenant, 1)), 0o600)
		r := cb(t, simEnvVars, append([]string{"--config", cfg}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.code+":") || !strings.Contains(r.stderr, c.hint) {
			t.Errorf("%s at %s: exit %d\n%s", c.flow, c.tenant, r.code, r.stderr)
		}
	}
}
