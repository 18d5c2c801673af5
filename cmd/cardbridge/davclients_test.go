package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// davServer starts `cardbridge serve` with user alice (password
// "alicepass1") and returns the URL of her "contacts" book.
func davServer(t *testing.T) (bookURL string) {
	t.Helper()
	_, base := davServerConfig(t)
	return base + "/addressbooks/alice/contacts/"
}

// davServerConfig is davServer returning the configuration file and the
// server's base URL.
func davServerConfig(t *testing.T) (cfg, base string) {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	cfg = serveConfig(t, dir, port, "")
	addUser(t, cfg, "alice", "alicepass1")
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	if !testutil.Eventually(10*time.Second, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}) {
		t.Fatalf("serve did not come up:\n%s", stderr.String())
	}
	t.Cleanup(func() { stopServe(t, cmd, stderr) })
	return cfg, base
}

func vdirsyncerPair(t *testing.T, vdir, url string) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "vdirsyncer.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[general]
status_path = "%s/status"

[pair p]
a = "local"
b = "remote"
collections = null
conflict_resolution = "a wins"

[storage local]
type = "filesystem"
path = "%s"
fileext = ".vcf"

[storage remote]
type = "carddav"
url = "%s"
username = "alice"
password = "alicepass1"
`, dir, vdir, url)), 0o600)
	runPeer(t, "", "vdirsyncer", "-c", conf, "discover")
	return conf
}

// TestVdirsyncerAgainstOurServer: vdirsyncer syncs a vdir with our CardDAV
// server both ways — 1,000 contacts up, then an update, a delete and a
// conflict — and a second vdir downloads the result.
func TestVdirsyncerAgainstOurServer(t *testing.T) {
	needPeer(t, "vdirsyncer")
	url := davServer(t)
	up := filepath.Join(t.TempDir(), "up")
	os.MkdirAll(up, 0o700)
	for i := range 1000 {
		os.WriteFile(filepath.Join(up, fmt.Sprintf("c%04d.vcf", i)), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:vds-%04d\r\nFN:Vds Person %04d\r\nN:Person %04d;Vds;;;\r\nEMAIL:p%04d@example.com\r\nEND:VCARD\r\n", i, i, i, i)), 0o600)
	}
	confUp := vdirsyncerPair(t, up, url)
	runPeer(t, "", "vdirsyncer", "-c", confUp, "sync")

	down := filepath.Join(t.TempDir(), "down")
	os.MkdirAll(down, 0o700)
	confDown := vdirsyncerPair(t, down, url)
	runPeer(t, "", "vdirsyncer", "-c", confDown, "sync")
	if n := len(vcfFiles(t, down)); n != 1000 {
		t.Fatalf("downloaded %d contacts, want 1000", n)
	}
	// Update on one side, delete on the other, conflict on a third card.
	edit := func(dir, uid, extra string) {
		for name, raw := range vcfFiles(t, dir) {
			if strings.Contains(string(raw), "UID:"+uid+"\r\n") {
				os.WriteFile(filepath.Join(dir, name), []byte(strings.Replace(string(raw), "END:VCARD", extra+"\r\nEND:VCARD", 1)), 0o600)
				return
			}
		}
		t.Fatalf("%s not in %s", uid, dir)
	}
	remove := func(dir, uid string) {
		for name, raw := range vcfFiles(t, dir) {
			if strings.Contains(string(raw), "UID:"+uid+"\r\n") {
				os.Remove(filepath.Join(dir, name))
				return
			}
		}
	}
	edit(up, "vds-0001", "TITLE:edited up")
	remove(down, "vds-0002")
	edit(up, "vds-0003", "NOTE:from up")
	edit(down, "vds-0003", "NOTE:from down")
	runPeer(t, "", "vdirsyncer", "-c", confUp, "sync")
	runPeer(t, "", "vdirsyncer", "-c", confDown, "sync")
	runPeer(t, "", "vdirsyncer", "-c", confUp, "sync")
	runPeer(t, "", "vdirsyncer", "-c", confDown, "sync")
	for _, dir := range []string{up, down} {
		files := vcfFiles(t, dir)
		if len(files) != 999 {
			t.Errorf("%s holds %d contacts, want 999", dir, len(files))
		}
		all := ""
		for _, raw := range files {
			all += string(raw)
		}
		if !strings.Contains(all, "TITLE:edited up") {
			t.Errorf("%s lacks the update", dir)
		}
		if strings.Contains(all, "UID:vds-0002\r\n") {
			t.Errorf("%s still has the deleted contact", dir)
		}
		if strings.Count(all, "UID:vds-0003\r\n") != 1 {
			t.Errorf("%s: the conflicting contact is not there exactly once", dir)
		}
	}
	// khard lists the vdir synced from the server.
	khard := needPeer(t, "khard")
	kconf := filepath.Join(t.TempDir(), "khard.conf")
	os.WriteFile(kconf, []byte("[addressbooks]\n[[book]]\npath = "+down+"\n[general]\neditor = /bin/true\nmerge_editor = /bin/true\n[contact table]\n[vcard]\n"), 0o600)
	out := runPeer(t, "", khard, "-c", kconf, "list", "--parsable")
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 999 {
		t.Fatalf("khard lists %d contacts, want 999", n)
	}
}
