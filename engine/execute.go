package engine

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// maxRetries bounds how often one item is re-read and re-planned after a
// precondition failure.
const maxRetries = 3

// batchSize is how many actions are applied between two state commits.
// Within a batch: the trash of every version about to be overwritten is
// committed first, then the sides are written (concurrently), made durable
// (Flusher), and only then is the state of every write committed in one
// transaction. A crash anywhere leaves state behind the sides, never ahead
// of them, and a re-run converges from there.
const batchSize = 200

type executor struct {
	e             *Engine
	pair          Pair
	res           *Result
	popts         PlanOptions
	openConflicts map[int64]bool
	progress      func(done, total int)
	total         int

	mu   sync.Mutex // guards res, done and trashed
	done int
	// trashed holds the versions put in the trash during this run (side,
	// id, SHA-256 of the content), so that a retry after a precondition
	// failure does not store the same version twice.
	trashed map[string]bool
	// failed holds, by side and id, the side changes of the actions that
	// failed, to record with the round's token (see Engine.saveRound).
	failed map[string]state.Failure
}

// commit is the state change one applied action leaves to record.
type commit struct {
	a       *Action
	refs    [2]Ref
	deleted bool
}

// side is the pair's side w.
func (x *executor) side(w Which) Side { return x.pair.side(w) }

// fail records that action a failed with err: an *ItemError of the run
// (err itself when write made it one: the write and the side are known)
// and, for each side whose change it carried, a failure to record.
func (x *executor) fail(a *Action, err error) {
	ie, ok := err.(*ItemError)
	if !ok {
		ie = &ItemError{Err: err}
	}
	ie.Pair, ie.UID = x.pair.Name, a.UID
	c := a.Base
	if c == nil {
		c = a.A.Old
	}
	if c == nil {
		c = a.B.Old
	}
	if c != nil {
		ie.Name = c.FN()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.res.Errors = append(x.res.Errors, ie)
	if a.entry == nil || x.failed == nil {
		return
	}
	for _, w := range []Which{SideA, SideB} {
		o := a.entry.obs(w)
		switch o.Status {
		case Changed, Added, Deleted:
			if o.Ref.ID != "" {
				x.failed[w.String()+"\x00"+o.Ref.ID] = state.Failure{Side: w.String(), SideID: o.Ref.ID, UID: a.UID, Reason: ie.Error()}
			}
		}
	}
}

func (x *executor) tick() {
	if x.progress == nil {
		return
	}
	x.mu.Lock()
	x.done++
	d := x.done
	x.mu.Unlock()
	x.progress(d, x.total)
}

// run applies the actions batch by batch. A batch's state commit runs in
// the background while the next batch is written: the commit of batch N
// only needs batch N's writes to be durable, which they are by then.
func (x *executor) run(ctx context.Context, actions []Action, opts Options) {
	x.progress, x.total = opts.Progress, len(actions)
	n := opts.Concurrency
	if n <= 0 {
		n = 8
	}
	commits := make(chan []commit, 1)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		for cs := range commits {
			x.commitAll(ctx, cs)
		}
	}()
	for start := 0; start < len(actions); start += batchSize {
		if ctx.Err() != nil {
			break
		}
		batch := make([]*Action, 0, batchSize)
		for i := start; i < min(start+batchSize, len(actions)); i++ {
			batch = append(batch, &actions[i])
		}
		if cs := x.runBatch(ctx, batch, n); len(cs) > 0 {
			commits <- cs
		}
	}
	close(commits)
	<-committed
}

// runBatch writes one batch and returns the state commits of its durable
// writes.
func (x *executor) runBatch(ctx context.Context, batch []*Action, workers int) []commit {
	// 1. The trash first.
	if err := x.trash(ctx, batch); err != nil {
		for _, a := range batch {
			x.fail(a, err)
		}
		return nil
	}
	// 2. The side writes.
	results := make([][]commit, len(batch))
	wrote := make([][2]bool, len(batch))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(batch)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				cs, err := x.write(ctx, batch[i], 0)
				if err != nil {
					x.fail(batch[i], err)
				}
				results[i] = cs
				for _, c := range cs {
					wrote[i][SideA] = wrote[i][SideA] || c.a.A.Op != OpNone
					wrote[i][SideB] = wrote[i][SideB] || c.a.B.Op != OpNone
				}
				x.tick()
			}
		}()
	}
	for i := range batch {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	// 3. Make the writes durable.
	var flushErr [2]error
	for _, w := range []Which{SideA, SideB} {
		if f, ok := x.side(w).(Flusher); ok {
			if err := f.Flush(ctx); err != nil {
				flushErr[w] = fmt.Errorf("making writes on %s durable: %w", w, err)
			}
		}
	}
	var commits []commit
	for i, cs := range results {
		if err := errors.Join(pick2(wrote[i][SideA], flushErr[SideA]), pick2(wrote[i][SideB], flushErr[SideB])); err != nil {
			x.fail(batch[i], err)
			continue
		}
		commits = append(commits, cs...)
	}
	return commits
}

// commitAll records the state of a batch's durable writes in one
// transaction.
func (x *executor) commitAll(ctx context.Context, commits []commit) {
	// The writes are done: record them even when the run is being
	// cancelled (SIGTERM), so a stop is clean rather than a crash.
	ctx = context.WithoutCancel(ctx)
	var linked, conflicts int
	err := x.e.db.Update(ctx, func(tx *state.Tx) error {
		linked, conflicts = 0, 0
		for i := range commits {
			l, c, err := x.commit(tx, &commits[i])
			if err != nil {
				return err
			}
			linked += l
			conflicts += c
		}
		return nil
	})
	if err != nil {
		for _, c := range commits {
			x.fail(c.a, fmt.Errorf("recording the sync in state: %w", err))
		}
		return
	}
	x.mu.Lock()
	x.res.Linked += linked
	x.res.Conflicts += conflicts
	x.mu.Unlock()
}

func pick2(wrote bool, err error) error {
	if wrote {
		return err
	}
	return nil
}

// trash stores every version the actions are about to overwrite or
// delete, in one transaction.
func (x *executor) trash(ctx context.Context, actions []*Action) error {
	var entries []*state.TrashEntry
	for _, a := range actions {
		for _, w := range []Which{SideA, SideB} {
			wr := a.Write(w)
			if wr.Old == nil || (wr.Op != OpUpdate && wr.Op != OpDelete) {
				continue
			}
			reason := "overwritten"
			if wr.Op == OpDelete {
				reason = "deleted"
			}
			card := wr.Old.Encode()
			sum := sha256.Sum256(card)
			key := w.String() + "\x00" + wr.Ref.ID + "\x00" + string(sum[:])
			x.mu.Lock()
			seen := x.trashed[key]
			if !seen {
				if x.trashed == nil {
					x.trashed = make(map[string]bool)
				}
				x.trashed[key] = true
			}
			x.mu.Unlock()
			if seen {
				continue
			}
			entries = append(entries, &state.TrashEntry{Pair: x.pair.Name, Side: w.String(), UID: a.UID, SideID: wr.Ref.ID, Card: card, Reason: reason})
		}
	}
	if len(entries) == 0 {
		return nil
	}
	return x.e.db.Update(ctx, func(tx *state.Tx) error {
		for _, e := range entries {
			if err := tx.AddTrash(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// write performs an action's side writes and returns what to commit.
func (x *executor) write(ctx context.Context, a *Action, attempt int) ([]commit, error) {
	if a.Kind == ActForget || a.Kind == ActConflict {
		return []commit{{a: a, refs: [2]Ref{a.ARef, a.BRef}}}, nil
	}
	// Updates before creates: when a contact without UID is given one, it
	// is written back to its own side before the copy is created, so a
	// crash in between cannot lead to a second copy on the next run.
	order := []Which{SideA, SideB}
	if a.A.Op == OpCreate && a.B.Op != OpCreate {
		order = []Which{SideB, SideA}
	}
	c := commit{a: a, refs: [2]Ref{a.ARef, a.BRef}}
	for _, w := range order {
		wr := a.Write(w)
		side := x.side(w)
		var err error
		switch wr.Op {
		case OpNone:
			continue
		case OpCreate:
			c.refs[w], err = side.Create(ctx, wr.Card)
		case OpUpdate:
			c.refs[w], err = side.Update(ctx, wr.Ref, wr.Card)
		case OpDelete:
			err = side.Delete(ctx, wr.Ref)
			c.deleted = true
		}
		if err != nil {
			if errors.Is(err, ErrPrecondition) && attempt < maxRetries && a.entry != nil {
				return x.retry(ctx, a, w, attempt)
			}
			id := wr.Ref.ID
			if id == "" {
				id = a.ref(w).ID
			}
			return nil, &ItemError{Op: wr.Op, Side: w, SideName: side.Name(), ID: id, Err: err}
		}
		x.mu.Lock()
		count(x.res.counts(w), wr.Op)
		x.mu.Unlock()
	}
	return []commit{c}, nil
}

// commit records one applied action in state; it returns how many items
// were linked and conflicts recorded.
func (x *executor) commit(tx *state.Tx, c *commit) (linked, conflicts int, err error) {
	a := c.a
	switch {
	case a.Kind == ActForget:
		return 0, 0, tx.DeleteItem(a.StateID)
	case a.Kind == ActConflict:
		id := a.StateID
		if id == 0 {
			// A first match left for the user: link it without a base so
			// the next run reads both sides again.
			it := &state.Item{Pair: x.pair.Name, UID: a.UID, AID: a.ARef.ID, AVersion: a.ARef.Version, BID: a.BRef.ID, BVersion: a.BRef.Version}
			if err := tx.PutItem(it); err != nil {
				return 0, 0, err
			}
			id = it.ID
		}
		cf := &state.Conflict{Pair: x.pair.Name, ItemID: id, UID: a.UID, A: encode(a.ConflictA), B: encode(a.ConflictB), Base: encode(a.ConflictBase)}
		return 0, 1, tx.UpsertConflict(cf)
	case c.deleted:
		if a.StateID != 0 {
			if err := tx.DeleteItem(a.StateID); err != nil {
				return 0, 0, err
			}
		}
	default:
		it := &state.Item{ID: a.StateID, Pair: x.pair.Name, UID: a.UID,
			AID: c.refs[SideA].ID, AVersion: c.refs[SideA].Version,
			BID: c.refs[SideB].ID, BVersion: c.refs[SideB].Version}
		if a.Base != nil {
			it.Base = a.Base.Encode()
			it.BaseHash = a.Base.Hash()
		} else if a.StateID == 0 {
			return 0, 0, fmt.Errorf("internal: new item %s without base", a.UID)
		}
		if err := tx.PutItem(it); err != nil {
			return 0, 0, err
		}
		if a.Kind == ActLink {
			linked = 1
		}
	}
	if a.RestoreID != 0 {
		if err := tx.MarkRestored(a.RestoreID); err != nil {
			return 0, 0, err
		}
	}
	if a.ResolutionID != 0 {
		if err := tx.MarkConflictApplied(a.ResolutionID); err != nil {
			return 0, 0, err
		}
	} else if a.StateID != 0 && x.openConflicts[a.StateID] && !c.deleted {
		// The item is no longer in conflict (one side went back, or the
		// policy changed): forget its open conflict.
		if err := tx.DeleteConflictsOfItem(a.StateID); err != nil {
			return 0, 0, err
		}
	}
	return linked, 0, nil
}

func encode(c *vcard.Card) []byte {
	if c == nil {
		return nil
	}
	return c.Encode()
}

// retry re-reads the item on side w after a precondition failure, plans
// it again against what is there now and applies the new plan.
func (x *executor) retry(ctx context.Context, a *Action, w Which, attempt int) ([]commit, error) {
	wr := a.Write(w)
	got, err := x.side(w).Get(ctx, []string{wr.Ref.ID})
	if err != nil {
		return nil, fmt.Errorf("re-read after a precondition failure: %w", err)
	}
	if len(got) != 1 {
		return nil, fmt.Errorf("re-read after a precondition failure: no answer")
	}
	it := got[0]
	o := Observed{Status: Changed, Ref: it.Ref, Card: it.Card, ModTime: it.ModTime}
	if it.Err != nil {
		if !errors.Is(it.Err, ErrNotFound) {
			return nil, fmt.Errorf("re-read after a precondition failure: %w", it.Err)
		}
		o = Observed{Status: Deleted, Ref: wr.Ref}
	}
	if o.Ref.ID == "" {
		o.Ref.ID = wr.Ref.ID
	}
	x.e.log.Info("contact changed during the sync: planning it again", "pair", x.pair.Name, "uid", a.UID, "side", w.String())
	e2 := *a.entry
	*e2.obs(w) = o
	p := &planner{opts: x.popts}
	p.decide(&e2)
	var out []commit
	for i := range p.plan.Actions {
		na := &p.plan.Actions[i]
		na.entry = &e2
		if err := x.trash(ctx, []*Action{na}); err != nil {
			return out, err
		}
		cs, err := x.write(ctx, na, attempt+1)
		out = append(out, cs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
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
	errs := r.ErrorStrings()
	return json.Marshal(summary{Pair: r.Pair, A: r.A, B: r.B, Conflicts: r.Conflicts, Skipped: len(r.Skipped),
		Errors: errs, DurationMS: r.Duration.Milliseconds(), DryRun: r.DryRun})
}
