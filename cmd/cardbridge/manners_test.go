package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// TestBadInvocationsExitTwo: every unknown subcommand, argument or flag,
// and a pair that does not exist, is exit 2 with a one-line message
// naming it on stderr and nothing on stdout (`user lst` printed the help
// and exited 0; `trash list --pair nosuch` listed an empty trash).
func TestBadInvocationsExitTwo(t *testing.T) {
	cfg, _, _, _ := workspace(t, "")
	cases := []struct {
		args []string
		want string // in the message
	}{
		{[]string{"user", "lst"}, `unknown command "lst" for "cardbridge user"`},
		{[]string{"lst"}, `unknown command "lst" for "cardbridge"`},
		{[]string{"trash", "lst"}, `unknown command "lst" for "cardbridge trash"`},
		{[]string{"conflicts", "shw", "1"}, `unknown command "shw"`},
		{[]string{"accounts", "fold"}, `unknown command "fold"`},
		{[]string{"completion", "tcsh"}, `unknown command "tcsh"`},
		{[]string{"trash", "list", "--pair", "nosuch"}, `"nosuch"`},
		{[]string{"trash", "list", "extra"}, `unknown command "extra"`},
		{[]string{"status", "nosuch"}, `"nosuch"`},
		{[]string{"sync", "nosuch"}, `"nosuch"`},
		{[]string{"status", "p", "p"}, "at most 1 arg"},
		{[]string{"sync", "--no-such-flag"}, "--no-such-flag"},
		{[]string{"user", "list", "extra"}, `unknown command "extra"`},
		{[]string{"conflicts", "show"}, "accepts 1 arg"},
		{[]string{"conflicts", "show", "x"}, `"x" is not an id`},
		{[]string{"trash", "restore", "-3"}, "unknown shorthand flag"},
		{[]string{"version", "extra"}, `unknown command "extra"`},
		{[]string{"help", "lst"}, `unknown command "lst" for "cardbridge"`},
		{[]string{"help", "user", "lst"}, `unknown command "lst" for "cardbridge user"`},
		{[]string{"--log-level", "loud", "status"}, "--log-level"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := cb(t, nil, append([]string{"--config", cfg}, c.args...)...)
			msg := strings.TrimSuffix(r.stderr, "\n")
			if r.code != 2 || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") || r.stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 2, one line with %q, no stdout", r.code, r.stderr, r.stdout, c.want)
			}
		})
	}
	// A group command run bare, and help on a command, still show the
	// help, exit 0.
	for _, args := range [][]string{{"user"}, {"help", "user"}, {"help"}, {}} {
		if r := cb(t, nil, args...); r.code != 0 || !strings.Contains(r.stdout, "Available Commands") {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stdout)
		}
	}
	if r := cb(t, nil, "help", "trash", "list"); r.code != 0 || !strings.Contains(r.stdout, "--pair") {
		t.Errorf("help trash list: exit %d, %q", r.code, r.stdout)
	}
}

// TestServeWithoutUsersSaysHowToAddOne: `serve` over a state with no
// users says how to add one; with a user it does not.
func TestServeWithoutUsersSaysHowToAddOne(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/config.yaml"
	os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s/state.db\nserver:\n  listen: 127.0.0.1:%d\n", dir, freePort(t))), 0o600)
	for _, users := range []bool{false, true} {
		if users {
			cmd := exec.Command(binary, "--config", cfg, "user", "add", "dana")
			cmd.Stdin = strings.NewReader("a-long-password\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("user add: %v %s", err, out)
			}
		}
		cmd, stderr := startServe(t, "--config", cfg, "serve")
		if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "serving CardDAV") }) {
			t.Fatalf("serve did not start; stderr:\n%s", stderr)
		}
		if hint := strings.Contains(stderr.String(), "cardbridge user add NAME"); hint == users {
			t.Errorf("users %v: hint shown %v; stderr:\n%s", users, hint, stderr)
		}
		if code := stopServe(t, cmd, stderr); code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
	}
}

// TestConfigResourcesCheckedFirst: a vdir directory that does not exist,
// an unset password_env, a missing password file and CA file make sync
// and serve exit 2 naming the key before anything runs (the missing
// directory is not made, no state is written); commands that do not sync
// still run; create: true lets the first sync make the directory.
func TestConfigResourcesCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	a, gone, db := dir+"/a", dir+"/not-made", dir+"/state.db"
	os.Mkdir(a, 0o700)
	cases := []struct {
		name, side, key string
	}{
		{"vdir", "{type: vdir, path: " + gone + "}", "pairs.p.b.path"},
		{"password_env", "{type: carddav, url: http://127.0.0.1:9/, username: u, password_env: NO_SUCH_PW}", "pairs.p.b.password_env"},
		{"password_file", "{type: carddav, url: http://127.0.0.1:9/, username: u, password_file: " + gone + "}", "pairs.p.b.password_file"},
		{"ca_file", "{type: carddav, url: https://127.0.0.1:9/, username: u, password_env: PATH, ca_file: " + gone + "}", "pairs.p.b.ca_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s\npairs:\n  p:\n    a: {type: vdir, path: %s}\n    b: %s\n", db, a, c.side)), 0o600)
			for _, cmd := range [][]string{{"sync"}, {"sync", "--dry-run"}, {"serve"}} {
				r := cb(t, nil, append([]string{"--config", cfg}, cmd...)...)
				if r.code != 2 || !strings.Contains(r.stderr, c.key+":") || !strings.Contains(r.stderr, cfg) {
					t.Errorf("%v: exit %d, %q; want 2 naming %s", cmd, r.code, r.stderr, c.key)
				}
			}
			// Commands that do not sync still work (to add the user a
			// server side needs, to look at the state).
			if r := cb(t, nil, "--config", cfg, "user", "list"); r.code != 0 {
				t.Errorf("user list: exit %d %s", r.code, r.stderr)
			}
			if _, err := os.Stat(gone); err == nil {
				t.Errorf("%s was made", gone)
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("the state was written")
			}
		})
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s\npairs:\n  p:\n    a: {type: vdir, path: %s}\n    b: {type: vdir, path: %s, create: true}\n", db, a, gone)), 0o600)
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("create: true: exit %d %s", r.code, r.stderr)
	}
	if fi, err := os.Stat(gone); err != nil || !fi.IsDir() {
		t.Errorf("create: true did not make the directory: %v", err)
	}
}
