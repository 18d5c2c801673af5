package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// freePort is testutil.FreePort, under the name this package's tests use.
func freePort(t *testing.T) int { return testutil.FreePort(t) }

// startServe starts `cardbridge serve` and returns it with its stderr;
// the process is killed at the end of the test if still running.
func startServe(t *testing.T, args ...string) (*exec.Cmd, *testutil.LockedBuffer) {
	t.Helper()
	cmd := binCmd(t, nil, args...)
	return cmd, startCmd(t, cmd)
}

// stopServe sends SIGTERM and returns the exit code (failing after 10 s).
func stopServe(t *testing.T, cmd *exec.Cmd, stderr *testutil.LockedBuffer) int {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not stop within 10 s of SIGTERM; stderr:\n%s", stderr)
	}
	return -1
}

// TestServeSyncsClientChanges: a card a client PUTs into the built-in
// server reaches the vdir of a pair soon after (debounced), /healthz
// answers, and SIGTERM stops the daemon with exit 0.
func TestServeSyncsClientChanges(t *testing.T) {
	dir := t.TempDir()
	a := dir + "/a"
	os.MkdirAll(a, 0o700)
	port := freePort(t)
	cfg := serveConfig(t, dir, port, adminAndPair(a))
	addUser(t, cfg, "alice", "correct horse")
	cmd, stderr := startServe(t, "--config", cfg, "serve", "--debounce", "200ms")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var health string
	if !testutil.Eventually(10*time.Second, func() bool {
		req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
		req.SetBasicAuth("alice", "correct horse") // an admin sees the pairs
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		health = b.String()
		return resp.StatusCode == 200
	}) {
		t.Fatalf("no /healthz; stderr:\n%s", stderr)
	}
	if !strings.Contains(health, `"status":"ok"`) || !strings.Contains(health, `"pair":"p"`) {
		t.Errorf("/healthz: %s", health)
	}

	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:from-client\r\nFN:From A Client\r\nEND:VCARD\r\n"
	if st := testutil.PutVCard(t, base+"/addressbooks/alice/contacts/x.vcf", "alice", "correct horse", card, ""); st != http.StatusCreated {
		t.Fatalf("PUT: status %d; stderr:\n%s", st, stderr)
	}
	if !testutil.Eventually(10*time.Second, func() bool {
		for _, raw := range vcfFiles(t, a) {
			if strings.Contains(string(raw), "From A Client") {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the card did not reach the vdir; stderr:\n%s", stderr)
	}
	if code := stopServe(t, cmd, stderr); code != 0 {
		t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, stderr)
	}
	out := stderr.String()
	for _, want := range []string{"serving CardDAV", "url=" + base + "/", "pair synced", "stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "WARNING") {
		t.Errorf("a loopback listener warned:\n%s", out)
	}
}

// TestServeWarnsWithoutTLSBeyondLoopback: listening on every interface
// without TLS prints a loud warning.
func TestServeWarnsWithoutTLSBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/config.yaml"
	os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s/state.db\nserver:\n  listen: 0.0.0.0:%d\n", dir, freePort(t))), 0o600)
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "serving CardDAV") }) {
		t.Fatalf("serve did not start; stderr:\n%s", stderr)
	}
	if out := stderr.String(); !strings.Contains(out, "WARNING") || !strings.Contains(out, "clear text") {
		t.Errorf("no warning:\n%s", out)
	}
	if code := stopServe(t, cmd, stderr); code != 0 {
		t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, stderr)
	}
}

// TestSystemdUnits checks contrib/systemd with systemd-analyze verify
// (skipped where it is absent, and under CI).
func TestSystemdUnits(t *testing.T) {
	if os.Getenv("CI") != "" {
		t.Skip("CI: systemd-analyze verify depends on the host's systemd")
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	dir := t.TempDir()
	units := []string{"cardbridge-serve.service", "cardbridge-sync.service", "cardbridge-sync.timer"}
	for _, u := range units {
		raw, err := os.ReadFile("../../contrib/systemd/" + u)
		if err != nil {
			t.Fatal(err)
		}
		// verify wants ExecStart's program to exist.
		text := strings.ReplaceAll(string(raw), "/usr/local/bin/cardbridge", binary)
		if err := os.WriteFile(dir+"/"+u, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "verify", "./cardbridge-serve.service", "./cardbridge-sync.service", "./cardbridge-sync.timer")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "cardbridge-") {
			ours = append(ours, line)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// adminAndPair is the rest of a serve config (after serveConfig's listen
// line) that makes alice an admin and syncs pair p every minute: the vdir
// at path ⇄ alice's book "contacts" on the built-in server.
func adminAndPair(path string) string {
	return fmt.Sprintf(`  admins: [alice]
pairs:
  p:
    a: {type: vdir, path: %s}
    b: {type: server, user: alice, addressbook: contacts}
    every: 1m
`, path)
}
