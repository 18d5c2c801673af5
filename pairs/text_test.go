package pairs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/state"
)

// TestSummaryLineAndPlan: the per-pair line counts each side's writes,
// conflicts, skips and errors, says "would" on a dry run; the plan lists
// each action escaped, and nothing without a plan.
func TestSummaryLineAndPlan(t *testing.T) {
	r := &engine.Result{Pair: "work", DryRun: true, A: engine.SideCounts{Created: 1, Updated: 2, Deleted: 3}, B: engine.SideCounts{Created: 4},
		Conflicts: 5, Skipped: make([]engine.Skip, 6), Errors: []error{nil}, Duration: 1500 * time.Millisecond}
	if got, want := SummaryLine(r), "work (dry run: would): a +1 ~2 -3, b +4 ~0 -0, 5 conflicts, 6 skipped, 1 errors (1500 ms)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var b strings.Builder
	WritePlan(&b, "work", nil)
	WritePlan(&b, "work", &engine.Plan{Actions: []engine.Action{{Kind: engine.ActLink, UID: "u\x1b1", A: engine.Write{Op: engine.OpCreate}, Why: "new on b"}}})
	if got, want := b.String(), "work: plan (1 actions, nothing written):\n  create a, link in state      u\\x1b1: new on b\n"; got != want {
		t.Errorf("plan:\n%q\nwant\n%q", got, want)
	}
}

// TestPurgedAndResetLines: a purge says what each limit removed and what
// is kept; a reset what it forgot (or would), the target escaped.
func TestPurgedAndResetLines(t *testing.T) {
	for _, tc := range []struct {
		d    Purged
		want string
	}{
		{Purged{Pair: "p", Limits: state.TrashLimits{Retention: 30 * 24 * time.Hour, MaxBytes: 100e6},
			Result: state.PurgeResult{Entries: 5, Bytes: 1500, ByAge: 3, BySize: 2, Kept: 1, KeptBytes: 10}},
			"p: purged 5 entries (1.5 kB): 3 older than 30 days, 2 over the 100 MB cap; kept 1 (10 B)"},
		{Purged{Pair: "q", Result: state.PurgeResult{Entries: 1, Bytes: 7}}, "q: purged 1 entry (7 B); kept 0 (0 B)"},
	} {
		if got := PurgedLine(tc.d); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
	d := SideReset{Side: "b", SideReset: state.SideReset{Items: 4, Token: true, Identity: "dir\x1b/x"}}
	if got, want := ResetLine("p", d, true), "p side b: would forget its change token, target dir\\x1b/x and the ids and versions of 4 contacts (UIDs and bases kept)"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := ResetLine("p", SideReset{Side: "a"}, false); !strings.HasPrefix(got, "p side a: forgot no change token, no recorded target and") {
		t.Errorf("reset of nothing: %s", got)
	}
}

// TestWriteStatus: `status` is a table of the pairs aligned whatever the
// width of their names (how long ago each last ran, with the date and
// zone), then a table of the failed items; text from the sides escaped.
func TestWriteStatus(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	now := at.Add(90 * time.Second)
	long := Status{Pair: "a-pair-with-a-much-longer-name", A: "vdir /home/someone/contacts", B: "o365", Items: 1200, Conflicts: 1, LastRun: &at, LastOK: false,
		Failed: []FailedStatus{{Side: "b", ID: "id\x1b", UID: "u1", Reason: "HTTP 400", Attempts: 2, FirstFailed: at.Add(-2 * time.Hour), NextRetry: at.Add(time.Hour)}}}
	old := at.Add(-10 * 24 * time.Hour)
	sts := []Status{
		{Pair: "p", A: "vdir /x", B: "server", Items: 3, LastRun: &old, LastOK: true, Failed: []FailedStatus{}},
		long,
		{Pair: "new", A: "o365", B: "", Failed: []FailedStatus{}},
	}
	pairRows, failedRows := StatusRows(sts, now)
	wantPairs := [][]string{
		{"p", "vdir /x", "server", "3", "0", "0", old.Local().Format("2 Jan 2006 15:04 MST") + ", ok"},
		{"a-pair-with-a-much-longer-name", "vdir /home/someone/contacts", "o365", "1200", "1", "1", "2 min ago (2026-12-07 12:00 UTC), with errors"},
		{"new", "o365", "", "0", "0", "0", "never"},
	}
	wantFailed := [][]string{{"a-pair-with-a-much-longer-name", "b", "id\x1b (u1)", "HTTP 400", "2", "2 hours ago", "2026-12-07 13:00 UTC"}}
	if fmt.Sprint(pairRows) != fmt.Sprint(wantPairs) || fmt.Sprint(failedRows) != fmt.Sprint(wantFailed) {
		t.Fatalf("rows\n%q\n%q\nwant\n%q\n%q", pairRows, failedRows, wantPairs, wantFailed)
	}

	var b strings.Builder
	if err := WriteStatus(&b, sts, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 8 || lines[4] != "" || !strings.HasPrefix(lines[5], "Items that failed") {
		t.Fatalf("want 4 pair lines, a blank line, a heading and 2 failed lines:\n%s", b.String())
	}
	// Aligned: every column of the pairs' table starts where its header's does.
	for _, col := range []string{"A", "B", "CONTACTS", "LAST SYNC"} {
		x := strings.Index(lines[0], " "+col+" ") + 1
		if col == "LAST SYNC" {
			x = strings.Index(lines[0], col)
		}
		for _, l := range lines[1:4] {
			if len(l) <= x || l[x-1] != ' ' || l[x] == ' ' {
				t.Errorf("column %s (at %d) not aligned in %q\n%s", col, x, l, b.String())
			}
		}
	}
	for _, want := range []string{"\nnew  ", "  -  ", `id\x1b (u1)`, "FAILING SINCE"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("an escape reached the terminal:\n%s", b.String())
	}
}

// TestAccountColumns: the USER, TOKEN, LAST SYNC and FROM columns of
// `accounts`.
func TestAccountColumns(t *testing.T) {
	exp := time.Date(2026, 5, 6, 7, 8, 0, 0, time.Local)
	cases := []struct {
		in                    AccountInfo
		user, tok, last, from string
	}{
		{AccountInfo{Account: config.Account{User: "cfg"}, Configured: true}, "cfg", "not signed in", "never", "config"},
		{AccountInfo{Account: config.Account{Flow: auth.FlowClientSecret}, Configured: true}, "", "app-only, on demand", "never", "config"},
		{AccountInfo{Account: config.Account{User: "cfg"}, HasToken: true, Owner: "dora", Token: state.AccountToken{User: "ann", HasRefreshToken: true, Expiry: exp, LastSync: exp}},
			"ann", "valid until 2026-05-06 07:08 (refreshable)", "2026-05-06 07:08", "web page, user dora"},
		{AccountInfo{HasToken: true, Token: state.AccountToken{Expiry: exp}}, "", "until 2026-05-06 07:08", "never", "state only (not configured)"},
	}
	for i, tc := range cases {
		user, tok, last := tc.in.Use()
		if user != tc.user || tok != tc.tok || last != tc.last || tc.in.From() != tc.from {
			t.Errorf("%d: %q %q %q %q, want %q %q %q %q", i, user, tok, last, tc.in.From(), tc.user, tc.tok, tc.last, tc.from)
		}
	}
}
