package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

// TestAppPasswordCommands: `user app-password add` prints the token once
// (and says so), `list` shows name, created and last use but never the
// secret, `revoke` makes the token fail; bad usage and unknown users or
// names exit 2 naming what.
func TestAppPasswordCommands(t *testing.T) {
	cfg, _, _, dbPath := workspace(t, "")
	if r := cbStdin(t, "correct horse\n", "--config", cfg, "user", "add", "alice"); r.code != 0 {
		t.Fatalf("user add: %d %s", r.code, r.stderr)
	}
	r := cb(t, nil, "--config", cfg, "user", "app-password", "add", "alice", "iPhone")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], state.AppPasswordPrefix) || !strings.Contains(lines[1], "shown once") {
		t.Fatalf("add: %d %q %s", r.code, r.stdout, r.stderr)
	}
	tok := lines[0]
	if r := cb(t, nil, "--config", cfg, "user", "app-password", "add", "alice", "Thunderbird"); r.code != 0 {
		t.Fatalf("second add: %d %s", r.code, r.stderr)
	}

	db := statetest.Open(t, dbPath, state.Options{})
	if ok, err := db.CheckAppPassword(context.Background(), "alice", tok); !ok || err != nil {
		t.Fatalf("printed token does not work: %v %v", ok, err)
	}
	db.Close()

	r = cb(t, nil, "--config", cfg, "user", "app-password", "list", "alice", "--json")
	var views []struct {
		Name, Created string
		LastUsed      string `json:"last_used"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &views) != nil || len(views) != 2 ||
		views[0].Name != "Thunderbird" || views[1].Name != "iPhone" || views[1].Created == "" || views[1].LastUsed == "" || views[0].LastUsed != "" {
		t.Fatalf("list --json: %d %s %s", r.code, r.stdout, r.stderr)
	}
	secret := tok[strings.LastIndexByte(tok, '_')+1:]
	r = cb(t, nil, "--config", cfg, "user", "app-password", "list", "alice")
	if r.code != 0 || !strings.Contains(r.stdout, "LAST USED") || !strings.Contains(r.stdout, "iPhone") || !strings.Contains(r.stdout, "never") {
		t.Fatalf("list: %d %s %s", r.code, r.stdout, r.stderr)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, secret) {
			t.Fatalf("list shows the secret: %s", out)
		}
	}

	bad := []struct {
		name string
		args []string
		want string
	}{
		{"unknown user", []string{"add", "nobody", "iPhone"}, `no user "nobody"`},
		{"bad user name", []string{"add", "../x", "iPhone"}, "user name"},
		{"same name", []string{"add", "alice", "iPhone"}, "already"},
		{"empty name", []string{"add", "alice", " "}, "app password name is empty"},
		{"control character", []string{"add", "alice", "a\tb"}, "control character"},
		{"missing name", []string{"add", "alice"}, "accepts 2 arg"},
		{"list of nobody", []string{"list", "nobody"}, `no user "nobody"`},
		{"revoke unknown name", []string{"revoke", "alice", "Nokia"}, `no app password named "Nokia"`},
		{"revoke of nobody", []string{"revoke", "nobody", "iPhone"}, "no app password"},
	}
	for _, c := range bad {
		r := cb(t, nil, append([]string{"--config", cfg, "user", "app-password"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", c.name, r.code, r.stderr, c.want)
		}
	}

	if r := cb(t, nil, "--config", cfg, "user", "app-password", "revoke", "alice", "iPhone"); r.code != 0 || !strings.Contains(r.stdout, "revoked") {
		t.Fatalf("revoke: %d %s %s", r.code, r.stdout, r.stderr)
	}
	db = statetest.Open(t, dbPath, state.Options{})
	if ok, _ := db.CheckAppPassword(context.Background(), "alice", tok); ok {
		t.Fatal("revoked token still works")
	}
	db.Close()
	r = cb(t, nil, "--config", cfg, "user", "app-password", "list", "alice", "--json")
	if r.code != 0 || strings.Contains(r.stdout, "iPhone") || !strings.Contains(r.stdout, "Thunderbird") {
		t.Fatalf("list after revoke: %s", r.stdout)
	}
}

// vdirsyncerConf writes a vdirsyncer configuration pairing vdir with the
// CardDAV book at url as alice with password, and runs its discover.
func vdirsyncerConf(t *testing.T, vdir, url, password string) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "vdirsyncer.conf")
	text := fmt.Sprintf(`[general]
status_path = "%s/status"

[pair p]
a = "local"
b = "remote"
collections = null

[storage local]
type = "filesystem"
path = "%s"
fileext = ".vcf"

[storage remote]
type = "carddav"
url = "%s"
username = "alice"
password = "%s"
`, dir, vdir, url, password)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	runPeer(t, "", "vdirsyncer", "-c", conf, "discover")
	return conf
}

// TestVdirsyncerWithAppPassword: against a running `cardbridge serve`,
// vdirsyncer syncs with an app password made by `user app-password add`
// (its use then listed); after `revoke` (serve still running) its next
// run fails with 401.
func TestVdirsyncerWithAppPassword(t *testing.T) {
	needPeer(t, "vdirsyncer")
	cfg, base := davServerConfig(t)

	r := cb(t, nil, "--config", cfg, "user", "app-password", "add", "alice", "vdirsyncer")
	if r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	tok := strings.SplitN(r.stdout, "\n", 2)[0]
	vdir := filepath.Join(t.TempDir(), "vdir")
	os.MkdirAll(vdir, 0o700)
	for i := range 3 {
		os.WriteFile(filepath.Join(vdir, fmt.Sprintf("c%d.vcf", i)), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ap-%d\r\nFN:App Person %d\r\nEND:VCARD\r\n", i, i)), 0o600)
	}
	conf := vdirsyncerConf(t, vdir, base+"/addressbooks/alice/contacts/", tok)
	runPeer(t, "", "vdirsyncer", "-c", conf, "sync")
	db := statetest.Open(t, filepath.Join(filepath.Dir(cfg), "state.db"), state.Options{ReadOnly: true})
	book, err := db.AddressBook(context.Background(), "alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountCards(context.Background(), book.ID); err != nil || n != 3 {
		t.Fatalf("the server holds %d cards (%v), want 3", n, err)
	}
	db.Close()
	r = cb(t, nil, "--config", cfg, "user", "app-password", "list", "alice", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"last_used"`) {
		t.Fatalf("list after use: %d %s %s", r.code, r.stdout, r.stderr)
	}

	if r := cb(t, nil, "--config", cfg, "user", "app-password", "revoke", "alice", "vdirsyncer"); r.code != 0 {
		t.Fatalf("revoke: %d %s", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(vdir, "c9.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ap-9\r\nFN:After Revoke\r\nEND:VCARD\r\n"), 0o600)
	cmd := exec.Command("vdirsyncer", "-c", conf, "sync")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "401") {
		t.Fatalf("vdirsyncer after the revocation: %v, want a failure with 401\n%s", err, out)
	}
}
