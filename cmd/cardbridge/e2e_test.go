package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/vcard"
)

// binary is the cardbridge built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cardbridge-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "cardbridge")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

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

func cb(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runCmd(t, binCmd(t, env, args...))
}

// workspace writes a config for a vdir pair and returns its paths.
func workspace(t *testing.T, extra string) (cfg, a, b, db string) {
	t.Helper()
	dir := t.TempDir()
	a, b, db = filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "state", "state.db")
	for _, d := range []string{a, b} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg = filepath.Join(dir, "config.yaml")
	text := fmt.Sprintf("state: %s\npairs:\n  p:\n    a: {type: vdir, path: %s}\n    b: {type: vdir, path: %s}\n%s", db, a, b, extra)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, a, b, db
}

func summary(t *testing.T, r result) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &m); err != nil {
		t.Fatalf("--json output %q: %v (stderr %s)", r.stdout, err, r.stderr)
	}
	return m
}

func sideCount(m map[string]any, side, what string) int {
	return int(m[side].(map[string]any)[what].(float64))
}

func vcfFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".vcf") {
			raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = raw
		}
	}
	return out
}

func TestCorpusWithBadFilesSyncsTheGoodOnes(t *testing.T) {
	cfg, a, b, _ := workspace(t, "")
	corpus := sidetest.CorpusDir()
	ents, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	good := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".vcf") {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join(corpus, e.Name()))
		os.WriteFile(filepath.Join(a, e.Name()), raw, 0o600)
		switch {
		case strings.HasPrefix(e.Name(), "bad-duplicate-uid"):
			// valid cards that share a UID: skipped as duplicates
		case strings.HasPrefix(e.Name(), "bad-"):
			bad = append(bad, e.Name())
		default:
			good++
		}
	}
	before := vcfFiles(t, a)
	r := cb(t, nil, "--config", cfg, "sync", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	m := summary(t, r)
	if got := sideCount(m, "b", "created"); got != good {
		t.Errorf("created %d on b, want %d good cards", got, good)
	}
	if sideCount(m, "a", "deleted") != 0 || sideCount(m, "b", "deleted") != 0 {
		t.Errorf("deleted something: %v", m)
	}
	r = cb(t, nil, "--config", cfg, "sync")
	for _, name := range append(bad, "bad-duplicate-uid-a.vcf", "bad-duplicate-uid-b.vcf") {
		if !strings.Contains(r.stderr, name) {
			t.Errorf("no message names %s:\n%s", name, r.stderr)
		}
	}
	for _, why := range []string{"missing END:VCARD", "duplicate UID"} {
		if !strings.Contains(r.stderr, why) {
			t.Errorf("no message says %q:\n%s", why, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "a +0 ~0 -0, b +0 ~0 -0") {
		t.Errorf("second run wrote: %s", r.stdout)
	}
	after := vcfFiles(t, a)
	for _, name := range bad {
		if !bytes.Equal(before[name], after[name]) {
			t.Errorf("%s was rewritten", name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			t.Errorf("%s was deleted", name)
		}
	}
	// Every good card arrived with its content (the one without a UID
	// got one on both sides).
	bcards := map[string]*vcard.Card{}
	for name, raw := range vcfFiles(t, b) {
		c, err := vcard.Parse(raw)
		if err != nil {
			t.Fatalf("b/%s: %v", name, err)
		}
		bcards[c.UID()] = c
	}
	for name, raw := range after {
		if strings.HasPrefix(name, "bad-") {
			continue
		}
		c, err := vcard.Parse(raw)
		if err != nil {
			t.Fatalf("a/%s: %v", name, err)
		}
		if c.UID() == "" {
			t.Errorf("a/%s still has no UID", name)
		}
		if bc := bcards[c.UID()]; bc == nil || bc.Hash() != c.Hash() {
			t.Errorf("a/%s did not arrive intact on b", name)
		}
	}
}

func TestExitCodesAndGuards(t *testing.T) {
	cfg, a, b, _ := workspace(t, "    max_delete: 2\n")
	for i := range 6 {
		writeCard(t, filepath.Join(a, fmt.Sprintf("g%d.vcf", i)), fmt.Sprintf("g-%d", i), fmt.Sprintf("Guarded %d", i))
	}
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("first sync: %d %s", r.code, r.stderr)
	}
	// b emptied: exit 3, nothing deleted on a.
	files, _ := os.ReadDir(b)
	for _, f := range files {
		os.Remove(filepath.Join(b, f.Name()))
	}
	r := cb(t, nil, "--config", cfg, "sync")
	if r.code != 3 || !strings.Contains(r.stderr, "lists no contacts") || !strings.Contains(r.stderr, "--force-delete") {
		t.Fatalf("empty side: exit %d, %s", r.code, r.stderr)
	}
	if n := len(vcfFiles(t, a)); n != 6 {
		t.Fatalf("a has %d files after the guard", n)
	}
	// --dry-run --force-delete shows the plan and deletes nothing.
	r = cb(t, nil, "--config", cfg, "sync", "--dry-run", "--force-delete")
	if r.code != 0 || strings.Count(r.stdout, "delete a") != 6 {
		t.Fatalf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := len(vcfFiles(t, a)); n != 6 {
		t.Fatalf("dry run deleted: %d left", n)
	}
	// Forced: deleted (to the trash), and the trash brings one back.
	if r := cb(t, nil, "--config", cfg, "sync", "--force-delete"); r.code != 0 {
		t.Fatalf("forced: %d %s", r.code, r.stderr)
	}
	if n := len(vcfFiles(t, a)); n != 0 {
		t.Fatalf("forced delete left %d", n)
	}
	r = cb(t, nil, "--config", cfg, "trash", "list")
	if strings.Count(r.stdout, "deleted") != 6 {
		t.Fatalf("trash list:\n%s", r.stdout)
	}
	var id string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "Guarded 3") {
			id = strings.Fields(line)[0]
		}
	}
	if r := cb(t, nil, "--config", cfg, "trash", "restore", id); r.code != 0 {
		t.Fatalf("restore: %d %s", r.code, r.stderr)
	}
	r = cb(t, nil, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "a", "created") != 1 || sideCount(m, "b", "created") != 1 {
		t.Fatalf("restore sync: %d %s %s", r.code, r.stdout, r.stderr)
	}

	// Bad usage and bad configuration: exit 2, naming the key.
	if r := cb(t, nil, "--config", cfg, "sync", "nosuchpair"); r.code != 2 || !strings.Contains(r.stderr, "nosuchpair") {
		t.Errorf("unknown pair: %d %s", r.code, r.stderr)
	}
	if r := cb(t, []string{"CARDBRIDGE_PAIRS_P_CONFLICT=sometimes"}, "--config", cfg, "sync"); r.code != 2 || !strings.Contains(r.stderr, "pairs.p.conflict") {
		t.Errorf("bad env value: %d %s", r.code, r.stderr)
	}
	if r := cb(t, nil, "--config", cfg, "sync", "--no-such-flag"); r.code != 2 {
		t.Errorf("bad flag: %d", r.code)
	}
	if r := cb(t, nil, "--config", filepath.Join(t.TempDir(), "missing.yaml"), "sync"); r.code != 2 {
		t.Errorf("missing config: %d %s", r.code, r.stderr)
	}
}

func TestMaxDeleteGuard(t *testing.T) {
	cfg, a, b, _ := workspace(t, "    max_delete: 2\n")
	for i := range 6 {
		writeCard(t, filepath.Join(a, fmt.Sprintf("m%d.vcf", i)), fmt.Sprintf("m-%d", i), fmt.Sprintf("Many %d", i))
	}
	cb(t, nil, "--config", cfg, "sync")
	for i := range 3 {
		os.Remove(filepath.Join(a, fmt.Sprintf("m%d.vcf", i)))
	}
	r := cb(t, nil, "--config", cfg, "sync")
	if r.code != 3 || !strings.Contains(r.stderr, "would delete 3 of 6") || !strings.Contains(r.stderr, "Many 0") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := len(vcfFiles(t, b)); n != 6 {
		t.Fatalf("b has %d", n)
	}
}

func TestDryRunOnAFreshSetupWritesNothing(t *testing.T) {
	cfg, a, b, db := workspace(t, "")
	writeCard(t, filepath.Join(a, "fresh.vcf"), "fresh", "Fresh")
	os.Remove(b)
	// A missing directory is refused unless the side says create: true
	// (issue 16; TestConfigResourcesCheckedFirst).
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "path: "+b+"}", "path: "+b+", create: true}", 1)), 0o600)
	r := cb(t, nil, "--config", cfg, "sync", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "create b") {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("dry run created the state database")
	}
	if _, err := os.Stat(filepath.Dir(db)); !os.IsNotExist(err) {
		t.Errorf("dry run created the state directory")
	}
	if _, err := os.Stat(b); !os.IsNotExist(err) {
		t.Errorf("dry run created side b's directory")
	}
	// The real run creates them; the state file is private.
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	st, err := os.Stat(db)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", st.Mode(), err)
	}
}

func TestSecondSyncOfTheSamePairFailsAtOnce(t *testing.T) {
	cfg, _, _, dbPath := workspace(t, "")
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	db := statetest.Open(t, dbPath, state.Options{})
	defer db.Close()
	unlock, err := db.LockPair(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	r := cb(t, nil, "--config", cfg, "sync")
	want := fmt.Sprintf("pair p is being synced by process %d", os.Getpid())
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "database is locked") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

func TestManualConflictsEndToEnd(t *testing.T) {
	cfg, a, b, _ := workspace(t, "    conflict: manual\n")
	c := vcard.New(vcard.V30)
	c.SetUID("man-1")
	c.SetFN("Before")
	os.WriteFile(filepath.Join(a, "man.vcf"), c.Encode(), 0o600)
	cb(t, nil, "--config", cfg, "sync")
	c.SetFN("From A")
	os.WriteFile(filepath.Join(a, "man.vcf"), c.Encode(), 0o600)
	c.SetFN("From B")
	os.WriteFile(filepath.Join(b, "man-1.vcf"), c.Encode(), 0o600)
	r := cb(t, nil, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || m["conflicts"].(float64) != 1 {
		t.Fatalf("manual: %d %s", r.code, r.stdout)
	}
	r = cb(t, nil, "--config", cfg, "conflicts", "list")
	if !strings.Contains(r.stdout, "man-1") {
		t.Fatalf("list: %s", r.stdout)
	}
	id := strings.Fields(strings.Split(r.stdout, "\n")[1])[0]
	r = cb(t, nil, "--config", cfg, "conflicts", "show", id)
	// Field by field in words, the sides named by their folders as the
	// web page names them (fields.SideNames: "folder a"); no UID, REV or
	// vCard text.
	for _, want := range []string{"Conflict " + id + ": From A / From B (pair p,", "Changed in folder a (a) and in folder b (b).",
		"\nName (changed differently on both sides)\n", "  before:              Before\n", "  folder a (a):        From A\n",
		"  folder b (b):        From B\n", "  keep merged writes:  From ", "--keep a (folder a), b (folder b) or merged"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, not := range []string{"man-1", "REV", "FN:", "BEGIN:VCARD"} {
		if strings.Contains(r.stdout, not) {
			t.Errorf("show shows %q:\n%s", not, r.stdout)
		}
	}
	if r := cb(t, nil, "--config", cfg, "conflicts", "resolve", id, "--keep", "x"); r.code != 2 {
		t.Fatalf("bad --keep: %d", r.code)
	}
	if r := cb(t, nil, "--config", cfg, "conflicts", "resolve", id, "--keep", "b"); r.code != 0 {
		t.Fatalf("resolve: %d %s", r.code, r.stderr)
	}
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	raw, _ := os.ReadFile(filepath.Join(a, "man.vcf"))
	if !strings.Contains(string(raw), "FN:From B") {
		t.Fatalf("a = %s", raw)
	}
	if r := cb(t, nil, "--config", cfg, "conflicts"); !strings.Contains(r.stdout, "no open conflicts") {
		t.Fatalf("still listed: %s", r.stdout)
	}
}

// TestVersion; the demo, which now runs until Ctrl-C, has demo_test.go.
func TestVersion(t *testing.T) {
	if r := cb(t, nil, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "cardbridge ") {
		t.Fatalf("version: %+v", r)
	}
}
