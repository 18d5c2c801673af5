package web

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
)

// TestPagesNameSidesInWords: the dashboard's last-run counts, the trash
// and a contact's history name a side as the pair line does ("Contacts",
// "folder a"), never "A (address book alice/contacts)" or a bare "A"; a
// count of one reads "1 conflict".
func TestPagesNameSidesInWords(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.browser()
	b.signIn("alice")
	now := e.clock.Now()
	run := &state.Run{Pair: "alice-p", Started: now.Add(-3 * time.Minute), Finished: now.Add(-2 * time.Minute), OK: true,
		Summary: []byte(`{"a":{"created":3},"b":{"updated":1},"conflicts":1,"skipped":0,"errors":[]}`)}
	if err := e.db.AddRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	_, _, dash := b.get("/ui/")
	if want := "Contacts: 3 created, 0 updated, 0 deleted; folder a: 0 created, 1 updated, 0 deleted; 1 conflict"; !strings.Contains(text(page(t, dash)), want) {
		t.Errorf("dashboard lacks %q:\n%s", want, dash)
	}
	for _, side := range []string{"a", "b"} {
		te := &state.TrashEntry{Pair: "alice-p", Side: side, UID: "t-" + side, Card: vcf("UID:t-"+side, "FN:Gone from "+side), Reason: "deleted"}
		if err := e.db.AddTrash(ctx, te); err != nil {
			t.Fatal(err)
		}
	}
	_, _, trash := b.get("/ui/trash")
	got := map[string]string{}
	for _, row := range find(page(t, trash), byClass("entry")) {
		cells := find(row, byTag("td"))
		got[text(cells[0])] = text(cells[2])
	}
	if got["Gone from a"] != "Contacts" || got["Gone from b"] != "folder a" {
		t.Errorf("trash's Removed from column: %q, want Contacts and folder a", got)
	}
}

// TestEmptyStatesSayWhatToDo: an empty trash, no conflicts, an empty
// book and a search without results say what that means and what to do
// next (with links), not only "empty".
func TestEmptyStatesSayWhatToDo(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	for _, tc := range []struct {
		path, id string
		want     []string
	}{
		{"/ui/trash", "empty-trash", []string{"The trash is empty: nothing a sync deleted or overwrote is kept yet."}},
		{"/ui/conflicts", "no-conflicts", []string{"No open conflicts: nothing to decide.", "ask me on the Conflicts page"}},
		{"/ui/books/contacts/", "no-contacts", []string{"This address book is empty: add contacts from a phone or mail client", "Set up a phone"}},
		{"/ui/books/contacts/?q=nobody", "no-contacts", []string{"No contact matches “nobody”: try part of a name", "show all"}},
	} {
		_, _, body := b.get(tc.path)
		el := one(t, page(t, body), tc.id, byID(tc.id))
		for _, w := range tc.want {
			if !strings.Contains(text(el), w) {
				t.Errorf("%s: %q lacks %q", tc.path, text(el), w)
			}
		}
		if tc.id == "no-contacts" && len(find(el, byTag("a"))) == 0 {
			t.Errorf("%s: the empty state links nowhere", tc.path)
		}
	}
	_, _, body := b.get("/ui/books/contacts/")
	if c := text(one(t, page(t, body), "count", byID("book-count"))); c != "0 contacts" {
		t.Errorf("book count %q", c)
	}
	e.putCards("alice", map[string][]byte{"ann.vcf": vcf("UID:ann", "FN:Ann")})
	_, _, body = b.get("/ui/books/contacts/")
	if c := text(one(t, page(t, body), "count", byID("book-count"))); c != "1 contact" {
		t.Errorf("book count %q, want 1 contact", c)
	}
}

// TestSideDesc: the detail line under a pair says which account and
// folder, book or path a side is, without nested brackets.
func TestSideDesc(t *testing.T) {
	for _, tc := range []struct {
		s    config.Side
		want string
	}{
		{config.Side{Type: config.SideO365, Account: "office365"}, "Office 365 account office365, default folder"},
		{config.Side{Type: config.SideO365, Account: "work", Folder: "Team"}, "Office 365 account work, folder Team"},
		{config.Side{Type: config.SideServer, User: "demo", Addressbook: "contacts"}, "address book demo/contacts"},
		{config.Side{Type: config.SideVdir, Path: "/srv/cards"}, "folder /srv/cards"},
	} {
		if got := sideDesc(tc.s); got != tc.want {
			t.Errorf("sideDesc(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// TestContactsPastTheEndAndOddSearch: a page number past the end of the
// list links back to the first page instead of saying that nothing
// matches; a search with control characters or bytes that are not UTF-8
// searches and shows the rest of its text.
func TestContactsPastTheEndAndOddSearch(t *testing.T) {
	e := newEnv(t)
	e.putCards("alice", map[string][]byte{"ann.vcf": vcf("UID:ann", "FN:Ann Lee")})
	b := e.browser()
	b.signIn("alice")
	_, _, body := b.get("/ui/books/contacts/?q=ann&page=99")
	el := one(t, page(t, body), "empty", byID("no-contacts"))
	if got := text(el); !strings.Contains(got, "past the end of the list") || strings.Contains(got, "No contact matches") {
		t.Errorf("page 99: %q", got)
	}
	if a := one(t, el, "link", byTag("a")); attr(a, "href") != "/ui/books/contacts/?q=ann" {
		t.Errorf("page 99 links to %q", attr(a, "href"))
	}
	_, _, body = b.get("/ui/books/contacts/?q=%00A%ffnn%1b")
	if !utf8.ValidString(body) || strings.ContainsAny(body, "\x00\x1b") {
		t.Errorf("the page echoes bytes it should not:\n%q", body)
	}
	if got := contactNames(t, body); len(got) != 1 || got[0] != "Ann Lee" {
		t.Errorf("search of A\\xffnn: %q, want Ann Lee", got)
	}
	if box := one(t, page(t, body), "search box", byID("q")); attr(box, "value") != "Ann" {
		t.Errorf("the box holds %q", attr(box, "value"))
	}
	for q, want := range map[string]string{" \x00a\x01b\xff ": "ab", strings.Repeat("é", 200): strings.Repeat("é", 100)} {
		if got := searchText(q); got != want {
			t.Errorf("searchText(%q) = %q, want %q", q, got, want)
		}
	}
}

// TestChoicesFitAPhone: the options of the conflict choice on the
// connected page and the dashboard are short enough for a 390 px screen
// to show them whole (a select cuts what does not fit: "…wins the clas").
func TestChoicesFitAPhone(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("alice")
	_, _, connected := b.get(e.consent(e.connect(b, csrf), simUser, simPass))
	_, _, dash := b.get("/ui/")
	for name, body := range map[string]string{"connected": connected, "dashboard": dash} {
		opts := find(one(t, page(t, body), name+" conflict choice", byID("conflict")), byTag("option"))
		if len(opts) != 2 {
			t.Fatalf("%s: %d options", name, len(opts))
		}
		for _, o := range opts {
			if n := utf8.RuneCountInString(text(o)); n > 32 {
				t.Errorf("%s: option %q is %d characters, more than a phone shows (32)", name, text(o), n)
			}
		}
	}
}
