package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	gosync "sync"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// maxRetries bounds how often one item is re-read and re-planned after a
// precondition failure.
const maxRetries = 3

type executor struct {
	e             *Engine
	pair          Pair
	res           *Result
	popts         PlanOptions
	openConflicts map[int64]bool

	mu   gosync.Mutex // guards res
	done int
}

func (x *executor) side(w Which) Side {
	if w == SideA {
		return x.pair.A
	}
	return x.pair.B
}

func (x *executor) fail(a *Action, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	who := a.UID
	if c := a.Base; c != nil && c.FN() != "" {
		who = fmt.Sprintf("%q (%s)", c.FN(), a.UID)
	}
	x.res.Errors = append(x.res.Errors, fmt.Sprintf("%s: %v", who, err))
}

// run applies the actions with bounded concurrency. Each action commits
// its own state, so a crash at any point leaves a state that a re-run
// converges from.
func (x *executor) run(ctx context.Context, actions []Action, opts Options) {
	n := opts.Concurrency
	if n <= 0 {
		n = 8
	}
	work := make(chan *Action)
	var wg gosync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range work {
				if err := x.apply(ctx, a, 0); err != nil {
					x.fail(a, err)
				}
				if opts.Progress != nil {
					x.mu.Lock()
					x.done++
					d := x.done
					x.mu.Unlock()
					opts.Progress(d, len(actions))
				}
			}
		}()
	}
	for i := range actions {
		if ctx.Err() != nil {
			break
		}
		work <- &actions[i]
	}
	close(work)
	wg.Wait()
}

// apply performs one action: trash first, then the side writes, then the
// state commit.
func (x *executor) apply(ctx context.Context, a *Action, attempt int) error {
	db := x.e.db
	switch a.Kind {
	case ActForget:
		if err := db.DeleteItem(ctx, a.StateID); err != nil {
			return err
		}
		return x.closeConflicts(ctx, a)
	case ActConflict:
		return x.recordConflict(ctx, a)
	}

	// Trash every version about to be overwritten or deleted.
	for _, w := range []Which{SideA, SideB} {
		wr := a.Write(w)
		if wr.Old == nil || (wr.Op != OpUpdate && wr.Op != OpDelete) {
			continue
		}
		reason := "overwritten"
		if wr.Op == OpDelete {
			reason = "deleted"
		}
		t := &state.TrashEntry{Pair: x.pair.Name, Side: w.String(), UID: a.UID, SideID: wr.Ref.ID, Card: wr.Old.Encode(), Reason: reason}
		if err := db.AddTrash(ctx, t); err != nil {
			return err
		}
	}

	// Updates before creates: when a contact without UID is given one, it
	// is written back to its own side before the copy is created, so a
	// crash in between cannot lead to a second copy on the next run.
	order := []Which{SideA, SideB}
	if a.A.Op == OpCreate && a.B.Op != OpCreate {
		order = []Which{SideB, SideA}
	}
	refs := [2]Ref{a.ARef, a.BRef}
	deleted := false
	for _, w := range order {
		wr := a.Write(w)
		side := x.side(w)
		var err error
		switch wr.Op {
		case OpCreate:
			refs[w], err = side.Create(ctx, wr.Card)
		case OpUpdate:
			refs[w], err = side.Update(ctx, wr.Ref, wr.Card)
		case OpDelete:
			err = side.Delete(ctx, wr.Ref)
			deleted = true
		}
		if err != nil {
			if errors.Is(err, ErrPrecondition) && attempt < maxRetries {
				return x.retry(ctx, a, w, attempt)
			}
			return fmt.Errorf("%s on %s (%s): %w", wr.Op, w, side.Name(), err)
		}
		x.mu.Lock()
		count(x.counts(w), wr.Op)
		x.mu.Unlock()
	}

	// Commit.
	if deleted {
		if a.StateID != 0 {
			if err := db.DeleteItem(ctx, a.StateID); err != nil {
				return err
			}
		}
	} else {
		it := &state.Item{ID: a.StateID, Pair: x.pair.Name, UID: a.UID,
			AID: refs[SideA].ID, AVersion: refs[SideA].Version,
			BID: refs[SideB].ID, BVersion: refs[SideB].Version}
		if a.Base != nil {
			it.Base = a.Base.Encode()
			it.BaseHash = a.Base.Hash()
		} else if a.StateID == 0 {
			return fmt.Errorf("internal: new item %s without base", a.UID)
		}
		if err := db.PutItem(ctx, it); err != nil {
			return err
		}
		if a.Kind == ActLink {
			x.mu.Lock()
			x.res.Linked++
			x.mu.Unlock()
		}
	}
	if a.RestoreID != 0 {
		if err := db.MarkRestored(ctx, a.RestoreID); err != nil {
			return err
		}
	}
	if a.ResolutionID != 0 {
		if err := db.MarkConflictApplied(ctx, a.ResolutionID); err != nil {
			return err
		}
	}
	return x.closeConflicts(ctx, a)
}

func (x *executor) counts(w Which) *SideCounts {
	if w == SideA {
		return &x.res.A
	}
	return &x.res.B
}

func (x *executor) closeConflicts(ctx context.Context, a *Action) error {
	if a.StateID == 0 || !x.openConflicts[a.StateID] || a.ResolutionID != 0 {
		return nil
	}
	return x.e.db.DeleteConflictsOfItem(ctx, a.StateID)
}

func (x *executor) recordConflict(ctx context.Context, a *Action) error {
	db := x.e.db
	if a.StateID == 0 {
		// A first match left for the user: link it without a base so the
		// next run reads both sides again.
		it := &state.Item{Pair: x.pair.Name, UID: a.UID, AID: a.ARef.ID, AVersion: a.ARef.Version, BID: a.BRef.ID, BVersion: a.BRef.Version}
		if err := db.PutItem(ctx, it); err != nil {
			return err
		}
		a.StateID = it.ID
	}
	c := &state.Conflict{Pair: x.pair.Name, ItemID: a.StateID, UID: a.UID, A: encode(a.ConflictA), B: encode(a.ConflictB), Base: encode(a.ConflictBase)}
	if err := db.UpsertConflict(ctx, c); err != nil {
		return err
	}
	x.mu.Lock()
	x.res.Conflicts++
	x.mu.Unlock()
	return nil
}

func encode(c *vcard.Card) []byte {
	if c == nil {
		return nil
	}
	return c.Encode()
}

// retry re-reads the item on side w after a precondition failure, plans
// it again against what is there now and applies the new plan.
func (x *executor) retry(ctx context.Context, a *Action, w Which, attempt int) error {
	wr := a.Write(w)
	got, err := x.side(w).Get(ctx, []string{wr.Ref.ID})
	if err != nil {
		return fmt.Errorf("re-read after a precondition failure: %w", err)
	}
	if len(got) != 1 {
		return fmt.Errorf("re-read after a precondition failure: no answer")
	}
	it := got[0]
	o := Observed{Status: Changed, Ref: it.Ref, Card: it.Card, ModTime: it.ModTime}
	if it.Err != nil {
		if !errors.Is(it.Err, ErrNotFound) {
			return fmt.Errorf("re-read after a precondition failure: %w", it.Err)
		}
		o = Observed{Status: Deleted, Ref: wr.Ref}
	}
	if o.Ref.ID == "" {
		o.Ref.ID = wr.Ref.ID
	}
	x.e.log.Info("item changed during the sync: merging again", "pair", x.pair.Name, "uid", a.UID, "side", w.String())
	en := a.entry
	if en == nil {
		return fmt.Errorf("%s on %s: %w", wr.Op, w, ErrPrecondition)
	}
	e2 := *en
	if w == SideA {
		e2.A = o
	} else {
		e2.B = o
	}
	p := &planner{opts: x.popts}
	p.decide(&e2)
	for i := range p.plan.Actions {
		na := &p.plan.Actions[i]
		na.entry = &e2
		if err := x.apply(ctx, na, attempt+1); err != nil {
			return err
		}
	}
	return nil
}

// summary is the JSON form of a result (`sync --json`, runs table).
type summary struct {
	Pair       string     `json:"pair"`
	A          SideCounts `json:"a"`
	B          SideCounts `json:"b"`
	Conflicts  int        `json:"conflicts"`
	Skipped    int        `json:"skipped"`
	Errors     []string   `json:"errors"`
	DurationMS int64      `json:"duration_ms"`
	DryRun     bool       `json:"dry_run,omitempty"`
}

// MarshalSummary returns the result as the one-line JSON object of
// `sync --json`.
func (r *Result) MarshalSummary() ([]byte, error) {
	errs := r.Errors
	if errs == nil {
		errs = []string{}
	}
	return json.Marshal(summary{Pair: r.Pair, A: r.A, B: r.B, Conflicts: r.Conflicts, Skipped: len(r.Skipped),
		Errors: errs, DurationMS: r.Duration.Milliseconds(), DryRun: r.DryRun})
}
