package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/pairs"
)

func decodeJSON(t *testing.T, r result, v any) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), v); err != nil {
		t.Fatalf("output %q: %v", r.stdout, err)
	}
}

// TestSyncJSONListsSkippedItems: `sync --json` keeps its documented keys
// (skipped a number) and lists every skipped item under skipped_items
// with pair, side, id, display name, UID and reason.
func TestSyncJSONListsSkippedItems(t *testing.T) {
	cfg, a, _, _ := workspace(t, "")
	writeCard(t, filepath.Join(a, "d1.vcf"), "dup", "Dup One")
	writeCard(t, filepath.Join(a, "d2.vcf"), "dup", "Dup Two")
	os.WriteFile(filepath.Join(a, "bad.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bad\r\nnot a line\r\n"), 0o600)
	var m map[string]json.RawMessage
	decodeJSON(t, cb(t, nil, "--config", cfg, "sync", "--json"), &m)
	for _, k := range []string{"pair", "a", "b", "conflicts", "skipped", "errors", "duration_ms", "skipped_items", "error_items"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing: %v", k, m)
		}
	}
	var skipped int
	var items, errs []pairs.SyncItem
	json.Unmarshal(m["skipped"], &skipped)
	json.Unmarshal(m["skipped_items"], &items)
	json.Unmarshal(m["error_items"], &errs)
	if skipped != 3 || len(items) != 3 || errs == nil || len(errs) != 0 {
		t.Fatalf("skipped %d, items %+v, errors %+v", skipped, items, errs)
	}
	got := map[string]pairs.SyncItem{}
	for _, it := range items {
		got[it.ID] = it
	}
	for id, name := range map[string]string{"d1.vcf": "Dup One", "d2.vcf": "Dup Two", "bad.vcf": ""} {
		it := got[id]
		if it.Pair != "p" || it.Side != "a" || it.Name != name || it.Reason == "" || (name != "" && it.UID != "dup") {
			t.Errorf("%s: %+v, want pair p, side a, name %q, a reason", id, it, name)
		}
	}
	if !strings.Contains(got["bad.vcf"].Reason, "unreadable") || !strings.Contains(got["d1.vcf"].Reason, "duplicate UID") {
		t.Errorf("reasons: %+v", got)
	}
}

// TestListsTakeJSONAndAlign: conflicts (list, show), trash list,
// accounts, user list and status take --json; their tables align
// whatever the width of the names.
func TestListsTakeJSONAndAlign(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.MkdirAll(a, 0o700)
	os.MkdirAll(b, 0o700)
	long := "a-pair-with-a-name-longer-than-the-old-column"
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`state: %s
accounts:
  an-account-with-a-long-name:
    tenant: contoso.example
    client_id: 00000000-0000-0000-0000-000000000001
pairs:
  %s:
    a: {type: vdir, path: %s}
    b: {type: vdir, path: %s}
    conflict: manual
`, filepath.Join(dir, "state.db"), long, a, b)), 0o600)
	run := func(args ...string) result { return cb(t, nil, append([]string{"--config", cfg}, args...)...) }
	writeCard(t, filepath.Join(a, "c.vcf"), "c-1", "Before")
	writeCard(t, filepath.Join(a, "gone.vcf"), "g-1", "Someone Whose Name Is Much Longer Than Thirty Characters")
	run("sync")
	writeCard(t, filepath.Join(a, "c.vcf"), "c-1", "From A")
	writeCard(t, filepath.Join(b, "c-1.vcf"), "c-1", "From B")
	os.Remove(filepath.Join(b, "g-1.vcf"))
	if r := run("sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	if r := cb(t, []string{}, "--config", cfg, "user", "add", "carol"); r.code == 0 {
		t.Fatalf("user add without a password succeeded")
	}

	var cs []pairs.ConflictView
	decodeJSON(t, run("conflicts", "list", "--json"), &cs)
	if len(cs) != 1 || cs[0].Pair != long || cs[0].UID != "c-1" || cs[0].Name != "From A" || cs[0].ID == 0 || cs[0].Created == "" || cs[0].A != nil {
		t.Fatalf("conflicts list --json: %+v", cs)
	}
	var one pairs.ConflictView
	decodeJSON(t, run("conflicts", "show", fmt.Sprint(cs[0].ID), "--json"), &one)
	if one.ID != cs[0].ID || one.A == nil || !strings.Contains(*one.A, "FN:From A") || !strings.Contains(*one.B, "FN:From B") ||
		!strings.Contains(*one.Base, "FN:Before") {
		t.Fatalf("conflicts show --json: %+v", one)
	}
	var name *pairs.FieldView
	for i, f := range one.Fields {
		if f.Label == "Name" {
			name = &one.Fields[i]
		}
	}
	if name == nil || !name.Differs || strings.Join(name.Base, "") != "Before" || strings.Join(name.A, "") != "From A" || strings.Join(name.B, "") != "From B" || len(name.Merged) != 1 {
		t.Fatalf("conflicts show --json: the name field in words: %+v", one.Fields)
	}
	var ts []pairs.TrashView
	decodeJSON(t, run("trash", "list", "--json"), &ts)
	if len(ts) != 1 || ts[0].Pair != long || ts[0].Side != "a" || ts[0].SideID != "gone.vcf" || ts[0].Reason != "deleted" || !strings.HasPrefix(ts[0].Name, "Someone") {
		t.Fatalf("trash list --json: %+v", ts)
	}
	var as []pairs.AccountView
	decodeJSON(t, run("accounts", "--json"), &as)
	if len(as) != 1 || as[0].Name != "an-account-with-a-long-name" || as[0].Tenant != "contoso.example" || as[0].SignedIn || !as[0].Configured {
		t.Fatalf("accounts --json: %+v", as)
	}
	var us []pairs.UserView
	decodeJSON(t, run("user", "list", "--json"), &us)
	if us == nil || len(us) != 0 {
		t.Fatalf("user list --json with no users: %+v", us)
	}
	if r := run("user", "list"); !strings.Contains(r.stdout, "cardbridge user add NAME") {
		t.Errorf("user list with no users: %q", r.stdout)
	}
	var st map[string]any
	decodeJSON(t, run("status", "--json"), &st)
	if n, _ := st["open_conflicts"].(float64); n != 1 || st["pair"] != long {
		t.Errorf("status --json: %v", st)
	}

	// Tables: the header's columns start where each row's do.
	for _, args := range [][]string{{"conflicts"}, {"trash", "list"}, {"accounts"}} {
		r := run(args...)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("%v: %q", args, r.stdout)
		}
		if h, row := columnStarts(lines[0]), columnStarts(lines[1]); !sameStarts(h, row) {
			t.Errorf("%v: columns do not align:\n%s", args, r.stdout)
		}
	}
}

var columnRE = regexp.MustCompile(`(^|  +)\S`)

// columnStarts is where each column of a table line begins (columns are
// at least two spaces apart).
func columnStarts(line string) []int {
	var out []int
	for _, m := range columnRE.FindAllStringIndex(line, -1) {
		out = append(out, m[1]-1)
	}
	return out
}

// sameStarts: every header column starts where a row's column does, and
// the row has as many.
func sameStarts(h, row []int) bool {
	if len(h) != len(row) {
		return false
	}
	for i := range h {
		if h[i] != row[i] {
			return false
		}
	}
	return true
}

// TestEveryStampsLines: with --every each output line starts with the
// time (and --json lines carry "time").
func TestEveryStampsLines(t *testing.T) {
	cfg, a, _, _ := workspace(t, "")
	writeCard(t, filepath.Join(a, "x.vcf"), "x-1", "X")
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) p: `)
	r := cbTimeout(t, "1500ms", "--config", cfg, "sync", "--every", "1s")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("want at least two runs: %q", r.stdout)
	}
	for _, l := range lines {
		if !stamp.MatchString(l) {
			t.Errorf("line without a time stamp: %q", l)
		}
	}
	r = cbTimeout(t, "1200ms", "--config", cfg, "sync", "--every", "1s", "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.Split(r.stdout, "\n")[0]), &m); err != nil || m["time"] == nil {
		t.Errorf("--every --json: %q (%v)", r.stdout, err)
	}
}

// cbTimeout runs cardbridge args and interrupts it (SIGINT) after d.
func cbTimeout(t *testing.T, d string, args ...string) result {
	t.Helper()
	dur, err := time.ParseDuration(d)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(dur, func() { cmd.Process.Signal(os.Interrupt) })
	defer timer.Stop()
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return result{code, so.String(), se.String()}
}
