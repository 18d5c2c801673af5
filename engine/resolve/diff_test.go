package resolve

import (
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
