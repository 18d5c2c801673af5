package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cardbridge/cardbridge/vcard"
)

// uidHolder is one holder, on one side, of a UID: a state entry or a new
// item.
type uidHolder struct {
	entry int // index into PlanInput.Entries, or -1
	newIx int // index into the side's new items, or -1
	id    string
}

// dupScan is what dropDuplicateUIDs found so far.
type dupScan struct {
	// badEntry holds the indexes of the entries skipped.
	badEntry map[int]bool
	// reported holds side + id of the entries' sides skipped.
	reported map[string]bool
	// dupUIDs holds, by side, the UIDs held more than once there.
	dupUIDs [2]map[string]bool
}

// dropDuplicateUIDs finds UIDs held by more than one item on one side and
// skips every item involved; it returns the entries that remain and
// removes the duplicates from in.NewA/NewB.
func (p *planner) dropDuplicateUIDs(in PlanInput) []Entry {
	d := &dupScan{badEntry: make(map[int]bool), reported: make(map[string]bool),
		dupUIDs: [2]map[string]bool{{}, {}}}
	for _, w := range []Which{SideA, SideB} {
		news := *in.news(w)
		p.skipDuplicates(d, in.Entries, news, w, duplicateHolders(in.Entries, news, w))
	}
	p.holdCopies(in, d)
	return p.keepEntries(in.Entries, d)
}

// news is the new items of side w.
func (in *PlanInput) news(w Which) *[]Observed {
	return [2]*[]Observed{&in.NewA, &in.NewB}[w]
}

// duplicateHolders returns the UIDs held more than once on side w, each
// with its holders. Only a UID that was read this run (a new or changed
// item) can be a new duplicate: linked unchanged items keep the distinct
// UIDs they were linked with. So it collects those UIDs first, then
// counts every holder of just those.
func duplicateHolders(entries []Entry, news []Observed, w Which) map[string][]uidHolder {
	cand := readUIDs(entries, news, w)
	if len(cand) == 0 {
		return nil
	}
	for i := range entries {
		e := &entries[i]
		o := e.obs(w)
		if !present(*o) {
			continue
		}
		for _, u := range heldUIDs(e, o) {
			if ls, ok := cand[u]; ok && u != "" {
				cand[u] = append(ls, uidHolder{i, -1, o.Ref.ID})
			}
		}
	}
	for i, o := range news {
		if o.Card == nil {
			continue
		}
		if ls, ok := cand[o.Card.UID()]; ok {
			cand[o.Card.UID()] = append(ls, uidHolder{-1, i, o.Ref.ID})
		}
	}
	for u, ls := range cand {
		if len(ls) < 2 {
			delete(cand, u)
		}
	}
	return cand
}

// readUIDs is the set of the UIDs read this run on side w, each with no
// holder yet.
func readUIDs(entries []Entry, news []Observed, w Which) map[string][]uidHolder {
	cand := make(map[string][]uidHolder)
	for i := range entries {
		if o := entries[i].obs(w); o.Card != nil && o.Status != Unreadable {
			if u := o.Card.UID(); u != "" {
				cand[u] = nil
			}
		}
	}
	for _, o := range news {
		if o.Card != nil {
			if u := o.Card.UID(); u != "" {
				cand[u] = nil
			}
		}
	}
	return cand
}

// heldUIDs are the UIDs a known item holds on the side it is observed on
// (o): its state UID (the plan keeps it, writing it back where a card lost
// or changed it; an item that could not be read is taken to hold it
// still) and the UID its card now has. A new item with either may be its
// copy, and creating that UID on the other side, which holds it, would
// make a duplicate there. The second is "" when there is no other (an
// array: no allocation per item).
func heldUIDs(e *Entry, o *Observed) [2]string {
	uids := [2]string{e.UID}
	if o.Status != Unreadable {
		if cu := observedUID(*o, e.UID); cu != "" && cu != e.UID {
			uids[1] = cu
		}
	}
	return uids
}

// skipDuplicates skips, on side w, every holder of a UID held more than
// once (byUID), in UID order: entries are marked bad, new items dropped.
func (p *planner) skipDuplicates(d *dupScan, entries []Entry, news []Observed, w Which, byUID map[string][]uidHolder) {
	uids := make([]string, 0, len(byUID))
	for u := range byUID {
		uids = append(uids, u)
	}
	sort.Strings(uids)
	for _, u := range uids {
		d.dupUIDs[w][u] = true
		ls := byUID[u]
		reason := duplicateReason(entries, w, u, ls)
		for _, l := range ls {
			var card *vcard.Card
			if l.entry >= 0 {
				card = entries[l.entry].obs(w).Card
			} else {
				card = news[l.newIx].Card
			}
			name := ""
			if card != nil {
				name = card.FN()
			}
			if l.entry >= 0 {
				d.badEntry[l.entry] = true
				k := w.String() + "\x00" + l.id
				if d.reported[k] {
					continue // in two groups (its state UID and its card's): reported once
				}
				d.reported[k] = true
			} else {
				news[l.newIx].Status = Absent // dropped
			}
			p.plan.Skipped = append(p.plan.Skipped, Skip{Side: w, ID: l.id, UID: u, Name: name, Reason: reason})
		}
	}
}

// duplicateReason is why the holders ls of UID u on side w are skipped,
// naming those that could not be read.
func duplicateReason(entries []Entry, w Which, u string, ls []uidHolder) string {
	ids := make([]string, len(ls))
	for i, l := range ls {
		ids[i] = l.id
	}
	sort.Strings(ids)
	reason := fmt.Sprintf("duplicate UID %q on side %s (%s): skipped until only one item holds it", u, w, strings.Join(ids, ", "))
	for _, l := range ls {
		if l.entry >= 0 && entries[l.entry].obs(w).Status == Unreadable {
			reason += " (" + l.id + " could not be read: " + errText(entries[l.entry].obs(w).Err) + ")"
		}
	}
	return reason
}

// holdCopies: a UID held twice on one side is not created there from the
// other side either: the other side's new item with that UID waits too.
func (p *planner) holdCopies(in PlanInput, d *dupScan) {
	for _, w := range []Which{SideA, SideB} {
		uids := d.dupUIDs[w]
		o := w.Other()
		news := *in.news(o)
		for i := range news {
			n := &news[i]
			if n.Card == nil || n.Status == Absent || !uids[n.Card.UID()] {
				continue
			}
			u := n.Card.UID()
			p.plan.Skipped = append(p.plan.Skipped, Skip{Side: o, ID: n.Ref.ID, UID: u, Name: n.Card.FN(),
				Reason: fmt.Sprintf("UID %q is held by more than one item on side %s: not copied there until only one holds it", u, w)})
			n.Status = Absent // dropped
		}
	}
}

// keepEntries returns the entries not skipped. A side of a skipped entry
// that could not be read is reported still (its other side holds the
// duplicate).
func (p *planner) keepEntries(entries []Entry, d *dupScan) []Entry {
	out := make([]Entry, 0, len(entries))
	for i, e := range entries {
		if !d.badEntry[i] {
			out = append(out, e)
			continue
		}
		for _, w := range []Which{SideA, SideB} {
			o := *e.obs(w)
			if o.Status == Unreadable && !d.reported[w.String()+"\x00"+o.Ref.ID] {
				p.skip(w, o, e.UID, "unreadable, left as it is (nothing synced or deleted for this contact): "+errText(o.Err))
			}
		}
	}
	return out
}
