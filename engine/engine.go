package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
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

// side is the pair's side w.
func (p *Pair) side(w Which) Side { return [2]Side{p.A, p.B}[w] }

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
	// Planned, when set, is called once the run's plan is made and
	// guarded, before anything of it is applied, with the writes planned
	// on each side and the conflicts to resolve (whose writes are decided
	// as they are applied). A caller may learn there that a side will not
	// be written to (pairs hands a mailbox's run slot on when its Office
	// 365 side gets nothing). It is not called for a dry run.
	Planned func(a, b SideCounts, conflicts int)
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
	// Errors are what went wrong in a run that applied the rest: an
	// *ItemError per failed item, a *RestoreError, *ResolutionError,
	// *InterruptedError or *RoundError (match them with errors.As).
	Errors   []error
	Plan     *Plan
	DryRun   bool
	Duration time.Duration
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
		sd := pair.side(w)
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
		return &RoundError{Pair: pair, Err: err}
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

// counts is the result's counts of side w.
func (r *Result) counts(w Which) *SideCounts {
	return [2]*SideCounts{&r.A, &r.B}[w]
}

// count counts one write of op in c.
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

// recordRun adds the run's summary to the pair's run history; a failure
// is logged.
func (e *Engine) recordRun(ctx context.Context, res *Result, start time.Time) {
	sum, _ := res.MarshalSummary()
	run := &state.Run{Pair: res.Pair, Started: start, Finished: time.Now(), OK: res.OK(), Summary: sum}
	if err := e.db.AddRun(ctx, run); err != nil {
		e.log.Warn("record run", "pair", res.Pair, "err", err)
	}
}
