package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

// TestResetAfterSideMoved: a vdir pair syncs; its b is pointed at another
// directory holding the same cards under other names: the sync is refused
// with exit 2, naming the pair, the side, both targets and the two ways on;
// `reset p --side b` (refused while a sync holds the pair; --dry-run
// changes nothing) makes the next sync link the new directory's cards by
// UID: nothing created, nothing deleted, no duplicate.
func TestResetAfterSideMoved(t *testing.T) {
	cfg, a, b, dbPath := workspace(t, "")
	for i := range 5 {
		card := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:moved-%d\r\nFN:Moved %d\r\nN:%d;Moved;;;\r\nEND:VCARD\r\n", i, i, i)
		os.WriteFile(filepath.Join(a, fmt.Sprintf("m%d.vcf", i)), []byte(card), 0o600)
	}
	r := cb(t, nil, "--config", cfg, "sync", "--json")
	if m := summary(t, r); r.code != 0 || sideCount(m, "b", "created") != 5 {
		t.Fatalf("first sync: %d %s %s", r.code, r.stdout, r.stderr)
	}
	b2 := filepath.Join(filepath.Dir(b), "b2")
	os.MkdirAll(b2, 0o700)
	for name, raw := range vcfFiles(t, b) {
		os.WriteFile(filepath.Join(b2, "copy-"+name), raw, 0o600)
	}
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "path: "+b+"}", "path: "+b2+"}", 1)), 0o600)

	r = cb(t, nil, "--config", cfg, "sync")
	for _, want := range []string{"pair p", "side b", "vdir " + b + `"`, "vdir " + b2 + `"`,
		"cardbridge reset p --side b", "undo the configuration change", "no duplicate and no deletion"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("refusal lacks %q", want)
		}
	}
	if r.code != 2 {
		t.Fatalf("sync of the moved side: exit %d, want 2: %s", r.code, r.stderr)
	}
	if n, m := len(vcfFiles(t, a)), len(vcfFiles(t, b2)); n != 5 || m != 5 {
		t.Fatalf("the refused sync wrote: a %d b2 %d", n, m)
	}

	r = cb(t, nil, "--config", cfg, "reset", "p", "--side", "b", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "would forget its change token") && !strings.Contains(r.stdout, "would forget no change token") ||
		!strings.Contains(r.stdout, "5 contacts") || !strings.Contains(r.stdout, "vdir "+b) {
		t.Fatalf("reset --dry-run: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 2 {
		t.Fatalf("after a dry-run reset the sync ran: %d %s", r.code, r.stderr)
	}
	if r := cb(t, nil, "--config", cfg, "reset", "p", "--side", "c"); r.code != 2 || !strings.Contains(r.stderr, `--side "c"`) {
		t.Fatalf("reset --side c: %d %s", r.code, r.stderr)
	}
	if r := cb(t, nil, "--config", cfg, "reset", "nope"); r.code != 2 || !strings.Contains(r.stderr, `no pair "nope"`) {
		t.Fatalf("reset nope: %d %s", r.code, r.stderr)
	}

	db := statetest.Open(t, dbPath, state.Options{})
	unlock, err := db.LockPair(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	r = cb(t, nil, "--config", cfg, "reset", "p", "--side", "b")
	unlock()
	db.Close()
	if r.code != 1 || !strings.Contains(r.stderr, "is being synced by process") {
		t.Fatalf("reset of a locked pair: %d %s", r.code, r.stderr)
	}

	r = cb(t, nil, "--config", cfg, "reset", "p", "--side", "b")
	if r.code != 0 || !strings.Contains(r.stdout, "5 contacts") {
		t.Fatalf("reset: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = cb(t, nil, "--config", cfg, "sync", "--json")
	m := summary(t, r)
	if r.code != 0 {
		t.Fatalf("sync after reset: %d %s %s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{"a", "b"} {
		for _, what := range []string{"created", "deleted", "updated"} {
			if n := sideCount(m, s, what); n != 0 {
				t.Errorf("sync after reset: %s %s %d, want 0 (%s)", s, what, n, r.stdout)
			}
		}
	}
	if n, m := len(vcfFiles(t, a)), len(vcfFiles(t, b2)); n != 5 || m != 5 {
		t.Fatalf("after reset: a %d b2 %d, want 5 each", n, m)
	}
	for name := range vcfFiles(t, b2) {
		if !strings.HasPrefix(name, "copy-") {
			t.Errorf("b2 has a new file %s", name)
		}
	}
	noChangeJSON(t, nil, cfg, "second sync after reset")
}
