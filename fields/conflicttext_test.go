package fields_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine/resolve"
	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/state"
)

// TestConflictText: conflicts show's text names the sides, lists each
// field that differs in words with every version and the merge, the
// fields both agree on, whose value the merge takes in a clash, and
// prints a multi-line note as lines and a hostile value escaped; no UID,
// REV or vCard escape.
func TestConflictText(t *testing.T) {
	card := func(rev, title, note string) []byte {
		return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:uid-77\r\nFN:Ann Lee\r\nTITLE:" + title + "\r\nEMAIL;TYPE=WORK:ann@example.com\r\nNOTE:" + note + "\r\nREV:" + rev + "\r\nEND:VCARD\r\n")
	}
	c := state.Conflict{ID: 5, Pair: "work", UID: "uid-77", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Base: card("20260101T000000Z", "Clerk", "n"),
		A:    card("20260103T000000Z", "Manager\x1b[2J", "n"),
		B:    card("20260102T000000Z", "Director", `first\nsecond\, third`)}
	var b strings.Builder
	fields.ConflictText(&b, conflictText(c, "Outlook", "iPhone book"))
	want := `Conflict 5: Ann Lee (pair work, since 2026-01-02 03:04:05 UTC)
Changed in Outlook (a) and in iPhone book (b).

Job title (changed differently on both sides)
  before:              Clerk
  Outlook (a):         Manager\x1b[2J
  iPhone book (b):     Director
  keep merged writes:  Manager\x1b[2J

Note
  before:              n
  Outlook (a):         n
  iPhone book (b):     first
                       second, third
  keep merged writes:  first
                       second, third

The same on both sides: Name, Work e-mail.
Where both changed a field differently, keep merged takes Outlook's value (the newer change).

Choose with: cardbridge conflicts resolve 5 --keep a (Outlook), b (iPhone book) or merged
`
	if got := b.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	b.Reset()
	c.B = []byte("not a card")
	fields.ConflictText(&b, conflictText(c, "Outlook", "iPhone book"))
	if got := b.String(); !strings.Contains(got, "cannot be compared: conflict 5: version b") || !strings.Contains(got, "--keep a (Outlook) or b (iPhone book)") {
		t.Fatalf("broken b:\n%s", got)
	}
}

// conflictText is what `conflicts show` passes for c: c compared by
// resolve.Explain.
func conflictText(c state.Conflict, nameA, nameB string) fields.Conflict {
	e, err := resolve.Explain(c)
	return fields.Conflict{ID: c.ID, Pair: c.Pair, Created: c.Created, Keep: c.Keep, A: c.A, B: c.B, NameA: nameA, NameB: nameB,
		Rows: e.Rows, Clashes: e.Clashes, Newer: e.Newer, HasBase: e.HasBase, Err: err}
}
