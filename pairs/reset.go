package pairs

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/state"
)

// SideReset is what Reset forgot of one side of a pair.
type SideReset struct {
	Side string // "a" or "b"
	state.SideReset
}

// Reset forgets what the state knows of sides (each "a" or "b") of pair,
// after a side was pointed at another folder, mailbox, directory or book:
// its change token, its recorded identity and every contact's id and
// version there, keeping the contacts' UIDs and bases, so that the next
// run links the new target's contacts by UID (state.DB.ResetSide). With
// dryRun it only counts. It returns what each side's reset did, up to the
// first error; while a sync of the pair runs, that error wraps
// state.ErrLocked and says to try again.
func (r *Runner) Reset(ctx context.Context, pair string, sides []string, dryRun bool) ([]SideReset, error) {
	var out []SideReset
	for _, s := range sides {
		res, err := r.o.DB.ResetSide(ctx, pair, s, dryRun)
		if errors.Is(err, state.ErrLocked) {
			return out, fmt.Errorf("reset %s: %w: try again once it has finished", pair, err)
		}
		if err != nil {
			return out, err
		}
		out = append(out, SideReset{Side: s, SideReset: res})
	}
	return out, nil
}
