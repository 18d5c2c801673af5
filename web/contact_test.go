package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
)

// fieldsOf is the contact page's labels and values, in order.
func fieldsOf(t *testing.T, body string) [][2]string {
	t.Helper()
	dl := one(t, page(t, body), "the fields", byID("fields"))
	var out [][2]string
	for n := dl.FirstChild; n != nil; n = n.NextSibling {
		switch n.Data {
		case "dt":
			out = append(out, [2]string{text(n), ""})
		case "dd":
			out[len(out)-1][1] = text(n)
		}
	}
	return out
}

// TestContactPageFields: every field under a label in words, values
// unescaped, dates in words, Apple's custom labels used; no property
// name, REV, UID or escape sequence on the page; hostile data escaped.
func TestContactPageFields(t *testing.T) {
	e := newEnv(t)
	e.putCards("alice", map[string][]byte{
		"ann.vcf": vcf("UID:uid-ann-7f3a", "REV:2026-01-02T03:04:05Z", "PRODID:-//Apple Inc.//iOS 17//EN",
			`FN:Ann <script>alert(1)</script> Müller`, `N:Müller;Ann;Maria;Dr.;PhD`, "NICKNAME:Annie,AM",
			`ORG:Contoso\, Ltd;Sales;EMEA`, "TITLE:Head of Sales", "ROLE:Manager",
			"EMAIL;TYPE=INTERNET,WORK,pref:ann@contoso.example", "EMAIL;TYPE=HOME:ann@home.example",
			"TEL;TYPE=CELL:+49 170 1234567", "TEL;TYPE=WORK,VOICE:+49 30 1234", "TEL;TYPE=WORK,FAX:+49 30 1235",
			"item1.TEL:+1 555 0100", "item1.X-ABLABEL:_$!<Assistant>!$_", "item2.URL:https://contoso.example/ann", "item2.X-ABLABEL:Blog",
			`ADR;TYPE=WORK:;Floor 3;Main Street 1\, Building B;Berlin;BE;10115;Germany`,
			"BDAY:1980-04-05", "ANNIVERSARY:--0612", "X-SPOUSE:Bert",
			"CATEGORIES:Customers,VIP", `NOTE:Met at the fair\nlikes tea\, not coffee`,
			"URL:javascript:alert(3)", "X-MS-FILE-AS:Müller\\, Ann", "X-CUSTOM-THING:secret program data"),
	})
	b := e.browser()
	b.signIn("alice")
	st, _, body := b.get("/ui/books/contacts/cards/ann.vcf")
	if st != http.StatusOK {
		t.Fatalf("contact page: %d\n%s", st, body)
	}
	want := [][2]string{
		{"Family name", "Müller"}, {"Given name", "Ann"}, {"Middle name", "Maria"}, {"Title before the name", "Dr."}, {"Title after the name", "PhD"},
		{"Nickname", "Annie, AM"},
		{"Organisation", "Contoso, Ltd"}, {"Department", "Sales, EMEA"},
		{"Job title", "Head of Sales"}, {"Role", "Manager"},
		{"Work e-mail", "ann@contoso.example"}, {"Home e-mail", "ann@home.example"},
		{"Mobile phone", "+49 170 1234567"}, {"Work phone", "+49 30 1234"}, {"Work fax", "+49 30 1235"}, {"Assistant", "+1 555 0100"},
		{"Work address", "Floor 3 Main Street 1, Building B 10115 Berlin BE Germany"},
		{"Blog", "https://contoso.example/ann"}, {"Website", "javascript:alert(3)"},
		{"Birthday", "5 April 1980"}, {"Anniversary", "12 June"},
		{"Partner", "Bert"},
		{"Groups", "Customers, VIP"},
		{"Note", "Met at the fair likes tea, not coffee"},
	}
	if got := fieldsOf(t, body); !slices.Equal(got, want) {
		t.Errorf("fields\n%q\nwant\n%q", got, want)
	}
	doc := page(t, body)
	if got := text(one(t, doc, "name", byID("contact-name"))); got != "Ann <script>alert(1)</script> Müller" {
		t.Errorf("name %q", got)
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, `href="javascript:`) {
		t.Errorf("hostile data unescaped or linked:\n%s", body)
	}
	for _, hidden := range []string{"uid-ann-7f3a", "2026-01-02T03:04:05Z", "Apple Inc", `\n`, `\,`, "X-AB", "TEL", "EMAIL", "BDAY", "ADR", "REV", "UID", "secret program data", "_$!<"} {
		if strings.Contains(text(one(t, doc, "main", byTag("main"))), hidden) {
			t.Errorf("the page shows %q", hidden)
		}
	}
	if got := text(one(t, doc, "other fields", byID("other-fields"))); !strings.HasPrefix(got, "2 more fields") {
		t.Errorf("other fields line %q", got)
	}
	links := map[string]bool{}
	for _, a := range find(doc, byTag("a")) {
		links[attr(a, "href")] = true
	}
	for _, l := range []string{"mailto:ann@contoso.example", "tel:+491701234567", "https://contoso.example/ann", "/ui/books/contacts/"} {
		if !links[l] {
			t.Errorf("no link %s", l)
		}
	}
	if st, _, _ := b.get("/ui/books/contacts/cards/nosuch.vcf"); st != http.StatusNotFound {
		t.Errorf("missing card: %d", st)
	}
}

// TestContactPageOriginAndHistory: the page names the pair that syncs the
// card and its other side, says when the card changed here since, and
// lists the card's versions in the trash (by UID) with Restore, which is
// the trash's restore.
func TestContactPageOriginAndHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, etags := e.putCards("alice", map[string][]byte{
		"ann.vcf":   vcf("UID:ann", "FN:Ann"),
		"local.vcf": vcf("UID:local", "FN:Local"),
	})
	it := &state.Item{Pair: "alice-p", UID: "ann", AID: "ann.vcf", AVersion: etags["ann.vcf"], BID: "ann.vcf", BVersion: "v1", BaseHash: "h"}
	if err := e.db.PutItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	old := &state.TrashEntry{Pair: "alice-p", Side: "b", UID: "ann", SideID: "ann.vcf", Card: vcf("UID:ann", "FN:Ann Old", "TITLE:Intern"), Reason: "overwritten"}
	other := &state.TrashEntry{Pair: "bob-p", Side: "b", UID: "ann", SideID: "x.vcf", Card: vcf("UID:ann", "FN:Not alice's"), Reason: "deleted"}
	for _, te := range []*state.TrashEntry{old, other} {
		if err := e.db.AddTrash(ctx, te); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browser()
	csrf := b.signIn("alice")
	_, _, body := b.get("/ui/books/contacts/cards/ann.vcf")
	doc := page(t, body)
	origin := text(one(t, doc, "origin", byClass("origin")))
	if !strings.Contains(origin, "Synced with folder a by pair alice-p") || !strings.Contains(origin, "as that sync left it") {
		t.Errorf("origin %q", origin)
	}
	versions := find(doc, byClass("version"))
	if len(versions) != 1 || attr(versions[0], "data-id") != idText(old.ID) {
		t.Fatalf("history: %d versions\n%s", len(versions), body)
	}
	if got := text(versions[0]); !strings.Contains(got, "Ann Old") || !strings.Contains(got, "replaced by a newer version") || !strings.Contains(got, "(1 field)") ||
		!strings.Contains(got, "folder a") || strings.Contains(got, "/a") {
		t.Errorf("version %q", got)
	}
	form := one(t, versions[0], "restore form", byTag("form"))
	if attr(form, "action") != "/ui/trash/"+idText(old.ID)+"/restore" {
		t.Errorf("restore action %q", attr(form, "action"))
	}
	if st, loc, _ := b.post(attr(form, "action"), csrf, nil); st != http.StatusSeeOther || !strings.Contains(loc, "restored=") {
		t.Fatalf("restore: %d %s", st, loc)
	}
	_, _, body = b.get("/ui/books/contacts/cards/ann.vcf")
	if got := text(one(t, page(t, body), "version", byClass("version"))); !strings.Contains(got, "restore at the next sync") {
		t.Errorf("after restore: %q", got)
	}

	// Changed here since the sync: the etag moved on.
	if _, _, err := e.db.PutCard(ctx, mustBook(t, e, "alice").ID, "ann.vcf", "ann", vcf("UID:ann", "FN:Ann New"), state.Precondition{}); err != nil {
		t.Fatal(err)
	}
	_, _, body = b.get("/ui/books/contacts/cards/ann.vcf")
	if origin := text(one(t, page(t, body), "origin", byClass("origin"))); !strings.Contains(origin, "Changed here since") {
		t.Errorf("origin after a local change %q", origin)
	}
	_, _, body = b.get("/ui/books/contacts/cards/local.vcf")
	doc = page(t, body)
	if origin := text(one(t, doc, "origin", byClass("origin"))); !strings.Contains(origin, "No pair syncs it") {
		t.Errorf("local card origin %q", origin)
	}
	if len(find(doc, byID("no-history"))) != 1 {
		t.Errorf("local card has history")
	}
}

func mustBook(t *testing.T, e *env, user string) state.AddressBook {
	t.Helper()
	b, err := e.db.AddressBook(context.Background(), user, state.DefaultAddressBook)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
