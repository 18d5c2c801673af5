package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/engine/sidetest"
)

// needPeer finds a real program the test drives; a missing one skips the
// test, except under CI=true where it fails the run.
func needPeer(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (scripts/test.sh installs it)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func runPeer(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LC_ALL=C.UTF-8")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// syncedCorpus is a workspace whose side a starts with the corpus's n good
// cards, synced once.
func syncedCorpus(t *testing.T) (cfg, a, b string, n int) {
	t.Helper()
	cfg, a, b, _ = workspace(t, "")
	n = seedGoodCorpus(t, a)
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	return cfg, a, b, n
}

// seedGoodCorpus copies the corpus's good cards into dir.
func seedGoodCorpus(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(sidetest.CorpusDir())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".vcf") || strings.HasPrefix(e.Name(), "bad-") {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join(sidetest.CorpusDir(), e.Name()))
		if err := os.WriteFile(filepath.Join(dir, e.Name()), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func TestKhardReadsAndWritesOurVdir(t *testing.T) {
	khard := needPeer(t, "khard")
	cfg, a, b, n := syncedCorpus(t)
	conf := filepath.Join(t.TempDir(), "khard.conf")
	os.WriteFile(conf, []byte("[addressbooks]\n[[book]]\npath = "+b+"\n[general]\neditor = /bin/true\nmerge_editor = /bin/true\n[contact table]\n[vcard]\n"), 0o600)

	// khard reads every contact cardbridge wrote, names decoded.
	out := runPeer(t, "", khard, "-c", conf, "list", "--parsable")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != n {
		t.Fatalf("khard lists %d contacts, want %d:\n%s", len(lines), n, out)
	}
	for _, name := range []string{"Zdzisław Wójcik", "Skłodowska-Curie", "Johnny Appleseed", "Northwind Traders"} {
		if !strings.Contains(out, name) {
			t.Errorf("khard does not list %q:\n%s", name, out)
		}
	}

	// A contact khard creates reaches side a; one khard removes is removed there.
	runPeer(t, "First name : Hedy\nLast name : Lamarr\nEmail :\n    work : hedy@example.com\n", khard, "-c", conf, "new", "-a", "book")
	r := cb(t, nil, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "a", "created") != 1 {
		t.Fatalf("sync after khard new: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if !anyCardHas(t, a, "hedy@example.com") {
		t.Fatal("khard's new contact did not reach side a")
	}
	runPeer(t, "", khard, "-c", conf, "remove", "--force", "Hedy")
	r = cb(t, nil, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "a", "deleted") != 1 {
		t.Fatalf("sync after khard remove: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestVdirsyncerSyncsOurVdir(t *testing.T) {
	vds := needPeer(t, "vdirsyncer")
	cfg, a, b, n := syncedCorpus(t)
	dir := t.TempDir()
	c := filepath.Join(dir, "c")
	os.MkdirAll(c, 0o700)
	conf := filepath.Join(dir, "vdirsyncer.conf")
	os.WriteFile(conf, []byte(`[general]
status_path = "`+filepath.Join(dir, "status")+`"

[pair ours_theirs]
a = "ours"
b = "theirs"
collections = null

[storage ours]
type = "filesystem"
path = "`+b+`"
fileext = ".vcf"

[storage theirs]
type = "filesystem"
path = "`+c+`"
fileext = ".vcf"
`), 0o600)
	runPeer(t, "", vds, "-c", conf, "discover")
	runPeer(t, "", vds, "-c", conf, "sync")
	if got := len(vcfFiles(t, c)); got != n {
		t.Fatalf("vdirsyncer copied %d files from our vdir, want %d", got, n)
	}
	// Edit one and delete one on vdirsyncer's side; vdirsyncer writes them
	// into our vdir; cardbridge carries them on to side a.
	var edited, deleted string
	for name, raw := range vcfFiles(t, c) {
		switch {
		case strings.Contains(string(raw), "UID:esc-0001"):
			edited = name
			os.WriteFile(filepath.Join(c, name), []byte(strings.Replace(string(raw), "END:VCARD", "TITLE:Edited through vdirsyncer\r\nEND:VCARD", 1)), 0o600)
		case strings.Contains(string(raw), "UID:lf-0001"):
			deleted = name
			os.Remove(filepath.Join(c, name))
		}
	}
	if edited == "" || deleted == "" {
		t.Fatal("corpus cards not found in vdirsyncer's copy")
	}
	runPeer(t, "", vds, "-c", conf, "sync")
	r := cb(t, nil, "--config", cfg, "sync", "--json")
	m := summary(t, r)
	if r.code != 0 || sideCount(m, "a", "updated") != 1 || sideCount(m, "a", "deleted") != 1 {
		t.Fatalf("sync after vdirsyncer: %d %s %s", r.code, r.stdout, r.stderr)
	}
	ok := false
	for _, raw := range vcfFiles(t, a) {
		s := string(raw)
		if strings.Contains(s, "UID:lf-0001") {
			t.Error("the contact deleted through vdirsyncer is still on a")
		}
		ok = ok || (strings.Contains(s, "UID:esc-0001") && strings.Contains(s, "TITLE:Edited through vdirsyncer"))
	}
	if !ok {
		t.Error("the edit made through vdirsyncer did not reach a")
	}
	// And back: an edit on a reaches vdirsyncer's copy.
	noChange(t, nil, cfg)
}
