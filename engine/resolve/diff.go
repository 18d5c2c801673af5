package resolve

import (
	"fmt"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

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
