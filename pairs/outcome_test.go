package pairs

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
)

// TestOutcomeOf: a guard and a moved side are told apart from other
// failures, even wrapped; a result with item errors failed; outcomes
// rank best to worst.
func TestOutcomeOf(t *testing.T) {
	ok := &engine.Result{Pair: "p"}
	for _, tc := range []struct {
		res  *engine.Result
		err  error
		want Outcome
	}{
		{ok, nil, Synced},
		{&engine.Result{Pair: "p", Errors: []error{errors.New("x")}}, nil, Failed},
		{nil, errors.New("no state"), Failed},
		{nil, fmt.Errorf("run: %w", &engine.GuardError{Pair: "p"}), Guarded},
		{nil, fmt.Errorf("run: %w", &engine.IdentityError{}), Moved},
	} {
		if got := OutcomeOf(tc.res, tc.err); got != tc.want {
			t.Errorf("OutcomeOf(%v, %v) = %v, want %v", tc.res, tc.err, got, tc.want)
		}
	}
	if !(Synced < Failed && Failed < Moved && Moved < Guarded) {
		t.Error("outcomes do not rank best to worst")
	}
	if Guarded.String() != "a guard stopped the run before deleting anything" || Failed.String() != "a pair failed" {
		t.Errorf("lines: %q, %q", Guarded, Failed)
	}
}
