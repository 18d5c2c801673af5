package resolve

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
)

// TestExplain: the fields in words with base, a, b and what keeping
// "merged" writes (B's note, only B changed it; the title clash to the
// newer B), no UID or REV; the clash named by its label; a version that
// does not parse is an error naming it.
func TestExplain(t *testing.T) {
	e, err := Explain(state.Conflict{ID: 7, UID: "u1", A: []byte(verA), B: []byte(verB), Base: []byte(base)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range e.Rows {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s|%s|%v", r.Label, strings.Join(r.Base, ","), strings.Join(r.A, ","),
			strings.Join(r.B, ","), strings.Join(r.Merged, ","), r.Differs))
	}
	want := []string{"Name|Ann Lee|Ann Lee|Ann Lee|Ann Lee|false", "Job title|Old|From A|From B|From B|true", "Note|n|n|changed on b|changed on b|true"}
	if !slices.Equal(got, want) {
		t.Fatalf("rows\n %q\nwant\n %q", got, want)
	}
	if !slices.Equal(e.Clashes, []string{"Job title"}) || e.Newer != "b" || !e.HasBase {
		t.Fatalf("clashes %q, newer %q, base %v", e.Clashes, e.Newer, e.HasBase)
	}
	if e, _ := Explain(state.Conflict{A: []byte(verB), B: []byte(verA)}); e.Newer != "a" || e.HasBase || len(e.Clashes) != 2 {
		t.Fatalf("swapped, no base: %+v", e)
	}
	if _, err := Explain(state.Conflict{ID: 8, A: []byte(verA), B: []byte("BEGIN:VCARD\r\n")}); err == nil || !strings.Contains(err.Error(), "conflict 8: version b") {
		t.Fatalf("broken b: %v", err)
	}
}
