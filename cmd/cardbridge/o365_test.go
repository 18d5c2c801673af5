package main

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/testutil"
)

const (
	simClient = "11111111-2222-3333-4444-555555555555"
	simSecret = "sim-secret-value-never-logged"
	alice     = "alice@contoso.example"
)

// simEnv is a running graphsim with one app (secret, certificate, public
// flows) and alice's seeded mailbox.
type simEnv struct {
	sim     *graphsim.Server
	srv     *httptest.Server
	certPEM string // certificate + key, for client-certificate
}

func newSim(t *testing.T, contacts int) *simEnv {
	t.Helper()
	key, cert, der := testutil.RSACert(t, "cardbridge test", time.Hour)
	sim := graphsim.New(graphsim.Options{AutoApprove: true, DeviceCodeInterval: 50 * time.Millisecond})
	sim.AddApp(graphsim.App{ClientID: simClient, Secret: simSecret, Certificate: cert, PublicClient: true,
		RedirectURIs: []string{"http://localhost"}})
	mb := sim.AddUser(graphsim.User{ID: "00000000-0000-0000-0000-0000000a11ce", UPN: alice, DisplayName: "Alice", Password: "alice"})
	mb.Seed("", contacts, 1)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	return &simEnv{sim: sim, srv: srv, certPEM: pemText}
}

// o365Workspace writes a config with account "work" (the given flow) and
// pair "p": a = the account's default folder, b = a vdir.
func (e *simEnv) workspace(t *testing.T, flow, policy string) (cfg, b string) {
	t.Helper()
	dir := t.TempDir()
	b = filepath.Join(dir, "b")
	os.MkdirAll(b, 0o700)
	certFile := filepath.Join(dir, "app.pem")
	os.WriteFile(certFile, []byte(e.certPEM), 0o600)
	acc := fmt.Sprintf("    tenant: contoso.example\n    client_id: %s\n    flow: %s\n    login_url: %s\n    graph_url: %s/v1.0\n", simClient, flow, e.srv.URL, e.srv.URL)
	switch flow {
	case "client-secret":
		acc += "    client_secret_env: SIM_SECRET\n    user: " + alice + "\n"
	case "client-certificate":
		acc += "    certificate_file: " + certFile + "\n    user: " + alice + "\n"
	case "browser":
		acc += "    user: " + alice + "\n"
	}
	cfg = filepath.Join(dir, "config.yaml")
	text := fmt.Sprintf("state: %s\naccounts:\n  work:\n%spairs:\n  p:\n    a: {type: o365, account: work}\n    b: {type: vdir, path: %s}\n    conflict: %s\n", filepath.Join(dir, "state.db"), acc, b, policy)
	os.WriteFile(cfg, []byte(text), 0o600)
	return cfg, b
}

var simEnvVars = []string{"SIM_SECRET=" + simSecret}

// login runs `cardbridge login work` and plays the user: approves the
// device code, or follows the browser URL (auto-approved by the sim).
func (e *simEnv) login(t *testing.T, cfg string, browser bool) {
	t.Helper()
	args := []string{"--config", cfg, "login", "work"}
	if browser {
		args = append(args, "--browser")
	}
	cmd := binCmd(t, simEnvVars, args...)
	stderr, _ := cmd.StderrPipe()
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		urlRe := regexp.MustCompile(`https?://[^\s]+`)
		acted := false
		var text strings.Builder
		for sc.Scan() {
			line := sc.Text()
			text.WriteString(line + "\n")
			if acted {
				continue
			}
			if browser {
				if u := urlRe.FindString(line); strings.Contains(u, "/authorize") {
					acted = true
					go func() {
						resp, err := http.Get(u) // the sim redirects to the loopback callback
						if err == nil {
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
					}()
				}
			} else {
				for _, code := range e.sim.PendingUserCodes() {
					if strings.Contains(line, code) {
						acted = true
						if err := e.sim.ApproveDeviceCode(code, alice); err != nil {
							done <- err
							return
						}
					}
				}
			}
		}
		if !acted {
			done <- fmt.Errorf("login printed no code or URL:\n%s", text.String())
			return
		}
		done <- nil
	}()
	errWait := cmd.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if errWait != nil {
		t.Fatalf("login: %v\n%s", errWait, out.String())
	}
	if !strings.Contains(out.String(), "signed in") {
		t.Fatalf("login output: %s", out.String())
	}
}

func (e *simEnv) contactByName(t *testing.T, name string) (string, map[string]any) {
	t.Helper()
	for _, raw := range e.sim.Mailbox(alice).Contacts("") {
		var m map[string]any
		json.Unmarshal(raw, &m)
		if m["displayName"] == name {
			return m["id"].(string), m
		}
	}
	return "", nil
}

func TestO365VdirEveryFlow(t *testing.T) {
	for _, flow := range []string{"device", "browser", "client-secret", "client-certificate"} {
		t.Run(flow, func(t *testing.T) {
			e := newSim(t, 25)
			cfg, b := e.workspace(t, flow, "merge")
			if flow == "device" || flow == "browser" {
				e.login(t, cfg, flow == "browser")
			}
			r := cb(t, simEnvVars, "--config", cfg, "sync", "--json")
			m := summary(t, r)
			if r.code != 0 || sideCount(m, "b", "created") != 25 {
				t.Fatalf("first sync: %d %s %s", r.code, r.stdout, r.stderr)
			}
			if n := len(vcfFiles(t, b)); n != 25 {
				t.Fatalf("vdir has %d files", n)
			}
			// Re-run: nothing to do.
			noChange(t, simEnvVars, cfg)
			// Edits both ways: a new vdir contact, an Outlook edit, deletions.
			os.WriteFile(filepath.Join(b, "new.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:new-from-vdir\r\nFN:Hedy Lamarr\r\nN:Lamarr;Hedy;;;\r\nEMAIL;TYPE=WORK:hedy@example.com\r\nTEL;TYPE=CELL:+43 1 555 0100 ext. 7\r\nEND:VCARD\r\n"), 0o600)
			mb := e.sim.Mailbox(alice)
			ids := mb.ContactIDs("")
			raw, _ := mb.Get(ids[0])
			var c map[string]any
			json.Unmarshal(raw, &c)
			mb.Put("", []byte(fmt.Sprintf(`{"id":%q,"jobTitle":"Edited in Outlook"}`, ids[0])))
			mb.Delete(ids[1])
			r = cb(t, simEnvVars, "--config", cfg, "sync", "--json")
			m = summary(t, r)
			if r.code != 0 || sideCount(m, "a", "created") != 1 || sideCount(m, "b", "updated") != 1 || sideCount(m, "b", "deleted") != 1 {
				t.Fatalf("second sync: %d %s %s", r.code, r.stdout, r.stderr)
			}
			id, got := e.contactByName(t, "Hedy Lamarr")
			if id == "" || got["mobilePhone"] != "+43 1 555 0100 ext. 7" {
				t.Fatalf("new contact in Office 365: %v", got)
			}
			if !anyCardHas(t, b, "Edited in Outlook") {
				t.Fatal("Outlook edit did not reach the vdir")
			}
			noChange(t, simEnvVars, cfg) // the third run is quiet
			if r := cb(t, simEnvVars, "--config", cfg, "accounts"); r.code != 0 || !strings.Contains(r.stdout, "work") {
				t.Fatalf("accounts: %d %s %s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestO365ConflictsPerPolicy edits the same contact's job title on both
// sides and checks each policy's outcome.
func TestO365ConflictsPerPolicy(t *testing.T) {
	for _, policy := range []string{"merge", "newest", "a-wins", "b-wins", "keep-both", "manual"} {
		t.Run(policy, func(t *testing.T) {
			e := newSim(t, 3)
			cfg, b := e.workspace(t, "client-secret", policy)
			if r := cb(t, simEnvVars, "--config", cfg, "sync"); r.code != 0 {
				t.Fatalf("first sync: %s %s", r.stdout, r.stderr)
			}
			mb := e.sim.Mailbox(alice)
			id := mb.ContactIDs("")[0]
			raw, _ := mb.Get(id)
			var c map[string]any
			json.Unmarshal(raw, &c)
			name := c["displayName"].(string)
			// b edits TITLE and NOTE first, then Outlook edits the title
			// (newer): a clash on TITLE, NOTE only on b.
			var file string
			for f, content := range vcfFiles(t, b) {
				if strings.Contains(string(content), "FN:"+name) {
					file = f
					var lines []string
					for _, l := range strings.Split(string(content), "\r\n") {
						if !strings.HasPrefix(l, "TITLE:") && !strings.HasPrefix(l, "NOTE:") && !strings.HasPrefix(l, "REV:") && l != "END:VCARD" && l != "" {
							lines = append(lines, l)
						}
					}
					s := strings.Join(lines, "\r\n") + "\r\nTITLE:Title from the vdir\r\nNOTE:note from the vdir\r\nREV:20200101T000000Z\r\nEND:VCARD\r\n"
					os.WriteFile(filepath.Join(b, f), []byte(s), 0o600)
				}
			}
			if file == "" {
				t.Fatal("contact not in the vdir")
			}
			mb.Put("", []byte(fmt.Sprintf(`{"id":%q,"jobTitle":"Title from Outlook"}`, id)))
			r := cb(t, simEnvVars, "--config", cfg, "sync", "--json")
			m := summary(t, r)
			if r.code != 0 {
				t.Fatalf("sync: %d %s %s", r.code, r.stdout, r.stderr)
			}
			got, _ := mb.Get(id)
			vd, _ := os.ReadFile(filepath.Join(b, file))
			o365Title := func() string {
				var x map[string]any
				json.Unmarshal(got, &x)
				s, _ := x["jobTitle"].(string)
				return s
			}()
			switch policy {
			case "merge": // newer (Outlook) title wins, b's note kept
				if o365Title != "Title from Outlook" || !strings.Contains(string(vd), "TITLE:Title from Outlook") || !strings.Contains(string(vd), "note from the vdir") || !strings.Contains(string(got), "note from the vdir") {
					t.Fatalf("merge: o365 %s\nvdir %s", got, vd)
				}
			case "newest", "a-wins":
				if o365Title != "Title from Outlook" || !strings.Contains(string(vd), "TITLE:Title from Outlook") || strings.Contains(string(vd), "note from the vdir") {
					t.Fatalf("%s: o365 %s\nvdir %s", policy, got, vd)
				}
			case "b-wins":
				if o365Title != "Title from the vdir" || !strings.Contains(string(got), "note from the vdir") {
					t.Fatalf("b-wins: o365 %s", got)
				}
			case "keep-both":
				if _, copyC := e.contactByName(t, name+" (conflict copy)"); copyC == nil {
					t.Fatalf("keep-both: no conflict copy in Office 365")
				}
				if n := len(vcfFiles(t, b)); n != 4 {
					t.Fatalf("keep-both: vdir has %d files, want 4", n)
				}
			case "manual":
				if m["conflicts"].(float64) != 1 || o365Title != "Title from Outlook" || !strings.Contains(string(vd), "Title from the vdir") {
					t.Fatalf("manual: %s\no365 %s\nvdir %s", r.stdout, got, vd)
				}
			}
			if policy != "manual" {
				noChange(t, simEnvVars, cfg)
			}
		})
	}
}

// TestO365RevokedTokenFailsOnlyItsPairs: a revoked refresh token gives one
// clear error for that account's pair; another pair still syncs.
func TestO365RevokedTokenFailsOnlyItsPairs(t *testing.T) {
	e := newSim(t, 3)
	cfg, _ := e.workspace(t, "device", "merge")
	e.login(t, cfg, false)
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("sync: %s", r.stderr)
	}
	// A second, local pair in the same config.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "x"), 0o700)
	os.MkdirAll(filepath.Join(dir, "y"), 0o700)
	os.WriteFile(filepath.Join(dir, "x", "one.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:one\r\nFN:One\r\nEND:VCARD\r\n"), 0o600)
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(text, []byte(fmt.Sprintf("  local:\n    a: {type: vdir, path: %s/x}\n    b: {type: vdir, path: %s/y}\n", dir, dir))...), 0o600)
	e.sim.RevokeRefreshTokens("00000000-0000-0000-0000-0000000a11ce")
	e.sim.ExpireAccessTokens()
	r := cb(t, nil, "--config", cfg, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "account work needs `cardbridge login work`") || !strings.Contains(r.stderr, "AADSTS") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Count(r.stderr, "needs `cardbridge login work`") != 1 {
		t.Errorf("the error is not said once:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "y", "one.vcf")); err != nil {
		t.Fatalf("the other pair did not sync: %v\n%s", err, r.stderr)
	}
	if strings.Contains(r.stderr, "eyJ") || strings.Contains(r.stdout, "eyJ") {
		t.Error("something token-like in the output")
	}
	// After a new login it syncs again.
	e.login(t, cfg, false)
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("after login: %s", r.stderr)
	}
}

// TestO365LostStateAndExpiredDelta: with the state file lost, or every
// delta token expired, a sync creates nothing twice.
func TestO365LostStateAndExpiredDelta(t *testing.T) {
	e := newSim(t, 15)
	cfg, b := e.workspace(t, "client-secret", "merge")
	os.WriteFile(filepath.Join(b, "local.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:local-1\r\nFN:Local One\r\nEMAIL:local@example.com\r\nEND:VCARD\r\n"), 0o600)
	if r := cb(t, simEnvVars, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("sync: %s", r.stderr)
	}
	e.sim.ExpireDeltaTokens()
	r := cb(t, simEnvVars, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "a", "created")+sideCount(m, "b", "created") != 0 {
		t.Fatalf("after expired delta: %s %s", r.stdout, r.stderr)
	}
	text, _ := os.ReadFile(cfg)
	var statePath string
	for _, l := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(l, "state: ") {
			statePath = strings.TrimPrefix(l, "state: ")
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(statePath + suffix)
	}
	r = cb(t, simEnvVars, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "a", "created")+sideCount(m, "b", "created") != 0 {
		t.Fatalf("after losing the state: %s %s", r.stdout, r.stderr)
	}
	if n := e.sim.Mailbox(alice).Count(""); n != 16 {
		t.Fatalf("Office 365 holds %d contacts, want 16", n)
	}
	if n := len(vcfFiles(t, b)); n != 16 {
		t.Fatalf("vdir holds %d contacts, want 16", n)
	}
}

// TestO365NamedFolder: `accounts folders` lists the folders, and a pair
// on a named folder syncs only that folder.
func TestO365NamedFolder(t *testing.T) {
	e := newSim(t, 5)
	mb := e.sim.Mailbox(alice)
	fid := mb.AddFolder("Family")
	for i := range 3 {
		mb.Put(fid, []byte(fmt.Sprintf(`{"givenName":"Kid","surname":"K%d","displayName":"Kid K%d"}`, i, i)))
	}
	cfg, b := e.workspace(t, "client-secret", "merge")
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "a: {type: o365, account: work}", "a: {type: o365, account: work, folder: Family}", 1)), 0o600)
	r := cb(t, simEnvVars, "--config", cfg, "accounts", "folders", "work")
	if r.code != 0 || !strings.Contains(r.stdout, "Family") || !strings.Contains(r.stdout, "Contacts") {
		t.Fatalf("accounts folders: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = cb(t, simEnvVars, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "b", "created") != 3 {
		t.Fatalf("sync: %s %s", r.stdout, r.stderr)
	}
	if n := len(vcfFiles(t, b)); n != 3 {
		t.Fatalf("vdir has %d", n)
	}
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "a: {type: o365, account: work}", "a: {type: o365, account: work, folder: Nope}", 1)), 0o600)
	if r := cb(t, simEnvVars, "--config", cfg, "sync"); r.code != 1 || !strings.Contains(r.stderr, `no contact folder "Nope"`) || !strings.Contains(r.stderr, "Family") {
		t.Fatalf("missing folder: %d %s", r.code, r.stderr)
	}
}

// TestO365DryRun: a dry run against Office 365 plans and writes nothing to
// either side.
func TestO365DryRun(t *testing.T) {
	for _, flow := range []string{"client-secret", "device"} {
		t.Run(flow, func(t *testing.T) {
			e := newSim(t, 4)
			cfg, b := e.workspace(t, flow, "merge")
			if flow == "device" {
				e.login(t, cfg, false)
				e.sim.ExpireAccessTokens() // the dry run must refresh
			}
			r := cb(t, simEnvVars, "--config", cfg, "sync", "--dry-run")
			if r.code != 0 || strings.Count(r.stdout, "create b") != 4 {
				t.Fatalf("dry run: %d %s %s", r.code, r.stdout, r.stderr)
			}
			if n := len(vcfFiles(t, b)); n != 0 {
				t.Fatalf("dry run wrote %d files", n)
			}
			if r := cb(t, simEnvVars, "--config", cfg, "sync"); r.code != 0 {
				t.Fatalf("sync after the dry run: %s", r.stderr)
			}
		})
	}
}

// TestO365FolderChangeNeedsReset: a pair synced with the default folder
// whose `folder:` is changed does not run (exit 2, naming both folders'
// ids and `cardbridge reset`), so the old delta link cannot go on reading
// the old folder while writes go to the new one; after `reset p --side a`
// the next sync reads the new folder afresh: its contacts come to the
// vdir, the pair's contacts are copied into it, nothing is deleted
// anywhere.
func TestO365FolderChangeNeedsReset(t *testing.T) {
	e := newSim(t, 5)
	mb := e.sim.Mailbox(alice)
	cfg, b := e.workspace(t, "client-secret", "merge")
	if r := cb(t, simEnvVars, "--config", cfg, "sync", "--json"); r.code != 0 || sideCount(summary(t, r), "b", "created") != 5 {
		t.Fatalf("first sync: %d %s %s", r.code, r.stdout, r.stderr)
	}
	fid := mb.AddFolder("Family")
	for i := range 2 {
		mb.Put(fid, []byte(fmt.Sprintf(`{"givenName":"Kid","surname":"K%d","displayName":"Kid K%d"}`, i, i)))
	}
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "a: {type: o365, account: work}", "a: {type: o365, account: work, folder: Family}", 1)), 0o600)
	r := cb(t, simEnvVars, "--config", cfg, "sync")
	for _, want := range []string{"pair p", "side a", "mailbox " + alice + " folder default", "folder " + fid, "cardbridge reset p --side a"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("refusal lacks %q: %s", want, r.stderr)
		}
	}
	if r.code != 2 {
		t.Fatalf("sync after the folder change: exit %d, want 2: %s", r.code, r.stderr)
	}
	if n := len(vcfFiles(t, b)); n != 5 {
		t.Fatalf("the refused sync changed the vdir: %d files", n)
	}
	if r := cb(t, simEnvVars, "--config", cfg, "reset", "p", "--side", "a"); r.code != 0 {
		t.Fatalf("reset: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = cb(t, simEnvVars, "--config", cfg, "sync", "--json")
	m := summary(t, r)
	if r.code != 0 || sideCount(m, "b", "created") != 2 || sideCount(m, "a", "created") != 5 ||
		sideCount(m, "a", "deleted")+sideCount(m, "b", "deleted") != 0 {
		t.Fatalf("sync after reset: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if n, f, d := len(vcfFiles(t, b)), len(mb.Contacts(fid)), len(mb.Contacts("")); n != 7 || f != 7 || d != 5 {
		t.Fatalf("after reset: vdir %d, Family %d, default folder %d; want 7, 7, 5", n, f, d)
	}
	noChangeJSON(t, simEnvVars, cfg, "second sync after reset")
}

// TestO365UserChangeNeedsReset: an app-only account whose `user:` is
// changed to another mailbox stops its pairs (exit 2, naming both
// mailboxes) instead of reading the new mailbox with the old one's delta
// link; putting `user:` back lets the pair run on.
func TestO365UserChangeNeedsReset(t *testing.T) {
	e := newSim(t, 4)
	const bob = "bob@contoso.example"
	e.sim.AddUser(graphsim.User{ID: "00000000-0000-0000-0000-000000000b0b", UPN: bob, DisplayName: "Bob", Password: "bob"}).Seed("", 3, 2)
	cfg, b := e.workspace(t, "client-secret", "merge")
	if r := cb(t, simEnvVars, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("first sync: %d %s", r.code, r.stderr)
	}
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "user: "+alice, "user: "+bob, 1)), 0o600)
	r := cb(t, simEnvVars, "--config", cfg, "sync")
	if r.code != 2 || !strings.Contains(r.stderr, "mailbox "+alice+" folder default") || !strings.Contains(r.stderr, "mailbox "+bob+" folder default") ||
		!strings.Contains(r.stderr, "cardbridge reset p --side a") {
		t.Fatalf("sync after the user change: exit %d, want 2 naming both mailboxes: %s", r.code, r.stderr)
	}
	if n := len(vcfFiles(t, b)); n != 4 {
		t.Fatalf("the refused sync changed the vdir: %d files", n)
	}
	os.WriteFile(cfg, text, 0o600)
	if r := cb(t, simEnvVars, "--config", cfg, "sync", "--json"); r.code != 0 {
		t.Fatalf("sync with user: put back: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestLoginOfAnAppOnlyAccount: an account whose flow signs in by itself
// needs no login: `login` says so and exits 2 without opening the state;
// an unknown account is a usage error naming the configured ones.
func TestLoginOfAnAppOnlyAccount(t *testing.T) {
	e := newSim(t, 1)
	cfg, _ := e.workspace(t, "client-secret", "manual")
	r := runCmd(t, binCmd(t, simEnvVars, "--config", cfg, "login", "work"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "account work uses flow client-secret: it signs in by itself, no login needed") {
		t.Errorf("login of an app-only account: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "state.db")); !os.IsNotExist(err) {
		t.Errorf("the refused login opened the state: %v", err)
	}
	r = runCmd(t, binCmd(t, simEnvVars, "--config", cfg, "login", "play"))
	if r.code != exitUsage || !strings.Contains(r.stderr, `no account "play" in the configuration (accounts: [work])`) {
		t.Errorf("login of an unknown account: exit %d, stderr %q", r.code, r.stderr)
	}
}
