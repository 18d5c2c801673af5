package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const home = "/home/u"

// testdataDir is the absolute testdata directory (relative paths in the
// sample files resolve against it).
func testdataDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// problems returns the problems of err, failing if it is not an *Error.
func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	return e.Problems
}

// writeConfig writes a config file into a temporary directory.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDesignExample(t *testing.T) {
	cfg, err := Load("testdata/full.yaml", true, []string{"HOME=" + home, "CARDBRIDGE_WORK_SECRET=s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:          "testdata/full.yaml",
		State:         home + "/.local/state/cardbridge/state.db",
		SecretKeyFile: filepath.Join(testdataDir(t), "state.key"),
		Accounts: map[string]Account{"work": {
			Name: "work", Tenant: "organizations", ClientID: "11111111-2222-3333-4444-555555555555",
			Flow: "device", ClientSecretEnv: "CARDBRIDGE_WORK_SECRET",
			CertificateFile: filepath.Join(testdataDir(t), "app.pem"),
			User:            "alice@contoso.com", Cloud: "global",
		}},
		Pairs: map[string]Pair{"work": {
			Name:      "work",
			A:         Side{Type: "o365", Account: "work", Folder: "Contacts"},
			B:         Side{Type: "vdir", Path: home + "/.contacts/work"},
			Direction: "two-way", Conflict: "merge",
			MaxDelete: Limit{Percent: 25, Set: true},
			Every:     15 * time.Minute,
		}},
		Server: Server{Listen: "127.0.0.1:5232"},
		Trash:  DefaultTrash(),
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got\n%+v\nwant\n%+v", cfg, want)
	}
	if got := cfg.PairNames(); !reflect.DeepEqual(got, []string{"work"}) {
		t.Errorf("PairNames = %v", got)
	}
}

func TestLoadAllSideTypes(t *testing.T) {
	cfg, err := Load("testdata/all_types.yaml", true, []string{"HOME=" + home})
	if err != nil {
		t.Fatal(err)
	}
	td := testdataDir(t)
	if got := cfg.PairNames(); !reflect.DeepEqual(got, []string{"dav", "files", "my_pair"}) {
		t.Errorf("PairNames = %v", got)
	}
	if got := cfg.AccountNames(); !reflect.DeepEqual(got, []string{"robot", "work"}) {
		t.Errorf("AccountNames = %v (names are lower-cased)", got)
	}
	work := cfg.Accounts["work"]
	if work.CertificateFile != td+"/certs/app.pem" || work.Cloud != "usgov" || work.GraphURL != "http://127.0.0.1:8080/v1.0" {
		t.Errorf("account work = %+v", work)
	}
	if r := cfg.Accounts["robot"]; r.ClientSecretFile != td+"/secret.txt" || r.Tenant != "contoso.onmicrosoft.com" {
		t.Errorf("account robot = %+v", r)
	}
	dav := cfg.Pairs["dav"]
	wantB := Side{Type: "carddav", URL: "https://dav.example.com/alice/", Username: "alice",
		PasswordFile: td + "/pw.txt", Addressbook: "contacts", CAFile: home + "/ca.pem",
		InsecureSkipVerify: true, Create: true, MultigetChunk: 50}
	if dav.B != wantB {
		t.Errorf("dav.b = %+v\nwant %+v", dav.B, wantB)
	}
	if dav.A.Account != "work" { // "WORK" in the file: names are case-insensitive
		t.Errorf("dav.a.account = %q", dav.A.Account)
	}
	if dav.Direction != "a-to-b" || dav.Conflict != "keep-both" || dav.MaxDelete != (Limit{Count: 10, Set: true}) || dav.Every != 0 {
		t.Errorf("dav = %+v", dav)
	}
	mp, ok := cfg.Pair("MY_PAIR")
	if !ok || mp.B != (Side{Type: "server", User: "alice", Addressbook: "work"}) || mp.Every != time.Hour || mp.A.Folder != "Team" {
		t.Errorf("my_pair = %+v, %v", mp, ok)
	}
	files := cfg.Pairs["files"]
	if files.A.Path != td+"/contacts/a" || files.B.Path != "/srv/contacts/b" {
		t.Errorf("files = %+v", files)
	}
	if !reflect.DeepEqual(cfg.Server, Server{Listen: ":8443", TLSCert: td + "/tls/cert.pem", TLSKey: td + "/tls/key.pem", PublicURL: "https://contacts.example.com/"}) {
		t.Errorf("server = %+v", cfg.Server)
	}
}

// TestBadConfigReportsEverything checks that every problem of a file is
// reported, each with its key, in one error.
func TestBadConfigReportsEverything(t *testing.T) {
	_, err := Load("testdata/bad.yaml", true, []string{"HOME=" + home})
	want := []string{
		`config testdata/bad.yaml: stat: unknown key (did you mean state?)`,
		`config testdata/bad.yaml: accounts.bad.name: "bad.name" is not a valid account name (expected lower-case letters, digits, _ and -, starting with a letter or digit)`,
		`config testdata/bad.yaml: accounts.bad.name.tenant: required: ` + TenantHelp,
		`config testdata/bad.yaml: accounts.work.client_id: "not-a-guid" is not a GUID (like 11111111-2222-3333-4444-555555555555)`,
		`config testdata/bad.yaml: accounts.work.client_secret_env: required by flow client-secret (or client_secret_file)`,
		`config testdata/bad.yaml: accounts.work.user: required by flow client-secret (whose mailbox to sync)`,
		`config testdata/bad.yaml: accounts.work.tenant: must not be empty (expected common, organizations, consumers, or a tenant id or domain)`,
		`config testdata/bad.yaml: accounts.work.cloud: "moon" is not one of global, usgov, usgov-dod, china`,
		`config testdata/bad.yaml: accounts.work.login_url: "http://login.example.com" must use https (http only for 127.0.0.1, localhost or [::1])`,
		`config testdata/bad.yaml: pairs.dav.a.user: not used by a side of type carddav`,
		`config testdata/bad.yaml: pairs.dav.a.url: "ftp://x" is not an absolute http or https URL`,
		`config testdata/bad.yaml: pairs.dav.a.password_file: set at most one of password_env, password_file, password_command (password_env and password_file are set)`,
		`config testdata/bad.yaml: pairs.dav.b.user: required by a server side (a user of the built-in server)`,
		`config testdata/bad.yaml: pairs.dav.b.addressbook: required by a server side (an address book of the user)`,
		`config testdata/bad.yaml: pairs.empty.a: required (a mapping with type: vdir, o365, carddav, server)`,
		`config testdata/bad.yaml: pairs.empty.b: required (a mapping with type: vdir, o365, carddav, server)`,
		`config testdata/bad.yaml: pairs.same.b: is the same store as a (path /srv/c)`,
		`config testdata/bad.yaml: pairs.sides.a.type: "ftp" is not one of vdir, o365, carddav, server`,
		`config testdata/bad.yaml: pairs.sides.b.type: required (one of vdir, o365, carddav, server)`,
		`config testdata/bad.yaml: pairs.work.diretion: unknown key (did you mean direction?)`,
		`config testdata/bad.yaml: pairs.work.a.account: "home" is not an account defined under accounts (defined: bad.name, work)`,
		`config testdata/bad.yaml: pairs.work.b.path: required by a vdir side (the vCard directory)`,
		`config testdata/bad.yaml: pairs.work.conflict: "nwest" is not one of merge, newest, a-wins, b-wins, keep-both, manual`,
		`config testdata/bad.yaml: pairs.work.max_delete: "lots" is not a count or a percentage (like 25 or 25%)`,
		`config testdata/bad.yaml: pairs.work.every: "30s" is too short (at least 1m)`,
		`config testdata/bad.yaml: server.listen: "localhost" is not host:port (like 127.0.0.1:5232)`,
		`config testdata/bad.yaml: server.tls_key: required when tls_cert is set (set both or neither)`,
	}
	if err == nil {
		t.Fatal("bad.yaml loaded")
	}
	got := strings.Split(err.Error(), "\n")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if len(problems(t, err)) != len(want) {
		t.Errorf("%d problems, want %d", len(problems(t, err)), len(want))
	}
}

// TestValidation checks each rule on its own, by exact key and message.
func TestValidation(t *testing.T) {
	const acct = "accounts:\n  work: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555}\n"
	const vdirs = "    a: {type: vdir, path: /a}\n    b: {type: vdir, path: /b}\n"
	tests := []struct {
		name, yaml string
		key, msg   string // the one expected problem
	}{
		{"conflict enum", "pairs:\n  work:\n" + vdirs + "    conflict: nwest\n",
			"pairs.work.conflict", `"nwest" is not one of merge, newest, a-wins, b-wins, keep-both, manual`},
		{"direction enum", "pairs:\n  work:\n" + vdirs + "    direction: both\n",
			"pairs.work.direction", `"both" is not one of two-way, a-to-b, b-to-a`},
		{"unknown pair key", "pairs:\n  work:\n" + vdirs + "    diretion: two-way\n",
			"pairs.work.diretion", "unknown key (did you mean direction?)"},
		{"unknown key, no suggestion", "pairs:\n  work:\n" + vdirs + "    colour: red\n",
			"pairs.work.colour", "unknown key"},
		{"unknown top-level", "serve: {listen: ':1'}\n", "serve", "unknown key (did you mean server?)"},
		{"unknown side key", "pairs:\n  work:\n    a: {type: vdir, path: /a, pth: x}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.pth", "unknown key (did you mean path?)"},
		{"key of another side type", "pairs:\n  work:\n    a: {type: vdir, path: /a, url: 'https://x/'}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.url", "not used by a side of type vdir"},
		{"bad pair name", "pairs:\n  -work:\n" + vdirs,
			"pairs.-work", `"-work" is not a valid pair name (expected lower-case letters, digits, _ and -, starting with a letter or digit)`},
		{"pair not a mapping", "pairs:\n  work: [1, 2]\n", "pairs.work", "expected a mapping with a, b and options, got a list"},
		{"pairs not a mapping", "pairs: 3\n", "pairs", "expected a mapping of pair names, got 3"},
		{"missing side", "pairs:\n  work:\n    a: {type: vdir, path: /a}\n",
			"pairs.work.b", "required (a mapping with type: vdir, o365, carddav, server)"},
		{"vdir path", "pairs:\n  work:\n    a: {type: vdir}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.path", "required by a vdir side (the vCard directory)"},
		{"same vdir", "pairs:\n  work:\n    a: {type: vdir, path: /c/d}\n    b: {type: vdir, path: /c/x/../d/}\n",
			"pairs.work.b", "is the same store as a (path /c/d)"},
		{"same vdir, relative", "pairs:\n  work:\n    a: {type: vdir, path: d}\n    b: {type: vdir, path: ./d}\n",
			"pairs.work.b", "is the same store as a (path DIR/d)"},
		{"o365 account missing", acct + "pairs:\n  work:\n    a: {type: o365}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.account", "required by an o365 side (the name of an entry under accounts)"},
		{"o365 account unknown", acct + "pairs:\n  work:\n    a: {type: o365, account: home}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.account", `"home" is not an account defined under accounts (defined: work)`},
		{"same o365 folder", acct + "pairs:\n  work:\n    a: {type: o365, account: work}\n    b: {type: o365, account: Work}\n",
			"pairs.work.b", `is the same store as a (account work, folder "")`},
		{"carddav url", "pairs:\n  work:\n    a: {type: carddav}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.url", "required by a carddav side (the server or address book URL)"},
		{"carddav url scheme", "pairs:\n  work:\n    a: {type: carddav, url: 'dav.example.com'}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.url", `"dav.example.com" is not an absolute http or https URL`},
		{"carddav passwords", "pairs:\n  work:\n    a: {type: carddav, url: 'https://x/', password_env: PW, password_command: pass x}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.password_env", "set at most one of password_env, password_file, password_command (password_command and password_env are set)"},
		{"carddav password env name", "pairs:\n  work:\n    a: {type: carddav, url: 'https://x/', password_env: 'my pw'}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.password_env", `"my pw" is not an environment variable name`},
		{"carddav bool", "pairs:\n  work:\n    a: {type: carddav, url: 'https://x/', create: maybe}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.create", `expected true or false, got "maybe"`},
		{"carddav int", "pairs:\n  work:\n    a: {type: carddav, url: 'https://x/', multiget_chunk: many}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.multiget_chunk", `expected an integer, got "many"`},
		{"carddav negative chunk", "pairs:\n  work:\n    a: {type: carddav, url: 'https://x/', multiget_chunk: -1}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.multiget_chunk", "-1 is negative (expected a positive count, or 0 for the default)"},
		{"server side", "pairs:\n  work:\n    a: {type: server, user: alice}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.addressbook", "required by a server side (an address book of the user)"},
		{"side type", "pairs:\n  work:\n    a: {type: ftp}\n    b: {type: vdir, path: /b}\n",
			"pairs.work.a.type", `"ftp" is not one of vdir, o365, carddav, server`},
		{"max_delete negative", "pairs:\n  work:\n" + vdirs + "    max_delete: -3\n",
			"pairs.work.max_delete", "-3 is negative; expected a count or a percentage (like 25 or 25%)"},
		{"max_delete percent", "pairs:\n  work:\n" + vdirs + "    max_delete: 120%\n",
			"pairs.work.max_delete", `"120%" is not a percentage above 0% and at most 100% (write 0 to allow no deletion)`},
		{"every syntax", "pairs:\n  work:\n" + vdirs + "    every: 15\n",
			"pairs.work.every", "expected a duration (like 15m or 1h), got 15"},
		{"every unit", "pairs:\n  work:\n" + vdirs + "    every: 15 minutes\n",
			"pairs.work.every", `"15 minutes" is not a duration (like 15m or 1h)`},
		{"every short", "pairs:\n  work:\n" + vdirs + "    every: 59s\n",
			"pairs.work.every", `"59s" is too short (at least 1m)`},
		{"client_id missing", "accounts:\n  work: {tenant: common}\n",
			"accounts.work.client_id", "required (the application's client id, a GUID)"},
		{"client_id guid", "accounts:\n  work: {client_id: abc, tenant: contoso.com}\n",
			"accounts.work.client_id", `"abc" is not a GUID (like 11111111-2222-3333-4444-555555555555)`},
		{"flow enum", "accounts:\n  work: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555, flow: password}\n",
			"accounts.work.flow", `"password" is not one of device, browser, client-secret, client-certificate`},
		{"client-secret both", "accounts:\n  work: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555, flow: client-secret, user: a@b, client_secret_env: S, client_secret_file: /s}\n",
			"accounts.work.client_secret_file", "set either client_secret_env or client_secret_file, not both"},
		{"client-certificate file", "accounts:\n  work: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555, flow: client-certificate, user: a@b}\n",
			"accounts.work.certificate_file", "required by flow client-certificate (PEM with certificate and private key)"},
		{"client-certificate user", "accounts:\n  work: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555, flow: client-certificate, certificate_file: c.pem}\n",
			"accounts.work.user", "required by flow client-certificate (whose mailbox to sync)"},
		{"tenant empty", "accounts:\n  work: {client_id: 11111111-2222-3333-4444-555555555555, tenant: ''}\n",
			"accounts.work.tenant", "must not be empty (expected common, organizations, consumers, or a tenant id or domain)"},
		{"graph_url relative", "accounts:\n  work: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555, graph_url: /v1.0}\n",
			"accounts.work.graph_url", `"/v1.0" is not an absolute https URL`},
		{"graph_url http", "accounts:\n  work: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555, graph_url: 'http://graph.example.com/v1.0'}\n",
			"accounts.work.graph_url", `"http://graph.example.com/v1.0" must use https (http only for 127.0.0.1, localhost or [::1])`},
		{"listen", "server: {listen: 'localhost:http'}\n",
			"server.listen", `"localhost:http": port "http" is not a number from 1 to 65535`},
		{"tls pair", "server: {tls_key: k.pem}\n", "server.tls_cert", "required when tls_key is set (set both or neither)"},
		{"public_url", "server: {public_url: example.com}\n", "server.public_url", `"example.com" is not an absolute http or https URL`},
		{"max_multiget_hrefs negative", "server: {max_multiget_hrefs: -1}\n", "server.max_multiget_hrefs", "-1 is negative (expected a positive count, or 0 for the default of 10000)"},
		{"max_multiget_hrefs not a number", "server: {max_multiget_hrefs: lots}\n", "server.max_multiget_hrefs", `expected an integer, got "lots"`},
		{"trusted_proxies entry", "server: {trusted_proxies: [10.0.0.0/8, localhost]}\n",
			"server.trusted_proxies", `"localhost" is not an IP address or CIDR prefix (like 10.0.0.1 or 10.0.0.0/8)`},
		{"trusted_proxies type", "server: {trusted_proxies: 7}\n", "server.trusted_proxies", "expected a list of strings, got 7"},
		{"admins name", "server: {admins: [alice, 'a b']}\n", "server.admins", `"a b" is not a user name (letters, digits and ._@+-, at most 64)`},
		{"session_lifetime unit", "server: {session_lifetime: 1 week}\n", "server.session_lifetime", `"1 week" is not a duration (like 12h or 7d)`},
		{"session_lifetime short", "server: {session_lifetime: 1m}\n", "server.session_lifetime", `"1m" is too short (at least 5m0s)`},
		{"max_connections zero", "server: {max_connections: 0}\n", "server.max_connections", "0 is not a number of at least 1"},
		{"login_free_failures type", "server: {login_free_failures: many}\n", "server.login_free_failures", `expected an integer, got "many"`},
		{"case duplicate", "accounts:\n  Work: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555}\n  WORK: {tenant: common}\n",
			"accounts.work", `defined twice ("Work" and "WORK"; names are case-insensitive)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.yaml)
			_, err := Load(p, true, []string{"HOME=" + home})
			if err == nil {
				t.Fatal("loaded without error")
			}
			want := Problem{Key: tt.key, Msg: strings.ReplaceAll(tt.msg, "DIR", filepath.Dir(p))}
			got := problems(t, err)
			if len(got) != 1 || got[0] != want {
				t.Errorf("problems:\n%s\nwant exactly:\n%s: %s", err, want.Key, want.Msg)
			}
			if !strings.HasPrefix(err.Error(), "config "+p+": "+tt.key+": ") {
				t.Errorf("message %q does not start with the file and key", err)
			}
		})
	}
}

func TestGoodVariants(t *testing.T) {
	tests := []struct{ name, yaml string }{
		{"empty file", ""},
		{"only comments", "# nothing yet\n"},
		{"http loopback", "accounts:\n  w: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555, login_url: 'http://localhost:9/', graph_url: 'http://[::1]:8/v1.0'}\n"},
		{"every zero", "pairs:\n  p:\n    a: {type: vdir, path: /a}\n    b: {type: vdir, path: /b}\n    every: 0s\n"},
		{"count as string", "pairs:\n  p:\n    a: {type: vdir, path: /a}\n    b: {type: vdir, path: /b}\n    max_delete: '7'\n"},
		{"listen any host", "server: {listen: ':5232'}\n"},
		{"tls both", "server: {tls_cert: c.pem, tls_key: k.pem}\n"},
		{"numeric folder", "accounts:\n  w: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555}\npairs:\n  p:\n    a: {type: o365, account: w, folder: 2024}\n    b: {type: vdir, path: /b}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load(writeConfig(t, tt.yaml), true, []string{"HOME=" + home}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestServerProtectionKeys: trusted_proxies, admins, session_lifetime,
// max_connections and the login backoff knobs, from the file and from the
// environment; unset they stay zero (serve applies the defaults).
func TestServerProtectionKeys(t *testing.T) {
	p := writeConfig(t, `server:
  trusted_proxies: [127.0.0.1, "10.0.0.0/8", "fd00::/8"]
  admins: [alice]
  session_lifetime: 7d
  max_connections: 64
  login_free_failures: 3
  login_max_delay: 30m
`)
	c, err := Load(p, true, []string{"HOME=" + home})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.Server, Server{Listen: DefaultListen, TrustedProxies: []string{"127.0.0.1", "10.0.0.0/8", "fd00::/8"}, Admins: []string{"alice"},
		SessionLifetime: 7 * 24 * time.Hour, MaxConnections: 64, LoginFreeFailures: 3, LoginMaxDelay: 30 * time.Minute})
	c, err = Load(writeConfig(t, ""), true, []string{"HOME=" + home, "CARDBRIDGE_SERVER_TRUSTED_PROXIES=::1, 192.0.2.0/24", "CARDBRIDGE_SERVER_ADMINS=alice,bob",
		"CARDBRIDGE_SERVER_SESSION_LIFETIME=36h", "CARDBRIDGE_SERVER_MAX_CONNECTIONS=10"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.Server, Server{Listen: DefaultListen, TrustedProxies: []string{"::1", "192.0.2.0/24"}, Admins: []string{"alice", "bob"},
		SessionLifetime: 36 * time.Hour, MaxConnections: 10})
}

func TestEnvOverlay(t *testing.T) {
	cwd, _ := os.Getwd()
	env := func(kv ...string) []string { return append([]string{"HOME=" + home}, kv...) }
	tests := []struct {
		name  string
		file  string // under testdata, or "" for none
		env   []string
		check func(t *testing.T, c *Config)
		want  []Problem // when non-nil, the exact problems expected
	}{
		{name: "conflict", file: "full.yaml", env: env("CARDBRIDGE_PAIRS_WORK_CONFLICT=newest"),
			check: func(t *testing.T, c *Config) { eq(t, c.Pairs["work"].Conflict, "newest") }},
		{name: "state", file: "full.yaml", env: env("CARDBRIDGE_STATE=/tmp/s.db"),
			check: func(t *testing.T, c *Config) { eq(t, c.State, "/tmp/s.db") }},
		{name: "max_delete count (underscore in key)", file: "full.yaml", env: env("CARDBRIDGE_PAIRS_WORK_MAX_DELETE=10"),
			check: func(t *testing.T, c *Config) { eq(t, c.Pairs["work"].MaxDelete, Limit{Count: 10, Set: true}) }},
		{name: "max_delete percent", file: "full.yaml", env: env("CARDBRIDGE_PAIRS_WORK_MAX_DELETE=5%"),
			check: func(t *testing.T, c *Config) { eq(t, c.Pairs["work"].MaxDelete.String(), "5%") }},
		{name: "side path", file: "full.yaml", env: env("CARDBRIDGE_PAIRS_WORK_B_PATH=/x"),
			check: func(t *testing.T, c *Config) { eq(t, c.Pairs["work"].B.Path, "/x") }},
		{name: "relative path from env is relative to cwd", file: "full.yaml", env: env("CARDBRIDGE_PAIRS_WORK_B_PATH=x/y"),
			check: func(t *testing.T, c *Config) { eq(t, c.Pairs["work"].B.Path, filepath.Join(cwd, "x/y")) }},
		{name: "state URL from env", file: "full.yaml", env: env("CARDBRIDGE_STATE=postgres://cb:pw@db.example:5432/cardbridge?sslmode=require"),
			check: func(t *testing.T, c *Config) {
				eq(t, c.State, "postgres://cb:pw@db.example:5432/cardbridge?sslmode=require")
				eq(t, c.SecretKeyFile, filepath.Join(cwd, "testdata", "state.key"))
			}},
		{name: "state URL without a config file", env: env("CARDBRIDGE_STATE=postgresql://db.example/cb"),
			check: func(t *testing.T, c *Config) {
				eq(t, c.State, "postgresql://db.example/cb")
				eq(t, c.SecretKeyFile, filepath.Join(home, ".local", "state", "cardbridge", "state.key"))
			}},
		{name: "tilde from env", file: "full.yaml", env: env("CARDBRIDGE_STATE=~/s.db"),
			check: func(t *testing.T, c *Config) { eq(t, c.State, home+"/s.db") }},
		{name: "every", file: "full.yaml", env: env("CARDBRIDGE_PAIRS_WORK_EVERY=2h"),
			check: func(t *testing.T, c *Config) { eq(t, c.Pairs["work"].Every, 2*time.Hour) }},
		{name: "account client_id", file: "full.yaml", env: env("CARDBRIDGE_ACCOUNTS_WORK_CLIENT_ID=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
			check: func(t *testing.T, c *Config) {
				eq(t, c.Accounts["work"].ClientID, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
			}},
		{name: "server listen", file: "full.yaml", env: env("CARDBRIDGE_SERVER_LISTEN=0.0.0.0:8080", "CARDBRIDGE_SERVER_PUBLIC_URL=https://c.example/"),
			check: func(t *testing.T, c *Config) {
				eq(t, c.Server, Server{Listen: "0.0.0.0:8080", PublicURL: "https://c.example/"})
			}},
		{name: "server max_multiget_hrefs", file: "full.yaml", env: env("CARDBRIDGE_SERVER_MAX_MULTIGET_HREFS=500"),
			check: func(t *testing.T, c *Config) { eq(t, c.Server.MaxMultigetHrefs, 500) }},
		{name: "pair name with underscore", file: "all_types.yaml", env: env("CARDBRIDGE_PAIRS_MY_PAIR_CONFLICT=newest", "CARDBRIDGE_PAIRS_MY_PAIR_B_ADDRESSBOOK=home"),
			check: func(t *testing.T, c *Config) {
				eq(t, c.Pairs["my_pair"].Conflict, "newest")
				eq(t, c.Pairs["my_pair"].B.Addressbook, "home")
			}},
		{name: "bool and int by key type", file: "all_types.yaml",
			env: env("CARDBRIDGE_PAIRS_DAV_B_INSECURE_SKIP_VERIFY=false", "CARDBRIDGE_PAIRS_DAV_B_MULTIGET_CHUNK=20", "CARDBRIDGE_PAIRS_DAV_B_PASSWORD_FILE="),
			check: func(t *testing.T, c *Config) {
				eq(t, c.Pairs["dav"].B.InsecureSkipVerify, false)
				eq(t, c.Pairs["dav"].B.MultigetChunk, 20)
				eq(t, c.Pairs["dav"].B.PasswordFile, testdataDir(t)+"/pw.txt") // empty value: ignored
			}},
		{name: "new pair from env only", env: env(
			"CARDBRIDGE_PAIRS_P1_A_TYPE=vdir", "CARDBRIDGE_PAIRS_P1_A_PATH=/a",
			"CARDBRIDGE_PAIRS_P1_B_TYPE=carddav", "CARDBRIDGE_PAIRS_P1_B_URL=https://dav.example/", "CARDBRIDGE_PAIRS_P1_B_PASSWORD_ENV=DAV_PW"),
			check: func(t *testing.T, c *Config) {
				eq(t, c.PairNames(), []string{"p1"})
				eq(t, c.Pairs["p1"].A, Side{Type: "vdir", Path: "/a"})
				eq(t, c.Pairs["p1"].B, Side{Type: "carddav", URL: "https://dav.example/", PasswordEnv: "DAV_PW"})
			}},
		{name: "new pair with underscore in name", env: env(
			"CARDBRIDGE_PAIRS_NEW_ONE_A_TYPE=vdir", "CARDBRIDGE_PAIRS_NEW_ONE_A_PATH=/a",
			"CARDBRIDGE_PAIRS_NEW_ONE_B_TYPE=vdir", "CARDBRIDGE_PAIRS_NEW_ONE_B_PATH=/b",
			"CARDBRIDGE_PAIRS_NEW_ONE_MAX_DELETE=0"),
			check: func(t *testing.T, c *Config) {
				eq(t, c.PairNames(), []string{"new_one"})
				eq(t, c.Pairs["new_one"].MaxDelete, Limit{Count: 0, Set: true})
			}},
		{name: "new pair from env is validated", env: env("CARDBRIDGE_PAIRS_P1_A_TYPE=vdir"),
			want: []Problem{
				{"pairs.p1.a.path", "required by a vdir side (the vCard directory)"},
				{"pairs.p1.b", "required (a mapping with type: vdir, o365, carddav, server)"},
			}},
		{name: "unmatched variable", file: "full.yaml", env: env("CARDBRIDGE_PAIRS_WORK_CONFLCT=newest", "CARDBRIDGE_STAT=/x"),
			want: []Problem{
				{"CARDBRIDGE_PAIRS_WORK_CONFLCT", "environment variable matches no config key"},
				{"CARDBRIDGE_STAT", "environment variable matches no config key"},
			}},
		{name: "section, not a value", file: "full.yaml", env: env("CARDBRIDGE_PAIRS_WORK_A=vdir"),
			want: []Problem{{"CARDBRIDGE_PAIRS_WORK_A", "names the section pairs.work.a, not a single key"}}},
		{name: "bad value names the variable", file: "full.yaml",
			env: env("CARDBRIDGE_PAIRS_WORK_CONFLICT=nwest", "CARDBRIDGE_PAIRS_WORK_MAX_DELETE=x", "CARDBRIDGE_PAIRS_WORK_A_ACCOUNT=home"),
			want: []Problem{
				{"pairs.work.a.account", `"home" is not an account defined under accounts (defined: work) (from $CARDBRIDGE_PAIRS_WORK_A_ACCOUNT)`},
				{"pairs.work.conflict", `"nwest" is not one of merge, newest, a-wins, b-wins, keep-both, manual (from $CARDBRIDGE_PAIRS_WORK_CONFLICT)`},
				{"pairs.work.max_delete", `"x" is not a count or a percentage (like 25 or 25%) (from $CARDBRIDGE_PAIRS_WORK_MAX_DELETE)`},
			}},
		{name: "bad int names the variable", file: "all_types.yaml", env: env("CARDBRIDGE_PAIRS_DAV_B_MULTIGET_CHUNK=abc"),
			want: []Problem{{"pairs.dav.b.multiget_chunk", `expected an integer, got "abc" (from $CARDBRIDGE_PAIRS_DAV_B_MULTIGET_CHUNK)`}}},
		{name: "key of another side type from env", file: "full.yaml", env: env("CARDBRIDGE_PAIRS_WORK_B_URL=https://x/"),
			want: []Problem{{"pairs.work.b.url", "not used by a side of type vdir (from $CARDBRIDGE_PAIRS_WORK_B_URL)"}}},
		{name: "secret and config variables are not keys", file: "full.yaml",
			env:   env("CARDBRIDGE_WORK_SECRET=s3cret", "CARDBRIDGE_CONFIG=testdata/full.yaml"),
			check: func(t *testing.T, c *Config) {}},
		{name: "secret named from env is not a key", env: env(
			"CARDBRIDGE_ACCOUNTS_BOT_CLIENT_ID=11111111-2222-3333-4444-555555555555", "CARDBRIDGE_ACCOUNTS_BOT_FLOW=client-secret",
			"CARDBRIDGE_ACCOUNTS_BOT_USER=bot@x.example", "CARDBRIDGE_ACCOUNTS_BOT_CLIENT_SECRET_ENV=CARDBRIDGE_BOT_SECRET", "CARDBRIDGE_BOT_SECRET=s"),
			check: func(t *testing.T, c *Config) {
				eq(t, c.Accounts["bot"].ClientSecretEnv, "CARDBRIDGE_BOT_SECRET")
				eq(t, c.Accounts["bot"].Tenant, "x.example")
			}},
		{name: "lower-case words in variable", file: "full.yaml", env: env("CARDBRIDGE_pairs_Work_conflict=a-wins"),
			check: func(t *testing.T, c *Config) { eq(t, c.Pairs["work"].Conflict, "a-wins") }},
		{name: "other prefixes ignored", file: "full.yaml", env: env("CARDBRIDGEX=1", "XCARDBRIDGE_STATE=/y"),
			check: func(t *testing.T, c *Config) { eq(t, c.State, home+"/.local/state/cardbridge/state.db") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = "testdata/" + tt.file
			} else {
				tt.env = append(tt.env, "XDG_CONFIG_HOME="+t.TempDir()) // no file there
			}
			c, err := Load(path, path != "", tt.env)
			if tt.want != nil {
				if err == nil {
					t.Fatal("loaded without error")
				}
				if got := problems(t, err); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got\n%s\nwant %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// TestEnvNamePrecedence covers names that are prefixes of each other: an
// existing name is preferred, the longest first.
func TestEnvNamePrecedence(t *testing.T) {
	p := writeConfig(t, `pairs:
  my:
    a: {type: vdir, path: /a}
    b: {type: vdir, path: /b}
  my_pair:
    a: {type: vdir, path: /c}
    b: {type: vdir, path: /d}
`)
	c, err := Load(p, true, []string{"HOME=" + home, "CARDBRIDGE_PAIRS_MY_PAIR_CONFLICT=newest", "CARDBRIDGE_PAIRS_MY_CONFLICT=b-wins"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.Pairs["my_pair"].Conflict, "newest")
	eq(t, c.Pairs["my"].Conflict, "b-wins")
}

// TestResolveAmbiguous checks the rule for a new name that splits more than
// one way, on a schema where that can happen (the real one has no such
// case today).
func TestResolveAmbiguous(t *testing.T) {
	elem := &node{kind: kSection, fields: map[string]*node{"id": {kind: kString}, "b_id": {kind: kString}}}
	root := &node{kind: kSection, fields: map[string]*node{"things": {kind: kMap, elem: elem}}}
	_, err := resolve(root, nil, strings.Split("things_p_b_id", "_"), true)
	var amb *errAmbiguous
	if !errors.As(err, &amb) || !reflect.DeepEqual(amb.options, []string{"things.p.b_id", "things.p_b.id"}) {
		t.Fatalf("err = %v", err)
	}
	// An existing name settles it.
	tree := map[string]any{"things": map[string]any{"p_b": map[string]any{}}}
	got, err := resolve(root, tree, strings.Split("things_p_b_id", "_"), true)
	if err != nil || strings.Join(got, ".") != "things.p_b.id" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestSetOverrides(t *testing.T) {
	c, err := LoadWith(Options{Path: "testdata/full.yaml", Explicit: true, Env: []string{"HOME=" + home, "CARDBRIDGE_PAIRS_WORK_EVERY=1h"},
		Set: map[string]string{"pairs.work.every": "2h", "State": "rel.db"}})
	if err != nil {
		t.Fatal(err)
	}
	cwd, _ := os.Getwd()
	eq(t, c.Pairs["work"].Every, 2*time.Hour) // the command line wins over the environment
	eq(t, c.State, filepath.Join(cwd, "rel.db"))

	_, err = LoadWith(Options{Path: "testdata/full.yaml", Explicit: true, Env: []string{"HOME=" + home},
		Set: map[string]string{"pairs.work.evry": "2h", "pairs.work.every": "1s"}})
	want := []Problem{
		{"pairs.work.evry", "set on the command line: no such config key"},
		{"pairs.work.every", `"1s" is too short (at least 1m) (from the command line)`},
	}
	if err == nil || !reflect.DeepEqual(problems(t, err), want) {
		t.Errorf("got %v, want %v", err, want)
	}
}

func TestDefaultPaths(t *testing.T) {
	tests := []struct {
		env         []string
		conf, state string
	}{
		{[]string{"HOME=/h"}, "/h/.config/cardbridge/config.yaml", "/h/.local/state/cardbridge/state.db"},
		{[]string{"HOME=/h", "XDG_CONFIG_HOME=/x/c", "XDG_STATE_HOME=/x/s"}, "/x/c/cardbridge/config.yaml", "/x/s/cardbridge/state.db"},
		{[]string{"HOME=/h", "XDG_CONFIG_HOME=rel", "XDG_STATE_HOME=rel"}, "/h/.config/cardbridge/config.yaml", "/h/.local/state/cardbridge/state.db"},
		{[]string{"HOME=/h", "XDG_CONFIG_HOME=/x/c", "CARDBRIDGE_CONFIG=/etc/cb.yaml"}, "/etc/cb.yaml", "/h/.local/state/cardbridge/state.db"},
		{[]string{"HOME=/h", "CARDBRIDGE_CONFIG=~/cb.yaml"}, "/h/cb.yaml", "/h/.local/state/cardbridge/state.db"},
	}
	for _, tt := range tests {
		eq(t, DefaultPath(tt.env), tt.conf)
		eq(t, DefaultStatePath(tt.env), tt.state)
	}
}

func TestMissingFiles(t *testing.T) {
	// Missing at the default path: an empty configuration with defaults.
	xdg := t.TempDir()
	c, err := Load("", false, []string{"HOME=/h", "XDG_CONFIG_HOME=" + xdg, "XDG_STATE_HOME=/st"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c, &Config{State: "/st/cardbridge/state.db", SecretKeyFile: "/st/cardbridge/state.key", Accounts: map[string]Account{}, Pairs: map[string]Pair{}, Server: Server{Listen: DefaultListen}, Trash: DefaultTrash()})
	eq(t, len(c.PairNames()), 0)

	// Present at the default path: loaded, relative paths against its directory.
	if err := os.MkdirAll(filepath.Join(xdg, "cardbridge"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("testdata/minimal.yaml")
	if err := os.WriteFile(filepath.Join(xdg, "cardbridge", "config.yaml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load("", false, []string{"HOME=/h", "XDG_CONFIG_HOME=" + xdg})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.File, filepath.Join(xdg, "cardbridge", "config.yaml"))
	eq(t, c.Pairs["p"].A.Path, filepath.Join(xdg, "cardbridge", "a"))
	eq(t, c.State, "/h/.local/state/cardbridge/state.db")

	// Missing at an explicit path, or at $CARDBRIDGE_CONFIG: an error.
	for _, tt := range []struct {
		path string
		env  []string
	}{
		{"testdata/nope.yaml", nil},
		{"", []string{"CARDBRIDGE_CONFIG=testdata/nope.yaml"}},
	} {
		_, err = Load(tt.path, tt.path != "", tt.env)
		if err == nil || err.Error() != "config testdata/nope.yaml: no such file" || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing explicit file: %v", err)
		}
	}

	// A directory, or YAML that does not parse.
	if _, err := Load("testdata", true, nil); err == nil {
		t.Error("a directory loaded")
	}
	_, err = Load("testdata/syntax.yaml", true, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "config testdata/syntax.yaml: not valid YAML: yaml: line ") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestPathExpansion(t *testing.T) {
	p := writeConfig(t, `state: ~/db/state.db
accounts:
  w: {tenant: contoso.com, client_id: 11111111-2222-3333-4444-555555555555, flow: client-certificate, certificate_file: ../certs/app.pem, user: a@b}
pairs:
  p:
    a: {type: vdir, path: "~"}
    b: {type: carddav, url: "https://x/", ca_file: ca.pem, password_file: /abs/pw}
server: {tls_cert: ./tls/c.pem, tls_key: ~/k.pem}
`)
	dir := filepath.Dir(p)
	c, err := Load(p, true, []string{"HOME=" + home})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, c.State, home+"/db/state.db")
	eq(t, c.Accounts["w"].CertificateFile, filepath.Join(filepath.Dir(dir), "certs/app.pem"))
	eq(t, c.Pairs["p"].A.Path, home)
	eq(t, c.Pairs["p"].B.CAFile, dir+"/ca.pem")
	eq(t, c.Pairs["p"].B.PasswordFile, "/abs/pw")
	eq(t, c.Server.TLSCert, dir+"/tls/c.pem")
	eq(t, c.Server.TLSKey, home+"/k.pem")
}

func TestErrorFormat(t *testing.T) {
	e := &Error{Problems: []Problem{{"pairs.a.b", "bad"}, {"", "whole"}}}
	eq(t, e.Error(), "config: pairs.a.b: bad\nconfig: whole")
	e.File = "/f.yaml"
	eq(t, e.Error(), "config /f.yaml: pairs.a.b: bad\nconfig /f.yaml: whole")
}

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want Limit
		str  string
		err  bool
	}{
		{in: "25", want: Limit{Count: 25, Set: true}, str: "25"},
		{in: "0", want: Limit{Count: 0, Set: true}, str: "0"},
		{in: " 7 ", want: Limit{Count: 7, Set: true}, str: "7"},
		{in: "25%", want: Limit{Percent: 25, Set: true}, str: "25%"},
		{in: "2.5 %", want: Limit{Percent: 2.5, Set: true}, str: "2.5%"},
		{in: "100%", want: Limit{Percent: 100, Set: true}, str: "100%"},
		{in: "0%", err: true},
		{in: "101%", err: true},
		{in: "-1", err: true},
		{in: "-5%", err: true},
		{in: "", err: true},
		{in: "%", err: true},
		{in: "ten", err: true},
		{in: "1.5", err: true},
		{in: "NaN%", err: true},
	}
	for _, tt := range tests {
		got, err := ParseLimit(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseLimit(%q) error = %v", tt.in, err)
			continue
		}
		if tt.err {
			continue
		}
		if got != tt.want || got.String() != tt.str {
			t.Errorf("ParseLimit(%q) = %+v (%s), want %+v (%s)", tt.in, got, got, tt.want, tt.str)
		}
		var u Limit
		if err := u.UnmarshalText([]byte(tt.in)); err != nil || u != tt.want {
			t.Errorf("UnmarshalText(%q) = %+v, %v", tt.in, u, err)
		}
	}
}

func TestLimitAllowed(t *testing.T) {
	tests := []struct {
		limit      string
		total, out int
	}{
		{"25", 0, 25},
		{"25", 1000, 25},
		{"0", 1000, 0},
		{"25%", 1000, 250},
		{"25%", 1001, 251}, // ceil
		{"25%", 4, 5},      // never fewer than 5
		{"25%", 0, 5},
		{"10%", 30, 5},
		{"10%", 70, 7},
		{"10%", 71, 8},
		{"1%", 300, 5},
		{"100%", 12, 12},
		{"2.5%", 1000, 25},
	}
	for _, tt := range tests {
		l, err := ParseLimit(tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Allowed(tt.total); got != tt.out {
			t.Errorf("%s.Allowed(%d) = %d, want %d", tt.limit, tt.total, got, tt.out)
		}
	}
	// The zero Limit is the default, 25%.
	eq(t, Limit{}.Allowed(1000), 250)
	eq(t, Limit{}.String(), "25%")
	eq(t, DefaultLimit(), Limit{Percent: 25, Set: true})
}

func eq[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestSecretKeyFile: secret_key_file is a path (relative to the config
// file); without it the key is state.key beside the config file, or beside
// the state file when there is no config file; CARDBRIDGE_SECRET_KEY is
// not taken for a config key.
func TestSecretKeyFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		noFile     bool
		want       string
	}{
		{name: "set", text: "secret_key_file: keys/cb.key\n", want: filepath.Join(dir, "keys", "cb.key")},
		{name: "absolute", text: "secret_key_file: /etc/cb/key\n", want: "/etc/cb/key"},
		{name: "default beside the config", text: "state: /var/lib/cb/state.db\n", want: filepath.Join(dir, "state.key")},
		{name: "no config file", noFile: true, want: "/st/cardbridge/state.key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "config.yaml")
			os.WriteFile(path, []byte(c.text), 0o600)
			if c.noFile {
				path = filepath.Join(dir, "absent.yaml")
			}
			cfg, err := Load(path, !c.noFile, []string{"HOME=/h", "XDG_STATE_HOME=/st", EnvSecretKey + "=AAAA"})
			if err != nil {
				t.Fatal(err)
			}
			eq(t, cfg.SecretKeyFile, c.want)
		})
	}
}

// TestTenantRequired: no default tenant that cannot work. An account or
// server.connect without tenant is refused with what to put there, except
// an app-only account whose user names its domain; the app-only flows
// refuse common, organizations and consumers (Microsoft's AADSTS50059).
func TestTenantRequired(t *testing.T) {
	const id = "client_id: 11111111-2222-3333-4444-555555555555"
	cases := []struct {
		name, yaml string
		tenant     string // "" when refused
		problem    string // start of the tenant key's message when refused
	}{
		{"device without tenant", "{" + id + "}", "", "required: the Directory (tenant) ID or a domain"},
		{"browser without tenant", "{" + id + ", flow: browser, user: alice@contoso.com}", "", "required: "},
		{"device with tenant", "{" + id + ", tenant: 7a1c5e0b-3f2d-4c8e-9b61-0d4e2f8a9c13}", "7a1c5e0b-3f2d-4c8e-9b61-0d4e2f8a9c13", ""},
		{"device with organizations", "{" + id + ", tenant: organizations}", "organizations", ""},
		{"personal accounts", "{" + id + ", tenant: consumers}", "consumers", ""},
		{"client-secret from user", "{" + id + ", flow: client-secret, client_secret_env: S, user: Alice@Contoso.COM}", "contoso.com", ""},
		{"client-certificate from user", "{" + id + ", flow: client-certificate, certificate_file: /c.pem, user: bob@fabrikam.onmicrosoft.com}", "fabrikam.onmicrosoft.com", ""},
		{"client-secret, explicit tenant wins", "{" + id + ", flow: client-secret, client_secret_env: S, user: alice@contoso.com, tenant: 7a1c5e0b-3f2d-4c8e-9b61-0d4e2f8a9c13}", "7a1c5e0b-3f2d-4c8e-9b61-0d4e2f8a9c13", ""},
		{"client-secret, user without domain", "{" + id + ", flow: client-secret, client_secret_env: S, user: 6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9}", "", "required: "},
		{"client-secret at organizations", "{" + id + ", flow: client-secret, client_secret_env: S, user: a@contoso.com, tenant: organizations}", "", `"organizations" does not work with flow client-secret`},
		{"client-certificate at common", "{" + id + ", flow: client-certificate, certificate_file: /c.pem, user: a@contoso.com, tenant: Common}", "", `"Common" does not work with flow client-certificate`},
		{"client-secret at consumers", "{" + id + ", flow: client-secret, client_secret_env: S, user: a@contoso.com, tenant: consumers}", "", `"consumers" does not work`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, "accounts:\n  work: "+c.yaml+"\n"), true, []string{"HOME=" + home})
			if c.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				eq(t, cfg.Accounts["work"].Tenant, c.tenant)
				return
			}
			ps := problems(t, err)
			if len(ps) != 1 || ps[0].Key != "accounts.work.tenant" || !strings.HasPrefix(ps[0].Msg, c.problem) {
				t.Fatalf("problems %v, want accounts.work.tenant: %s…", ps, c.problem)
			}
			if strings.HasPrefix(c.problem, "required") && (!strings.Contains(ps[0].Msg, "Overview page") || !strings.Contains(ps[0].Msg, "consumers")) {
				t.Errorf("the message does not say what to put there: %s", ps[0].Msg)
			}
		})
	}
}

// TestFindAccount: a configured account by name in any case; another is
// an error naming the accounts there are.
func TestFindAccount(t *testing.T) {
	cfg := &Config{Accounts: map[string]Account{"work": {Name: "work"}, "home": {Name: "home"}}}
	if a, err := cfg.FindAccount("WORK"); err != nil || a.Name != "work" {
		t.Errorf("FindAccount(WORK) = %+v, %v", a, err)
	}
	if _, err := cfg.FindAccount("play"); err == nil || err.Error() != `no account "play" in the configuration (accounts: [home work])` {
		t.Errorf("FindAccount(play): %v", err)
	}
}
