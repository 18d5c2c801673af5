package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/vcard"
)

// Status is what collection found of an item on one side.
type Status int

// The statuses of an item on one side.
const (
	// Absent: the side does not hold the item and never did.
	Absent Status = iota
	// Unchanged: the side's version equals the one in state.
	Unchanged
	// Changed: the version differs from state; the content may still equal
	// the base (a bogus ETag bump), which planning checks.
	Changed
	// Deleted: in state, gone from the side.
	Deleted
	// Added: on the side, not in state.
	Added
	// Unreadable: on the side but it could not be read or parsed.
	Unreadable
)

var statusNames = [...]string{"absent", "unchanged", "changed", "deleted", "new", "unreadable"}

// String returns the status name.
func (s Status) String() string { return statusNames[s] }

// Observed is one side's view of an item.
type Observed struct {
	Status Status
	Ref    Ref
	// Card is set for Changed and Added items (nil for Unchanged: the
	// content is the base).
	Card *vcard.Card
	// Hash is Card.Hash() when collection computed it already ("" else).
	Hash    string
	ModTime time.Time
	Err     error
}

// Entry is one item known to state, with both sides' observations.
type Entry struct {
	StateID int64
	UID     string
	// Base is the last merged version written to both sides; nil when the
	// state item was linked without one (a manual conflict on first match).
	Base *vcard.Card
	A, B Observed
	// Override, when set, is content that must land on both sides: a trash
	// restore (RestoreID) or a resolved conflict (ResolutionID).
	Override     *vcard.Card
	RestoreID    int64
	ResolutionID int64
}

// Policy decides what happens when both sides changed an item.
type Policy string

// The conflict policies (the pair's `conflict:` key).
const (
	// PolicyMerge merges by property against the base; a clash on a
	// single-valued property takes the newer side's value.
	PolicyMerge Policy = "merge"
	// PolicyNewest keeps the newer version whole (REV, else the side's
	// modification time).
	PolicyNewest Policy = "newest"
	// PolicyAWins keeps A's version whole.
	PolicyAWins Policy = "a-wins"
	// PolicyBWins keeps B's version whole.
	PolicyBWins Policy = "b-wins"
	// PolicyKeepBoth keeps the newer version and turns the other into a
	// new contact on both sides, its FN suffixed " (conflict copy)".
	PolicyKeepBoth Policy = "keep-both"
	// PolicyManual writes nothing for the item and records a conflict
	// until `cardbridge conflicts resolve`.
	PolicyManual Policy = "manual"
)

// Direction is the pair's `direction:`.
type Direction string

// The directions.
const (
	TwoWay Direction = "two-way"
	AToB   Direction = "a-to-b"
	BToA   Direction = "b-to-a"
)

// ConflictCopySuffix is appended to the FN of a keep-both copy.
const ConflictCopySuffix = " (conflict copy)"

// Op is a write on one side.
type Op int

// The write operations.
const (
	OpNone Op = iota
	OpCreate
	OpUpdate
	OpDelete
)

var opNames = [...]string{"none", "create", "update", "delete"}

// String returns the operation's name.
func (o Op) String() string { return opNames[o] }

// Write is what an action does to one side.
type Write struct {
	Op Op
	// Ref names the target of an update or delete, with the version the
	// write is conditional on.
	Ref Ref
	// Card is the content of a create or update.
	Card *vcard.Card
	// Old is the content an update replaces or a delete removes: it goes
	// to the trash first.
	Old *vcard.Card
}

// ActionKind classifies actions.
type ActionKind int

// The action kinds.
const (
	// ActLink records refs and base in state without writing to a side.
	ActLink ActionKind = iota + 1
	// ActWrite writes to one or both sides, then records state.
	ActWrite
	// ActForget drops a state item whose contact is gone from both sides.
	ActForget
	// ActConflict records a manual conflict and writes nothing.
	ActConflict
)

// Action is the plan for one item.
type Action struct {
	Kind    ActionKind
	StateID int64
	UID     string
	A, B    Write
	// ARef and BRef are the refs to record for sides without a write.
	ARef, BRef Ref
	// Base is the new base (nil for forget and conflict).
	Base *vcard.Card
	// Why says in words why this action is planned (--dry-run prints it).
	Why string
	// Clashes lists properties changed differently on both sides.
	Clashes []string
	// ConflictA and ConflictB are the two versions of a manual conflict;
	// ConflictBase its base.
	ConflictA, ConflictB, ConflictBase *vcard.Card
	RestoreID, ResolutionID            int64

	// entry is what the action was planned from, to plan again after a
	// precondition failure.
	entry *Entry
}

// Write returns the action's write on side w.
func (a *Action) Write(w Which) *Write {
	return [2]*Write{&a.A, &a.B}[w]
}

// ref is the action's state reference of side w.
func (a *Action) ref(w Which) Ref {
	return [2]Ref{a.ARef, a.BRef}[w]
}

// Skip is an item left alone this run, with the reason.
type Skip struct {
	Side Which
	ID   string
	UID  string
	// Name is the item's display name (FN) when its card was read, "" else.
	Name   string
	Reason string
}

// String formats a skip for the summary.
func (s Skip) String() string {
	if s.ID == "" {
		return s.Reason
	}
	return fmt.Sprintf("%s %s: %s", s.Side, s.ID, s.Reason)
}

// Plan is everything a run will do.
type Plan struct {
	Actions []Action
	Skipped []Skip
}

// Deletions counts the deletions planned on side w.
func (p *Plan) Deletions(w Which) int {
	n := 0
	for i := range p.Actions {
		if p.Actions[i].Write(w).Op == OpDelete {
			n++
		}
	}
	return n
}

// PlanInput is what collection hands to planning.
type PlanInput struct {
	// Entries are the items known to state.
	Entries []Entry
	// NewA and NewB are the items found on each side that state does not
	// know (Status Added or Unreadable).
	NewA, NewB []Observed
	// FirstSync is true when the pair has no state yet: new items on both
	// sides are then also matched by e-mail or phone plus name.
	FirstSync bool
	// Restores are trashed versions to bring back whose UID state does not
	// know any more: each is created on both sides.
	Restores []Restore
}

// Restore is a trashed card to bring back.
type Restore struct {
	ID   int64
	Card *vcard.Card
}

// PlanOptions configure planning.
type PlanOptions struct {
	Direction Direction
	Policy    Policy
	// ProjectA and ProjectB give what each side can hold (nil: everything).
	ProjectA, ProjectB func(*vcard.Card) *vcard.Card
	// NewUID makes a UID for a contact that has none and for keep-both
	// copies.
	NewUID func(seed string) string
}

// MakePlan decides, for every item, what to write where. It is a pure
// function of its input: it reads nothing and writes nothing.
func MakePlan(in PlanInput, opts PlanOptions) Plan {
	if opts.Direction == "" {
		opts.Direction = TwoWay
	}
	if opts.Policy == "" {
		opts.Policy = PolicyMerge
	}
	p := &planner{opts: opts, hashes: make(map[*vcard.Card]string)}
	seed := func(o Observed) {
		if o.Card != nil && o.Hash != "" {
			p.hashes[o.Card] = o.Hash
		}
	}
	for _, e := range in.Entries {
		seed(e.A)
		seed(e.B)
	}
	for _, o := range in.NewA {
		seed(o)
	}
	for _, o := range in.NewB {
		seed(o)
	}
	// adoptMoved and dropDuplicateUIDs change these slices: work on
	// copies, so that the caller's input stays as it was.
	in.Entries, in.NewA, in.NewB = slices.Clone(in.Entries), slices.Clone(in.NewA), slices.Clone(in.NewB)
	adoptMoved(&in)
	entries := p.dropDuplicateUIDs(in)
	entries = append(entries, p.match(in)...)
	for _, r := range in.Restores {
		entries = append(entries, Entry{UID: r.Card.UID(), Override: r.Card, RestoreID: r.ID,
			A: Observed{Status: Absent}, B: Observed{Status: Absent}})
	}
	for i := range entries {
		p.decide(&entries[i])
	}
	p.noDuplicateCreates(in)
	return p.plan
}

// noDuplicateCreates is the last guard against duplicates: an action that
// would create a UID on a side where an item holds it already (a known
// item, by its state UID or its card's, readable or not, or a new item,
// skipped or not) is dropped and reported on the side it came from; the
// next run sees the situation again once the side holds the UID once.
func (p *planner) noDuplicateCreates(in PlanInput) {
	holders := map[Which]map[string][]string{SideA: {}, SideB: {}}
	hold := func(w Which, uid, id string) {
		if uid != "" && !slices.Contains(holders[w][uid], id) {
			holders[w][uid] = append(holders[w][uid], id)
		}
	}
	for _, e := range in.Entries {
		for _, w := range []Which{SideA, SideB} {
			o := e.obs(w)
			if !present(*o) {
				continue
			}
			hold(w, e.UID, o.Ref.ID)
			if o.Card != nil && o.Status != Unreadable {
				hold(w, o.Card.UID(), o.Ref.ID)
			}
		}
	}
	for w, news := range map[Which][]Observed{SideA: in.NewA, SideB: in.NewB} {
		for _, o := range news {
			if o.Card != nil {
				hold(w, o.Card.UID(), o.Ref.ID)
			}
		}
	}
	kept := p.plan.Actions[:0]
	for _, a := range p.plan.Actions {
		drop := false
		for _, w := range []Which{SideA, SideB} {
			wr := a.Write(w)
			if wr.Op != OpCreate || wr.Card == nil {
				continue
			}
			u := wr.Card.UID()
			if ids := holders[w][u]; len(ids) > 0 {
				from := a.ref(w.Other())
				p.plan.Skipped = append(p.plan.Skipped, Skip{Side: w.Other(), ID: from.ID, UID: u, Name: wr.Card.FN(),
					Reason: fmt.Sprintf("not copied to side %s: UID %q is already held there by %s", w, u, strings.Join(ids, ", "))})
				drop = true
				break
			}
		}
		if drop {
			continue
		}
		for _, w := range []Which{SideA, SideB} {
			if wr := a.Write(w); wr.Op == OpCreate && wr.Card != nil {
				hold(w, wr.Card.UID(), "a new item")
			}
		}
		kept = append(kept, a)
	}
	p.plan.Actions = kept
}

type planner struct {
	opts   PlanOptions
	plan   Plan
	hashes map[*vcard.Card]string
}

func (p *planner) skip(w Which, o Observed, uid, reason string) {
	name := ""
	if o.Card != nil {
		name = o.Card.FN()
	}
	p.plan.Skipped = append(p.plan.Skipped, Skip{Side: w, ID: o.Ref.ID, UID: uid, Name: name, Reason: reason})
}

// project is what side w can hold of a card (nil: everything).
func (p *planner) project(w Which) func(*vcard.Card) *vcard.Card {
	return [2]func(*vcard.Card) *vcard.Card{p.opts.ProjectA, p.opts.ProjectB}[w]
}

// observedUID is the UID an observation carries: the card's when read,
// else the state's.
func observedUID(o Observed, stateUID string) string {
	if o.Card != nil {
		return o.Card.UID()
	}
	return stateUID
}

func present(o Observed) bool {
	switch o.Status {
	case Unchanged, Changed, Added, Unreadable:
		return true
	}
	return false
}

// adoptMoved makes a new item whose UID is that of a known item (its
// state UID, or the UID its other side's version now has) gone from
// the same side (a vCard file renamed, a contact moved or re-created with
// its UID) that item's observation, changed: the plan then carries the
// change over, instead of deleting the UID on the other side and creating
// it there again.
func adoptMoved(in *PlanInput) {
	for _, w := range []Which{SideA, SideB} {
		// A known item's UID is its state UID and, where the other side's
		// version now carries another one, that one too.
		byUID := make(map[string]int, len(in.Entries))
		for i, e := range in.Entries {
			other := e.obs(w.Other())
			if other.Card != nil && other.Status != Unreadable {
				if u := other.Card.UID(); u != "" {
					byUID[u] = i
				}
			}
		}
		for i, e := range in.Entries {
			if e.UID != "" {
				byUID[e.UID] = i
			}
		}
		news := in.news(w)
		keep := (*news)[:0]
		for _, o := range *news {
			if o.Status == Added && o.Card != nil {
				if i, ok := byUID[o.Card.UID()]; ok {
					e := &in.Entries[i]
					obs := e.obs(w)
					if obs.Status == Absent || obs.Status == Deleted {
						o.Status = Changed
						*obs = o
						continue
					}
				}
			}
			keep = append(keep, o)
		}
		*news = keep
	}
}

// match pairs new items of A with new items of B: by UID, then on a first
// sync by strong keys (same e-mail or phone and the same name). Ambiguous
// strong-key matches are skipped and reported.
func (p *planner) match(in PlanInput) []Entry {
	var out []Entry
	var restA, restB []Observed
	for _, o := range in.NewA {
		if o.Status == Unreadable {
			p.skip(SideA, o, "", "unreadable: "+errText(o.Err))
			continue
		}
		if o.Status == Added {
			restA = append(restA, o)
		}
	}
	bByUID := make(map[string]int)
	for _, o := range in.NewB {
		if o.Status == Unreadable {
			p.skip(SideB, o, "", "unreadable: "+errText(o.Err))
			continue
		}
		if o.Status != Added {
			continue
		}
		if u := o.Card.UID(); u != "" {
			bByUID[u] = len(restB)
		}
		restB = append(restB, o)
	}
	usedB := make([]bool, len(restB))
	var unA []Observed
	for _, a := range restA {
		if u := a.Card.UID(); u != "" {
			if j, ok := bByUID[u]; ok && !usedB[j] {
				usedB[j] = true
				out = append(out, Entry{UID: u, A: a, B: restB[j]})
				continue
			}
		}
		unA = append(unA, a)
	}
	var unB []Observed
	for j, b := range restB {
		if !usedB[j] {
			unB = append(unB, b)
		}
	}
	if in.FirstSync && len(unA) > 0 && len(unB) > 0 {
		var matched []Entry
		matched, unA, unB = p.matchStrong(unA, unB)
		out = append(out, matched...)
	}
	for _, a := range unA {
		out = append(out, Entry{UID: a.Card.UID(), A: a, B: Observed{Status: Absent}})
	}
	for _, b := range unB {
		out = append(out, Entry{UID: b.Card.UID(), A: Observed{Status: Absent}, B: b})
	}
	return out
}

// strongKeys are a card's matching keys: its normalised name joined with
// each e-mail address and each phone number's digits.
func strongKeys(c *vcard.Card) []string {
	name := normName(c)
	if name == "" {
		return nil
	}
	var keys []string
	for _, e := range c.All("EMAIL") {
		if v := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(e.Text(), "mailto:"))); v != "" {
			keys = append(keys, name+"\x00e:"+v)
		}
	}
	for _, t := range c.All("TEL") {
		var d strings.Builder
		for _, r := range t.Text() {
			if r >= '0' && r <= '9' {
				d.WriteRune(r)
			}
		}
		if d.Len() >= 5 {
			keys = append(keys, name+"\x00t:"+d.String())
		}
	}
	return keys
}

func normName(c *vcard.Card) string {
	n := c.FN()
	if n == "" {
		if p, ok := c.Get("N"); ok {
			n = strings.Join(p.Fields(), " ")
		}
	}
	return strings.ToLower(strings.Join(strings.Fields(n), " "))
}

func (p *planner) matchStrong(as, bs []Observed) (matched []Entry, restA, restB []Observed) {
	keyB := make(map[string][]int)
	for j, b := range bs {
		for _, k := range strongKeys(b.Card) {
			keyB[k] = appendUnique(keyB[k], j)
		}
	}
	candA := make([][]int, len(as))
	hitsB := make([][]int, len(bs))
	for i, a := range as {
		for _, k := range strongKeys(a.Card) {
			for _, j := range keyB[k] {
				candA[i] = appendUnique(candA[i], j)
			}
		}
		for _, j := range candA[i] {
			hitsB[j] = appendUnique(hitsB[j], i)
		}
	}
	usedB := make([]bool, len(bs))
	skippedB := make([]bool, len(bs))
	for i, a := range as {
		switch {
		case len(candA[i]) == 0:
			restA = append(restA, a)
		case len(candA[i]) == 1 && len(hitsB[candA[i][0]]) == 1:
			j := candA[i][0]
			usedB[j] = true
			// Keep the UID of the side that holds vCards natively when the
			// other only holds a projection (Office 365): a vCard's UID may
			// be referenced elsewhere (group members), the other's not.
			uid := a.Card.UID()
			if bu := bs[j].Card.UID(); bu != "" && (uid == "" || (p.opts.ProjectA != nil && p.opts.ProjectB == nil)) {
				uid = bu
			}
			matched = append(matched, Entry{UID: uid, A: a, B: bs[j]})
		default:
			var ids []string
			for _, j := range candA[i] {
				ids = append(ids, bs[j].Ref.ID)
				for _, i2 := range hitsB[j] {
					if i2 != i {
						ids = append(ids, "a:"+as[i2].Ref.ID)
					}
				}
				skippedB[j] = true
			}
			p.skip(SideA, a, a.Card.UID(), fmt.Sprintf("ambiguous match by e-mail/phone and name with %s: give the same contact the same UID on both sides, or remove the extra copies", strings.Join(ids, ", ")))
		}
	}
	for j, b := range bs {
		switch {
		case usedB[j]:
		case skippedB[j]:
			p.skip(SideB, b, b.Card.UID(), "ambiguous match by e-mail/phone and name: give the same contact the same UID on both sides, or remove the extra copies")
		default:
			restB = append(restB, b)
		}
	}
	return matched, restA, restB
}

func appendUnique(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}
