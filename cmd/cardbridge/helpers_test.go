package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/vcard"
)

// homeEnv is the environment the binary runs in under test: a fresh HOME,
// the PATH, and env.
func homeEnv(t testing.TB, env ...string) []string {
	return append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
}

// binCmd is the cardbridge binary with args in homeEnv(env).
func binCmd(t testing.TB, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Env = homeEnv(t, env...)
	return cmd
}

// runCmd runs cmd to its end and returns its exit code and output; a
// failure to run it at all (not a non-zero exit) fails the test.
func runCmd(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

// startCmd starts cmd with its stdout and stderr into one buffer, which it
// returns; the process is killed at the end of the test if still running.
func startCmd(t testing.TB, cmd *exec.Cmd) *testutil.LockedBuffer {
	t.Helper()
	out := &testutil.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return out
}

// serveConfig writes dir/config.yaml with the state in dir/state.db, the
// server listening on 127.0.0.1:port and rest (the YAML that follows:
// more server keys indented by two, then the other sections), and returns
// its path.
func serveConfig(t testing.TB, dir string, port int, rest string) string {
	t.Helper()
	cfg := filepath.Join(dir, "config.yaml")
	text := fmt.Sprintf("state: %s\nserver:\n  listen: 127.0.0.1:%d\n%s", filepath.Join(dir, "state.db"), port, rest)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// addUser runs `cardbridge --config cfg user add name` with password.
func addUser(t *testing.T, cfg, name, password string) {
	t.Helper()
	if r := cbStdin(t, password+"\n", "--config", cfg, "user", "add", name); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
}

// writeCard writes a vCard 3.0 with uid and fn to path.
func writeCard(t testing.TB, path, uid, fn string) {
	t.Helper()
	c := vcard.New(vcard.V30)
	c.SetUID(uid)
	c.SetFN(fn)
	if err := os.WriteFile(path, c.Encode(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// noChange fails unless a sync of cfg exits 0 writing nothing on either
// side (the text summary).
func noChange(t *testing.T, env []string, cfg string) {
	t.Helper()
	if r := cb(t, env, "--config", cfg, "sync"); r.code != 0 || !strings.Contains(r.stdout, "a +0 ~0 -0, b +0 ~0 -0") {
		t.Fatalf("no-change sync: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// noChangeJSON is noChange read from `sync --json`: every created,
// updated and deleted count of both sides is 0; what names the run.
func noChangeJSON(t *testing.T, env []string, cfg, what string) {
	t.Helper()
	r := cb(t, env, "--config", cfg, "sync", "--json")
	m := summary(t, r)
	for _, s := range []string{"a", "b"} {
		for _, op := range []string{"created", "updated", "deleted"} {
			if n := sideCount(m, s, op); r.code != 0 || n != 0 {
				t.Errorf("%s: exit %d, %s %s %d: %s", what, r.code, s, op, n, r.stdout)
			}
		}
	}
}

// anyCardHas reports whether a .vcf file in dir contains s.
func anyCardHas(t *testing.T, dir, s string) bool {
	t.Helper()
	for _, raw := range vcfFiles(t, dir) {
		if strings.Contains(string(raw), s) {
			return true
		}
	}
	return false
}
