package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMicrosoftSignIn: server.microsoft_sign_in decodes (tenant ids lower
// cased, the secret read from its file), and bad values are refused naming
// the key and why.
func TestMicrosoftSignIn(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := writeConfig(t, "server:\n  microsoft_sign_in:\n    client_id: 11111111-2222-3333-4444-555555555555\n    tenants: [AAAAAAAA-0000-4000-8000-000000000001, aaaaaaaa-0000-4000-8000-000000000002]\n    client_secret_file: "+secret+"\n    login_url: http://127.0.0.1:9999/\n")
	cfg, err := Load(p, true, []string{"HOME=" + home})
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Server.MicrosoftSignIn
	if !m.Configured() || m.ClientID != "11111111-2222-3333-4444-555555555555" || m.Authority() != "http://127.0.0.1:9999" || m.UserNames != "local-part" ||
		!slices.Equal(m.Tenants, []string{"aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"}) {
		t.Fatalf("microsoft_sign_in = %+v", m)
	}
	if !m.Allowed("AAAAAAAA-0000-4000-8000-000000000002") || m.Allowed("aaaaaaaa-0000-4000-8000-000000000003") {
		t.Fatal("Allowed")
	}
	if s, err := m.Secret(); err != nil || s != "s3cret" {
		t.Fatalf("secret %q %v", s, err)
	}
	if cfg.Server.NoLocalPasswords {
		t.Fatal("local passwords off by default")
	}
	if m.Contacts || m.CertificateFile != "" {
		t.Fatalf("contacts and certificate off by default: %+v", m)
	}
	cert := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(cert, []byte("not checked here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(writeConfig(t, "server:\n  microsoft_sign_in:\n    client_id: 11111111-2222-3333-4444-555555555555\n    tenants: [aaaaaaaa-0000-4000-8000-000000000001]\n    certificate_file: "+cert+"\n    contacts: true\n    login_url: http://127.0.0.1:9999/\n    graph_url: http://127.0.0.1:9999/v1.0\n"), true, []string{"HOME=" + home})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckResources(cfg, nil); err != nil {
		t.Fatalf("resources of a present certificate: %v", err)
	}
	if err := os.Remove(cert); err != nil {
		t.Fatal(err)
	}
	if err := CheckResources(cfg, nil); err == nil || !strings.Contains(err.Error(), "server.microsoft_sign_in.certificate_file") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("resources of a missing certificate: %v", err)
	}
	m = cfg.Server.MicrosoftSignIn
	acc := m.Account("web-alice", "aaaaaaaa-0000-4000-8000-000000000001")
	if !m.Contacts || m.CertificateFile != cert || m.ClientSecretEnv != "" || acc.CertificateFile != cert || acc.Flow != "browser" ||
		acc.ClientID != m.ClientID || acc.Tenant != "aaaaaaaa-0000-4000-8000-000000000001" || acc.GraphURL != "http://127.0.0.1:9999/v1.0" || acc.LoginURL != m.LoginURL {
		t.Fatalf("certificate + contacts: %+v, account %+v", m, acc)
	}
	cfg, err = Load(writeConfig(t, "server:\n  local_passwords: false\n  microsoft_sign_in:\n    client_id: 11111111-2222-3333-4444-555555555555\n    tenants: [aaaaaaaa-0000-4000-8000-000000000001]\n    client_secret_env: X\n"), true, []string{"HOME=" + home})
	if err != nil || !cfg.Server.NoLocalPasswords {
		t.Fatalf("local_passwords: false: %v", err)
	}
	_, err = Load(writeConfig(t, "server:\n  local_passwords: false\n"), true, []string{"HOME=" + home})
	if ps := problems(t, err); len(ps) != 1 || ps[0].Key != "server.local_passwords" || !strings.Contains(ps[0].Msg, "needs server.microsoft_sign_in") {
		t.Fatalf("local_passwords: false alone: %v", ps)
	}
	if (MicrosoftSignIn{}).Authority() != DefaultLoginURL {
		t.Fatal("default authority")
	}
	if cfg, _ := Load(writeConfig(t, "state: /tmp/x.db\n"), true, []string{"HOME=" + home}); cfg.Server.MicrosoftSignIn.Configured() {
		t.Fatal("configured without server.microsoft_sign_in")
	}
	if _, err := (MicrosoftSignIn{ClientSecretEnv: "CB_TEST_UNSET_SECRET"}).Secret(); err == nil || !strings.Contains(err.Error(), "CB_TEST_UNSET_SECRET") {
		t.Fatalf("unset env secret: %v", err)
	}

	for _, c := range []struct {
		name, yaml string
		want       map[string]string
	}{
		{"bad values", "    client_id: nope\n    tenants: [common, contoso.com]\n    client_secret_env: 'no way'\n    login_url: http://login.example.com\n    user_names: email\n    colour: red\n", map[string]string{
			"server.microsoft_sign_in.user_names":        "is not one of",
			"server.microsoft_sign_in.client_id":         "is not a GUID",
			"server.microsoft_sign_in.tenants":           "is not a tenant id",
			"server.microsoft_sign_in.client_secret_env": "is not an environment variable name",
			"server.microsoft_sign_in.login_url":         "must use https",
			"server.microsoft_sign_in.colour":            "unknown key",
		}},
		{"missing", "    login_url: http://127.0.0.1:1\n", map[string]string{
			"server.microsoft_sign_in.client_id":         "required",
			"server.microsoft_sign_in.tenants":           "required: the tenant ids",
			"server.microsoft_sign_in.client_secret_env": "required: the web app's client secret",
		}},
		{"local_passwords not a bool", "    login_url: http://127.0.0.1:1\n    client_id: 11111111-2222-3333-4444-555555555555\n    tenants: [aaaaaaaa-0000-4000-8000-000000000001]\n    client_secret_env: X\n  local_passwords: maybe\n", map[string]string{
			"server.local_passwords": "expected true or false",
		}},
		{"both secrets", "    client_id: 11111111-2222-3333-4444-555555555555\n    tenants: [aaaaaaaa-0000-4000-8000-000000000001]\n    client_secret_env: X\n    client_secret_file: /tmp/x\n", map[string]string{
			"server.microsoft_sign_in.certificate_file": "exactly one credential",
		}},
		{"secret and certificate", "    client_id: 11111111-2222-3333-4444-555555555555\n    tenants: [aaaaaaaa-0000-4000-8000-000000000001]\n    client_secret_env: X\n    certificate_file: " + cert + "\n", map[string]string{
			"server.microsoft_sign_in.certificate_file": "exactly one credential",
		}},
		{"contacts not a bool", "    client_id: 11111111-2222-3333-4444-555555555555\n    tenants: [aaaaaaaa-0000-4000-8000-000000000001]\n    client_secret_env: X\n    contacts: perhaps\n", map[string]string{
			"server.microsoft_sign_in.contacts": "expected true or false",
		}},
	} {
		_, err := Load(writeConfig(t, "server:\n  microsoft_sign_in:\n"+c.yaml), true, []string{"HOME=" + home})
		got := map[string]string{}
		for _, pr := range problems(t, err) {
			got[pr.Key] = pr.Msg
		}
		for key, frag := range c.want {
			if !strings.Contains(got[key], frag) {
				t.Errorf("%s: %s: got %q, want it to contain %q (all: %v)", c.name, key, got[key], frag, got)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: problems %v, want only %v", c.name, got, c.want)
		}
	}
}

// TestMicrosoftSignInFromEnvironment: the keys come from the environment
// too, tenants as a comma-separated list.
func TestMicrosoftSignInFromEnvironment(t *testing.T) {
	cfg, err := Load(writeConfig(t, "state: /tmp/x.db\n"), true, []string{"HOME=" + home,
		"CARDBRIDGE_SERVER_MICROSOFT_SIGN_IN_CLIENT_ID=11111111-2222-3333-4444-555555555555",
		"CARDBRIDGE_SERVER_MICROSOFT_SIGN_IN_TENANTS=aaaaaaaa-0000-4000-8000-000000000001, aaaaaaaa-0000-4000-8000-000000000002",
		"CARDBRIDGE_SERVER_MICROSOFT_SIGN_IN_CLIENT_SECRET_ENV=CB_SECRET", "CARDBRIDGE_SERVER_LOCAL_PASSWORDS=false"})
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Server.MicrosoftSignIn
	if m.ClientID != "11111111-2222-3333-4444-555555555555" || m.ClientSecretEnv != "CB_SECRET" || !cfg.Server.NoLocalPasswords ||
		!slices.Equal(m.Tenants, []string{"aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"}) {
		t.Fatalf("from the environment: %+v, local passwords off %v", m, cfg.Server.NoLocalPasswords)
	}
}
