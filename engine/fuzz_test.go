package engine_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/vcard"
)

// fzBytes hands out the fuzz input one byte at a time (0 once it is used
// up), so that every input, however short, describes a plan input.
type fzBytes struct {
	b []byte
	i int
}

func (r *fzBytes) next() int {
	if r.i >= len(r.b) {
		return 0
	}
	c := r.b[r.i]
	r.i++
	return int(c)
}

// fzPool is the content the fuzzed plan inputs are made of: the shared
// corpus's good cards, sorted by file name.
type fzPool struct{ corpus []*vcard.Card }

func newFzPool(tb testing.TB) *fzPool {
	tb.Helper()
	m := sidetest.GoodCorpus(tb)
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	p := &fzPool{}
	for _, n := range names {
		p.corpus = append(p.corpus, m[n])
	}
	return p
}

// card makes a contact with the given UID ("" for none) from variant v:
// below 192 a small card whose FN, EMAIL, TEL and NOTE v picks; above, a
// corpus card.
func (p *fzPool) card(uid string, v int) *vcard.Card {
	var c *vcard.Card
	if v >= 192 {
		c = p.corpus[(v-192)%len(p.corpus)].Clone()
		c.Remove("UID")
	} else {
		c = vcard.New(vcard.V30)
		c.Add(vcard.NewText("FN", []string{"Ada Lovelace", "Ada King", "Grace Hopper", ""}[v&3]))
		if e := (v >> 2) & 3; e > 0 {
			c.Add(vcard.NewText("EMAIL", fmt.Sprintf("p%d@example.com", e)).WithParam("TYPE", "INTERNET"))
		}
		if n := (v >> 4) & 3; n > 0 {
			c.Add(vcard.NewText("NOTE", fmt.Sprintf("note %d", n)))
		}
		if v&64 != 0 {
			c.Add(vcard.NewText("TEL", "+1 555 0100").WithParam("TYPE", "CELL"))
		}
		if v&128 != 0 {
			c.Add(vcard.NewText("REV", fmt.Sprintf("2026-0%d-01T00:00:00Z", 1+v%9)))
		}
	}
	if uid != "" {
		c.SetUID(uid)
	}
	return c
}

// fzProject is what a poorer side holds: no NOTE and no X- properties.
func fzProject(c *vcard.Card) *vcard.Card {
	out := c.Clone()
	out.Remove("NOTE")
	var keep []vcard.Property
	for _, p := range out.Props {
		if !strings.HasPrefix(p.Name, "X-") {
			keep = append(keep, p)
		}
	}
	out.Props = keep
	return out
}

// fzCase is one fuzzed planning problem.
type fzCase struct {
	in   engine.PlanInput
	opts engine.PlanOptions
}

func fzNewUID(seed string) string {
	return fmt.Sprintf("gen-%x", sha256.Sum256([]byte(seed)))[:16]
}

// build turns fuzz bytes into a plan input: up to 5 state entries (with
// base, both sides' observations, sometimes an override), up to 3 new items
// per side (UIDs drawn so that they collide with state and with each
// other), sometimes a restore, and the options.
func (p *fzPool) build(data []byte) fzCase {
	r := &fzBytes{b: data}
	var c fzCase
	c.opts.Direction = []engine.Direction{engine.TwoWay, engine.AToB, engine.BToA}[r.next()%3]
	c.opts.Policy = []engine.Policy{engine.PolicyMerge, engine.PolicyNewest, engine.PolicyAWins, engine.PolicyBWins, engine.PolicyKeepBoth, engine.PolicyManual}[r.next()%6]
	c.opts.NewUID = fzNewUID
	switch r.next() % 3 {
	case 1:
		c.opts.ProjectA = fzProject
	case 2:
		c.opts.ProjectB = fzProject
	}
	project := func(w engine.Which, card *vcard.Card) *vcard.Card {
		pr := c.opts.ProjectA
		if w == engine.SideB {
			pr = c.opts.ProjectB
		}
		if pr == nil || card == nil {
			return card
		}
		return pr(card)
	}
	nEntries := r.next() % 6
	c.in.FirstSync = nEntries == 0 && r.next()%2 == 0
	uidPool := func(v int) string {
		switch v % 8 {
		case 0:
			return ""
		case 1, 2, 3:
			return fmt.Sprintf("s%d", v%nonZero(nEntries))
		default:
			return fmt.Sprintf("n%d", v%3)
		}
	}
	for i := range nEntries {
		uid := fmt.Sprintf("s%d", i)
		e := engine.Entry{StateID: int64(i + 1), UID: uid}
		bv := r.next()
		if bv%16 != 0 {
			e.Base = p.card(uid, bv)
		}
		for _, w := range []engine.Which{engine.SideA, engine.SideB} {
			o := engine.Observed{Ref: engine.Ref{ID: fmt.Sprintf("%s%d", w, i), Version: "1"}}
			k := r.next()
			if e.Base == nil && k%6 < 2 {
				// The engine reads both sides of an item without a base
				// every run (collect): it is never Unchanged.
				k = 3
			}
			switch k % 6 {
			case 0, 1:
				o.Status = engine.Unchanged
			case 2:
				o.Status = engine.Changed
				cuid := uid
				if k >= 200 {
					cuid = uidPool(k)
				}
				o.Card = project(w, p.card(cuid, r.next()))
			case 3: // changed version, same content (a bogus ETag bump)
				o.Status = engine.Changed
				if e.Base != nil {
					o.Card = project(w, e.Base.Clone())
				} else {
					o.Card = project(w, p.card(uid, bv))
				}
			case 4:
				o = engine.Observed{Status: engine.Absent}
			case 5:
				o.Status = engine.Unreadable
				o.Err = errors.New("unreadable")
			}
			if o.Status == engine.Changed {
				o.Ref.Version = "2"
				o.ModTime = time.Unix(int64(1_800_000_000+r.next()), 0).UTC()
			}
			if w == engine.SideA {
				e.A = o
			} else {
				e.B = o
			}
		}
		if r.next()%10 == 0 {
			e.Override = p.card(uid, r.next())
			e.RestoreID = int64(100 + i)
		}
		c.in.Entries = append(c.in.Entries, e)
	}
	for _, w := range []engine.Which{engine.SideA, engine.SideB} {
		n := r.next() % 4
		for i := range n {
			o := engine.Observed{Ref: engine.Ref{ID: fmt.Sprintf("n%s%d", w, i), Version: "1"}}
			k := r.next()
			if k%7 == 6 {
				o.Status = engine.Unreadable
				o.Err = errors.New("unreadable")
			} else {
				o.Status = engine.Added
				o.Card = project(w, p.card(uidPool(k), r.next()))
				o.ModTime = time.Unix(int64(1_800_000_000+r.next()), 0).UTC()
			}
			if w == engine.SideA {
				c.in.NewA = append(c.in.NewA, o)
			} else {
				c.in.NewB = append(c.in.NewB, o)
			}
		}
	}
	if k := r.next(); k%5 == 0 && k > 0 {
		uid := ""
		if k%2 == 0 {
			uid = "r0"
		}
		c.in.Restores = append(c.in.Restores, engine.Restore{ID: 500, Card: p.card(uid, r.next())})
	}
	return c
}

func nonZero(n int) int {
	if n == 0 {
		return 1
	}
	return n
}

func fzHash(c *vcard.Card) string {
	if c == nil {
		return "-"
	}
	return c.Hash()[:12]
}

// fzDescribe writes a plan in full, to compare two plans.
func fzDescribe(p engine.Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "%d state=%d uid=%q aref=%v bref=%v base=%s why=%q clashes=%v restore=%d\n", a.Kind, a.StateID, a.UID, a.ARef, a.BRef, fzHash(a.Base), a.Why, a.Clashes, a.RestoreID)
		for _, w := range []engine.Which{engine.SideA, engine.SideB} {
			wr := a.Write(w)
			fmt.Fprintf(&b, "  %s %s ref=%v card=%s old=%s\n", w, wr.Op, wr.Ref, fzHash(wr.Card), fzHash(wr.Old))
		}
		fmt.Fprintf(&b, "  conflict a=%s b=%s base=%s\n", fzHash(a.ConflictA), fzHash(a.ConflictB), fzHash(a.ConflictBase))
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(&b, "skip %s %q %q %q\n", s.Side, s.ID, s.UID, s.Reason)
	}
	return b.String()
}

// fzInput describes a plan input, for failure messages.
func fzInput(c fzCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "direction=%s policy=%s projectA=%v projectB=%v first=%v\n", c.opts.Direction, c.opts.Policy, c.opts.ProjectA != nil, c.opts.ProjectB != nil, c.in.FirstSync)
	obs := func(o engine.Observed) string {
		s := fmt.Sprintf("%s/%s", o.Status, o.Ref.ID)
		if o.Card != nil {
			s += fmt.Sprintf("[uid=%q %s]", o.Card.UID(), fzHash(o.Card))
		}
		return s
	}
	for _, e := range c.in.Entries {
		fmt.Fprintf(&b, "entry %d uid=%q base=%s a=%s b=%s override=%s\n", e.StateID, e.UID, fzHash(e.Base), obs(e.A), obs(e.B), fzHash(e.Override))
	}
	for _, o := range c.in.NewA {
		fmt.Fprintf(&b, "new a %s\n", obs(o))
	}
	for _, o := range c.in.NewB {
		fmt.Fprintf(&b, "new b %s\n", obs(o))
	}
	for _, r := range c.in.Restores {
		fmt.Fprintf(&b, "restore uid=%q %s\n", r.Card.UID(), fzHash(r.Card))
	}
	return b.String()
}

// fzSeeds are hand-picked starting points: each direction and policy, the
// projections, first syncs, collisions of new items with state.
func fzSeeds(f *testing.F, p *fzPool) {
	f.Add([]byte{})
	for dir := range 3 {
		for pol := range 6 {
			f.Add([]byte{byte(dir), byte(pol), 0, 3, 5, 2, 17, 3, 2, 33, 0, 4, 4, 1, 2, 0, 7, 3, 0, 2, 2, 9, 130, 1, 3, 4, 250})
		}
	}
	f.Add([]byte{0, 0, 1, 2, 9, 0, 2, 60, 1, 1, 4, 0, 1, 2, 20, 5, 0, 2, 0})
	f.Add([]byte{0, 0, 2, 1, 21, 4, 2, 200, 40, 0, 1, 1, 2, 1, 0, 2, 0})
	f.Add([]byte{0, 3, 0, 0, 0, 3, 3, 4, 9, 5, 194, 3, 1, 4, 7, 11, 2, 2, 196})
	for i := range p.corpus {
		f.Add([]byte{0, 0, 0, 2, byte(192 + i), 2, byte(192 + i), 2, byte(192 + (i+1)%len(p.corpus)), 0, 3, 9, byte(192 + i), 0, 1, 9, byte(192 + i)})
	}
}

// FuzzPlan: for any states of both sides and the base, the planner keeps
// its invariants: it is deterministic (and leaves its input as it was);
// it never creates and deletes the same UID; it deletes only where the
// other side no longer holds the item, never what changed on the deleting
// side in two-way sync, and never because something could not be read;
// an item both of whose sides equal the base gets no write; every item of
// either side is in at most one action or skip, and every new or changed
// item in one; every card written has a UID and reads back.
func FuzzPlan(f *testing.F) {
	pool := newFzPool(f)
	fzSeeds(f, pool)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := pool.build(data)
		before := fzInput(c)
		plan := engine.MakePlan(c.in, c.opts)
		desc := fzDescribe(plan)
		if after := fzInput(c); after != before {
			t.Fatalf("MakePlan changed its input:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if again := fzDescribe(engine.MakePlan(c.in, c.opts)); again != desc {
			t.Fatalf("MakePlan is not deterministic on\n%s\nfirst:\n%s\nsecond:\n%s", before, desc, again)
		}
		if fresh := fzDescribe(engine.MakePlan(pool.build(data).in, c.opts)); fresh != desc {
			t.Fatalf("MakePlan differs on an equal input:\n%s\nfirst:\n%s\nsecond:\n%s", before, desc, fresh)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%s\ninput:\n%s\nplan:\n%s", fmt.Sprintf(format, args...), before, desc)
		}
		checkPlan(c, plan, fail)
	})
}

func checkPlan(c fzCase, plan engine.Plan, fail func(string, ...any)) {
	entries := make(map[int64]engine.Entry)
	for _, e := range c.in.Entries {
		entries[e.StateID] = e
	}
	obsOf := func(e engine.Entry, w engine.Which) engine.Observed {
		if w == engine.SideA {
			return e.A
		}
		return e.B
	}
	projectOf := func(w engine.Which) func(*vcard.Card) *vcard.Card {
		if w == engine.SideA {
			return c.opts.ProjectA
		}
		return c.opts.ProjectB
	}
	// equalsBase: the side holds the base (unchanged, or a changed version
	// whose content is the base as far as the side can hold it).
	equalsBase := func(e engine.Entry, w engine.Which) bool {
		o := obsOf(e, w)
		switch o.Status {
		case engine.Unchanged:
			return true
		case engine.Changed:
			if pr := projectOf(w); pr != nil {
				return o.Card.Hash() == pr(e.Base).Hash()
			}
			return o.Card.Hash() == e.Base.Hash()
		}
		return false
	}

	// uidAt: the UID each item of each side holds (a known item present
	// there, readable or not, keyed by its id; a new item likewise). The
	// plan must not leave a UID on two items of a side that it was not on
	// two items of already, nor add holders to a UID held twice.
	uidAt := map[engine.Which]map[string]string{engine.SideA: {}, engine.SideB: {}}
	for _, e := range c.in.Entries {
		for _, w := range []engine.Which{engine.SideA, engine.SideB} {
			o := obsOf(e, w)
			switch o.Status {
			case engine.Unchanged, engine.Changed, engine.Unreadable:
				u := e.UID
				if o.Card != nil && o.Card.UID() != "" {
					u = o.Card.UID()
				}
				if u != "" && o.Ref.ID != "" {
					uidAt[w][o.Ref.ID] = u
				}
			}
		}
	}
	for w, news := range map[engine.Which][]engine.Observed{engine.SideA: c.in.NewA, engine.SideB: c.in.NewB} {
		for _, o := range news {
			if o.Card != nil && o.Card.UID() != "" && o.Ref.ID != "" {
				uidAt[w][o.Ref.ID] = o.Card.UID()
			}
		}
	}
	holders := func() map[engine.Which]map[string]int {
		n := map[engine.Which]map[string]int{engine.SideA: {}, engine.SideB: {}}
		for w, m := range uidAt {
			for _, u := range m {
				n[w][u]++
			}
		}
		return n
	}
	before := holders()
	defer func() {
		after := holders()
		for _, w := range []engine.Which{engine.SideA, engine.SideB} {
			for u, k := range after[w] {
				if k > 1 && k > before[w][u] {
					fail("the plan leaves UID %q on %d items of side %s", u, k, w)
				}
			}
		}
	}()
	created := make(map[string]bool)
	deleted := make(map[string]bool)
	count := make(map[string]int) // "a/id" → actions and skips naming it
	for i, a := range plan.Actions {
		refs := make(map[string]bool)
		for _, w := range []engine.Which{engine.SideA, engine.SideB} {
			wr := a.Write(w)
			rf := a.ARef
			if w == engine.SideB {
				rf = a.BRef
			}
			for _, id := range []string{rf.ID, wr.Ref.ID} {
				if id != "" {
					refs[w.String()+"/"+id] = true
				}
			}
			switch wr.Op {
			case engine.OpCreate, engine.OpUpdate:
				if wr.Card == nil {
					fail("action %d: %s on %s without a card", i, wr.Op, w)
				}
				if wr.Card.UID() == "" {
					fail("action %d: %s on %s of a card without UID", i, wr.Op, w)
				}
				if _, err := vcard.Parse(wr.Card.Encode()); err != nil {
					fail("action %d: %s on %s of a card that does not read back: %v", i, wr.Op, w, err)
				}
				if wr.Op == engine.OpCreate {
					created[wr.Card.UID()] = true
					uidAt[w][fmt.Sprintf("created#%d", i)] = wr.Card.UID()
				} else if wr.Ref.ID != "" {
					uidAt[w][wr.Ref.ID] = wr.Card.UID()
				}
			case engine.OpDelete:
				uid := a.UID
				if wr.Old != nil && wr.Old.UID() != "" {
					uid = wr.Old.UID()
				}
				if uid != "" {
					deleted[uid] = true
				}
				delete(uidAt[w], wr.Ref.ID)
				checkDelete(c, a, w, entries, fail)
			}
		}
		for k := range refs {
			count[k]++
		}
		if a.StateID != 0 {
			e, ok := entries[a.StateID]
			if !ok {
				fail("action %d names state item %d, which is not in the input", i, a.StateID)
			}
			if e.A.Status == engine.Unreadable || e.B.Status == engine.Unreadable {
				fail("action %d for state item %d, which is unreadable on one side", i, a.StateID)
			}
			if e.Base != nil && e.Override == nil && equalsBase(e, engine.SideA) && equalsBase(e, engine.SideB) &&
				(a.A.Op != engine.OpNone || a.B.Op != engine.OpNone) {
				fail("action %d writes state item %d, whose sides both equal the base (a %s, b %s)", i, a.StateID, a.A.Op, a.B.Op)
			}
		}
	}
	for uid := range created {
		if deleted[uid] {
			fail("UID %q is both created and deleted", uid)
		}
	}
	for _, s := range plan.Skipped {
		if s.ID != "" {
			count[s.Side.String()+"/"+s.ID]++
		}
	}
	for k, n := range count {
		if n > 1 {
			fail("item %s is in %d actions and skips", k, n)
		}
	}
	// Every new item, and every state item with a change or an unreadable
	// side, is accounted for.
	mentioned := func(w engine.Which, id string) bool { return id != "" && count[w.String()+"/"+id] > 0 }
	for _, w := range []engine.Which{engine.SideA, engine.SideB} {
		news := c.in.NewA
		if w == engine.SideB {
			news = c.in.NewB
		}
		for _, o := range news {
			if mentioned(w, o.Ref.ID) || movedInto(c, w, o, plan) {
				continue
			}
			fail("new item %s/%s (%s) is in no action and no skip", w, o.Ref.ID, o.Status)
		}
	}
	for _, e := range c.in.Entries {
		touched := mentioned(engine.SideA, e.A.Ref.ID) || mentioned(engine.SideB, e.B.Ref.ID)
		for _, a := range plan.Actions {
			if a.StateID == e.StateID {
				touched = true
			}
		}
		for _, s := range plan.Skipped {
			if e.UID != "" && s.UID == e.UID {
				touched = true // a duplicate of its UID, or an item moved in
			}
			for _, o := range []engine.Observed{e.A, e.B} {
				if o.Card != nil && o.Card.UID() != "" && s.UID == o.Card.UID() {
					touched = true // a duplicate of the UID a side gave it
				}
			}
		}
		quiet := e.Override == nil && e.A.Status == engine.Unchanged && e.B.Status == engine.Unchanged
		if !quiet && !touched {
			fail("state item %d (a %s, b %s) is in no action and no skip", e.StateID, e.A.Status, e.B.Status)
		}
		for _, w := range []engine.Which{engine.SideA, engine.SideB} {
			if o := obsOf(e, w); o.Status == engine.Unreadable && !mentioned(w, o.Ref.ID) {
				fail("unreadable %s/%s is not reported as skipped", w, o.Ref.ID)
			}
		}
	}
}

// movedInto reports whether new item o carries the UID of a state item
// gone from the same side (it moved there) that was left alone and
// reported whole (an unreadable or duplicate side): the planner takes it
// as that item.
func movedInto(c fzCase, w engine.Which, o engine.Observed, plan engine.Plan) bool {
	if o.Card == nil {
		return false
	}
	for _, e := range c.in.Entries {
		own := e.A
		if w == engine.SideB {
			own = e.B
		}
		other := e.B
		if w == engine.SideB {
			other = e.A
		}
		uid := o.Card.UID()
		known := uid != "" && (uid == e.UID || (other.Card != nil && other.Card.UID() == uid))
		if !known || (own.Status != engine.Absent && own.Status != engine.Deleted) {
			continue
		}
		for _, s := range plan.Skipped {
			if s.UID == e.UID || s.UID == uid || (s.ID != "" && (s.ID == e.A.Ref.ID || s.ID == e.B.Ref.ID)) {
				return true // the item it moved into was skipped whole
			}
		}
	}
	return false
}

// checkDelete checks one planned delete on side w: the other side must no
// longer hold the item, in two-way sync the deleting side must not have
// changed it, and a mirror deletes only on its target side.
func checkDelete(c fzCase, a engine.Action, w engine.Which, entries map[int64]engine.Entry, fail func(string, ...any)) {
	switch {
	case c.opts.Direction == engine.AToB && w == engine.SideA, c.opts.Direction == engine.BToA && w == engine.SideB:
		fail("direction %s deletes on its source side %s (%s)", c.opts.Direction, w, a.Why)
	}
	if a.StateID == 0 {
		if c.opts.Direction == engine.TwoWay {
			fail("two-way sync deletes new item %v/%v on %s (%s)", a.ARef, a.BRef, w, a.Why)
		}
		return
	}
	e := entries[a.StateID]
	own, other := e.A, e.B
	if w == engine.SideB {
		own, other = e.B, e.A
	}
	if other.Status != engine.Absent && other.Status != engine.Deleted {
		fail("state item %d deleted on %s while the other side is %s (%s)", a.StateID, w, other.Status, a.Why)
	}
	if c.opts.Direction == engine.TwoWay && own.Status == engine.Changed {
		base := e.Base
		pr := c.opts.ProjectA
		if w == engine.SideB {
			pr = c.opts.ProjectB
		}
		if pr != nil && base != nil {
			base = pr(base)
		}
		if base == nil || own.Card.Hash() != base.Hash() {
			fail("state item %d deleted on %s, where it changed (%s)", a.StateID, w, a.Why)
		}
	}
}

// fzParse parses fuzzed text into a card, or nil.
func fzParse(data []byte) *vcard.Card {
	c, err := vcard.Parse(data)
	if err != nil {
		return nil
	}
	return c
}

// fzContent is a card's hash without the properties Merge3 leaves to its
// caller or sets itself (UID, REV, PRODID), in version v.
func fzContent(c *vcard.Card, v string) string {
	c = c.ConvertTo(v)
	c.Remove("UID")
	c.Remove("REV")
	c.Remove("PRODID")
	return c.Hash()
}

// FuzzMerge3: merging identical edits gives that edit; merging with an
// unchanged side gives the other side; a merge without a base of a card
// with itself is that card; the result reads back and has a's version;
// nothing panics and the inputs are left alone.
func FuzzMerge3(f *testing.F) {
	pool := newFzPool(f)
	for i := range pool.corpus {
		x, y := pool.corpus[i], pool.corpus[(i+1)%len(pool.corpus)]
		f.Add(x.Encode(), y.Encode(), x.Encode(), false)
		f.Add(x.Encode(), x.Encode(), y.Encode(), true)
		f.Add(x.Encode(), y.Encode(), pool.corpus[(i+2)%len(pool.corpus)].Encode(), i%2 == 0)
	}
	small := func(lines ...string) []byte {
		return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n")
	}
	f.Add(small("FN:A", "EMAIL:a@x"), small("FN:B", "EMAIL:a@x", "EMAIL:b@x"), small("FN:C", "TEL:1"), true)
	f.Fuzz(func(t *testing.T, rawBase, rawA, rawB []byte, preferB bool) {
		base, a, b := fzParse(rawBase), fzParse(rawA), fzParse(rawB)
		if a == nil || b == nil {
			return
		}
		prefer := engine.SideA
		if preferB {
			prefer = engine.SideB
		}
		encBase := []byte(nil)
		if base != nil {
			encBase = base.Encode()
		}
		encA, encB := a.Encode(), b.Encode()
		check := func(what string, m engine.MergeResult, wantVersion string) {
			t.Helper()
			if m.Card == nil {
				t.Fatalf("%s: no card", what)
			}
			if m.Card.Version != wantVersion {
				t.Fatalf("%s: version %s, want %s", what, m.Card.Version, wantVersion)
			}
			if _, err := vcard.Parse(m.Card.Encode()); err != nil {
				t.Fatalf("%s: result does not read back: %v\n%s", what, err, m.Card.Encode())
			}
		}
		av := a.Version
		if av != vcard.V40 {
			av = vcard.V30
		}
		m := engine.Merge3(base, a, b, prefer)
		check("merge", m, av)
		if base != nil && !equalBytes(encBase, base.Encode()) || !equalBytes(encA, a.Encode()) || !equalBytes(encB, b.Encode()) {
			t.Fatal("Merge3 changed its inputs")
		}
		// The same edit on both sides is that edit.
		same := engine.Merge3(base, a, a.Clone(), prefer)
		check("identical edits", same, av)
		if len(same.Clashes) != 0 {
			t.Fatalf("identical edits clash on %v", same.Clashes)
		}
		if fzContent(same.Card, av) != fzContent(a, av) {
			t.Fatalf("merging identical edits is not the edit:\nbase:\n%s\nedit:\n%s\nmerged:\n%s", encBase, encA, same.Card.Encode())
		}
		if base == nil {
			return
		}
		bv := base.Version
		if bv != vcard.V40 {
			bv = vcard.V30
		}
		// One side unchanged: the result is the other side.
		onlyB := engine.Merge3(base, base.Clone(), b, prefer)
		check("unchanged a", onlyB, bv)
		if len(onlyB.Clashes) != 0 || fzContent(onlyB.Card, bv) != fzContent(b, bv) {
			t.Fatalf("merging with an unchanged a is not b (clashes %v):\nbase:\n%s\nb:\n%s\nmerged:\n%s", onlyB.Clashes, encBase, encB, onlyB.Card.Encode())
		}
		onlyA := engine.Merge3(base, a, base.Clone(), prefer)
		check("unchanged b", onlyA, av)
		if len(onlyA.Clashes) != 0 || fzContent(onlyA.Card, av) != fzContent(a, av) {
			t.Fatalf("merging with an unchanged b is not a (clashes %v):\nbase:\n%s\na:\n%s\nmerged:\n%s", onlyA.Clashes, encBase, encA, onlyA.Card.Encode())
		}
	})
}

func equalBytes(x, y []byte) bool { return string(x) == string(y) }

// TestPlanMovedItem is FuzzPlan's finding 48319fd2d9a52e7e as a plain
// test: an item gone from side a and a new item on a with its UID (a
// vCard file renamed) is the same contact moved, not a deletion on b plus
// a creation of the same UID there.
func TestPlanMovedItem(t *testing.T) {
	gone := engine.Observed{Status: engine.Absent}
	for _, tc := range []struct {
		name  string
		moved *vcard.Card
		want  engine.Op
	}{{"same content", base, engine.OpNone}, {"edited", editA, engine.OpUpdate}} {
		t.Run(tc.name, func(t *testing.T) {
			in := known(gone, unchanged("b"))
			in.NewA = []engine.Observed{added("a-renamed", tc.moved)}
			plan := runPlan(t, in, engine.PlanOptions{})
			if len(plan.Actions) != 1 || len(plan.Skipped) != 0 {
				t.Fatalf("want one action, got:\n%s", fzDescribe(plan))
			}
			a := plan.Actions[0]
			if a.StateID != 7 || a.A.Op != engine.OpNone || a.B.Op != tc.want || a.ARef.ID != "a-renamed" {
				t.Fatalf("want state item 7 relinked to a-renamed with b %s, got:\n%s", tc.want, fzDescribe(plan))
			}
			if a.Base.Hash() != tc.moved.Hash() {
				t.Fatalf("new base is not the moved card:\n%s", fzDescribe(plan))
			}
		})
	}
}

// TestPlanUnreadableBesideDuplicate is FuzzPlan's finding 013b0141d0e5c734:
// an item dropped for a duplicate UID on one side still has its unreadable
// other side reported.
func TestPlanUnreadableBesideDuplicate(t *testing.T) {
	in := known(unchanged("a"), engine.Observed{Status: engine.Unreadable, Ref: ref("b", 1), Err: errors.New("bad card")})
	in.NewA = []engine.Observed{added("a-dup", card("u1", "FN:Someone else"))}
	plan := runPlan(t, in, engine.PlanOptions{})
	reported := false
	for _, s := range plan.Skipped {
		if s.Side == engine.SideB && s.ID == "b-1" && strings.Contains(s.Reason, "bad card") {
			reported = true
		}
	}
	if len(plan.Actions) != 0 || !reported {
		t.Fatalf("want no action and b-1 reported unreadable, got:\n%s", fzDescribe(plan))
	}
}
