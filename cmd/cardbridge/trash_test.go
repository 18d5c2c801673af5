package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"

	"github.com/cardbridge/cardbridge/testutil"
)

// seedTrash adds to the state file at path one entry per age (how long
// ago it was created) for pair, each card of size bytes, and returns
// their ids.
func seedTrash(t *testing.T, path, pair string, size int, ages ...time.Duration) []int64 {
	t.Helper()
	ctx := context.Background()
	db := statetest.Open(t, path, state.Options{})
	defer db.Close()
	var ids []int64
	for i, age := range ages {
		card := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u%d\r\nFN:Seeded %d\r\nNOTE:", i, i)
		card += strings.Repeat("x", max(0, size-len(card)-len("\r\nEND:VCARD\r\n"))) + "\r\nEND:VCARD\r\n"
		e := state.TrashEntry{Pair: pair, Side: "b", UID: fmt.Sprint("u", i), SideID: fmt.Sprintf("u%d.vcf", i),
			Card: []byte(card), Reason: "overwritten", Created: time.Now().Add(-age)}
		if err := db.AddTrash(ctx, &e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	return ids
}

// trashLeft lists the ids left in the trash of the state file at path.
func trashLeft(t *testing.T, path string) []int64 {
	t.Helper()
	db := statetest.Open(t, path, state.Options{ReadOnly: true})
	defer db.Close()
	es, err := db.ListTrash(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

const day = 24 * time.Hour

// `trash purge` removes what is past the retention (or --older-than) and
// beyond the size cap, says how much, and a restore of a purged entry
// says it is gone, when and why.
func TestTrashPurgeCLI(t *testing.T) {
	cfg, _, _, db := workspace(t, "    trash_max_size: 800B\n")
	// p: two entries 40 days old, three of 1 and 2 days (300 bytes each:
	// the 800 B cap keeps two), one old one whose restore is pending.
	ids := seedTrash(t, db, "p", 300, 40*day, 41*day, 2*day, 1*day, 1*day+time.Hour, 50*day)
	r := cb(t, nil, "--config", cfg, "trash", "restore", fmt.Sprint(ids[5]))
	if r.code != 0 {
		t.Fatalf("restore: %d %s", r.code, r.stderr)
	}
	// q (no longer configured): the top-level defaults, 30 days.
	qids := seedTrash(t, db, "q", 100, 31*day, time.Hour)

	for _, bad := range []struct{ args, want string }{
		{"--older-than forever", `--older-than: "forever" is not a retention`},
		{"--older-than 0", "--older-than 0: must be a positive age"},
		{"--pair nope", "--pair nope: no such pair in the configuration nor in the trash"},
	} {
		r := cb(t, nil, append([]string{"--config", cfg, "trash", "purge"}, strings.Fields(bad.args)...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("trash purge %s: exit %d, stderr %q; want 2 and %q", bad.args, r.code, r.stderr, bad.want)
		}
	}
	if got := trashLeft(t, db); len(got) != 8 {
		t.Fatalf("a refused purge changed the trash: %v", got)
	}

	r = cb(t, nil, "--config", cfg, "trash", "purge")
	if r.code != 0 {
		t.Fatalf("trash purge: %d %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"p: purged 3 entries (900 B): 2 older than 30 days, 1 over the 800 B cap; kept 3 (900 B)",
		"q: purged 1 entry (100 B): 1 older than 30 days; kept 1 (100 B)",
		"trash: purged 4 entries (1 kB) from 2 pairs",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("trash purge printed:\n%s\nwant a line %q", r.stdout, want)
		}
	}
	want := fmt.Sprint([]int64{qids[1], ids[3], ids[4], ids[5]}) // newest first; the pending restore stays
	if got := trashLeft(t, db); fmt.Sprint(got) != want {
		t.Errorf("left %v, want %s", got, want)
	}

	// Restoring a purged entry names it, the date and why.
	r = cb(t, nil, "--config", cfg, "trash", "restore", fmt.Sprint(ids[0]))
	date := time.Now().UTC().Format("2006-01-02")
	re := regexp.MustCompile(fmt.Sprintf(`trash entry %d \(pair p\) was purged on %s \d\d:\d\d UTC: it was older than 30 days \(by .cardbridge trash purge.\); it can no longer be restored`, ids[0], date))
	if r.code != exitUsage || !re.MatchString(r.stderr) || strings.Contains(r.stderr, "no trash entry") {
		t.Errorf("restore of a purged entry: exit %d, stderr %q; want 2 and %s", r.code, r.stderr, re)
	}
	r = cb(t, nil, "--config", cfg, "trash", "restore", fmt.Sprint(ids[2]))
	if r.code != exitUsage || !strings.Contains(r.stderr, "over its cap of 800 B") {
		t.Errorf("restore of an entry over the cap: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := cb(t, nil, "--config", cfg, "trash", "restore", "9999"); r.code != exitUsage || !strings.Contains(r.stderr, "no trash entry 9999") {
		t.Errorf("restore of an id never given: exit %d, stderr %q", r.code, r.stderr)
	}

	// --older-than and --pair, then --vacuum.
	r = cb(t, nil, "--config", cfg, "trash", "purge", "--older-than", "20h", "--pair", "p", "--vacuum")
	if r.code != 0 || !strings.Contains(r.stdout, "p: purged 2 entries (600 B): 2 older than 20h0m0s; kept 1 (300 B)") ||
		strings.Contains(r.stdout, "q:") || !regexp.MustCompile(`state file .*state\.db: [\d.]+ [kM]?B -> [\d.]+ [kM]?B`).MatchString(r.stdout) {
		t.Errorf("trash purge --older-than 20h --pair p --vacuum: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := trashLeft(t, db); len(got) != 2 {
		t.Errorf("left %v, want q's newest and p's pending restore", got)
	}
}

// `sync` purges the pair's trash at the end of the run (by default what
// is older than 30 days).
func TestSyncPurgesTrash(t *testing.T) {
	cfg, a, _, db := workspace(t, "")
	if err := os.WriteFile(filepath.Join(a, "x.vcf"), []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:X\r\nEND:VCARD\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ids := seedTrash(t, db, "p", 200, 31*day, 29*day)
	if r := cb(t, nil, "--config", cfg, "sync"); r.code != 0 {
		t.Fatalf("sync: %d %s", r.code, r.stderr)
	}
	if got := trashLeft(t, db); fmt.Sprint(got) != fmt.Sprint(ids[1:]) {
		t.Errorf("after sync the trash holds %v, want %v (the 31-day-old entry purged)", got, ids[1:])
	}
	// A dry run purges nothing.
	seedTrash(t, db, "p", 200, 32*day)
	if r := cb(t, nil, "--config", cfg, "sync", "--dry-run"); r.code != 0 {
		t.Fatalf("sync --dry-run: %d %s", r.code, r.stderr)
	}
	if got := trashLeft(t, db); len(got) != 2 {
		t.Errorf("a dry run purged the trash: %v", got)
	}
}

// `serve` purges the trash when it starts (and then daily: see
// daemon.TestHousekeepingDaily), also of pairs that never run there.
func TestServePurgesTrash(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	db := filepath.Join(dir, "state.db")
	os.MkdirAll(filepath.Join(dir, "a"), 0o700)
	os.MkdirAll(filepath.Join(dir, "b"), 0o700)
	os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s\nserver:\n  listen: 127.0.0.1:%d\npairs:\n  p:\n    a: {type: vdir, path: %s/a}\n    b: {type: vdir, path: %s/b}\n    trash_retention: 5d\n",
		db, port, dir, dir)), 0o600)
	ids := seedTrash(t, db, "p", 200, 6*day, 4*day)
	gone := seedTrash(t, db, "web-removed", 200, 31*day, 29*day) // not configured: 30 days
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	want := fmt.Sprint([]int64{ids[1], gone[1]})
	var got []int64
	if !testutil.Eventually(10*time.Second, func() bool {
		got = trashLeft(t, db)
		return len(got) == 2
	}) {
		t.Fatalf("serve left the trash %v, want %s; stderr:\n%s", got, want, stderr)
	}
	if !testutil.Eventually(5*time.Second, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		t.Fatalf("serve is not up; stderr:\n%s", stderr)
	}
	if code := stopServe(t, cmd, stderr); code != 0 {
		t.Errorf("serve exited %d:\n%s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "trash purged") {
		t.Errorf("serve did not log the purge:\n%s", stderr)
	}
}
