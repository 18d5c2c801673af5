package pairs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/termout"
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

// TestListTables: each list's text is one line when it is empty, else a
// table whose cells from cards and servers are escaped ("-" when empty).
func TestListTables(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC)
	card := viewCard("Ann\x1b[2J", "", "")
	for _, tc := range []struct {
		name  string
		write func(*strings.Builder) error
		want  string
	}{
		{"no accounts", func(b *strings.Builder) error { return WriteAccounts(b, nil) }, "no accounts configured\n"},
		{"accounts", func(b *strings.Builder) error {
			return WriteAccounts(b, []AccountInfo{{Account: config.Account{Name: "work", User: "ann", Tenant: "t\tx", Flow: "device"}, Configured: true}})
		}, "ACCOUNT  USER  TENANT  FLOW    TOKEN          LAST SYNC  FROM\nwork     ann   t\\tx    device  not signed in  never      config\n"},
		{"folders", func(b *strings.Builder) error { return WriteFolders(b, []string{"Family"}) }, "Contacts (the default folder)\nFamily\n"},
		{"no conflicts", func(b *strings.Builder) error { return WriteConflicts(b, nil) }, "no open conflicts\n"},
		{"conflicts", func(b *strings.Builder) error {
			return WriteConflicts(b, []state.Conflict{{ID: 3, Pair: "p", Created: at, A: card}})
		}, "ID  PAIR  SINCE             CONTACT     UID\n3   p     2026-05-06 07:08  Ann\\x1b[2J  -\n"},
		{"empty trash", func(b *strings.Builder) error { return WriteTrash(b, nil) }, "the trash is empty\n"},
		{"trash", func(b *strings.Builder) error {
			return WriteTrash(b, []state.TrashEntry{
				{ID: 1, Pair: "p", Side: "a", Reason: "deleted", Created: at, Card: card},
				{ID: 2, Pair: "p", Side: "b", Reason: "overwritten", Created: at, RestoreRequested: true},
				{ID: 3, Pair: "p", Side: "b", Reason: "deleted", Created: at, Restored: at}})
		}, "ID  PAIR  SIDE  WHY          WHEN              CONTACT     STATE\n" +
			"1   p     a     deleted      2026-05-06 07:08  Ann\\x1b[2J  -\n" +
			"2   p     b     overwritten  2026-05-06 07:08  -           restore at next sync\n" +
			"3   p     b     deleted      2026-05-06 07:08  -           restored 2026-05-06 07:08\n"},
		{"no users", func(b *strings.Builder) error { return WriteUsers(b, nil) }, NoUsersHint + "\n"},
		{"users", func(b *strings.Builder) error {
			return WriteUsers(b, []UserView{{Name: "ann", Created: "2026-05-06T07:08:00Z", Books: []BookView{{Name: "contacts"}, {Name: "work"}}}})
		}, "USER  CREATED               ADDRESS BOOKS\nann   2026-05-06T07:08:00Z  contacts, work\n"},
		{"users with a read-only book", func(b *strings.Builder) error {
			return WriteUsers(b, []UserView{{Name: "ann", Created: "2026-05-06T07:08:00Z", Books: []BookView{{Name: "contacts"}, {Name: "directory", ReadOnly: true}}}})
		}, "USER  CREATED               ADDRESS BOOKS\nann   2026-05-06T07:08:00Z  contacts, directory (read-only)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tc.want)
			}
		})
	}
}

// TestRestoreLine: the contact's name and pair escaped, "?" for a card
// that does not parse.
func TestRestoreLine(t *testing.T) {
	for _, tc := range []struct {
		e    state.TrashEntry
		want string
	}{
		{state.TrashEntry{ID: 4, Pair: "p\x1b", Card: viewCard("Ann\x07", "", "")}, "trash entry 4 (Ann\\x07): the next `cardbridge sync p\\x1b` brings it back on both sides"},
		{state.TrashEntry{ID: 5, Pair: "p", Card: []byte("junk")}, "trash entry 5 (?): the next `cardbridge sync p` brings it back on both sides"},
	} {
		if got := RestoreLine(tc.e); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// TestWriteResult: a dry run prints its plan and summary; quiet keeps
// only the summary of a run with errors; skips and errors go to errs,
// escaped; the JSON line is SyncReport's.
func TestWriteResult(t *testing.T) {
	plan := &engine.Plan{Actions: []engine.Action{{Kind: engine.ActLink, UID: "u1", A: engine.Write{Op: engine.OpCreate}, Why: "new on b"}}}
	for _, tc := range []struct {
		name          string
		res           *engine.Result
		quiet         bool
		wantOut, errs string
	}{
		{"dry run", &engine.Result{Pair: "p", DryRun: true, Plan: plan},
			false, "p: plan (1 actions, nothing written):\n  create a, link in state      u1: new on b\np (dry run: would): a +0 ~0 -0, b +0 ~0 -0, 0 conflicts, 0 skipped, 0 errors (0 ms)\n", ""},
		{"quiet and ok", &engine.Result{Pair: "p"}, true, "", ""},
		{"quiet with errors", &engine.Result{Pair: "p", Errors: []error{errors.New("bad\x1b[2J")}, Skipped: []engine.Skip{{ID: "x.vcf", Reason: "too big"}}},
			true, "p: a +0 ~0 -0, b +0 ~0 -0, 0 conflicts, 1 skipped, 1 errors (0 ms)\n",
			"p: skipped " + termout.String(engine.Skip{ID: "x.vcf", Reason: "too big"}.String()) + "\np: error: bad\\x1b[2J\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs strings.Builder
			WriteResult(&out, &errs, tc.res, tc.quiet)
			if out.String() != tc.wantOut || errs.String() != tc.errs {
				t.Errorf("out\n%q\nwant\n%q\nerrs\n%q\nwant\n%q", out.String(), tc.wantOut, errs.String(), tc.errs)
			}
		})
	}
	var b strings.Builder
	res := &engine.Result{Pair: "p"}
	WriteSyncJSON(&b, res, time.Time{})
	line, _ := SyncReport(res, time.Time{})
	if b.String() != termout.JSON(line)+"\n" {
		t.Errorf("JSON line %q, want SyncReport's %q", b.String(), line)
	}
}

// TestWritePurgedAndReset: a purge's lines and their total (left out
// after a failure); a reset's lines and what the next sync does (not
// after a dry run or a failure); --side names a, b or both.
func TestWritePurgedAndReset(t *testing.T) {
	done := []Purged{{Pair: "p", Result: state.PurgeResult{Entries: 1, Bytes: 10}}, {Pair: "q", Result: state.PurgeResult{Entries: 2, Bytes: 20}}}
	var b strings.Builder
	WritePurged(&b, done, true)
	want := PurgedLine(done[0]) + "\n" + PurgedLine(done[1]) + "\ntrash: purged 3 entries (30 B) from 2 pairs\n"
	if b.String() != want {
		t.Errorf("purge:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	WritePurged(&b, done[:1], false)
	if b.String() != PurgedLine(done[0])+"\n" {
		t.Errorf("failed purge: %q", b.String())
	}
	sides := []SideReset{{Side: "a", SideReset: state.SideReset{Items: 2}}}
	for _, tc := range []struct {
		dryRun, whole bool
		hint          bool
	}{{false, true, true}, {true, true, false}, {false, false, false}} {
		b.Reset()
		WriteReset(&b, "p\x1b", sides, tc.dryRun, tc.whole)
		want := ResetLine("p\x1b", sides[0], tc.dryRun) + "\n"
		if tc.hint {
			want += "the next `cardbridge sync p\\x1b` links the side's contacts by UID\n"
		}
		if b.String() != want {
			t.Errorf("reset dry %v whole %v:\n%q\nwant\n%q", tc.dryRun, tc.whole, b.String(), want)
		}
	}
	for side, want := range map[string][]string{"": {"a", "b"}, "a": {"a"}, "b": {"b"}} {
		if got, err := ResetSides(side); err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("ResetSides(%q) = %v, %v", side, got, err)
		}
	}
	if _, err := ResetSides("c"); err == nil || err.Error() != `--side "c": want a or b` {
		t.Errorf("ResetSides(c): %v", err)
	}
}
