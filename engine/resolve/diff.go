package resolve

import (
	"fmt"
	"strings"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// Diff is how the two versions of a conflict differ (`cardbridge
// conflicts show`).
type Diff struct {
	// Props lists the properties only one version has, each as its vCard
	// line: "- " and a's line, then "+ " and b's (REV and PRODID, which
	// every write changes, left out).
	Props []string
	// Clashes names the properties changed differently on both sides
	// since the base (engine.Merge3's clashes).
	Clashes []string
}

// Describe compares the versions of c; ok is false when either does not
// parse as a vCard. A base that does not parse counts as none.
func Describe(c state.Conflict) (d Diff, ok bool) {
	ca, errA := vcard.Parse(c.A)
	cb, errB := vcard.Parse(c.B)
	if errA != nil || errB != nil {
		return Diff{}, false
	}
	var base *vcard.Card
	if len(c.Base) > 0 {
		base, _ = vcard.Parse(c.Base)
	}
	return Diff{Props: diffProps(ca, cb), Clashes: engine.Merge3(base, ca, cb, engine.SideA).Clashes}, true
}

// diffProps lists the properties only one of two cards has.
func diffProps(a, b *vcard.Card) []string {
	inA, inB := map[string]bool{}, map[string]bool{}
	for _, p := range a.Props {
		inA[p.Key()] = true
	}
	for _, p := range b.Props {
		inB[p.Key()] = true
	}
	var out []string
	for _, s := range []struct {
		mark  string
		card  *vcard.Card
		other map[string]bool
	}{{"- ", a, inB}, {"+ ", b, inA}} {
		for _, p := range s.card.Props {
			if !s.other[p.Key()] && p.Name != "REV" && p.Name != "PRODID" {
				out = append(out, s.mark+lineOf(s.card.Version, p))
			}
		}
	}
	return out
}

// lineOf is property p as a vCard of version writes it, on one line
// (folded lines joined by a space).
func lineOf(version string, p vcard.Property) string {
	c := vcard.New(version)
	c.Props = []vcard.Property{p}
	var keep []string
	for _, l := range strings.Split(string(c.Encode()), "\r\n") {
		if l == "" || strings.HasPrefix(l, "BEGIN:") || strings.HasPrefix(l, "END:") || strings.HasPrefix(l, "VERSION:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.TrimRight(strings.Join(keep, " "), "\r\n")
}

// Explanation is a conflict field by field, in words, for a person to
// decide (the web page's conflicts, `cardbridge conflicts show`).
type Explanation struct {
	// Rows are every shown field (REV, UID and the like left out) with the
	// base's, a's, b's and the merge's values (fields.Compare); Merged
	// is what keeping "merged" writes (see Keep).
	Rows []fields.Row
	// Clashes are the labels of the fields changed differently on both
	// sides since the base; keeping "merged" takes Newer's values there.
	Clashes []string
	// Newer is "a" or "b": the side with the newer REV (a when neither
	// is newer).
	Newer string
	// HasBase is false when the conflict has no common version (the two
	// sides met with different cards at the first sync).
	HasBase bool
}

// Explain compares the versions of c field by field, with the result of
// keeping "merged". A version that does not parse is an error naming it; a
// base that does not parse counts as none.
func Explain(c state.Conflict) (Explanation, error) {
	ca, err := vcard.Parse(c.A)
	if err != nil {
		return Explanation{}, fmt.Errorf("conflict %d: version a: %w", c.ID, err)
	}
	cb, err := vcard.Parse(c.B)
	if err != nil {
		return Explanation{}, fmt.Errorf("conflict %d: version b: %w", c.ID, err)
	}
	var base *vcard.Card
	if len(c.Base) > 0 {
		base, _ = vcard.Parse(c.Base)
	}
	raw, err := Keep(c, "merged")
	if err != nil {
		return Explanation{}, err
	}
	merged, err := vcard.Parse(raw)
	if err != nil {
		return Explanation{}, fmt.Errorf("conflict %d: merged version: %w", c.ID, err)
	}
	e := Explanation{Rows: fields.Compare(base, ca, cb, merged), Newer: "a", HasBase: base != nil}
	if newer(ca, cb) == engine.SideB {
		e.Newer = "b"
	}
	seen := map[string]bool{}
	for _, name := range engine.Merge3(base, ca, cb, engine.SideA).Clashes {
		l := fields.Label(nil, vcard.Property{Name: name})
		if fields.Shown(name) && !seen[l] {
			seen[l] = true
			e.Clashes = append(e.Clashes, l)
		}
	}
	return e, nil
}
