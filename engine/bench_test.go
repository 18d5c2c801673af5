package engine_test

import (
	"fmt"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

// planInput builds a pair of n linked items where 1% changed on each side,
// 0.5% were deleted on each side and 1% are new on each side.
func planInput(n int) engine.PlanInput {
	in := engine.PlanInput{Entries: make([]engine.Entry, 0, n)}
	for i := range n {
		b := person(i)
		e := engine.Entry{StateID: int64(i + 1), UID: b.UID(), Base: b,
			A: engine.Observed{Status: engine.Unchanged, Ref: engine.Ref{ID: fmt.Sprint("a", i), Version: "1"}},
			B: engine.Observed{Status: engine.Unchanged, Ref: engine.Ref{ID: fmt.Sprint("b", i), Version: "1"}}}
		switch i % 200 {
		case 0, 1:
			c := b.Clone()
			c.Set(vcard.NewText("TITLE", "changed on a"))
			e.A = engine.Observed{Status: engine.Changed, Ref: engine.Ref{ID: fmt.Sprint("a", i), Version: "2"}, Card: c}
		case 2, 3:
			c := b.Clone()
			c.Set(vcard.NewText("NOTE", "changed on b"))
			e.B = engine.Observed{Status: engine.Changed, Ref: engine.Ref{ID: fmt.Sprint("b", i), Version: "2"}, Card: c}
		case 4:
			e.A.Status = engine.Deleted
		case 5:
			e.B.Status = engine.Deleted
		}
		in.Entries = append(in.Entries, e)
	}
	for i := n; i < n+n/100; i++ {
		in.NewA = append(in.NewA, engine.Observed{Status: engine.Added, Ref: engine.Ref{ID: fmt.Sprint("na", i), Version: "1"}, Card: person(i)})
		in.NewB = append(in.NewB, engine.Observed{Status: engine.Added, Ref: engine.Ref{ID: fmt.Sprint("nb", i), Version: "1"}, Card: person(i + n)})
	}
	return in
}

func benchmarkPlan(b *testing.B, n int) {
	in := planInput(n)
	opts := engine.PlanOptions{NewUID: newUID}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p := engine.MakePlan(in, opts)
		if len(p.Actions) == 0 {
			b.Fatal("no actions")
		}
	}
}

// BenchmarkPlan10k plans 10,000 items with 1% changed on each side.
func BenchmarkPlan10k(b *testing.B) { benchmarkPlan(b, 10_000) }

// BenchmarkPlan50k plans 50,000 items with 1% changed on each side.
func BenchmarkPlan50k(b *testing.B) { benchmarkPlan(b, 50_000) }

// BenchmarkPlanFirstSync10k plans a first sync: 10,000 new items on each
// side, the same contacts (matched by UID, linked without writes).
func BenchmarkPlanFirstSync10k(b *testing.B) {
	in := engine.PlanInput{FirstSync: true}
	for i := range 10_000 {
		in.NewA = append(in.NewA, engine.Observed{Status: engine.Added, Ref: engine.Ref{ID: fmt.Sprint("a", i)}, Card: person(i)})
		in.NewB = append(in.NewB, engine.Observed{Status: engine.Added, Ref: engine.Ref{ID: fmt.Sprint("b", i)}, Card: person(i)})
	}
	opts := engine.PlanOptions{NewUID: newUID}
	b.ReportAllocs()
	for b.Loop() {
		engine.MakePlan(in, opts)
	}
}
