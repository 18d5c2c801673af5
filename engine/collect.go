package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/cardbridge/cardbridge/state"
)

// sideRun is what collection learnt of one side.
type sideRun struct {
	w       Which
	side    Side
	full    bool
	listed  int
	token   string
	obs     map[int64]Observed // by state item id
	news    []Observed
	listErr error
	// retry holds the ids of the side's failed items due for a retry
	// this run: they are read by id even when the change set leaves them
	// out.
	retry map[string]bool
	// read holds every id read this run, failed the ids whose read
	// failed (with the failure to record).
	read   map[string]bool
	failed map[string]state.Failure
}

// fetchChunk bounds how many items one Get asks for.
const fetchChunk = 256

// changes asks one side what changed since its token, or for a full
// listing when it has no change tokens.
func (e *Engine) changes(ctx context.Context, pair string, r *sideRun) (ChangeSet, error) {
	var cs ChangeSet
	if ch, ok := r.side.(Changer); ok {
		tok, err := e.db.Token(ctx, pair, r.w.String())
		if err != nil {
			return cs, err
		}
		cs, err = ch.Changes(ctx, tok)
		if errors.Is(err, ErrTokenExpired) {
			e.log.Info("change token expired: reading the whole side and reconciling it with state", "pair", pair, "side", r.w.String())
			cs, err = ch.Changes(ctx, "")
		}
		return cs, err
	}
	refs, err := r.side.List(ctx)
	return ChangeSet{Full: true, Changed: refs}, err
}

// collection is one side's classification against state in progress
// (see collect).
type collection struct {
	cs      ChangeSet
	changed map[string]Ref  // by id, what the change set lists
	deleted map[string]bool // by id, what it reports deleted
	known   map[string]bool // the ids state links on this side
	uidOf   map[string]string
	// fetch lists the ids to read; fetchItem maps the known ones to
	// their state item id.
	fetch     []string
	fetchItem map[string]int64
}

// collect classifies one side's items against state and reads the new
// and changed ones.
func (e *Engine) collect(ctx context.Context, r *sideRun, cs ChangeSet, items []state.Item) error {
	c := r.classify(cs, items)
	c.fetch = append(c.fetch, r.newIDs(c)...)
	if p, ok := r.side.(Prefetcher); ok && len(c.fetch) > 0 {
		if err := p.Prefetch(ctx, c.fetch); err != nil {
			e.log.Debug("prefetch failed; reading in chunks", "side", r.w.String(), "items", len(c.fetch), "err", err)
		}
	}
	for start := 0; start < len(c.fetch); start += fetchChunk {
		ids := c.fetch[start:min(start+fetchChunk, len(c.fetch))]
		got, err := r.side.Get(ctx, ids)
		if err != nil {
			return err
		}
		if len(got) != len(ids) {
			return fmt.Errorf("get: asked for %d items, got %d", len(ids), len(got))
		}
		for k, it := range got {
			r.observe(c, ids[k], it)
		}
	}
	return nil
}

// classify is the first part of collect: it sets the side's observation
// of every state item from the change set, and lists those to read.
func (r *sideRun) classify(cs ChangeSet, items []state.Item) *collection {
	r.full, r.token = cs.Full, cs.Token
	r.obs = make(map[int64]Observed, len(items))
	r.read = make(map[string]bool)
	r.failed = make(map[string]state.Failure)
	c := &collection{cs: cs, changed: make(map[string]Ref, len(cs.Changed)), deleted: make(map[string]bool, len(cs.Deleted)),
		known: make(map[string]bool, len(items)), uidOf: make(map[string]string), fetchItem: make(map[string]int64)}
	for _, ref := range cs.Changed {
		c.changed[ref.ID] = ref
	}
	r.listed = len(c.changed)
	for _, id := range cs.Deleted {
		c.deleted[id] = true
	}
	for _, it := range items {
		r.classifyItem(c, it)
	}
	return c
}

// classifyItem classifies one state item on the side.
func (r *sideRun) classifyItem(c *collection, it state.Item) {
	ref := itemRef(it, r.w)
	id, ver := ref.ID, ref.Version
	if id == "" {
		// Not linked on this side (the side was reset): the side's copy,
		// if it holds one, is among the new items and planning links it
		// by UID; if it holds none, it is absent, never deleted.
		r.obs[it.ID] = Observed{Status: Absent}
		return
	}
	c.known[id] = true
	c.uidOf[id] = it.UID
	fetch := func() {
		c.fetch = append(c.fetch, id)
		c.fetchItem[id] = it.ID
	}
	listed, inChanged := c.changed[id]
	switch {
	case r.retry[id] && !inChanged && !c.deleted[id] && !c.cs.Full:
		// A failed item due for a retry: read it again by id, the change
		// set no longer names it.
		fetch()
		r.obs[it.ID] = Observed{Status: Changed, Ref: ref}
	case inChanged && listed.Version == ver && it.BaseHash != "":
		r.obs[it.ID] = Observed{Status: Unchanged, Ref: listed}
	case inChanged:
		fetch()
		r.obs[it.ID] = Observed{Status: Changed, Ref: listed}
	case c.deleted[id] || c.cs.Full:
		r.obs[it.ID] = Observed{Status: Deleted, Ref: ref}
	default:
		if it.BaseHash == "" {
			fetch()
		}
		r.obs[it.ID] = Observed{Status: Unchanged, Ref: ref}
	}
}

// itemRef is state item it's reference on side w.
func itemRef(it state.Item, w Which) Ref {
	return [2]Ref{{ID: it.AID, Version: it.AVersion}, {ID: it.BID, Version: it.BVersion}}[w]
}

// newIDs lists, sorted, the ids state does not know: those the change
// set lists and the failed new items due for a retry.
func (r *sideRun) newIDs(c *collection) []string {
	var ids []string
	for id := range c.changed {
		if !c.known[id] {
			ids = append(ids, id)
		}
	}
	for id := range r.retry {
		if _, inChanged := c.changed[id]; !c.known[id] && !inChanged && !c.deleted[id] && !c.cs.Full {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// observe records what reading id gave: the observation of a known item,
// or a new item; a failed read is recorded as a failure of the side.
func (r *sideRun) observe(c *collection, id string, it Item) {
	if it.ID == "" {
		it.ID = id
	}
	o := Observed{Ref: it.Ref, Card: it.Card, ModTime: it.ModTime, Err: it.Err}
	if it.Card != nil {
		o.Hash = it.Card.Hash() // here, where both sides' reads run in parallel
	}
	listed, inChanged := c.changed[id]
	if inChanged && o.Ref.Version == "" {
		o.Ref.Version = listed.Version
	}
	sid, isKnown := c.fetchItem[id]
	r.read[id] = true
	switch {
	case it.Err != nil && !isKnown && errors.Is(it.Err, ErrNotFound):
		return // appeared and vanished: nothing to do
	case it.Err != nil && isKnown && r.retry[id] && !inChanged && errors.Is(it.Err, ErrNotFound):
		// A failed item, retried, is gone now: the side says so for sure
		// (not an unreadable item), and the change set that reported its
		// deletion is behind the saved token.
		o = Observed{Status: Deleted, Ref: r.obs[sid].Ref}
	case it.Err != nil || it.Card == nil:
		if o.Err == nil {
			o.Err = errors.New("no content")
		}
		o.Status = Unreadable
		uid := c.uidOf[id]
		if uid == "" && it.Card != nil {
			uid = it.Card.UID()
		}
		r.failed[id] = state.Failure{Side: r.w.String(), SideID: id, UID: uid, Reason: "unreadable: " + errText(o.Err)}
	case isKnown:
		o.Status = Changed
	default:
		o.Status = Added
	}
	if isKnown {
		r.obs[sid] = o
	} else {
		r.news = append(r.news, o)
	}
}

// refreshStale reads afresh, on each side, the items the side reported
// unchanged although its state version may be stale: those a restore or a
// conflict resolution is about to overwrite, and those with an open
// conflict that the other side reports changed again. A side with a change
// feed no longer reports an item whose change an earlier run left to the
// user (policy manual), so state's version of it is old: without a fresh
// read the run would plan against the base as if the item were unchanged,
// put the base in the trash, and have its write refused by the side's
// precondition.
func refreshStale(ctx context.Context, runs [2]*sideRun, entries []Entry, openConflicts map[int64]bool) error {
	for _, r := range runs {
		var idx []int
		var ids []string
		for i := range entries {
			en := &entries[i]
			stale := en.Override != nil ||
				openConflicts[en.StateID] && (en.A.Status != Unchanged || en.B.Status != Unchanged)
			if o := en.obs(r.w); stale && o.Status == Unchanged && o.Ref.ID != "" {
				idx = append(idx, i)
				ids = append(ids, o.Ref.ID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		got, err := r.side.Get(ctx, ids)
		if err != nil {
			return fmt.Errorf("side %s (%s): read the items in conflict, to restore or to resolve: %w", r.w, r.side.Name(), err)
		}
		if len(got) != len(ids) {
			return fmt.Errorf("side %s (%s): read %d items, got %d answers", r.w, r.side.Name(), len(ids), len(got))
		}
		for k, it := range got {
			o := entries[idx[k]].obs(r.w)
			switch {
			case it.Err != nil && errors.Is(it.Err, ErrNotFound):
				*o = Observed{Status: Deleted, Ref: o.Ref}
			case it.Err != nil:
				// Unreadable now: keep the observation; the write's
				// precondition still guards the item.
			case it.Ref.Version != o.Ref.Version:
				ref := it.Ref
				if ref.ID == "" {
					ref.ID = o.Ref.ID
				}
				*o = Observed{Status: Changed, Ref: ref, Card: it.Card, ModTime: it.ModTime}
			}
		}
	}
	return nil
}

// obs is the entry's observation of side w.
func (en *Entry) obs(w Which) *Observed {
	return [2]*Observed{&en.A, &en.B}[w]
}
