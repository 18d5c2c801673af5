// Package resolve applies a person's choice to what a sync left for them:
// which version of a conflict to keep (`cardbridge conflicts resolve`, the
// web page's keep buttons) and which trash entry to bring back
// (`cardbridge trash restore`, the page's restore button). Both are
// recorded in the state; the pair's next sync writes them to both sides.
package resolve

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// Errors of Conflict, for callers that answer them differently (a usage
// error, a 400 page).
var (
	// ErrBadKeep is a keep that is not a, b or merged.
	ErrBadKeep = errors.New("want a, b or merged")
	// ErrApplied is a conflict whose resolution a sync has applied already.
	ErrApplied = errors.New("resolved and applied already")
)

// Keep returns the vCard that keeping keep ("a", "b" or "merged") of c
// means: one side's version as it is, or the three-way merge of both
// against the base, clashes going to the side with the newer REV (a when
// neither is newer), with the conflict's UID.
func Keep(c state.Conflict, keep string) ([]byte, error) {
	switch keep {
	case "a":
		return c.A, nil
	case "b":
		return c.B, nil
	case "merged":
	default:
		return nil, fmt.Errorf("conflict %d: keep %q: %w", c.ID, keep, ErrBadKeep)
	}
	ca, err := vcard.Parse(c.A)
	if err != nil {
		return nil, fmt.Errorf("conflict %d: version a: %w", c.ID, err)
	}
	cb, err := vcard.Parse(c.B)
	if err != nil {
		return nil, fmt.Errorf("conflict %d: version b: %w", c.ID, err)
	}
	var base *vcard.Card
	if len(c.Base) > 0 {
		if base, err = vcard.Parse(c.Base); err != nil {
			return nil, fmt.Errorf("conflict %d: base: %w", c.ID, err)
		}
	}
	m := engine.Merge3(base, ca, cb, newer(ca, cb))
	m.Card.SetUID(c.UID)
	return m.Card.Encode(), nil
}

// newer is the side whose values a merge takes for a clash: the one with
// the newer REV, a when neither is newer.
func newer(ca, cb *vcard.Card) engine.Which {
	ta, oka := ca.Rev()
	tb, okb := cb.Rev()
	if oka && okb && tb.After(ta) {
		return engine.SideB
	}
	return engine.SideA
}

// Conflict records that c is resolved by keeping keep (see Keep). A
// conflict whose resolution was applied already is refused with
// ErrApplied; choosing again before the next sync replaces the choice.
func Conflict(ctx context.Context, db *state.DB, c state.Conflict, keep string) error {
	if c.Keep != "" && !c.Resolved.IsZero() {
		return fmt.Errorf("conflict %d (%s): %w", c.ID, c.Keep, ErrApplied)
	}
	merged, err := Keep(c, keep)
	if err != nil {
		return err
	}
	if err := db.ResolveConflict(ctx, c.ID, keep, merged); err != nil {
		return fmt.Errorf("resolve conflict %d: %w", c.ID, err)
	}
	return nil
}

// Restore asks the next sync of e's pair to bring e's version back on both
// sides.
func Restore(ctx context.Context, db *state.DB, e state.TrashEntry) error {
	if err := db.RequestRestore(ctx, e.ID); err != nil {
		return fmt.Errorf("restore trash entry %d: %w", e.ID, err)
	}
	return nil
}
