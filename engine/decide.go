package engine

import (
	"fmt"
	"strings"

	"github.com/cardbridge/cardbridge/vcard"
)

// view is one side's effective state of an entry.
type view struct {
	w  Which
	o  Observed
	st Status // Unchanged, Changed, Deleted, Added or Absent
	// card is the effective content: the base for an unchanged side, the
	// read card completed with what the side cannot hold otherwise.
	card *vcard.Card
	// bumped: the version changed but the content did not.
	bumped bool
}

func (v view) present() bool { return v.st == Unchanged || v.st == Changed || v.st == Added }

func (p *planner) view(w Which, o Observed, base *vcard.Card) view {
	v := view{w: w, o: o, st: o.Status}
	switch o.Status {
	case Unchanged:
		v.card = base
	case Changed:
		v.card = fill(o.Card, base, p.project(w))
		if base != nil && p.hash(v.card) == p.hash(base) {
			v.st, v.bumped = Unchanged, true
		}
	case Added:
		v.card = o.Card
	case Absent:
		if base != nil {
			v.st = Deleted
		}
	}
	return v
}

// decide plans one entry.
func (p *planner) decide(e *Entry) {
	if e.A.Status == Unreadable || e.B.Status == Unreadable {
		for _, w := range []Which{SideA, SideB} {
			if o := *e.obs(w); o.Status == Unreadable {
				p.skip(w, o, e.UID, "unreadable, left as it is (nothing synced or deleted for this contact): "+errText(o.Err))
			}
		}
		return
	}
	if e.StateID != 0 && e.Override == nil && e.A.Status == Unchanged && e.B.Status == Unchanged {
		return // the common case; its base is not even loaded
	}
	a, b := p.view(SideA, e.A, e.Base), p.view(SideB, e.B, e.Base)
	switch {
	case e.Override != nil:
		p.override(e, a, b)
	case e.StateID == 0 || e.Base == nil || e.A.Status == Absent || e.B.Status == Absent:
		// New, or linked without a base, or not linked on one side (a
		// reset side that does not hold the contact): copy it where it
		// is missing, delete nothing.
		if a.st == Deleted {
			a.st = Absent
		}
		if b.st == Deleted {
			b.st = Absent
		}
		if a.o.Status == Changed || a.o.Status == Unchanged {
			a.st = Added
		}
		if b.o.Status == Changed || b.o.Status == Unchanged {
			b.st = Added
		}
		p.decideNew(e, a, b)
	case p.opts.Direction == AToB:
		p.mirror(e, a, b)
	case p.opts.Direction == BToA:
		p.mirror(e, b, a)
	default:
		p.twoWay(e, a, b)
	}
}

func (p *planner) uid(e *Entry, seed view) string {
	if e.UID != "" {
		return e.UID
	}
	if seed.card != nil {
		if u := seed.card.UID(); u != "" {
			return u
		}
	}
	e.UID = p.opts.NewUID(seed.w.String() + "\x00" + seed.o.Ref.ID + "\x00" + hashOf(seed.card))
	return e.UID
}

func hashOf(c *vcard.Card) string {
	if c == nil {
		return ""
	}
	return c.Hash()
}

// hash is c.Hash(), remembered: planning compares the same cards several
// times, and a card is not modified once planning has it.
func (p *planner) hash(c *vcard.Card) string {
	if h, ok := p.hashes[c]; ok {
		return h
	}
	if p.hashes == nil {
		p.hashes = make(map[*vcard.Card]string)
	}
	h := c.Hash()
	p.hashes[c] = h
	return h
}

// withUID returns card carrying uid (a copy when it must change).
func withUID(card *vcard.Card, uid string) *vcard.Card {
	if card.UID() == uid {
		return card
	}
	c := card.Clone()
	c.SetUID(uid)
	return c
}

func (p *planner) newAction(e *Entry, kind ActionKind, why string) *Action {
	return &Action{Kind: kind, StateID: e.StateID, UID: e.UID, ARef: e.A.Ref, BRef: e.B.Ref, Why: why, entry: e}
}

func (p *planner) add(a *Action) {
	if a.Base == nil && a.entry != nil && a.entry.Base != nil && (a.Kind == ActLink || a.Kind == ActWrite) {
		a.Base = a.entry.Base // the base stays; state records it with the new versions
	}
	if a.Kind == ActWrite && a.A.Op == OpNone && a.B.Op == OpNone {
		a.Kind = ActLink
	}
	p.plan.Actions = append(p.plan.Actions, *a)
}

// put sets the write that makes side v hold card: an update of what is
// there (skipped when the content is already equal) or a create.
func (p *planner) put(act *Action, v view, card *vcard.Card) {
	wr := act.Write(v.w)
	switch v.st {
	case Deleted, Absent:
		*wr = Write{Op: OpCreate, Card: card}
	default:
		if v.card != nil && p.hash(v.card) == p.hash(card) {
			return
		}
		old := v.o.Card
		if old == nil {
			old = v.card
		}
		*wr = Write{Op: OpUpdate, Ref: v.o.Ref, Card: card, Old: old}
	}
}

func del(act *Action, v view, base *vcard.Card) {
	old := v.o.Card
	if old == nil {
		old = base
	}
	*act.Write(v.w) = Write{Op: OpDelete, Ref: v.o.Ref, Old: old}
}

func (p *planner) twoWay(e *Entry, a, b view) {
	switch {
	case a.st == Unchanged && b.st == Unchanged:
		if a.bumped || b.bumped {
			act := p.newAction(e, ActLink, "version changed, content did not")
			p.add(act)
		}
	case a.st == Changed && b.st == Unchanged:
		p.copyOver(e, a, b, fmt.Sprintf("changed on %s", a.w))
	case a.st == Unchanged && b.st == Changed:
		p.copyOver(e, b, a, fmt.Sprintf("changed on %s", b.w))
	case a.st == Changed && b.st == Changed:
		p.bothChanged(e, a, b)
	case a.st == Deleted && b.st == Deleted:
		p.add(p.newAction(e, ActForget, "deleted on both sides"))
	case b.st == Deleted: // a unchanged or changed
		p.deletedOn(e, b, a)
	case a.st == Deleted:
		p.deletedOn(e, a, b)
	}
}

// deletedOn plans an item deleted on gone and unchanged or changed on
// kept: a change wins and is recreated on gone, else kept deletes it too.
func (p *planner) deletedOn(e *Entry, gone, kept view) {
	if kept.st == Changed {
		p.copyOver(e, kept, gone, fmt.Sprintf("deleted on %s, changed on %s: the change wins, recreated on %s", gone.w, kept.w, gone.w))
		return
	}
	act := p.newAction(e, ActWrite, fmt.Sprintf("deleted on %s", gone.w))
	del(act, kept, e.Base)
	p.add(act)
}

// copyOver plans from's version written over to, with the item's UID.
func (p *planner) copyOver(e *Entry, from, to view, why string) {
	p.add(p.overwrite(e, from, to, p.uid(e, from), why))
}

// overwrite returns an ActWrite (not yet added) that makes to hold from's
// card with the item's UID uid, and from too when giving it the UID changed
// the card; the card is the new base.
func (p *planner) overwrite(e *Entry, from, to view, uid, why string) *Action {
	card := withUID(from.card, uid)
	act := p.newAction(e, ActWrite, why)
	p.put(act, to, card)
	if card != from.card { // the source lacked the UID: give it one
		p.put(act, from, card)
	}
	act.Base = card
	return act
}

// newer tells which of two versions is the more recent: by REV, else by
// the side's modification time; a tie goes to a.
func newer(a, b view) Which {
	ta, oka := a.card.Rev()
	tb, okb := b.card.Rev()
	if oka && okb && !ta.Equal(tb) {
		if tb.After(ta) {
			return b.w
		}
		return a.w
	}
	if !a.o.ModTime.IsZero() && !b.o.ModTime.IsZero() && b.o.ModTime.After(a.o.ModTime) {
		return b.w
	}
	return a.w
}

func pick(w Which, a, b view) (win, lose view) {
	if a.w == w {
		return a, b
	}
	return b, a
}

func (p *planner) winner(a, b view) Which {
	switch p.opts.Policy {
	case PolicyAWins:
		return SideA
	case PolicyBWins:
		return SideB
	}
	return newer(a, b)
}

func (p *planner) bothChanged(e *Entry, a, b view) {
	uid := p.uid(e, a)
	if p.hash(a.card) == p.hash(b.card) {
		act := p.newAction(e, ActLink, "changed identically on both sides")
		act.Base = withUID(a.card, uid)
		p.add(act)
		return
	}
	switch p.opts.Policy {
	case PolicyManual:
		act := p.newAction(e, ActConflict, "changed on both sides: left for `cardbridge conflicts resolve` (policy manual)")
		act.ConflictA, act.ConflictB, act.ConflictBase = a.card, b.card, e.Base
		p.add(act)
	case PolicyMerge:
		prefer := newer(a, b)
		p.mergeAction(e, a, b, uid, Merge3(e.Base, a.card, b.card, prefer), prefer, "changed on both sides: merged by property")
	default: // newest, a-wins, b-wins, keep-both: one version wins whole
		win, lose := pick(p.winner(a, b), a, b)
		why := fmt.Sprintf("changed on both sides: %s's version kept (policy %s)", win.w, p.opts.Policy)
		p.add(p.overwrite(e, win, lose, uid, why))
		if p.opts.Policy == PolicyKeepBoth {
			p.conflictCopy(lose.card, uid)
		}
	}
}

// conflictCopy plans the losing version of a keep-both conflict as a new
// contact on both sides. Its UID derives from the item's UID and the
// loser's content, so a re-run after a crash finds the copy it made.
func (p *planner) conflictCopy(loser *vcard.Card, uid string) {
	c := loser.Clone()
	cu := p.opts.NewUID("conflict-copy\x00" + uid + "\x00" + loser.Hash())
	c.SetUID(cu)
	if fn := c.FN(); !strings.HasSuffix(fn, ConflictCopySuffix) {
		c.SetFN(fn + ConflictCopySuffix)
	}
	act := &Action{Kind: ActWrite, UID: cu, Why: "conflict copy of " + uid + " (policy keep-both)",
		A: Write{Op: OpCreate, Card: c}, B: Write{Op: OpCreate, Card: c}, Base: c}
	p.add(act)
}

// mirror makes dst hold what src holds (direction a-to-b or b-to-a).
func (p *planner) mirror(e *Entry, src, dst view) {
	switch {
	case src.st == Deleted && dst.st == Deleted:
		p.add(p.newAction(e, ActForget, "deleted on both sides"))
	case src.st == Deleted:
		act := p.newAction(e, ActWrite, fmt.Sprintf("deleted on %s (mirrored onto %s)", src.w, dst.w))
		del(act, dst, e.Base)
		p.add(act)
	default:
		uid := p.uid(e, src)
		why := fmt.Sprintf("mirrored from %s", src.w)
		if dst.st == Changed {
			why = fmt.Sprintf("changed on %s: reverted to %s's version (direction %s-to-%s)", dst.w, src.w, src.w, dst.w)
		}
		act := p.overwrite(e, src, dst, uid, why)
		if act.A.Op == OpNone && act.B.Op == OpNone && !src.bumped && !dst.bumped && src.st == Unchanged && dst.st == Unchanged {
			return
		}
		p.add(act)
	}
}

// decideNew plans an item without a base: new on one side, or new on
// both and matched.
func (p *planner) decideNew(e *Entry, a, b view) {
	mirrorFrom := Which(-1)
	switch p.opts.Direction {
	case AToB:
		mirrorFrom = SideA
	case BToA:
		mirrorFrom = SideB
	}
	switch {
	case a.st == Added && b.st == Added:
		p.bothNew(e, a, b, mirrorFrom)
	case a.st == Added || b.st == Added:
		src, dst := a, b
		if b.st == Added {
			src, dst = b, a
		}
		if mirrorFrom >= 0 && src.w != mirrorFrom {
			act := p.newAction(e, ActWrite, fmt.Sprintf("only on %s (direction %s-to-%s): removed", src.w, dst.w, src.w))
			del(act, src, nil)
			p.add(act)
			return
		}
		uid := p.uid(e, src)
		card := withUID(src.card, uid)
		why := "new on " + src.w.String()
		if card != src.card {
			why += " (without UID: given " + uid + ")"
		}
		act := p.newAction(e, ActWrite, why)
		if card != src.card {
			p.put(act, src, card) // the UID first, so a crash cannot duplicate
		}
		p.put(act, dst, card)
		act.Base = card
		p.add(act)
	case e.StateID != 0:
		p.add(p.newAction(e, ActForget, "gone from both sides"))
	}
}

func (p *planner) bothNew(e *Entry, a, b view, mirrorFrom Which) {
	uid := p.uid(e, a)
	ca, cb := withUID(a.card, uid), withUID(b.card, uid)
	if p.hash(ca) == p.hash(cb) {
		act := p.newAction(e, ActWrite, "same contact on both sides: linked")
		p.put(act, a, ca)
		p.put(act, b, ca)
		act.Base = ca
		p.add(act)
		return
	}
	if mirrorFrom >= 0 {
		src, dst := pick(mirrorFrom, a, b)
		card := withUID(src.card, uid)
		act := p.newAction(e, ActWrite, fmt.Sprintf("on both sides, different: %s's version mirrored", src.w))
		p.put(act, src, card)
		p.put(act, dst, card)
		act.Base = card
		p.add(act)
		return
	}
	// One side may hold only part of what the other holds (Office 365 and
	// a vCard folder): if it holds exactly the projection of the other's
	// card, they are the same contact and the richer card is the result.
	for _, pr := range []struct {
		poor, rich view
		card       *vcard.Card
		project    func(*vcard.Card) *vcard.Card
		poorCard   *vcard.Card
	}{{a, b, cb, p.opts.ProjectA, ca}, {b, a, ca, p.opts.ProjectB, cb}} {
		if pr.project != nil && p.hash(pr.project(pr.card)) == p.hash(pr.project(pr.poorCard)) {
			act := p.newAction(e, ActWrite, fmt.Sprintf("same contact on both sides (%s holds part of it): linked", pr.poor.w))
			p.put(act, pr.rich, pr.card)
			if p.hash(pr.project(pr.card)) != p.hash(pr.project(pr.poorCard)) || pr.poorCard.UID() != uid {
				p.put(act, pr.poor, pr.card)
			}
			act.Base = pr.card
			p.add(act)
			return
		}
	}
	prefer := p.winner(a, b)
	m := Merge3(nil, ca, cb, prefer)
	if len(m.Clashes) > 0 {
		switch p.opts.Policy {
		case PolicyManual:
			act := p.newAction(e, ActConflict, fmt.Sprintf("on both sides with different %s: left for `cardbridge conflicts resolve` (policy manual)", strings.Join(m.Clashes, ", ")))
			act.ConflictA, act.ConflictB = ca, cb
			p.add(act)
			return
		case PolicyKeepBoth, PolicyNewest, PolicyAWins, PolicyBWins:
			win, lose := pick(prefer, a, b)
			card := withUID(win.card, uid)
			act := p.newAction(e, ActWrite, fmt.Sprintf("on both sides with different %s: %s's version kept (policy %s)", strings.Join(m.Clashes, ", "), win.w, p.opts.Policy))
			p.put(act, a, card)
			p.put(act, b, card)
			act.Base = card
			p.add(act)
			if p.opts.Policy == PolicyKeepBoth {
				p.conflictCopy(lose.card, uid)
			}
			return
		}
	}
	p.mergeAction(e, a, b, uid, m, prefer, "on both sides: merged (union of properties)")
}

// mergeAction writes a merge's result to both sides (where it differs).
func (p *planner) mergeAction(e *Entry, a, b view, uid string, m MergeResult, prefer Which, why string) {
	card := m.Card
	card.SetUID(uid)
	if len(m.Clashes) > 0 {
		why += fmt.Sprintf(" (%s changed differently on both: %s's value kept, the other's is in the trash)", strings.Join(m.Clashes, ", "), prefer)
	}
	act := p.newAction(e, ActWrite, why)
	act.Clashes = m.Clashes
	p.put(act, a, card)
	p.put(act, b, card)
	act.Base = card
	p.add(act)
}

// override puts the entry's override (a restore or a conflict
// resolution) on both sides.
func (p *planner) override(e *Entry, a, b view) {
	uid := e.UID
	if uid == "" {
		uid = e.Override.UID()
	}
	if uid == "" {
		uid = p.opts.NewUID("restore\x00" + e.Override.Hash())
	}
	e.UID = uid
	card := withUID(e.Override, uid)
	why := "restored from the trash"
	if e.ResolutionID != 0 {
		why = "conflict resolved by the user"
	}
	act := p.newAction(e, ActWrite, why)
	act.RestoreID, act.ResolutionID = e.RestoreID, e.ResolutionID
	if a.st == Added { // only for first-match entries
		a.st = Unchanged
	}
	if b.st == Added {
		b.st = Unchanged
	}
	p.put(act, a, card)
	p.put(act, b, card)
	act.Base = card
	p.add(act)
}
