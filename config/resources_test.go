package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckResources: an unset password_env, an unreadable
// password_file, a vdir directory that does not exist (unless create:
// true) and a missing certificate file are each one problem naming the
// key; a configuration whose resources are there passes.
func TestCheckResources(t *testing.T) {
	dir := t.TempDir()
	vdir := filepath.Join(dir, "cards")
	pw := filepath.Join(dir, "pw")
	cert := filepath.Join(dir, "app.pem")
	os.Mkdir(vdir, 0o700)
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	os.WriteFile(cert, []byte("PEM"), 0o600)
	missing := filepath.Join(dir, "missing")
	dav := func(extra string) string {
		return "pairs:\n  p:\n    a: {type: vdir, path: " + vdir + "}\n    b: {type: carddav, url: https://dav.example/, username: u, " + extra + "}\n"
	}
	acct := func(file string) string {
		return "accounts:\n  work:\n    tenant: contoso.example\n    client_id: 00000000-0000-0000-0000-000000000001\n    flow: client-certificate\n    user: a@contoso.example\n    certificate_file: " + file +
			"\npairs:\n  p:\n    a: {type: o365, account: work}\n    b: {type: vdir, path: " + vdir + "}\n"
	}
	cases := []struct {
		name, yaml string
		env        []string
		key, msg   string // "" key: no problem
	}{
		{"all there", dav("password_env: DAV_PW"), []string{"DAV_PW=x"}, "", ""},
		{"password_env unset", dav("password_env: DAV_PW"), nil, "pairs.p.b.password_env", "DAV_PW is not set"},
		{"password_env set empty counts as set", dav("password_env: DAV_PW"), []string{"DAV_PW="}, "", ""},
		{"password_file readable", dav("password_file: " + pw), nil, "", ""},
		{"password_file missing", dav("password_file: " + missing), nil, "pairs.p.b.password_file", "no such file"},
		{"password_file a directory", dav("password_file: " + dir), nil, "pairs.p.b.password_file", "is a directory"},
		{"ca_file missing", dav("password_file: " + pw + ", ca_file: " + missing), nil, "pairs.p.b.ca_file", "no such file"},
		{"vdir missing", "pairs:\n  p:\n    a: {type: vdir, path: " + missing + "}\n    b: {type: vdir, path: " + vdir + "}\n", nil,
			"pairs.p.a.path", "does not exist (make it, or set create: true"},
		{"vdir missing, create: true", "pairs:\n  p:\n    a: {type: vdir, path: " + missing + ", create: true}\n    b: {type: vdir, path: " + vdir + "}\n", nil, "", ""},
		{"certificate there", acct(cert), nil, "", ""},
		{"certificate missing", acct(missing), nil, "accounts.work.certificate_file", "no such file"},
		{"tls_cert missing", "server:\n  tls_cert: " + missing + "\n  tls_key: " + cert + "\n", nil, "server.tls_cert", "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			os.WriteFile(path, []byte(c.yaml), 0o600)
			cfg, err := Load(path, true, c.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = CheckResources(cfg, c.env)
			if c.key == "" {
				if err != nil {
					t.Fatalf("CheckResources: %v", err)
				}
				return
			}
			ce, ok := err.(*Error)
			if !ok || len(ce.Problems) != 1 || ce.Problems[0].Key != c.key || !strings.Contains(ce.Problems[0].Msg, c.msg) {
				t.Fatalf("CheckResources = %v, want one problem %s: …%s…", err, c.key, c.msg)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("%q does not name the file", err)
			}
		})
	}
}
