package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/vcard"
)

// TestSyncMachine is a stateful test of the engine, in the spirit of
// vdirsyncer's SyncMachine: two in-memory sides, seeded random creates,
// edits, deletes and conflicting edits on both sides between runs, and
// after every run the invariants of docs/design.md checked:
//
//   - converged: both sides hold the same contacts (same UIDs, same
//     content by normalised hash);
//   - no duplicate: no UID is held twice on a side;
//   - no loss: every contact nobody deleted exists on both sides, with
//     every edit made to it (edits to different properties merge);
//   - deleted stays deleted: a contact deleted on one side while the
//     other left it alone is gone from both;
//   - quiet: a run right after a run writes nothing.
//
// CARDBRIDGE_MACHINE_SEED=N replays one seed (the failing seed is printed).
func TestSyncMachine(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if s := os.Getenv("CARDBRIDGE_MACHINE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CARDBRIDGE_MACHINE_SEED=%q: %v", s, err)
		}
		seeds = []uint64{n}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			m := newMachine(t, seed)
			for step := 0; step < 40; step++ {
				m.mutate()
				m.sync(step)
			}
		})
	}
}

// machine is the model: what each contact must hold after the next run.
type machine struct {
	t    *testing.T
	seed uint64
	rnd  *rand.Rand
	db   *state.DB
	a, b *mem.Side
	next int
	// want is every live contact's expected properties (name → value);
	// gone are UIDs deleted with no concurrent edit; open are UIDs whose
	// outcome the model leaves to the engine (deleted on one side, edited
	// on the other: either is right, as long as both sides agree).
	want map[string]map[string]string
	gone map[string]bool
	open map[string]bool
	// synced are the UIDs both sides held after the last run.
	synced map[string]bool
}

func newMachine(t *testing.T, seed uint64) *machine {
	db := statetest.Open(t, filepath.Join(t.TempDir(), "state.db"), state.Options{})
	m := &machine{t: t, seed: seed, rnd: rand.New(rand.NewPCG(seed, 15)), db: db, a: mem.New("a"), b: mem.New("b"),
		want: map[string]map[string]string{}, gone: map[string]bool{}, open: map[string]bool{}, synced: map[string]bool{}}
	for i := 0; i < 12; i++ {
		m.create(m.a)
	}
	return m
}

func (m *machine) fatalf(format string, args ...any) {
	m.t.Helper()
	m.t.Fatalf("seed %d (replay: CARDBRIDGE_MACHINE_SEED=%d): %s", m.seed, m.seed, fmt.Sprintf(format, args...))
}

// render writes a contact's properties as a vCard.
func render(uid string, props map[string]string) []byte {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\n"
	for _, k := range keys {
		s += k + ":" + props[k] + "\r\n"
	}
	return []byte(s + "END:VCARD\r\n")
}

func (m *machine) create(s *mem.Side) {
	m.next++
	uid := fmt.Sprintf("m-%d-%d", m.seed, m.next)
	props := map[string]string{"FN": "Person " + strconv.Itoa(m.next), "N": "Person;" + strconv.Itoa(m.next) + ";;;"}
	m.want[uid] = props
	s.Put(uid+".vcf", render(uid, props))
}

// live returns the UIDs both sides held after the last run and no change
// of this round has touched yet, sorted (for a seeded choice).
func (m *machine) live(touched map[string]bool) []string {
	out := make([]string, 0, len(m.want))
	for uid := range m.want {
		if m.synced[uid] && !touched[uid] {
			out = append(out, uid)
		}
	}
	sort.Strings(out)
	return out
}

// idOf finds the id under which s holds uid.
func (m *machine) idOf(s *mem.Side, uid string) (string, bool) {
	for id, raw := range s.Snapshot() {
		c, err := vcard.Parse(raw)
		if err == nil && c.UID() == uid {
			return id, true
		}
	}
	return "", false
}

// edit sets property prop of uid on side s to a new value, in the model too.
func (m *machine) edit(s *mem.Side, uid, prop string) {
	id, ok := m.idOf(s, uid)
	if !ok {
		m.fatalf("%s: %s missing before the edit", s.Name(), uid)
	}
	raw, _ := s.Raw(id)
	c, err := vcard.Parse(raw)
	if err != nil {
		m.fatalf("%s: %v", id, err)
	}
	props := map[string]string{}
	for _, p := range c.Props {
		if p.Name != "BEGIN" && p.Name != "END" && p.Name != "VERSION" && p.Name != "UID" {
			props[p.Name] = p.Value
		}
	}
	v := fmt.Sprintf("v%d", m.rnd.IntN(1_000_000))
	props[prop] = v
	m.want[uid][prop] = v
	s.Put(id, render(uid, props))
}

// mutate makes a seeded handful of changes on both sides.
func (m *machine) mutate() {
	sides := []*mem.Side{m.a, m.b}
	touched := map[string]bool{}
	for n := m.rnd.IntN(5); n > 0; n-- {
		live := m.live(touched)
		s := sides[m.rnd.IntN(2)]
		op := m.rnd.IntN(10)
		if op < 3 || len(live) < 6 {
			m.create(s)
			continue
		}
		uid := live[m.rnd.IntN(len(live))]
		touched[uid] = true
		switch {
		case op < 6:
			m.edit(s, uid, []string{"TITLE", "NOTE", "ORG", "NICKNAME"}[m.rnd.IntN(4)])
		case op < 8:
			// Conflicting edits of one contact, different properties:
			// both must survive the merge.
			m.edit(m.a, uid, "TITLE")
			m.edit(m.b, uid, "NOTE")
		default:
			if m.rnd.IntN(4) == 0 {
				// Deleted on one side, edited on the other.
				m.edit(sides[1-indexOf(sides, s)], uid, "NOTE")
				m.open[uid] = true
			} else {
				m.gone[uid] = true
			}
			id, _ := m.idOf(s, uid)
			s.Remove(id)
			delete(m.want, uid)
		}
	}
}

func indexOf(ss []*mem.Side, s *mem.Side) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

func (m *machine) run() *engine.Result {
	m.t.Helper()
	res, err := engine.New(m.db, nil).Run(context.Background(),
		engine.Pair{Name: "p", A: m.a, B: m.b, Direction: engine.TwoWay, Policy: engine.PolicyMerge},
		engine.Options{ForceDelete: true})
	if err != nil {
		m.fatalf("run: %v", err)
	}
	if len(res.Errors) > 0 {
		m.fatalf("run errors: %v", res.Errors)
	}
	return res
}

// book reads a side as UID → card, failing on a duplicate UID.
func (m *machine) book(s *mem.Side) map[string]*vcard.Card {
	out := map[string]*vcard.Card{}
	for id, raw := range s.Snapshot() {
		c, err := vcard.Parse(raw)
		if err != nil {
			m.fatalf("%s %s: %v", s.Name(), id, err)
		}
		if _, dup := out[c.UID()]; dup {
			m.fatalf("%s holds UID %s twice", s.Name(), c.UID())
		}
		out[c.UID()] = c
	}
	return out
}

func (m *machine) sync(step int) {
	m.t.Helper()
	m.run()
	a, b := m.book(m.a), m.book(m.b)
	for uid, ca := range a {
		cb, ok := b[uid]
		if !ok {
			m.fatalf("step %d: %s on a only", step, uid)
		}
		if ca.Hash() != cb.Hash() {
			m.fatalf("step %d: %s differs:\n%s\n%s", step, uid, ca.Encode(), cb.Encode())
		}
	}
	for uid := range b {
		if _, ok := a[uid]; !ok {
			m.fatalf("step %d: %s on b only", step, uid)
		}
	}
	for uid, props := range m.want {
		c, ok := a[uid]
		if !ok {
			m.fatalf("step %d: %s lost", step, uid)
		}
		for k, v := range props {
			if got, ok := c.Get(k); !ok || got.Value != v {
				m.fatalf("step %d: %s: %s = %q, want %q (an edit lost):\n%s", step, uid, k, got.Value, v, c.Encode())
			}
		}
	}
	for uid := range m.gone {
		if _, ok := a[uid]; ok && !m.open[uid] {
			m.fatalf("step %d: %s came back after its delete", step, uid)
		}
	}
	// The engine decided the open ones: the model follows it.
	for uid := range m.open {
		if c, ok := a[uid]; ok {
			props := map[string]string{}
			for _, p := range c.Props {
				if p.Name != "BEGIN" && p.Name != "END" && p.Name != "VERSION" && p.Name != "UID" {
					props[p.Name] = p.Value
				}
			}
			m.want[uid] = props
			delete(m.gone, uid)
		}
		delete(m.open, uid)
	}
	m.synced = map[string]bool{}
	for uid := range a {
		m.synced[uid] = true
	}
	if res := m.run(); writes(res) != 0 {
		m.fatalf("step %d: a run with no change wrote %d times", step, writes(res))
	}
}
