package engine_test

import (
	"testing"

	"github.com/cardbridge/cardbridge/engine"
)

// TestDecisionWhy: the reason each one-sided change, delete against change
// and whole-version conflict win gives its action, as `sync --dry-run` and
// the run log show it.
func TestDecisionWhy(t *testing.T) {
	tests := []struct {
		name string
		in   engine.PlanInput
		opts engine.PlanOptions
		want string
	}{
		{"changed on a", known(changed("a", editA), unchanged("b")), engine.PlanOptions{}, "changed on a"},
		{"changed on b", known(unchanged("a"), changed("b", editB)), engine.PlanOptions{}, "changed on b"},
		{"deleted on b", known(unchanged("a"), deleted("b")), engine.PlanOptions{}, "deleted on b"},
		{"deleted on a", known(deleted("a"), unchanged("b")), engine.PlanOptions{}, "deleted on a"},
		{"changed/deleted", known(changed("a", editA), deleted("b")), engine.PlanOptions{}, "deleted on b, changed on a: the change wins, recreated on b"},
		{"deleted/changed", known(deleted("a"), changed("b", editB)), engine.PlanOptions{}, "deleted on a, changed on b: the change wins, recreated on a"},
		{"a-wins", known(changed("a", fnOldA), changed("b", fnNewB)), engine.PlanOptions{Policy: engine.PolicyAWins}, "changed on both sides: a's version kept (policy a-wins)"},
		{"a-to-b reverts", known(unchanged("a"), changed("b", editB)), engine.PlanOptions{Direction: engine.AToB}, "changed on b: reverted to a's version (direction a-to-b)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := runPlan(t, tc.in, tc.opts)
			if len(p.Actions) == 0 {
				t.Fatalf("no action (skipped %v)", p.Skipped)
			}
			if got := p.Actions[0].Why; got != tc.want {
				t.Errorf("why = %q, want %q", got, tc.want)
			}
		})
	}
}
