package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/vcard"
)

func TestMemSideConformance(t *testing.T) {
	sidetest.Run(t, func(t *testing.T) engine.Side { return mem.New("conformance") }, sidetest.Options{NoChangeTokens: true})
}

type fixture struct {
	t    *testing.T
	path string
	db   *state.DB
	a, b *mem.Side
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "state.db"), a: mem.New("a"), b: mem.New("b")}
	f.open()
	return f
}

func (f *fixture) open() {
	f.db = statetest.Open(f.t, f.path, state.Options{})
}

// putPeople puts person(i) on a as a<i>.vcf for each i below n.
func (f *fixture) putPeople(n int) {
	for i := range n {
		f.a.Put(fmt.Sprintf("a%d.vcf", i), person(i).Encode())
	}
}

func (f *fixture) pair(mut ...func(*engine.Pair)) engine.Pair {
	p := engine.Pair{Name: "p", A: f.a, B: f.b, Direction: engine.TwoWay, Policy: engine.PolicyMerge}
	for _, m := range mut {
		m(&p)
	}
	return p
}

func (f *fixture) run(opts engine.Options, mut ...func(*engine.Pair)) (*engine.Result, error) {
	return engine.New(f.db, nil).Run(context.Background(), f.pair(mut...), opts)
}

func (f *fixture) mustRun(mut ...func(*engine.Pair)) *engine.Result {
	f.t.Helper()
	res, err := f.run(engine.Options{}, mut...)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		f.t.Fatalf("run errors: %v", res.Errors)
	}
	return res
}

// mustRunQuiet runs the pair and fails the test (saying what run it was)
// when the run writes anything: a run with nothing new to sync.
func (f *fixture) mustRunQuiet(what string) {
	f.t.Helper()
	if res := f.mustRun(); writes(res) != 0 {
		f.t.Fatalf("%s: %+v", what, res)
	}
}

func writes(r *engine.Result) int {
	return r.A.Created + r.A.Updated + r.A.Deleted + r.B.Created + r.B.Updated + r.B.Deleted
}

func person(i int) *vcard.Card {
	return card(fmt.Sprintf("uid-%03d", i), fmt.Sprintf("FN:Person %03d", i), fmt.Sprintf("N:%03d;Person;;;", i),
		fmt.Sprintf("EMAIL:p%03d@example.com", i), fmt.Sprintf("TEL:+48 600 000 %03d", i))
}

// contents maps UID to normalised hash; it fails on a duplicate UID or an
// unreadable item.
func contents(t *testing.T, s *mem.Side) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, raw := range s.Snapshot() {
		c, err := vcard.Parse(raw)
		if err != nil {
			continue // bad items are the test's own
		}
		if prev, dup := out[c.UID()]; dup {
			t.Fatalf("%s: duplicate UID %s (%s)", s.Name(), c.UID(), prev)
		}
		out[c.UID()] = c.Hash()
		_ = id
	}
	return out
}

func converged(t *testing.T, a, b *mem.Side) map[string]string {
	t.Helper()
	ca, cb := contents(t, a), contents(t, b)
	for u, h := range ca {
		if cb[u] != h {
			t.Errorf("uid %s differs: a %q b %q", u, h, cb[u])
		}
	}
	for u := range cb {
		if _, ok := ca[u]; !ok {
			t.Errorf("uid %s only on b", u)
		}
	}
	return ca
}

func findID(s *mem.Side, uid string) string {
	for id, raw := range s.Snapshot() {
		if c, err := vcard.Parse(raw); err == nil && c.UID() == uid {
			return id
		}
	}
	return ""
}

func TestFirstSyncCopiesAndRerunIsQuiet(t *testing.T) {
	f := newFixture(t)
	f.putPeople(30)
	res := f.mustRun()
	if res.B.Created != 30 || writes(res) != 30 {
		t.Fatalf("first run: %+v", res)
	}
	converged(t, f.a, f.b)
	res = f.mustRun()
	if writes(res) != 0 || res.Linked != 0 {
		t.Fatalf("second run wrote: %+v", res)
	}
}

func TestFirstSyncOfIdenticalSidesWritesNothing(t *testing.T) {
	f := newFixture(t)
	for i := range 40 {
		f.a.Put(fmt.Sprintf("a%d.vcf", i), person(i).Encode())
		c := person(i).ConvertTo(vcard.V40) // the same contacts, other version and ids
		if i%2 == 0 {
			c.Set(vcard.NewText("PRODID", "-//other tool//EN"))
		}
		f.b.Put(fmt.Sprintf("other-%d.vcf", i), c.Encode())
	}
	// Two without UID on either side, matched by e-mail + name.
	f.a.Put("nouid.vcf", card("", "FN:Nobody Knows", "EMAIL:nobody@example.com").Encode())
	f.b.Put("nouid-b.vcf", card("", "FN:Nobody Knows", "EMAIL:nobody@example.com").Encode())
	res := f.mustRun()
	if n := res.A.Created + res.B.Created + res.A.Deleted + res.B.Deleted; n != 0 {
		t.Fatalf("first sync of identical sides created/deleted %d: %+v", n, res)
	}
	if res.A.Updated+res.B.Updated > 2 { // only the UID-less pair gains its UID
		t.Fatalf("updates: %+v", res)
	}
	if len(f.a.Snapshot()) != 41 || len(f.b.Snapshot()) != 41 {
		t.Fatalf("item counts changed: %d %d", len(f.a.Snapshot()), len(f.b.Snapshot()))
	}
	f.mustRunQuiet("rerun wrote")
}

func TestEditsDeletesAndTrash(t *testing.T) {
	f := newFixture(t)
	f.putPeople(10)
	f.mustRun()
	// a edits 1, b edits 2 (other property of 1 too), b deletes 3, a deletes 4.
	e1 := person(1)
	e1.Set(vcard.NewText("TITLE", "Chief"))
	f.a.Put("a1.vcf", e1.Encode())
	e1b := person(1)
	e1b.Set(vcard.NewText("NOTE", "from b"))
	f.b.Put(findID(f.b, "uid-001"), e1b.Encode())
	e2 := person(2)
	e2.Set(vcard.NewText("NOTE", "b note"))
	f.b.Put(findID(f.b, "uid-002"), e2.Encode())
	f.b.Remove(findID(f.b, "uid-003"))
	f.a.Remove("a4.vcf")
	res := f.mustRun()
	if res.A.Deleted != 1 || res.B.Deleted != 1 {
		t.Fatalf("deletes: %+v", res)
	}
	got := converged(t, f.a, f.b)
	if len(got) != 8 {
		t.Fatalf("%d contacts, want 8", len(got))
	}
	raw, _ := f.a.Raw("a1.vcf")
	m, _ := vcard.Parse(raw)
	if tt, _ := m.Get("TITLE"); tt.Text() != "Chief" {
		t.Errorf("title lost: %s", raw)
	}
	if n, _ := m.Get("NOTE"); n.Text() != "from b" {
		t.Errorf("note lost: %s", raw)
	}
	trash, err := f.db.ListTrash(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, e := range trash {
		reasons[e.Reason]++
	}
	if reasons["deleted"] != 2 || reasons["overwritten"] < 3 {
		t.Fatalf("trash reasons = %v", reasons)
	}
	// Restore the contact deleted on a (uid-004, trashed from b).
	var id int64
	for _, e := range trash {
		if e.UID == "uid-004" && e.Reason == "deleted" {
			id = e.ID
		}
	}
	if err := f.db.RequestRestore(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	res = f.mustRun()
	if res.A.Created != 1 || res.B.Created != 1 {
		t.Fatalf("restore: %+v", res)
	}
	if got := converged(t, f.a, f.b); got["uid-004"] == "" {
		t.Fatal("uid-004 not restored")
	}
	f.mustRunQuiet("rerun after restore wrote")
}

func TestGuards(t *testing.T) {
	f := newFixture(t)
	f.putPeople(20)
	f.mustRun()
	limit := func(p *engine.Pair) { p.MaxDelete = func(total int) int { return max(5, total/4) } }

	// b lists empty: stop before deleting anything on a.
	saved := f.b.Clone()
	for id := range f.b.Snapshot() {
		f.b.Remove(id)
	}
	_, err := f.run(engine.Options{}, limit)
	var g *engine.GuardError
	if !errors.As(err, &g) || !g.Empty || g.Side != engine.SideA {
		t.Fatalf("empty side: err = %v", err)
	}
	if !strings.Contains(err.Error(), "--force-delete") || !strings.Contains(err.Error(), "lists no contacts") {
		t.Errorf("message: %v", err)
	}
	if len(f.a.Snapshot()) != 20 {
		t.Fatal("a lost contacts to an empty b")
	}

	// Six of twenty deleted on b: more than max_delete (5).
	f.b = saved
	for _, u := range []string{"uid-001", "uid-002", "uid-003", "uid-004", "uid-005", "uid-006"} {
		f.b.Remove(findID(f.b, u))
	}
	_, err = f.run(engine.Options{}, limit)
	if !errors.As(err, &g) || g.Empty || g.Deletions != 6 || g.Allowed != 5 {
		t.Fatalf("max_delete: err = %v", err)
	}
	if !strings.Contains(err.Error(), `"Person 001"`) {
		t.Errorf("message does not name what would be deleted: %v", err)
	}
	if len(f.a.Snapshot()) != 20 {
		t.Fatal("a lost contacts past the guard")
	}
	res, err := f.run(engine.Options{ForceDelete: true}, limit)
	if err != nil || res.A.Deleted != 6 {
		t.Fatalf("forced: %+v %v", res, err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t)
	f.putPeople(5)
	f.mustRun()
	f.a.Put("new.vcf", person(9).Encode())
	f.b.Remove(findID(f.b, "uid-001"))
	beforeA, beforeB := f.a.Snapshot(), f.b.Snapshot()
	items, _ := f.db.Items(context.Background(), "p")
	run1, _, _ := f.db.LastRun(context.Background(), "p")
	res, err := f.run(engine.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.B.Created != 1 || res.A.Deleted != 1 || len(res.Plan.Actions) != 2 {
		t.Fatalf("dry-run plan: %+v", res)
	}
	if fmt.Sprint(f.a.Snapshot()) != fmt.Sprint(beforeA) || fmt.Sprint(f.b.Snapshot()) != fmt.Sprint(beforeB) {
		t.Fatal("dry run changed a side")
	}
	items2, _ := f.db.Items(context.Background(), "p")
	run2, _, _ := f.db.LastRun(context.Background(), "p")
	if len(items) != len(items2) || run1.ID != run2.ID {
		t.Fatal("dry run changed state")
	}
	trash, _ := f.db.ListTrash(context.Background(), "")
	if len(trash) != 0 {
		t.Fatal("dry run wrote to the trash")
	}
}

func TestBadAndDuplicateItemsAreSkipped(t *testing.T) {
	f := newFixture(t)
	f.putPeople(5)
	f.mustRun()
	// A previously good item turns bad on a; a new bad one appears; two
	// new items share a UID.
	f.a.Put("a2.vcf", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:uid-002\r\nFN:Never Ends\r\n"))
	f.a.Put("garbage.vcf", []byte{0, 1, 2, 3, 0xff})
	f.a.Put("d1.vcf", card("dup", "FN:Dup One").Encode())
	f.a.Put("d2.vcf", card("dup", "FN:Dup Two").Encode())
	f.a.Put("good.vcf", person(7).Encode())
	res, err := f.run(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.B.Created != 1 || res.B.Deleted != 0 || res.B.Updated != 0 {
		t.Fatalf("result: %+v", res)
	}
	var reasons []string
	for _, s := range res.Skipped {
		reasons = append(reasons, s.String())
	}
	all := strings.Join(reasons, "\n")
	for _, want := range []string{"a2.vcf", "garbage.vcf", "d1.vcf", "d2.vcf", "duplicate UID"} {
		if !strings.Contains(all, want) {
			t.Errorf("skips do not mention %q:\n%s", want, all)
		}
	}
	if findID(f.b, "uid-002") == "" {
		t.Error("contact deleted on b because a's copy became unreadable")
	}
	if raw, _ := f.a.Raw("a2.vcf"); !strings.Contains(string(raw), "Never Ends") {
		t.Error("bad file rewritten")
	}
}

func TestManualConflictAndResolve(t *testing.T) {
	f := newFixture(t)
	f.a.Put("a.vcf", person(1).Encode())
	f.mustRun()
	ea, eb := person(1), person(1)
	ea.SetFN("Name From A")
	eb.SetFN("Name From B")
	f.a.Put("a.vcf", ea.Encode())
	f.b.Put(findID(f.b, "uid-001"), eb.Encode())
	manual := func(p *engine.Pair) { p.Policy = engine.PolicyManual }
	res := f.mustRun(manual)
	if res.Conflicts != 1 || writes(res) != 0 {
		t.Fatalf("manual: %+v", res)
	}
	cs, _ := f.db.Conflicts(context.Background(), "p", true)
	if len(cs) != 1 {
		t.Fatalf("conflicts = %d", len(cs))
	}
	if res := f.mustRun(manual); res.Conflicts != 1 || writes(res) != 0 {
		t.Fatalf("second manual run: %+v", res)
	}
	if cs2, _ := f.db.Conflicts(context.Background(), "p", true); len(cs2) != 1 || cs2[0].ID != cs[0].ID {
		t.Fatalf("conflict duplicated: %+v", cs2)
	}
	if err := f.db.ResolveConflict(context.Background(), cs[0].ID, "b", cs[0].B); err != nil {
		t.Fatal(err)
	}
	res = f.mustRun(manual)
	if res.A.Updated != 1 || res.Conflicts != 0 {
		t.Fatalf("resolution: %+v", res)
	}
	raw, _ := f.a.Raw("a.vcf")
	if !strings.Contains(string(raw), "Name From B") {
		t.Fatalf("a = %s", raw)
	}
	if cs, _ := f.db.Conflicts(context.Background(), "p", true); len(cs) != 0 {
		t.Fatalf("still open: %+v", cs)
	}
	// Keeping b overwrote a's version only: one trash entry, holding it;
	// side b already had the kept version and was not rewritten.
	trash, err := f.db.ListTrash(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(trash) != 1 || !strings.Contains(string(trash[0].Card), "Name From A") {
		t.Errorf("trash after keeping b: %d entries %+v", len(trash), trash)
	}
	if res := f.mustRun(manual); writes(res) != 0 {
		t.Errorf("a run after the resolution wrote again: %+v", res)
	}
}

// racer edits the item under the engine just before its first update.
type racer struct {
	engine.Side
	mem  *mem.Side
	done bool
}

func (r *racer) Update(ctx context.Context, ref engine.Ref, c *vcard.Card) (engine.Ref, error) {
	if !r.done {
		r.done = true
		raw, _ := r.mem.Raw(ref.ID)
		cur, _ := vcard.Parse(raw)
		cur.Set(vcard.NewText("ROLE", "edited during the sync"))
		r.mem.Put(ref.ID, cur.Encode())
	}
	return r.Side.Update(ctx, ref, c)
}

func TestPreconditionFailureRemerges(t *testing.T) {
	f := newFixture(t)
	f.a.Put("a.vcf", person(1).Encode())
	f.mustRun()
	e := person(1)
	e.Set(vcard.NewText("TITLE", "Dr"))
	f.a.Put("a.vcf", e.Encode())
	res := f.mustRun(func(p *engine.Pair) { p.B = &racer{Side: f.b, mem: f.b} })
	_ = res
	f.mustRun()
	got := converged(t, f.a, f.b)
	if len(got) != 1 {
		t.Fatal(got)
	}
	raw, _ := f.a.Raw("a.vcf")
	if !strings.Contains(string(raw), "TITLE:Dr") || !strings.Contains(string(raw), "ROLE:edited during the sync") {
		t.Fatalf("lost an edit: %s", raw)
	}
}

// TestRetryTrashesEachVersionOnce: a merge writes both sides; the write to
// b fails its precondition (b was edited meanwhile) and the item is planned
// again. The trash then holds each overwritten version once — a's version
// is not stored a second time by the retry.
func TestRetryTrashesEachVersionOnce(t *testing.T) {
	f := newFixture(t)
	f.a.Put("a.vcf", person(1).Encode())
	f.mustRun()
	ea, eb := person(1), person(1)
	ea.Set(vcard.NewText("TITLE", "Dr"))
	eb.Set(vcard.NewText("NOTE", "from b"))
	f.a.Put("a.vcf", ea.Encode())
	f.b.Put(findID(f.b, "uid-001"), eb.Encode())
	f.mustRun(func(p *engine.Pair) { p.B = &racer{Side: f.b, mem: f.b} })
	f.mustRun()
	converged(t, f.a, f.b)
	raw, _ := f.a.Raw("a.vcf")
	for _, want := range []string{"TITLE:Dr", "NOTE:from b", "ROLE:edited during the sync"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("merged card lacks %s: %s", want, raw)
		}
	}
	trash, err := f.db.ListTrash(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range trash {
		k := e.Side + "\x00" + string(e.Card)
		if seen[k] {
			t.Errorf("side %s: the same version is in the trash twice:\n%s", e.Side, e.Card)
		}
		seen[k] = true
	}
	if len(trash) == 0 {
		t.Error("nothing in the trash after overwriting both sides")
	}
}

func TestSecondSyncOfSamePairIsRefused(t *testing.T) {
	f := newFixture(t)
	unlock, err := f.db.LockPair(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	db2 := statetest.Open(t, f.path, state.Options{})
	defer db2.Close()
	_, err = engine.New(db2, nil).Run(context.Background(), f.pair(), engine.Options{})
	want := fmt.Sprintf("pair p is being synced by process %d", os.Getpid())
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// crashSetup builds a synced pair of 200 contacts, then edits both sides.
func crashSetup(t *testing.T) (dbPath string, a, b *mem.Side) {
	f := newFixture(t)
	for i := range 200 {
		c := person(i)
		if i%50 == 7 {
			c.Remove("UID") // some without UID
		}
		f.a.Put(fmt.Sprintf("a%03d.vcf", i), c.Encode())
	}
	f.mustRun()
	uidOf := func(s *mem.Side, id string) string {
		raw, _ := s.Raw(id)
		c, _ := vcard.Parse(raw)
		return c.UID()
	}
	edit := func(s *mem.Side, id, prop, val string) {
		raw, _ := s.Raw(id)
		c, _ := vcard.Parse(raw)
		c.Set(vcard.NewText(prop, val))
		s.Put(id, c.Encode())
	}
	for i := 0; i < 20; i++ { // edits on a
		edit(f.a, fmt.Sprintf("a%03d.vcf", i), "TITLE", "title from a")
	}
	for i := 10; i < 30; i++ { // edits on b, 10 of them on items a edited too
		edit(f.b, findID(f.b, uidOf(f.a, fmt.Sprintf("a%03d.vcf", i))), "NOTE", "note from b")
	}
	for i := 40; i < 50; i++ {
		f.a.Remove(fmt.Sprintf("a%03d.vcf", i))
	}
	for i := 50; i < 60; i++ {
		f.b.Remove(findID(f.b, uidOf(f.a, fmt.Sprintf("a%03d.vcf", i))))
	}
	for i := 300; i < 310; i++ {
		f.a.Put(fmt.Sprintf("new-a%d.vcf", i), person(i).Encode())
		c := person(i + 100)
		if i%3 == 0 {
			c.Remove("UID")
		}
		f.b.Put(fmt.Sprintf("new-b%d.vcf", i), c.Encode())
	}
	f.db.Close()
	return f.path, f.a, f.b
}

func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

func TestCrashAtEveryWriteConverges(t *testing.T) {
	dbPath, a0, b0 := crashSetup(t)
	ctx := context.Background()
	// runOnce runs one sync on a fresh handle of the state file. A fault
	// with crash set closes that handle and cancels the run at the failing
	// write: from then on nothing reaches state, as when the process dies.
	runOnce := func(path string, a, b engine.Side, faults *sidetest.Faults, crash bool) (*engine.Result, error) {
		db := statetest.Open(t, path, state.Options{})
		defer db.Close()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if faults != nil {
			if crash {
				faults.Cancel = func() { cancel(); db.Close() }
			}
			a, b = faults.Wrap(a), faults.Wrap(b)
		}
		return engine.New(db, nil).Run(cctx, engine.Pair{Name: "p", A: a, B: b, Direction: engine.TwoWay, Policy: engine.PolicyMerge}, engine.Options{Concurrency: 4})
	}
	// The fault-free outcome.
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.db")
	copyFile(t, dbPath, ref)
	ra, rb := a0.Clone(), b0.Clone()
	counter := &sidetest.Faults{}
	res, err := runOnce(ref, ra, rb, counter, false)
	if err != nil || len(res.Errors) > 0 {
		t.Fatalf("reference run: %v %v", err, res.Errors)
	}
	want := converged(t, ra, rb)
	total := counter.Writes()
	if total < 80 {
		t.Fatalf("only %d writes in the reference run", total)
	}
	t.Logf("%d writes per run, %d contacts at the end", total, len(want))

	for _, mode := range []string{"fail", "crash-after-write"} {
		for k := 1; k <= total; k++ {
			path := filepath.Join(dir, fmt.Sprintf("%s-%d.db", mode, k))
			copyFile(t, dbPath, path)
			a, b := a0.Clone(), b0.Clone()
			faults := &sidetest.Faults{FailAt: k, After: mode == "crash-after-write"}
			runOnce(path, a, b, faults, mode == "crash-after-write") // errors expected
			res, err := runOnce(path, a, b, nil, false)
			if err != nil || len(res.Errors) > 0 {
				t.Fatalf("%s at write %d: re-run: %v %v", mode, k, err, res.Errors)
			}
			got := converged(t, a, b)
			if len(got) != len(want) {
				t.Fatalf("%s at write %d: %d contacts, want %d", mode, k, len(got), len(want))
			}
			var diff []string
			for u, h := range want {
				if got[u] != h {
					diff = append(diff, u)
				}
			}
			sort.Strings(diff)
			if len(diff) > 0 {
				t.Fatalf("%s at write %d: contents differ from the fault-free run for %v", mode, k, diff)
			}
			if res, _ := runOnce(path, a, b, nil, false); writes(res) != 0 {
				t.Fatalf("%s at write %d: third run still writes: %+v", mode, k, res)
			}
		}
	}
}

// TestRenamedFileIsNotRecreated: a contact file renamed on one side (same
// UID, same or edited content) is the same contact: nothing is deleted or
// created on the other side, an edit travels, and the next run is quiet.
func TestRenamedFileIsNotRecreated(t *testing.T) {
	f := newFixture(t)
	f.a.Put("a.vcf", person(1).Encode())
	f.a.Put("keep.vcf", person(2).Encode())
	f.mustRun()
	idB := findID(f.b, "uid-001")
	raw, _ := f.a.Raw("a.vcf")
	f.a.Remove("a.vcf")
	f.a.Put("renamed.vcf", raw)
	res := f.mustRun()
	if writes(res) != 0 {
		t.Fatalf("a renamed file caused writes: %+v", res)
	}
	e := person(1)
	e.Set(vcard.NewText("TITLE", "Renamed and edited"))
	f.a.Remove("renamed.vcf")
	f.a.Put("again.vcf", e.Encode())
	res = f.mustRun()
	if res.B.Updated != 1 || res.B.Created != 0 || res.B.Deleted != 0 || res.A.Created+res.A.Deleted != 0 {
		t.Fatalf("renamed and edited: a %+v b %+v", res.A, res.B)
	}
	if got := findID(f.b, "uid-001"); got != idB {
		t.Errorf("b's file changed from %s to %s", idB, got)
	}
	raw, _ = f.b.Raw(idB)
	if !strings.Contains(string(raw), "Renamed and edited") {
		t.Errorf("the edit did not travel: %s", raw)
	}
	f.mustRunQuiet("a quiet run wrote")
	converged(t, f.a, f.b)
}

// TestPlannedReportsWritesBeforeApplying: Options.Planned learns each
// side's planned writes before the first is applied (nothing written to
// b yet when it is called), with the counts the run then reports; a dry
// run does not call it.
func TestPlannedReportsWritesBeforeApplying(t *testing.T) {
	f := newFixture(t)
	f.putPeople(5)
	f.mustRun()
	f.a.Put("new.vcf", person(9).Encode())
	f.a.Put("new2.vcf", person(10).Encode())
	f.b.Remove(findID(f.b, "uid-001"))
	calls := 0
	var gotA, gotB engine.SideCounts
	var bAtPlan int
	opts := engine.Options{Planned: func(a, b engine.SideCounts, conflicts int) {
		calls++
		gotA, gotB, bAtPlan = a, b, len(f.b.Snapshot())
		if conflicts != 0 {
			t.Errorf("%d conflicts planned, want 0", conflicts)
		}
	}}
	if _, err := f.run(engine.Options{DryRun: true, Planned: opts.Planned}); err != nil || calls != 0 {
		t.Fatalf("dry run: %v, Planned called %d times, want 0", err, calls)
	}
	res, err := f.run(opts)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || gotA != res.A || gotB != res.B || gotB.Created != 2 || gotA.Deleted != 1 {
		t.Fatalf("Planned called %d times with a %+v b %+v; the run did a %+v b %+v", calls, gotA, gotB, res.A, res.B)
	}
	if bAtPlan != 4 { // 5 - the one removed, the 2 new not yet written
		t.Fatalf("b held %d items when Planned was called, want 4 (nothing applied yet)", bAtPlan)
	}
}
