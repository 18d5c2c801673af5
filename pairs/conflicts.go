package pairs

import (
	"context"

	"github.com/cardbridge/cardbridge/state"
)

// OpenConflicts lists the conflicts of every pair that wait for a
// choice, in id order.
func (r *Runner) OpenConflicts(ctx context.Context) ([]state.Conflict, error) {
	return r.o.DB.Conflicts(ctx, "", true)
}

// Conflict reads conflict id, open or resolved (state.ErrNotFound when
// there is none).
func (r *Runner) Conflict(ctx context.Context, id int64) (state.Conflict, error) {
	return r.o.DB.GetConflict(ctx, id)
}
