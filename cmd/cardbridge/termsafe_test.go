package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/vcard"
)

// TestCLIEscapesCardText: a contact whose name and UID carry terminal
// escape codes (set the window title, clear the screen) goes through sync
// (text, --json, --dry-run), conflicts list and show, trash list and
// restore, and status (text and --json): no output of any of them holds an
// ESC or BEL byte, and the name is shown escaped.
func TestCLIEscapesCardText(t *testing.T) {
	cfg, a, b, _ := workspace(t, "    conflict: manual\n")
	const evil = "Evil\x1b]0;pwned\x07\x1b[2J"
	c := vcard.New(vcard.V30)
	c.SetUID("uid-\x1b[2J")
	c.SetFN(evil)
	os.WriteFile(filepath.Join(a, "evil.vcf"), c.Encode(), 0o600)
	var outs []result
	run := func(args ...string) result {
		t.Helper()
		r := cb(t, nil, append([]string{"--config", cfg}, args...)...)
		outs = append(outs, r)
		return r
	}
	run("sync", "--dry-run")
	if r := run("sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	c.SetFN(evil + " from a")
	os.WriteFile(filepath.Join(a, "evil.vcf"), c.Encode(), 0o600)
	bfiles, _ := filepath.Glob(filepath.Join(b, "*.vcf"))
	if len(bfiles) != 1 {
		t.Fatalf("b holds %v", bfiles)
	}
	c.SetFN(evil + " from b")
	os.WriteFile(bfiles[0], c.Encode(), 0o600)
	run("sync", "--dry-run")
	run("sync", "--json")
	list := run("conflicts", "list")
	if !strings.Contains(list.stdout, `Evil\x1b]0;pwned\x07\x1b[2J`) {
		t.Fatalf("conflicts list does not show the escaped name:\n%q", list.stdout)
	}
	lines := strings.Split(list.stdout, "\n")
	if len(lines) < 2 {
		t.Fatalf("conflicts list: %q", list.stdout)
	}
	id := strings.Fields(lines[1])[0]
	run("conflicts", "show", id)
	if r := run("conflicts", "resolve", id, "--keep", "a"); r.code != 0 {
		t.Fatalf("resolve: %d %s", r.code, r.stderr)
	}
	run("sync")
	os.Remove(filepath.Join(a, "evil.vcf"))
	run("sync", "--force-delete")
	tl := run("trash", "list")
	if !strings.Contains(tl.stdout, `Evil\x1b]0;pwned\x07`) {
		t.Fatalf("trash list does not show the escaped name:\n%q", tl.stdout)
	}
	var tid string
	for _, l := range strings.Split(tl.stdout, "\n") {
		if strings.Contains(l, "Evil") && strings.Contains(l, "deleted") {
			tid = strings.Fields(l)[0]
		}
	}
	run("trash", "restore", tid)
	run("status")
	run("status", "--json")
	run("conflicts", "show", "999")
	for i, r := range outs {
		for _, s := range []string{r.stdout, r.stderr} {
			if strings.ContainsAny(s, "\x1b\x07") {
				t.Errorf("output %d holds a raw escape:\n%q", i, s)
			}
		}
	}
}
