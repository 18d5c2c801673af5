package web

import (
	"context"
	"strings"
	"testing"
	"time"

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
