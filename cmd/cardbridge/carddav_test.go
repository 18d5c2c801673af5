package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/state"
)

// startRadicale runs Radicale on a free loopback port with no auth and an
// address book at /bench/contacts/; it returns the server root URL.
func startRadicale(t *testing.T) string {
	t.Helper()
	bin := needPeer(t, "radicale")
	port := freePort(t)
	cmd := exec.Command(bin, "--storage-filesystem-folder", t.TempDir(), "--server-hosts", fmt.Sprintf("127.0.0.1:%d", port), "--auth-type", "none")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if !eventually(10*time.Second, func() bool {
		resp, err := http.Get(root)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		t.Fatal("radicale did not start")
	}
	return root
}

// TestVdirToRadicale: a pair between a vdir and a real Radicale, with the
// password from the environment, both ways and incremental.
func TestVdirToRadicale(t *testing.T) {
	root := startRadicale(t)
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	os.MkdirAll(a, 0o700)
	for i := range 20 {
		os.WriteFile(filepath.Join(a, fmt.Sprintf("r%02d.vcf", i)), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:rad-%02d\r\nFN:Radicale %02d\r\nN:%02d;Radicale;;;\r\nEMAIL:r%02d@example.com\r\nEND:VCARD\r\n", i, i, i, i)), 0o600)
	}
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s/state.db\npairs:\n  p:\n    a: {type: vdir, path: %s}\n    b: {type: carddav, url: %s, username: bench, password_env: DAV_PW, addressbook: contacts, create: true}\n", dir, a, root)), 0o600)
	env := []string{"DAV_PW=secret-never-printed"}
	r := cb(t, env, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "b", "created") != 20 {
		t.Fatalf("first sync: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cb(t, env, "--config", cfg, "sync"); r.code != 0 || !strings.Contains(r.stdout, "a +0 ~0 -0, b +0 ~0 -0") {
		t.Fatalf("no-change: %s %s", r.stdout, r.stderr)
	}
	os.Remove(filepath.Join(a, "r00.vcf"))
	raw, _ := os.ReadFile(filepath.Join(a, "r01.vcf"))
	os.WriteFile(filepath.Join(a, "r01.vcf"), []byte(strings.Replace(string(raw), "END:VCARD", "TITLE:Edited\r\nEND:VCARD", 1)), 0o600)
	r = cb(t, env, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "b", "deleted") != 1 || sideCount(m, "b", "updated") != 1 {
		t.Fatalf("edits: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// A second folder pulls the book back: 19 contacts, the edit included.
	b2 := filepath.Join(dir, "b2")
	os.MkdirAll(b2, 0o700)
	cfg2 := filepath.Join(dir, "config2.yaml")
	os.WriteFile(cfg2, []byte(fmt.Sprintf("state: %s/state2.db\npairs:\n  q:\n    a: {type: carddav, url: %sbench/contacts/, username: bench, password_env: DAV_PW}\n    b: {type: vdir, path: %s}\n", dir, root, b2)), 0o600)
	if r := cb(t, env, "--config", cfg2, "sync"); r.code != 0 {
		t.Fatalf("pull: %s %s", r.stdout, r.stderr)
	}
	files := vcfFiles(t, b2)
	all := ""
	for _, raw := range files {
		all += string(raw)
	}
	if len(files) != 19 || !strings.Contains(all, "TITLE:Edited") || strings.Contains(all, "UID:rad-00") {
		t.Fatalf("pulled %d files:\n%s", len(files), all)
	}
	if r := cb(t, []string{"DAV_PW=secret-never-printed"}, "--config", cfg, "sync"); strings.Contains(r.stderr+r.stdout, "secret-never-printed") {
		t.Fatal("the password was printed")
	}
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 1 || !strings.Contains(r.stderr, "DAV_PW") {
		t.Fatalf("missing password variable: %d %s", r.code, r.stderr)
	}
}

// TestO365ToRadicale: Office 365 (graphsim) ⇄ a real Radicale book.
func TestO365ToRadicale(t *testing.T) {
	root := startRadicale(t)
	e := newSim(t, 10)
	cfg, _ := e.workspace(t, "client-secret", "merge")
	text, _ := os.ReadFile(cfg)
	text = []byte(strings.Replace(string(text), "b: {type: vdir, path: ", fmt.Sprintf("b: {type: carddav, url: %s, username: bench, password_env: DAV_PW, addressbook: contacts, create: true}\n    #", root), 1))
	os.WriteFile(cfg, text, 0o600)
	env := append([]string{"DAV_PW=pw"}, simEnvVars...)
	r := cb(t, env, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "b", "created") != 10 {
		t.Fatalf("first sync: %d %s %s", r.code, r.stdout, r.stderr)
	}
	mb := e.sim.Mailbox(alice)
	id := mb.ContactIDs("")[0]
	mb.Put("", []byte(fmt.Sprintf(`{"id":%q,"jobTitle":"Edited in Outlook"}`, id)))
	r = cb(t, env, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "b", "updated") != 1 {
		t.Fatalf("edit: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cb(t, env, "--config", cfg, "sync"); r.code != 0 || !strings.Contains(r.stdout, "a +0 ~0 -0, b +0 ~0 -0") {
		t.Fatalf("no-change: %s %s", r.stdout, r.stderr)
	}
}

// TestServerStoreToRadicale: the built-in server's book ⇄ a real Radicale
// book, both ways.
func TestServerStoreToRadicale(t *testing.T) {
	root := startRadicale(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s/state.db\npairs:\n  p:\n    a: {type: server, user: alice, addressbook: contacts}\n    b: {type: carddav, url: %s, username: bench, password_env: DAV_PW, addressbook: contacts, create: true}\n", dir, root)), 0o600)
	if r := cbStdin(t, "correct horse\n", "--config", cfg, "user", "add", "alice"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	db, err := state.Open(context.Background(), filepath.Join(dir, "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	book, _ := db.AddressBook(context.Background(), "alice", "contacts")
	for i := range 5 {
		uid := fmt.Sprintf("store-%d", i)
		db.PutCard(context.Background(), book.ID, uid+".vcf", uid, []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:Store %d\r\nEND:VCARD\r\n", uid, i)), state.Precondition{IfNoneMatch: true})
	}
	db.Close()
	env := []string{"DAV_PW=pw"}
	r := cb(t, env, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "b", "created") != 5 {
		t.Fatalf("first sync: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// A card made on Radicale by another client comes back to the store.
	req, _ := http.NewRequest(http.MethodPut, root+"bench/contacts/other.vcf", strings.NewReader("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:from-radicale\r\nFN:From Radicale\r\nEND:VCARD\r\n"))
	req.Header.Set("Content-Type", "text/vcard")
	req.SetBasicAuth("bench", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("PUT to radicale: %v %v", err, resp)
	}
	resp.Body.Close()
	r = cb(t, env, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "a", "created") != 1 {
		t.Fatalf("second sync: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cb(t, env, "--config", cfg, "sync"); r.code != 0 || !strings.Contains(r.stdout, "a +0 ~0 -0, b +0 ~0 -0") {
		t.Fatalf("no-change: %s %s", r.stdout, r.stderr)
	}
}

// TestRadicaleConflictsPerPolicy: the same contact edited in the vdir and
// on Radicale (by another client) between two syncs, under each policy.
func TestRadicaleConflictsPerPolicy(t *testing.T) {
	root := startRadicale(t)
	for i, policy := range []string{"merge", "a-wins", "b-wins", "keep-both", "manual"} {
		t.Run(policy, func(t *testing.T) {
			dir := t.TempDir()
			a := filepath.Join(dir, "a")
			os.MkdirAll(a, 0o700)
			os.WriteFile(filepath.Join(a, "c.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:conflict-1\r\nFN:Conflicted\r\nTITLE:Old\r\nEND:VCARD\r\n"), 0o600)
			book := fmt.Sprintf("book%d", i)
			cfg := filepath.Join(dir, "config.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s/state.db\npairs:\n  p:\n    a: {type: vdir, path: %s}\n    b: {type: carddav, url: %s, username: bench, password_env: DAV_PW, addressbook: %s, create: true}\n    conflict: %s\n", dir, a, root, book, policy)), 0o600)
			env := []string{"DAV_PW=pw"}
			if r := cb(t, env, "--config", cfg, "sync"); r.code != 0 {
				t.Fatalf("first sync: %s", r.stderr)
			}
			os.WriteFile(filepath.Join(a, "c.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:conflict-1\r\nFN:Conflicted\r\nTITLE:From the vdir\r\nREV:20200101T000000Z\r\nEND:VCARD\r\n"), 0o600)
			req, _ := http.NewRequest(http.MethodPut, root+"bench/"+book+"/conflict-1.vcf", strings.NewReader("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:conflict-1\r\nFN:Conflicted\r\nTITLE:From Radicale\r\nREV:20300101T000000Z\r\nEND:VCARD\r\n"))
			req.SetBasicAuth("bench", "pw")
			req.Header.Set("Content-Type", "text/vcard")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode/100 != 2 {
				t.Fatalf("edit on radicale: %v %v", err, resp)
			}
			resp.Body.Close()
			r := cb(t, env, "--config", cfg, "sync", "--json")
			m := summary(t, r)
			if r.code != 0 {
				t.Fatalf("sync: %s %s", r.stdout, r.stderr)
			}
			files := vcfFiles(t, a)
			all := ""
			for _, raw := range files {
				all += string(raw)
			}
			switch policy {
			case "merge", "b-wins": // Radicale's edit is newer / b wins
				if !strings.Contains(all, "TITLE:From Radicale") || len(files) != 1 {
					t.Fatalf("%s: %s", policy, all)
				}
			case "a-wins":
				if !strings.Contains(all, "TITLE:From the vdir") || sideCount(m, "b", "updated") != 1 {
					t.Fatalf("a-wins: %s %s", all, r.stdout)
				}
			case "keep-both":
				if len(files) != 2 || !strings.Contains(all, "(conflict copy)") {
					t.Fatalf("keep-both: %d files\n%s", len(files), all)
				}
			case "manual":
				if m["conflicts"].(float64) != 1 || !strings.Contains(all, "TITLE:From the vdir") {
					t.Fatalf("manual: %s\n%s", r.stdout, all)
				}
			}
		})
	}
}
