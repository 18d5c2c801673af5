package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// pairRun is one run of a pair: what the steps of Engine.Run share.
type pairRun struct {
	e     *Engine
	pair  Pair
	opts  Options
	res   *Result
	start time.Time
	// now is the run's clock reading: which failed items are due, and the
	// time new failures are stamped with.
	now time.Time
	// sides is what collection learnt of each side, indexed by Which.
	sides [2]*sideRun
	items []state.Item
	// openConflicts holds the state ids of the items with an open
	// conflict.
	openConflicts map[int64]bool
	popts         PlanOptions
}

// Run syncs one pair once.
func (e *Engine) Run(ctx context.Context, pair Pair, opts Options) (*Result, error) {
	r := &pairRun{e: e, pair: pair, opts: opts, start: time.Now(), res: &Result{Pair: pair.Name, DryRun: opts.DryRun}}
	if !opts.DryRun {
		unlock, err := e.db.LockPair(ctx, pair.Name)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := unlock(); err != nil {
				e.log.Warn("unlock pair", "pair", pair.Name, "err", err)
			}
		}()
	}
	// 0. Each side still points at what its saved state was made for.
	if err := e.checkIdentities(ctx, pair, opts.DryRun); err != nil {
		return nil, err
	}
	if err := r.collectSides(ctx); err != nil {
		return nil, err
	}
	in, err := r.entries(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.loadBases(ctx, in.Entries); err != nil {
		return nil, err
	}
	plan := r.plan(in)
	if err := r.guardDeletions(&plan); err != nil {
		return r.res, err
	}
	if opts.DryRun {
		countPlanned(r.res, &plan)
		r.res.Duration = time.Since(r.start)
		return r.res, nil
	}
	if opts.Planned != nil {
		var planned Result
		countPlanned(&planned, &plan)
		opts.Planned(planned.A, planned.B, planned.Conflicts)
	}
	r.apply(ctx, plan.Actions)
	return r.res, nil
}

// collectSides is step 1: ask both sides what changed while state loads,
// then classify and read the changed items of both sides at once; a side
// that lists nothing while state holds items stops the run (empty-side
// guard).
func (r *pairRun) collectSides(ctx context.Context) error {
	if r.opts.Now == nil {
		r.opts.Now = time.Now
	}
	r.now = r.opts.Now()
	r.sides = [2]*sideRun{{w: SideA, side: r.pair.A}, {w: SideB, side: r.pair.B}}
	if err := r.dueRetries(ctx); err != nil {
		return err
	}
	css, err := r.listSides(ctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, s := range r.sides {
		if s.listErr == nil {
			wg.Go(func() { s.listErr = r.e.collect(ctx, s, css[s.w], r.items) })
		}
	}
	wg.Wait()
	for _, s := range r.sides {
		if s.listErr != nil {
			return fmt.Errorf("pair %s: side %s (%s): %w", r.pair.Name, s.w, s.side.Name(), s.listErr)
		}
	}
	a, b := r.sides[SideA], r.sides[SideB]
	r.e.log.Debug("sides collected", "pair", r.pair.Name, "a_listed", a.listed, "b_listed", b.listed,
		"a_new", len(a.news), "b_new", len(b.news), "elapsed", time.Since(r.start))
	return r.guardEmpty()
}

// dueRetries, part of step 1, marks on each side the failed items whose
// retry is due by now.
func (r *pairRun) dueRetries(ctx context.Context) error {
	failedItems, err := r.e.db.FailedItems(ctx, r.pair.Name)
	if err != nil {
		return err
	}
	for _, s := range r.sides {
		s.retry = make(map[string]bool)
		for _, f := range failedItems {
			if f.Side == s.w.String() && !f.NextRetry.After(r.now) {
				s.retry[f.SideID] = true
			}
		}
	}
	return nil
}

// listSides, part of step 1, asks both sides for their changes while the
// state items load. A side's failure is left in its listErr.
func (r *pairRun) listSides(ctx context.Context) ([2]ChangeSet, error) {
	var css [2]ChangeSet
	var wg sync.WaitGroup
	for _, s := range r.sides {
		wg.Go(func() { css[s.w], s.listErr = r.e.changes(ctx, r.pair.Name, s) })
	}
	items, err := r.e.db.Items(ctx, r.pair.Name)
	wg.Wait()
	if err != nil {
		return css, err
	}
	r.items = items
	r.e.log.Debug("state loaded and sides listed", "pair", r.pair.Name, "items", len(items), "elapsed", time.Since(r.start))
	return css, nil
}

// guardEmpty, the end of step 1, is the empty-side guard: a side that
// lists nothing while state has items.
func (r *pairRun) guardEmpty() error {
	if r.opts.ForceDelete {
		return nil
	}
	for _, s := range r.sides {
		if s.full && s.listed == 0 && len(r.items) > 0 {
			o := s.w.Other()
			return &GuardError{Pair: r.pair.Name, Side: o, SideName: r.sides[o].side.Name(), EmptyName: s.side.Name(),
				Empty: true, Deletions: len(r.items), Total: len(r.items), Examples: exampleNames(r.items, 5)}
		}
	}
	return nil
}

// entries is step 2: the entries of the state items with both sides'
// observations, with pending restores and resolutions, and the items the
// sides report unchanged read afresh where state may be stale.
func (r *pairRun) entries(ctx context.Context) (PlanInput, error) {
	in := PlanInput{FirstSync: len(r.items) == 0, NewA: r.sides[SideA].news, NewB: r.sides[SideB].news}
	entries := make([]Entry, 0, len(r.items))
	for _, it := range r.items {
		entries = append(entries, Entry{StateID: it.ID, UID: it.UID, A: r.sides[SideA].obs[it.ID], B: r.sides[SideB].obs[it.ID]})
	}
	restores, err := r.restores(ctx, entries)
	if err != nil {
		return in, err
	}
	in.Restores = restores
	if err := r.resolutions(ctx, entries); err != nil {
		return in, err
	}
	cs, err := r.e.db.Conflicts(ctx, r.pair.Name, true)
	if err != nil {
		return in, err
	}
	r.openConflicts = make(map[int64]bool, len(cs))
	for _, c := range cs {
		r.openConflicts[c.ItemID] = true
	}
	if err := refreshStale(ctx, r.sides, entries, r.openConflicts); err != nil {
		return in, fmt.Errorf("pair %s: %w", r.pair.Name, err)
	}
	in.Entries = entries
	return in, nil
}

// restores, part of step 2, sets the pending trash restores: on the entry
// of the restored UID, else as restores of UIDs state no longer knows,
// which it returns. An unreadable trash entry is a *RestoreError of the
// run.
func (r *pairRun) restores(ctx context.Context, entries []Entry) ([]Restore, error) {
	pending, err := r.e.db.PendingRestores(ctx, r.pair.Name)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	byUID := make(map[string]int, len(entries))
	for i, en := range entries {
		byUID[en.UID] = i
	}
	var out []Restore
	for _, t := range pending {
		card, perr := vcard.Parse(t.Card)
		if perr != nil {
			r.res.Errors = append(r.res.Errors, &RestoreError{Pair: r.pair.Name, TrashID: t.ID, Err: perr})
			continue
		}
		if i, ok := byUID[card.UID()]; ok && card.UID() != "" {
			entries[i].Override, entries[i].RestoreID = card, t.ID
		} else {
			out = append(out, Restore{ID: t.ID, Card: card})
		}
	}
	return out, nil
}

// resolutions, part of step 2, sets the pending conflict resolutions on
// their entries. One that cannot be applied is a *ResolutionError of the
// run.
func (r *pairRun) resolutions(ctx context.Context, entries []Entry) error {
	pending, err := r.e.db.PendingResolutions(ctx, r.pair.Name)
	if err != nil || len(pending) == 0 {
		return err
	}
	byID := make(map[int64]int, len(entries))
	for i, en := range entries {
		byID[en.StateID] = i
	}
	for _, c := range pending {
		card, perr := vcard.Parse(c.Merged)
		i, ok := byID[c.ItemID]
		if perr != nil || !ok {
			r.res.Errors = append(r.res.Errors, &ResolutionError{Pair: r.pair.Name, ConflictID: c.ID, ItemID: c.ItemID, Err: perr})
			continue
		}
		entries[i].Override, entries[i].ResolutionID = card, c.ID
	}
	return nil
}

// loadBases is step 3: the bases of the entries that need one (a side
// changed, or an override to apply).
func (r *pairRun) loadBases(ctx context.Context, entries []Entry) error {
	var need []int64
	for _, en := range entries {
		if en.A.Status != Unchanged || en.B.Status != Unchanged || en.Override != nil {
			need = append(need, en.StateID)
		}
	}
	if len(need) == 0 {
		return nil
	}
	bases, err := r.e.db.Bases(ctx, need)
	if err != nil {
		return err
	}
	for i := range entries {
		raw, ok := bases[entries[i].StateID]
		if !ok || len(raw) == 0 {
			continue
		}
		b, perr := vcard.Parse(raw)
		if perr != nil {
			return fmt.Errorf("pair %s: state: base of item %s is unreadable: %w", r.pair.Name, entries[i].UID, perr)
		}
		entries[i].Base = b
	}
	return nil
}

// plan is step 4: the plan of the run, with what each side can hold.
func (r *pairRun) plan(in PlanInput) Plan {
	r.popts = PlanOptions{Direction: r.pair.Direction, Policy: r.pair.Policy, NewUID: r.e.newUID}
	for w, project := range [2]*func(*vcard.Card) *vcard.Card{&r.popts.ProjectA, &r.popts.ProjectB} {
		if pr, ok := r.pair.side(Which(w)).(Projector); ok {
			*project = pr.Project
		}
	}
	plan := MakePlan(in, r.popts)
	r.e.log.Debug("planned", "pair", r.pair.Name, "actions", len(plan.Actions), "skipped", len(plan.Skipped), "elapsed", time.Since(r.start))
	r.res.Plan = &plan
	r.res.Skipped = plan.Skipped
	return plan
}

// guardDeletions is step 5, the deletion guard: a plan that deletes more
// on a side than pair.MaxDelete allows is a *GuardError, unless forced.
func (r *pairRun) guardDeletions(plan *Plan) error {
	if r.opts.ForceDelete || r.pair.MaxDelete == nil {
		return nil
	}
	allowed := r.pair.MaxDelete(len(r.items))
	for _, w := range []Which{SideA, SideB} {
		n := plan.Deletions(w)
		if n <= allowed {
			continue
		}
		g := &GuardError{Pair: r.pair.Name, Side: w, SideName: r.sides[w].side.Name(), Deletions: n, Allowed: allowed, Total: len(r.items)}
		for _, a := range plan.Actions {
			if wr := a.Write(w); wr.Op == OpDelete && len(g.Examples) < 5 {
				g.Examples = append(g.Examples, describe(wr.Old, wr.Ref.ID))
			}
		}
		return g
	}
	return nil
}

// apply is steps 6 and 7: apply the actions, then save the tokens, only
// once everything they delivered is applied or recorded as failed, in the
// same transaction as the failures; then record the run and purge the
// trash.
func (r *pairRun) apply(ctx context.Context, actions []Action) {
	opts := r.opts
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	for _, sd := range []Side{r.pair.A, r.pair.B} {
		if c, ok := sd.(Concurrency); ok && c.WriteConcurrency() > opts.Concurrency {
			opts.Concurrency = c.WriteConcurrency()
		}
	}
	x := &executor{e: r.e, pair: r.pair, res: r.res, popts: r.popts, openConflicts: r.openConflicts, failed: make(map[string]state.Failure)}
	x.run(ctx, actions, opts)
	r.e.log.Debug("applied", "pair", r.pair.Name, "elapsed", time.Since(r.start))
	if err := ctx.Err(); err != nil {
		r.res.Errors = append(r.res.Errors, &InterruptedError{Pair: r.pair.Name, Err: err})
	} else if err := r.e.saveRound(ctx, r.pair.Name, r.sides, x.failed, r.now); err != nil {
		r.res.Errors = append(r.res.Errors, err)
	}
	r.res.Duration = time.Since(r.start)
	r.e.recordRun(ctx, r.res, r.start)
	r.e.purgeTrash(ctx, r.pair, r.res)
}
