package pairs

import (
	"context"
	"fmt"
	"slices"
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

// TrashTargets names the pairs a purge goes through: every pair with a
// trash, or only pair when one is named (a configured pair, by its
// configured name, or one with entries in the trash). An error wraps
// ErrNoPair when the named pair is neither.
func (r *Runner) TrashTargets(ctx context.Context, pair string) ([]string, error) {
	names, err := r.o.DB.TrashPairs(ctx)
	if err != nil || pair == "" {
		return names, err
	}
	if p, ok := r.o.Config.Pair(pair); ok {
		return []string{p.Name}, nil
	}
	if !slices.Contains(names, pair) {
		return nil, fmt.Errorf("pair %s: %w in the configuration nor in the trash", pair, ErrNoPair)
	}
	return []string{pair}, nil
}

// RestoreEntry reads trash entry id and asks the next run of its pair to
// bring it back on both sides (Restore); the entry is returned for the
// caller's message. The errors of state.DB.GetTrash (state.ErrNotFound,
// *state.PurgedError) come back as they are.
func (r *Runner) RestoreEntry(ctx context.Context, id int64) (state.TrashEntry, error) {
	e, err := r.o.DB.GetTrash(ctx, id)
	if err != nil {
		return e, err
	}
	return e, r.Restore(ctx, e)
}

// ListTrash lists the trash of pair ("" for every pair), newest first: a
// configured pair by its configured name, or a pair no longer configured
// that still has entries. An error wraps ErrNoPair when pair is named and
// is neither.
func (r *Runner) ListTrash(ctx context.Context, pair string) ([]state.TrashEntry, error) {
	known := false
	if p, ok := r.o.Config.Pair(pair); ok && pair != "" {
		pair, known = p.Name, true
	}
	es, err := r.o.DB.ListTrash(ctx, pair)
	if err != nil {
		return nil, err
	}
	if pair != "" && !known && len(es) == 0 {
		return nil, fmt.Errorf("pair %s: %w in the configuration nor in the trash", pair, ErrNoPair)
	}
	return es, nil
}
