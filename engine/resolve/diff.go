package resolve

import (
	"strings"

	"github.com/cardbridge/cardbridge/engine"
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
