package resolve

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
)

// TestDescribe: the properties only one version has are listed, a's with
// "- " before b's with "+ ", REV and PRODID left out, long lines joined;
// the clashes are those both sides changed since the base; a version that
// does not parse gives no description.
func TestDescribe(t *testing.T) {
	long := strings.Repeat("long note ", 12)
	withLong := strings.Replace(verB, "NOTE:changed on b", "NOTE:"+long+"\r\nPRODID:-//x//y", 1)
	cases := []struct {
		name         string
		c            state.Conflict
		ok           bool
		props, clash string
	}{
		{"three-way", state.Conflict{A: []byte(verA), B: []byte(verB), Base: []byte(base)}, true,
			"- TITLE:From A|- NOTE:n|+ TITLE:From B|+ NOTE:changed on b", "TITLE"},
		{"no base", state.Conflict{A: []byte(verA), B: []byte(verB)}, true,
			"- TITLE:From A|- NOTE:n|+ TITLE:From B|+ NOTE:changed on b", "NOTE,TITLE"},
		{"same", state.Conflict{A: []byte(verA), B: []byte(verA), Base: []byte(base)}, true, "", ""},
		{"folded line", state.Conflict{A: []byte(verA), B: []byte(withLong), Base: []byte(base)}, true,
			"- TITLE:From A|- NOTE:n|+ TITLE:From B|+ NOTE:" + strings.TrimSpace(long), "TITLE"},
		{"broken a", state.Conflict{A: []byte("not a vcard"), B: []byte(verB)}, false, "", ""},
		{"broken b", state.Conflict{A: []byte(verA), B: []byte("BEGIN:VCARD\r\n")}, false, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := Describe(tc.c)
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			props := strings.Join(d.Props, "|")
			if tc.name == "folded line" {
				// The encoder folds at 75 octets: the continuation is
				// joined with a space, so compare without spaces.
				props, tc.props = strings.ReplaceAll(props, " ", ""), strings.ReplaceAll(tc.props, " ", "")
			}
			if props != tc.props {
				t.Errorf("props %q, want %q", props, tc.props)
			}
			clashes := slices.Sorted(slices.Values(d.Clashes))
			if got := strings.Join(clashes, ","); got != tc.clash {
				t.Errorf("clashes %q, want %q", got, tc.clash)
			}
		})
	}
}

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
