package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/pairs"
)

// TestCompletionOfIDs: the shell completion (cobra's __complete, which
// the scripts of `cardbridge completion` call) completes pair, account,
// conflict and trash ids from the configuration and the state, not only
// flags.
func TestCompletionOfIDs(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.MkdirAll(a, 0o700)
	os.MkdirAll(b, 0o700)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`state: %s
accounts:
  work:
    tenant: contoso.example
    client_id: 00000000-0000-0000-0000-000000000001
pairs:
  phone:
    a: {type: vdir, path: %s}
    b: {type: vdir, path: %s}
    conflict: manual
  laptop:
    a: {type: vdir, path: %s}
    b: {type: vdir, path: %s}
`, filepath.Join(dir, "state.db"), a, b, a, b)), 0o600)
	run := func(args ...string) result { return cb(t, nil, append([]string{"--config", cfg}, args...)...) }
	writeCard(t, filepath.Join(a, "c.vcf"), "c-1", "Before")
	writeCard(t, filepath.Join(a, "gone.vcf"), "g-1", "Gone Person")
	run("sync", "phone")
	writeCard(t, filepath.Join(a, "c.vcf"), "c-1", "From A")
	writeCard(t, filepath.Join(b, "c-1.vcf"), "c-1", "From B")
	os.Remove(filepath.Join(b, "g-1.vcf"))
	if r := run("sync", "phone"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	var cs []pairs.ConflictView
	decodeJSON(t, run("conflicts", "list", "--json"), &cs)
	var ts []pairs.TrashView
	decodeJSON(t, run("trash", "list", "--json"), &ts)
	if len(cs) != 1 || len(ts) != 1 {
		t.Fatalf("conflicts %+v, trash %+v", cs, ts)
	}
	cid, tid := fmt.Sprint(cs[0].ID), fmt.Sprint(ts[0].ID)

	cases := []struct {
		args []string
		want []string // completions (before a tab: the description)
	}{
		{[]string{"status", ""}, []string{"laptop", "phone"}},
		{[]string{"sync", "ph"}, []string{"phone"}},
		{[]string{"sync", "phone", ""}, []string{"laptop"}},
		{[]string{"reset", ""}, []string{"laptop", "phone"}},
		{[]string{"trash", "list", "--pair", ""}, []string{"laptop", "phone"}},
		{[]string{"trash", "purge", "--pair", "l"}, []string{"laptop"}},
		{[]string{"login", ""}, []string{"work\tconfig"}},
		{[]string{"accounts", "folders", "w"}, []string{"work\tconfig"}},
		{[]string{"conflicts", "show", ""}, []string{cid + "\tphone: From A"}},
		{[]string{"conflicts", "resolve", ""}, []string{cid + "\tphone: From A"}},
		{[]string{"trash", "restore", ""}, []string{tid + "\tphone: deleted Gone Person"}},
		{[]string{"trash", "restore", tid, ""}, nil},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := run(append([]string{"__complete"}, c.args...)...)
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if r.code != 0 || len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
				t.Fatalf("exit %d, %q %q", r.code, r.stdout, r.stderr)
			}
			got := lines[:len(lines)-1]
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("completions %q, want %q", got, c.want)
			}
		})
	}
	// The scripts ask __complete.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if r := run("completion", sh); r.code != 0 || !strings.Contains(r.stdout, "__complete") {
			t.Errorf("completion %s: exit %d", sh, r.code)
		}
	}
}
