package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/state"
	"golang.org/x/net/html"
)

func TestEveryText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "", time.Minute: "every minute", 15 * time.Minute: "every 15 minutes", time.Hour: "every hour",
		2 * time.Hour: "every 2 hours", 90 * time.Second: "every 90 seconds", 24 * time.Hour: "every day", 1500 * time.Millisecond: "every 1.5s",
	} {
		if got := everyText(d); got != want {
			t.Errorf("everyText(%v) = %q, want %q", d, got, want)
		}
	}
}

// pairLineOf is the dashboard's line of pair, and whether the page
// reloads itself.
func pairLineOf(t *testing.T, b *browser, pair string) (string, string, bool) {
	t.Helper()
	st, _, body := b.get("/ui/")
	if st != http.StatusOK {
		t.Fatalf("dashboard %d", st)
	}
	doc := page(t, body)
	row := one(t, doc, "pair "+pair, func(n *html.Node) bool { return attr(n, "data-pair") == pair })
	refresh := find(doc, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "http-equiv") == "refresh" })
	if len(refresh) > 0 && attr(refresh[0], "content") != "3; url=/ui/" {
		t.Errorf("refresh %q", attr(refresh[0], "content"))
	}
	return text(one(t, row, "line", byClass("pair-line"))), text(row), len(refresh) > 0
}

// TestDashboardPairLine: each pair's line names its sides in words, says
// when it synced (relative), how many contacts it syncs and its problems
// or "no problems"; a running sync shows its progress and the page
// reloads itself (meta refresh, no JavaScript) only while one runs.
func TestDashboardPairLine(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.cfg.Pairs["alice-p"]
	p.Every = 15 * time.Minute
	e.cfg.Pairs["alice-p"] = p
	b := e.browser()
	b.signIn("alice")
	line, row, refresh := pairLineOf(t, b, "alice-p")
	if line != "Contacts ⇄ folder a: not synced yet, 0 contacts, no problems" || refresh {
		t.Errorf("before any run: %q, refresh %v", line, refresh)
	}
	if !strings.Contains(row, "every 15 minutes") {
		t.Errorf("row %q has no 'every 15 minutes'", row)
	}
	for i := range 3 {
		if err := e.db.PutItem(ctx, &state.Item{Pair: "alice-p", UID: "u" + idText(int64(i)), AID: "a" + idText(int64(i)), BID: "b" + idText(int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	now := e.clock.Now()
	run := &state.Run{Pair: "alice-p", Started: now.Add(-3 * time.Minute), Finished: now.Add(-2 * time.Minute), OK: true,
		Summary: []byte(`{"a":{"created":3},"b":{},"conflicts":0,"skipped":0,"errors":[]}`)}
	if err := e.db.AddRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if line, _, _ := pairLineOf(t, b, "alice-p"); line != "Contacts ⇄ folder a: synced 2 min ago, 3 contacts, no problems" {
		t.Errorf("after a run: %q", line)
	}
	_, _, body := b.get("/ui/")
	if got := text(one(t, page(t, body), "imported", byClass("imported"))); got != "First sync 2 min ago: 3 contacts imported from folder a into Contacts" {
		t.Errorf("what the first sync imported: %q", got)
	}
	failed := &state.Run{Pair: "alice-p", Started: now.Add(-70 * time.Second), Finished: now.Add(-65 * time.Second), OK: false,
		Summary: []byte(`{"a":{},"b":{},"skipped":2,"errors":["x: boom","y: bang"]}`)}
	if err := e.db.AddRun(ctx, failed); err != nil {
		t.Fatal(err)
	}
	if line, _, _ := pairLineOf(t, b, "alice-p"); line != "Contacts ⇄ folder a: last sync failed 1 min ago, 3 contacts, 2 errors, 2 skipped" {
		t.Errorf("after a failed run: %q", line)
	}
	e.sched.mu.Lock()
	e.sched.status = map[string]daemon.PairStatus{"alice-p": {Pair: "alice-p", Running: true, Done: 120, Total: 300}}
	e.sched.mu.Unlock()
	line, _, refresh = pairLineOf(t, b, "alice-p")
	if line != "Contacts ⇄ folder a: syncing now, 120 of 300, 3 contacts, 2 errors, 2 skipped" || !refresh {
		t.Errorf("running: %q, refresh %v", line, refresh)
	}
	e.sched.mu.Lock()
	e.sched.status = nil
	e.sched.mu.Unlock()
	if _, _, refresh := pairLineOf(t, b, "alice-p"); refresh {
		t.Error("the page still reloads itself once the sync ended")
	}
}

func TestImportedText(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	run := func(summary string, ago time.Duration) state.Run {
		return state.Run{Finished: now.Add(-ago), OK: true, Summary: []byte(summary)}
	}
	for _, tc := range []struct {
		run  state.Run
		want string
	}{
		{run(`{"a":{"created":0},"b":{"created":300}}`, 2*time.Minute), "First sync 2 min ago: 300 contacts imported from Office 365 into Contacts"},
		{run(`{"a":{"created":1},"b":{}}`, time.Hour), "First sync 1 hour ago: 1 contact imported from Contacts into Office 365"},
		{run(`{"a":{"created":2},"b":{"created":300}}`, time.Minute), "First sync 1 min ago: 300 contacts imported from Office 365 into Contacts (and 2 from Contacts into Office 365)"},
		{run(`{"a":{},"b":{}}`, time.Minute), ""},
		{run(`{"a":{},"b":{"created":3}}`, 25*time.Hour), ""},
		{state.Run{}, ""},
	} {
		if got := importedText(tc.run, "Office 365", "Contacts", now); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.run.Summary, got, tc.want)
		}
	}
}

// TestSideNames: the pair line names the sides by fields.SideNames, the
// rule of the conflicts page and `conflicts show`, with the books'
// display names.
func TestSideNames(t *testing.T) {
	books := map[string]state.AddressBook{"carol/work": {Name: "work", DisplayName: "Office 365"}, "carol/phone": {Name: "phone", DisplayName: "Phone book"}}
	o365 := config.Side{Type: config.SideO365, Account: "web-carol"}
	for _, tc := range []struct {
		a, b         config.Side
		wantA, wantB string
	}{
		{o365, config.Side{Type: config.SideServer, User: "carol", Addressbook: "phone"}, "Office 365", "Phone book"},
		{o365, config.Side{Type: config.SideServer, User: "carol", Addressbook: "work"}, "Office 365", "Office 365 book"},
		{config.Side{Type: config.SideServer, User: "carol", Addressbook: "other"}, config.Side{Type: config.SideVdir, Path: "/srv/cards"}, "address book other", "folder cards"},
		{config.Side{Type: config.SideVdir, Path: "/a/cards"}, config.Side{Type: config.SideVdir, Path: "/b/cards"}, "folder cards (A)", "folder cards (B)"},
		{o365, config.Side{Type: config.SideCardDAV, URL: "https://dav.example.com/u/book/"}, "Office 365", "CardDAV dav.example.com"},
	} {
		a, b := sideNames(config.Pair{A: tc.a, B: tc.b}, books)
		if a != tc.wantA || b != tc.wantB {
			t.Errorf("%v ⇄ %v: %q ⇄ %q, want %q ⇄ %q", tc.a, tc.b, a, b, tc.wantA, tc.wantB)
		}
	}
}
