package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
	"github.com/google/uuid"
)

// Pair is a pair as the engine runs it: two opened sides and the rules
// between them.
type Pair struct {
	Name      string
	A, B      Side
	Direction Direction
	Policy    Policy
	// MaxDelete returns how many deletions are allowed on a side that
	// holds total items; nil allows any number.
	MaxDelete func(total int) int
	// Trash is how much of the pair's trash to keep: at the end of every
	// run that is not a dry run, entries past Trash.Retention and beyond
	// Trash.MaxBytes are purged (state.DB.PurgeTrash). The zero value
	// purges nothing.
	Trash state.TrashLimits
}

// Options tune one run.
type Options struct {
	// DryRun plans and reports without writing anything, state included.
	DryRun bool
	// ForceDelete lets the run delete past the guards.
	ForceDelete bool
	// Progress, when set, is called as items are read and applied.
	Progress func(done, total int)
	// Concurrency is how many items are applied at once (default 8): file
	// and network writes wait on fsync and round trips.
	Concurrency int
	// Now is the clock that decides which failed items are due for a
	// retry and stamps new failures; nil is time.Now.
	Now func() time.Time
}

// SideCounts counts what a run did to one side.
type SideCounts struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
}

// Result is the outcome of one run of a pair.
type Result struct {
	Pair      string
	A, B      SideCounts
	Linked    int
	Conflicts int
	Skipped   []Skip
	Errors    []string
	Plan      *Plan
	DryRun    bool
	Duration  time.Duration
	// TrashPurged is what the purge at the end of the run removed from
	// the pair's trash (see Pair.Trash).
	TrashPurged state.PurgeResult
}

// OK reports whether the run applied everything it planned.
func (r *Result) OK() bool { return len(r.Errors) == 0 }

// GuardError stops a run before any deletion: a side listed empty while
// state holds items, or the run would delete more than max_delete.
type GuardError struct {
	Pair      string
	Side      Which
	SideName  string
	Empty     bool
	Deletions int
	Allowed   int
	Total     int
	// EmptyName names the side that listed empty (Empty guards only).
	EmptyName string
	// Examples names some of the contacts that would be deleted.
	Examples []string
}

func (g *GuardError) Error() string {
	var b strings.Builder
	if g.Empty {
		fmt.Fprintf(&b, "pair %s: stopped before deleting anything: side %s (%s) lists no contacts while state holds %d", g.Pair, g.Side.Other(), g.EmptyName, g.Total)
		fmt.Fprintf(&b, "; going on would delete %d contacts on side %s (%s)", g.Deletions, g.Side, g.SideName)
	} else {
		fmt.Fprintf(&b, "pair %s: stopped before deleting anything: the run would delete %d of %d contacts on side %s (%s), more than max_delete allows (%d)", g.Pair, g.Deletions, g.Total, g.Side, g.SideName, g.Allowed)
	}
	if len(g.Examples) > 0 {
		fmt.Fprintf(&b, ", among them: %s", strings.Join(g.Examples, "; "))
	}
	fmt.Fprintf(&b, ". Check that the side is reachable and complete; if the deletions are intended, run `cardbridge sync %s --force-delete` (see them first with --dry-run)", g.Pair)
	return b.String()
}

// IdentityError stops a run before anything is read: a side of the pair
// points at another target (folder, mailbox, directory, address book) than
// the one its saved state (change token, ids and versions) was made for.
// Match it with errors.As.
type IdentityError struct {
	Pair     string
	Side     Which
	SideName string
	// Was is the identity recorded in state; Now the side's current one.
	Was, Now string
}

// Error names the pair, the side, both identities and the two ways on.
func (e *IdentityError) Error() string {
	return fmt.Sprintf("pair %s: side %s (%s) now points at %q, but its saved state was made for %q: "+
		"its saved change token and contact ids belong to the old target, so the pair is not synced. "+
		"Either undo the configuration change, or run `cardbridge reset %s --side %s` to forget side %s's token and ids "+
		"(contacts, UIDs and bases are kept: the next run links the side's contacts by UID, with no duplicate and no deletion)",
		e.Pair, e.Side, e.SideName, e.Now, e.Was, e.Pair, e.Side, e.Side)
}

// checkIdentities compares each Identifier side's identity with the one
// recorded for it: a different one is an *IdentityError; none recorded (a
// first run, a state from before identities, a reset side) records the
// current one, except in a dry run, which writes nothing.
func (e *Engine) checkIdentities(ctx context.Context, pair Pair, dryRun bool) error {
	for _, w := range []Which{SideA, SideB} {
		sd := pair.A
		if w == SideB {
			sd = pair.B
		}
		idr, ok := sd.(Identifier)
		if !ok {
			continue
		}
		now, err := idr.Identity(ctx)
		if err != nil {
			return fmt.Errorf("pair %s: side %s (%s): identity: %w", pair.Name, w, sd.Name(), err)
		}
		if now == "" {
			return fmt.Errorf("pair %s: side %s (%s): the side states an empty identity", pair.Name, w, sd.Name())
		}
		was, err := e.db.SideIdentity(ctx, pair.Name, w.String())
		if err != nil {
			return err
		}
		switch {
		case was == now:
		case was != "":
			return &IdentityError{Pair: pair.Name, Side: w, SideName: sd.Name(), Was: was, Now: now}
		case !dryRun:
			if err := e.db.SetSideIdentity(ctx, pair.Name, w.String(), now); err != nil {
				return err
			}
			e.log.Debug("side identity recorded", "pair", pair.Name, "side", w.String(), "identity", now)
		}
	}
	return nil
}

// Engine runs pairs against one state database.
type Engine struct {
	db     *state.DB
	log    *slog.Logger
	newUID func(seed string) string
}

// uidSpace is the namespace of the name-based UUIDs the engine makes.
var uidSpace = uuid.MustParse("6f1c9a55-2a64-4c1e-9d0b-7c4a2b3e8f10")

// New returns an engine over db. A nil logger discards logs.
func New(db *state.DB, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{db: db, log: log, newUID: func(seed string) string {
		return uuid.NewSHA1(uidSpace, []byte(seed)).String()
	}}
}

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

// Run syncs one pair once.
func (e *Engine) Run(ctx context.Context, pair Pair, opts Options) (*Result, error) {
	start := time.Now()
	res := &Result{Pair: pair.Name, DryRun: opts.DryRun}
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
	// 1. Ask both sides what changed while state loads, then classify and
	// read the changed items of both sides at once.
	runs := [2]*sideRun{{w: SideA, side: pair.A}, {w: SideB, side: pair.B}}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now()
	failedItems, err := e.db.FailedItems(ctx, pair.Name)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		r.retry = make(map[string]bool)
		for _, f := range failedItems {
			if f.Side == r.w.String() && !f.NextRetry.After(now) {
				r.retry[f.SideID] = true
			}
		}
	}
	var css [2]ChangeSet
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			css[i], r.listErr = e.changes(ctx, pair.Name, r)
		}()
	}
	items, err := e.db.Items(ctx, pair.Name)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	e.log.Debug("state loaded and sides listed", "pair", pair.Name, "items", len(items), "elapsed", time.Since(start))
	for _, r := range runs {
		if r.listErr == nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.listErr = e.collect(ctx, r, css[r.w], items)
			}()
		}
	}
	wg.Wait()
	for _, r := range runs {
		if r.listErr != nil {
			return nil, fmt.Errorf("pair %s: side %s (%s): %w", pair.Name, r.w, r.side.Name(), r.listErr)
		}
	}
	e.log.Debug("sides collected", "pair", pair.Name, "a_listed", runs[0].listed, "b_listed", runs[1].listed,
		"a_new", len(runs[0].news), "b_new", len(runs[1].news), "elapsed", time.Since(start))
	// Empty-side guard: a side that lists nothing while state has items.
	for _, r := range runs {
		if r.full && r.listed == 0 && len(items) > 0 && !opts.ForceDelete {
			g := &GuardError{Pair: pair.Name, Side: r.w.Other(), SideName: runs[r.w.Other()].side.Name(), EmptyName: r.side.Name(), Empty: true, Deletions: len(items), Total: len(items)}
			g.Examples = exampleNames(items, 5)
			return nil, g
		}
	}

	// 2. Entries, with pending restores and resolutions.
	in := PlanInput{FirstSync: len(items) == 0, NewA: runs[0].news, NewB: runs[1].news}
	entries := make([]Entry, 0, len(items))
	entryByUID := make(map[string]int)
	entryByID := make(map[int64]int)
	for _, it := range items {
		en := Entry{StateID: it.ID, UID: it.UID, A: runs[0].obs[it.ID], B: runs[1].obs[it.ID]}
		entryByUID[it.UID] = len(entries)
		entryByID[it.ID] = len(entries)
		entries = append(entries, en)
	}
	restores, err := e.db.PendingRestores(ctx, pair.Name)
	if err != nil {
		return nil, err
	}
	for _, t := range restores {
		card, perr := vcard.Parse(t.Card)
		if perr != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("trash entry %d cannot be restored: %v", t.ID, perr))
			continue
		}
		if i, ok := entryByUID[card.UID()]; ok && card.UID() != "" {
			entries[i].Override, entries[i].RestoreID = card, t.ID
		} else {
			in.Restores = append(in.Restores, Restore{ID: t.ID, Card: card})
		}
	}
	resolutions, err := e.db.PendingResolutions(ctx, pair.Name)
	if err != nil {
		return nil, err
	}
	for _, c := range resolutions {
		card, perr := vcard.Parse(c.Merged)
		i, ok := entryByID[c.ItemID]
		if perr != nil || !ok {
			res.Errors = append(res.Errors, fmt.Sprintf("conflict %d: resolution cannot be applied: %v", c.ID, perr))
			continue
		}
		entries[i].Override, entries[i].ResolutionID = card, c.ID
	}
	openConflicts := make(map[int64]bool)
	if cs, err := e.db.Conflicts(ctx, pair.Name, true); err == nil {
		for _, c := range cs {
			openConflicts[c.ItemID] = true
		}
	} else {
		return nil, err
	}
	if err := refreshStale(ctx, runs, entries, openConflicts); err != nil {
		return nil, fmt.Errorf("pair %s: %w", pair.Name, err)
	}

	// 3. Bases of the entries that need one.
	var need []int64
	for _, en := range entries {
		if en.A.Status != Unchanged || en.B.Status != Unchanged || en.Override != nil {
			need = append(need, en.StateID)
		}
	}
	if len(need) > 0 {
		bases, err := e.db.Bases(ctx, need)
		if err != nil {
			return nil, err
		}
		for i := range entries {
			raw, ok := bases[entries[i].StateID]
			if !ok || len(raw) == 0 {
				continue
			}
			b, perr := vcard.Parse(raw)
			if perr != nil {
				return nil, fmt.Errorf("pair %s: state: base of item %s is unreadable: %w", pair.Name, entries[i].UID, perr)
			}
			entries[i].Base = b
		}
	}
	in.Entries = entries

	// 4. Plan.
	popts := PlanOptions{Direction: pair.Direction, Policy: pair.Policy, NewUID: e.newUID}
	if pr, ok := pair.A.(Projector); ok {
		popts.ProjectA = pr.Project
	}
	if pr, ok := pair.B.(Projector); ok {
		popts.ProjectB = pr.Project
	}
	plan := MakePlan(in, popts)
	e.log.Debug("planned", "pair", pair.Name, "actions", len(plan.Actions), "skipped", len(plan.Skipped), "elapsed", time.Since(start))
	res.Plan = &plan
	res.Skipped = plan.Skipped

	// 5. Deletion guard.
	if !opts.ForceDelete && pair.MaxDelete != nil {
		for _, w := range []Which{SideA, SideB} {
			n := plan.Deletions(w)
			allowed := pair.MaxDelete(len(items))
			if n > allowed {
				g := &GuardError{Pair: pair.Name, Side: w, SideName: runs[w].side.Name(), Deletions: n, Allowed: allowed, Total: len(items)}
				for _, a := range plan.Actions {
					if wr := a.Write(w); wr.Op == OpDelete && len(g.Examples) < 5 {
						g.Examples = append(g.Examples, describe(wr.Old, wr.Ref.ID))
					}
				}
				return res, g
			}
		}
	}
	if opts.DryRun {
		countPlanned(res, &plan)
		res.Duration = time.Since(start)
		return res, nil
	}

	// 6. Apply.
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	for _, sd := range []Side{pair.A, pair.B} {
		if c, ok := sd.(Concurrency); ok && c.WriteConcurrency() > opts.Concurrency {
			opts.Concurrency = c.WriteConcurrency()
		}
	}
	x := &executor{e: e, pair: pair, res: res, popts: popts, openConflicts: openConflicts, failed: make(map[string]state.Failure)}
	x.run(ctx, plan.Actions, opts)
	e.log.Debug("applied", "pair", pair.Name, "elapsed", time.Since(start))
	if err := ctx.Err(); err != nil {
		res.Errors = append(res.Errors, "interrupted: "+err.Error())
	}

	// 7. Tokens only once everything they delivered is applied or
	// recorded as failed, in the same transaction as the failures.
	if ctx.Err() == nil {
		if err := e.saveRound(ctx, pair.Name, runs, x.failed, now); err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	res.Duration = time.Since(start)
	e.recordRun(ctx, res, start)
	e.purgeTrash(ctx, pair, res)
	return res, nil
}

// saveRound records, in one transaction, the failures of the run (reads
// of the sides and the failed actions' changes), forgets the failures of
// items that were read and synced this time, and saves the sides' new
// tokens. The token advances past a failed item because the item is
// recorded here, to be read again by id when its retry is due.
func (e *Engine) saveRound(ctx context.Context, pair string, runs [2]*sideRun, failedWrites map[string]state.Failure, now time.Time) error {
	failures := make(map[string]state.Failure, len(failedWrites))
	for k, f := range failedWrites {
		failures[k] = f
	}
	for _, r := range runs {
		for id, f := range r.failed {
			failures[r.w.String()+"\x00"+id] = f
		}
	}
	keys := make([]string, 0, len(failures))
	for k := range failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	err := e.db.Update(ctx, func(tx *state.Tx) error {
		for _, r := range runs {
			for id := range r.read {
				if _, failed := failures[r.w.String()+"\x00"+id]; !failed {
					if err := tx.ClearFailure(pair, r.w.String(), id); err != nil {
						return err
					}
				}
			}
		}
		for _, k := range keys {
			if err := tx.RecordFailure(pair, failures[k], now); err != nil {
				return err
			}
		}
		for _, r := range runs {
			if r.token != "" {
				if err := tx.SetToken(pair, r.w.String(), r.token); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pair %s: recording the round (failed items and change tokens): %w", pair, err)
	}
	for _, k := range keys {
		f := failures[k]
		e.log.Warn("item failed: recorded, to be read again later", "pair", pair, "side", f.Side, "id", f.SideID, "uid", f.UID, "reason", f.Reason)
	}
	return nil
}

// purgeTrash keeps the pair's trash within pair.Trash, still under the
// pair's lock (no run adds to it meanwhile). A failure is logged: it
// loses nothing, and the next run tries again.
func (e *Engine) purgeTrash(ctx context.Context, pair Pair, res *Result) {
	if pair.Trash == (state.TrashLimits{}) || ctx.Err() != nil {
		return
	}
	pr, err := e.db.PurgeTrash(ctx, state.Purge{Pair: pair.Name, TrashLimits: pair.Trash})
	if err != nil {
		e.log.Warn("purging the trash", "pair", pair.Name, "err", err)
		return
	}
	res.TrashPurged = pr
	if pr.Entries > 0 {
		e.log.Info("trash purged", "pair", pair.Name, "entries", pr.Entries, "bytes", pr.Bytes,
			"past_retention", pr.ByAge, "over_size", pr.BySize, "kept", pr.Kept, "kept_bytes", pr.KeptBytes)
	}
}

func exampleNames(items []state.Item, n int) []string {
	var out []string
	for i := 0; i < len(items) && i < n; i++ {
		out = append(out, items[i].UID)
	}
	return out
}

// describe names a contact for messages: its FN and UID, else the id.
func describe(c *vcard.Card, id string) string {
	if c == nil {
		return id
	}
	if fn := c.FN(); fn != "" {
		return fmt.Sprintf("%q (%s)", fn, id)
	}
	return id
}

func countPlanned(res *Result, plan *Plan) {
	for _, a := range plan.Actions {
		switch a.Kind {
		case ActConflict:
			res.Conflicts++
		case ActLink:
			res.Linked++
		}
		count(&res.A, a.A.Op)
		count(&res.B, a.B.Op)
	}
}

func count(c *SideCounts, op Op) {
	switch op {
	case OpCreate:
		c.Created++
	case OpUpdate:
		c.Updated++
	case OpDelete:
		c.Deleted++
	}
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

// collect classifies one side's items against state and reads the new
// and changed ones.
func (e *Engine) collect(ctx context.Context, r *sideRun, cs ChangeSet, items []state.Item) error {
	r.full, r.token = cs.Full, cs.Token
	r.obs = make(map[int64]Observed, len(items))

	changed := make(map[string]Ref, len(cs.Changed))
	for _, ref := range cs.Changed {
		changed[ref.ID] = ref
	}
	r.listed = len(changed)
	deleted := make(map[string]bool, len(cs.Deleted))
	for _, id := range cs.Deleted {
		deleted[id] = true
	}
	known := make(map[string]bool, len(items))
	var fetch []string
	fetchItem := make(map[string]int64)
	uidOf := make(map[string]string)
	r.read = make(map[string]bool)
	r.failed = make(map[string]state.Failure)
	for _, it := range items {
		id, ver := it.AID, it.AVersion
		if r.w == SideB {
			id, ver = it.BID, it.BVersion
		}
		if id == "" {
			// Not linked on this side (the side was reset): the side's
			// copy, if it holds one, is among the new items and planning
			// links it by UID; if it holds none, it is absent, never
			// deleted.
			r.obs[it.ID] = Observed{Status: Absent}
			continue
		}
		known[id] = true
		uidOf[id] = it.UID
		ref, inChanged := changed[id]
		switch {
		case r.retry[id] && !inChanged && !deleted[id] && !cs.Full:
			// A failed item due for a retry: read it again by id, the
			// change set no longer names it.
			fetch = append(fetch, id)
			fetchItem[id] = it.ID
			r.obs[it.ID] = Observed{Status: Changed, Ref: Ref{ID: id, Version: ver}}
		case inChanged && ref.Version == ver && it.BaseHash != "":
			r.obs[it.ID] = Observed{Status: Unchanged, Ref: ref}
		case inChanged:
			fetch = append(fetch, id)
			fetchItem[id] = it.ID
			r.obs[it.ID] = Observed{Status: Changed, Ref: ref}
		case deleted[id] || cs.Full:
			r.obs[it.ID] = Observed{Status: Deleted, Ref: Ref{ID: id, Version: ver}}
		default:
			if it.BaseHash == "" {
				fetch = append(fetch, id)
				fetchItem[id] = it.ID
			}
			r.obs[it.ID] = Observed{Status: Unchanged, Ref: Ref{ID: id, Version: ver}}
		}
	}
	var newIDs []string
	for id := range changed {
		if !known[id] {
			newIDs = append(newIDs, id)
		}
	}
	for id := range r.retry {
		if _, inChanged := changed[id]; !known[id] && !inChanged && !deleted[id] && !cs.Full {
			newIDs = append(newIDs, id)
		}
	}
	sort.Strings(newIDs)
	fetch = append(fetch, newIDs...)

	if p, ok := r.side.(Prefetcher); ok && len(fetch) > 0 {
		if err := p.Prefetch(ctx, fetch); err != nil {
			e.log.Debug("prefetch failed; reading in chunks", "side", r.w.String(), "items", len(fetch), "err", err)
		}
	}
	for startIx := 0; startIx < len(fetch); startIx += fetchChunk {
		end := min(startIx+fetchChunk, len(fetch))
		got, err := r.side.Get(ctx, fetch[startIx:end])
		if err != nil {
			return err
		}
		if len(got) != end-startIx {
			return fmt.Errorf("get: asked for %d items, got %d", end-startIx, len(got))
		}
		for k, it := range got {
			id := fetch[startIx+k]
			if it.ID == "" {
				it.ID = id
			}
			o := Observed{Ref: it.Ref, Card: it.Card, ModTime: it.ModTime, Err: it.Err}
			if it.Card != nil {
				o.Hash = it.Card.Hash() // here, where both sides' reads run in parallel
			}
			if ref, ok := changed[id]; ok && o.Ref.Version == "" {
				o.Ref.Version = ref.Version
			}
			sid, isKnown := fetchItem[id]
			r.read[id] = true
			_, inChanged := changed[id]
			switch {
			case it.Err != nil && !isKnown && errors.Is(it.Err, ErrNotFound):
				continue // appeared and vanished: nothing to do
			case it.Err != nil && isKnown && r.retry[id] && !inChanged && errors.Is(it.Err, ErrNotFound):
				// A failed item, retried, is gone now: the side says so
				// for sure (not an unreadable item), and the change set
				// that reported its deletion is behind the saved token.
				o = Observed{Status: Deleted, Ref: r.obs[sid].Ref}
			case it.Err != nil || it.Card == nil:
				if o.Err == nil {
					o.Err = errors.New("no content")
				}
				o.Status = Unreadable
				uid := uidOf[id]
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
	}
	return nil
}

func (e *Engine) recordRun(ctx context.Context, res *Result, start time.Time) {
	sum, _ := res.MarshalSummary()
	run := &state.Run{Pair: res.Pair, Started: start, Finished: time.Now(), OK: res.OK(), Summary: sum}
	if err := e.db.AddRun(ctx, run); err != nil {
		e.log.Warn("record run", "pair", res.Pair, "err", err)
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
	if w == SideA {
		return &en.A
	}
	return &en.B
}
