package engine

import (
	"sort"

	"github.com/cardbridge/cardbridge/vcard"
)

// Which names one of the two sides of a pair.
type Which int

// The two sides of a pair.
const (
	SideA Which = iota
	SideB
)

// String returns "a" or "b".
func (w Which) String() string {
	if w == SideA {
		return "a"
	}
	return "b"
}

// Other returns the opposite side.
func (w Which) Other() Which { return 1 - w }

// mergeSkip lists properties the merge never takes from either side: the
// item's UID is set by the engine, VERSION is the card's, and REV and
// PRODID are bookkeeping that the normalised hash ignores too.
var mergeSkip = map[string]bool{"UID": true, "VERSION": true, "REV": true, "PRODID": true}

// MergeResult is the outcome of a merge.
type MergeResult struct {
	Card *vcard.Card
	// Clashes lists property names both sides changed differently; their
	// values were taken from the preferred side.
	Clashes []string
}

// Merge3 merges a and b against their common ancestor base, property name
// by property name: a name changed on one side only takes that side's
// values; a name changed identically on both takes them; a multi-valued
// name changed on both takes the union of both sides' additions minus
// both sides' removals; a single-valued name changed differently on both
// sides is a clash and takes prefer's values. base may be nil (a first
// match of two new items): every name then counts as added on each side.
//
// The result has a's version (3.0 for a 2.1 card) and a's property order,
// with names only b has appended in b's order. The UID is not merged: the
// caller sets it. Inputs are not modified.
func Merge3(base, a, b *vcard.Card, prefer Which) MergeResult {
	version := a.Version
	if version != vcard.V40 {
		version = vcard.V30
	}
	conv := func(c *vcard.Card) *vcard.Card {
		if c == nil {
			return vcard.New(version)
		}
		if c.Version == version {
			return c
		}
		return c.ConvertTo(version)
	}
	base, a, b = conv(base), conv(a), conv(b)

	ga, gb, gbase := groupByName(a), groupByName(b), groupByName(base)
	out := vcard.New(version)
	var clashes []string
	names := orderedNames(a, b, base)
	for _, n := range names {
		pa, pb, pbase := ga[n], gb[n], gbase[n]
		var take []vcard.Property
		switch {
		case sameKeys(pa, pbase):
			take = pb
		case sameKeys(pb, pbase):
			take = pa
		case sameKeys(pa, pb):
			take = pa
		case sameValues(pa, pb):
			// The same values, spelt with other parameters (a TYPE one
			// side cannot hold): keep the richer spelling.
			take = richer(pa, pb)
		case !vcard.IsSingle(n):
			take = unionMerge(pbase, pa, pb)
		default:
			clashes = append(clashes, n)
			if prefer == SideA {
				take = pa
			} else {
				take = pb
			}
		}
		out.Props = append(out.Props, take...)
	}
	// REV: keep the later of the two sides' REV when any; PRODID: a's.
	if rev, ok := laterRev(a, b); ok {
		out.Props = append(out.Props, rev)
	}
	if p, ok := a.Get("PRODID"); ok {
		out.Props = append(out.Props, p)
	}
	return MergeResult{Card: out, Clashes: clashes}
}

// unionMerge keeps a's values that b did not remove, a's additions, and
// b's additions, in that order.
func unionMerge(base, a, b []vcard.Property) []vcard.Property {
	inBase, inA, inB := keySet(base), keySet(a), keySet(b)
	var out []vcard.Property
	for _, p := range a {
		k := p.Key()
		if inBase[k] && !inB[k] {
			continue // removed on b
		}
		out = append(out, p)
	}
	valA := make(map[string]bool, len(a))
	for _, p := range a {
		valA[p.Name+"\x00"+p.Value] = true
	}
	for _, p := range b {
		k := p.Key()
		if inBase[k] || inA[k] || valA[p.Name+"\x00"+p.Value] {
			continue // kept or removed by a, already taken, or the same value spelt otherwise
		}
		out = append(out, p)
	}
	return out
}

// sameValues reports whether two property lists hold the same values,
// whatever their parameters and groups.
func sameValues(x, y []vcard.Property) bool {
	if len(x) != len(y) || len(x) == 0 {
		return false
	}
	count := make(map[string]int, len(x))
	for _, p := range x {
		count[p.Value]++
	}
	for _, p := range y {
		if count[p.Value] == 0 {
			return false
		}
		count[p.Value]--
	}
	return true
}

// richer returns the list whose properties carry more parameters and
// groups (x on a tie).
func richer(x, y []vcard.Property) []vcard.Property {
	weight := func(ps []vcard.Property) int {
		n := 0
		for _, p := range ps {
			n += len(p.Params)
			if p.Group != "" {
				n++
			}
		}
		return n
	}
	if weight(y) > weight(x) {
		return y
	}
	return x
}

func laterRev(a, b *vcard.Card) (vcard.Property, bool) {
	pa, oka := a.Get("REV")
	pb, okb := b.Get("REV")
	switch {
	case oka && okb:
		ta, _ := a.Rev()
		tb, _ := b.Rev()
		if tb.After(ta) {
			return pb, true
		}
		return pa, true
	case oka:
		return pa, true
	case okb:
		return pb, true
	}
	return vcard.Property{}, false
}

func groupByName(c *vcard.Card) map[string][]vcard.Property {
	m := make(map[string][]vcard.Property)
	for _, p := range c.Props {
		if mergeSkip[p.Name] {
			continue
		}
		m[p.Name] = append(m[p.Name], p)
	}
	return m
}

func orderedNames(cards ...*vcard.Card) []string {
	seen := make(map[string]bool)
	var names []string
	for _, c := range cards {
		for _, p := range c.Props {
			if mergeSkip[p.Name] || seen[p.Name] {
				continue
			}
			seen[p.Name] = true
			names = append(names, p.Name)
		}
	}
	return names
}

func keySet(ps []vcard.Property) map[string]bool {
	m := make(map[string]bool, len(ps))
	for _, p := range ps {
		m[p.Key()] = true
	}
	return m
}

// sameKeys reports whether two property lists hold the same values,
// ignoring order (as multisets).
func sameKeys(x, y []vcard.Property) bool {
	if len(x) != len(y) {
		return false
	}
	if len(x) == 0 {
		return true
	}
	kx := make([]string, len(x))
	ky := make([]string, len(y))
	for i := range x {
		kx[i] = x[i].Key()
		ky[i] = y[i].Key()
	}
	sort.Strings(kx)
	sort.Strings(ky)
	for i := range kx {
		if kx[i] != ky[i] {
			return false
		}
	}
	return true
}

// fill returns card completed with the properties of base that a side
// cannot hold (those missing from project(base)), so their absence on a
// poorer side never counts as a deletion. With a nil project it returns
// card itself.
func fill(card, base *vcard.Card, project func(*vcard.Card) *vcard.Card) *vcard.Card {
	if project == nil || base == nil || card == nil {
		return card
	}
	held := keySet(project(base).Props)
	src := base
	if src.Version != card.Version {
		src = base.ConvertTo(card.Version)
	}
	var extra []vcard.Property
	for _, p := range src.Props {
		if mergeSkip[p.Name] || held[p.Key()] {
			continue
		}
		extra = append(extra, p)
	}
	if len(extra) == 0 {
		return card
	}
	out := card.Clone()
	out.Props = append(out.Props, extra...)
	return out
}
