package pairs

import (
	"context"
	"fmt"
	"time"

	"github.com/cardbridge/cardbridge/state"
)

// Purged is what a purge did to one pair's trash.
type Purged struct {
	Pair   string
	Limits state.TrashLimits // the limits applied
	Result state.PurgeResult
}

// PurgeTrash purges the trash of each pair of names to its limits
// (Config.TrashOf), the retention replaced by olderThan when that is not
// 0; manual marks a person's purge (`cardbridge trash purge`). A pair
// whose trash is kept whatever its age and size is left out. It returns
// what it did, up to the first error.
func (r *Runner) PurgeTrash(ctx context.Context, names []string, olderThan time.Duration, manual bool) ([]Purged, error) {
	var out []Purged
	for _, p := range names {
		lim := TrashLimits(r.o.Config.TrashOf(p))
		if olderThan != 0 {
			lim.Retention = olderThan
		}
		if lim == (state.TrashLimits{}) {
			continue // kept whatever its age and size
		}
		res, err := r.o.DB.PurgeTrash(ctx, state.Purge{Pair: p, TrashLimits: lim, Manual: manual})
		if err != nil {
			return out, fmt.Errorf("purging the trash of %s: %w", p, err)
		}
		out = append(out, Purged{Pair: p, Limits: lim, Result: res})
	}
	return out, nil
}

// Housekeeping is what serve does daily (daemon.SchedulerOptions.
// Housekeeping): the trash of every pair that has one purged to its
// limits, each purge that removed something logged.
func (r *Runner) Housekeeping(ctx context.Context) error {
	names, err := r.o.DB.TrashPairs(ctx)
	if err != nil {
		return err
	}
	done, err := r.PurgeTrash(ctx, names, 0, false)
	for _, d := range done {
		if d.Result.Entries > 0 {
			r.log.Info("trash purged", "pair", d.Pair, "entries", d.Result.Entries, "bytes", d.Result.Bytes,
				"past_retention", d.Result.ByAge, "over_size", d.Result.BySize, "kept", d.Result.Kept, "kept_bytes", d.Result.KeptBytes)
		}
	}
	if err != nil {
		return fmt.Errorf("purging the trash: %w", err)
	}
	return nil
}
