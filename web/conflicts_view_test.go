package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
)

// TestConflictInWords: the conflicts page shows a conflict field by field
// in words (Job title, Mobile phone, Note) with the base's, A's, B's and
// the merge's values, A and B named by what they are (the book's display
// name, the folder's name); no REV, UID, property names or vCard escapes;
// a hostile value is escaped; "Keep merged" then stores what the page
// previewed.
func TestConflictInWords(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	book, err := e.db.AddressBook(ctx, "alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.UpdateAddressBook(ctx, book.ID, "iPhone book", ""); err != nil {
		t.Fatal(err)
	}
	card := func(rev, title, tel, note string) []byte {
		s := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:uid-secret-42\r\nFN:Ann Lee\r\nTITLE:" + title + "\r\nTEL;TYPE=CELL:" + tel + "\r\nNOTE:" + note + "\r\n"
		if rev != "" {
			s += "REV:" + rev + "\r\n"
		}
		return []byte(s + "END:VCARD\r\n")
	}
	c := &state.Conflict{Pair: "alice-p", UID: "uid-secret-42",
		Base: card("", "Clerk", "+1 555 0100", "met at the fair"),
		A:    card("20260101T000000Z", "Manager", "+1 555 0100", `<script>alert(1)</script>\, first\nsecond`),
		B:    card("20260102T000000Z", "Director", "+1 555 0199", "met at the fair")}
	if err := e.db.UpsertConflict(ctx, c); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	csrf := b.signIn("alice")
	st, _, page := b.get("/ui/conflicts")
	if st != http.StatusOK {
		t.Fatalf("conflicts page: %d\n%s", st, page)
	}
	// One row per changed field: label, before, A, B, merged.
	rowRE := regexp.MustCompile(`(?s)<tr class="field"><th scope="row">([^<]*)</th><td class="v-base"[^>]*>(.*?)</td><td class="v-a"[^>]*>(.*?)</td><td class="v-b"[^>]*>(.*?)</td><td class="v-merged"[^>]*>(.*?)</td></tr>`)
	var rows []string
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		rows = append(rows, strings.Join(m[1:], " | "))
	}
	want := []string{
		"Job title | Clerk | Manager | Director | Director",
		"Mobile phone | &#43;1 555 0100 | &#43;1 555 0100 | &#43;1 555 0199 | &#43;1 555 0199", // html/template writes + as &#43;
		"Note | met at the fair | &lt;script&gt;alert(1)&lt;/script&gt;, first\nsecond | met at the fair | &lt;script&gt;alert(1)&lt;/script&gt;, first\nsecond",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows\n%s\nwant\n%s\npage:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"), page)
	}
	for _, s := range []string{`<th scope="col" class="side-a">iPhone book</th>`, `<th scope="col" class="side-b">folder a</th>`,
		"Keep iPhone book's version", "Keep folder a's version", "Changed differently on both sides: <b>Job title</b>",
		"takes folder a's value there", "1 field the same on both sides", "<b>Name</b>: Ann Lee"} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	// The dashboard's pair line names the sides the same way.
	if line, _, _ := pairLineOf(t, b, "alice-p"); !strings.HasPrefix(line, "iPhone book ⇄ folder a: ") {
		t.Errorf("pair line %q does not name the sides as the conflicts page does", line)
	}
	for _, s := range []string{"uid-secret-42", "REV", "20260102", "TITLE", "TEL", "<script>", `\n`, `\,`, "BEGIN:VCARD"} {
		if strings.Contains(page, s) {
			t.Errorf("page shows %q", s)
		}
	}
	if st, loc, _ := b.post("/ui/conflicts/"+idText(c.ID)+"/resolve", csrf, url.Values{"keep": {"merged"}}); st != http.StatusSeeOther || !strings.Contains(loc, "keep=merged") {
		t.Fatalf("keep merged: %d %s", st, loc)
	}
	got, err := e.db.GetConflict(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"TITLE:Director", "TEL;TYPE=CELL:+1 555 0199", `NOTE:<script>alert(1)</script>\, first\nsecond`} {
		if !strings.Contains(string(got.Merged), s) {
			t.Errorf("merged lacks %q:\n%s", s, got.Merged)
		}
	}
}
