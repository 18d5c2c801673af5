package pairs

import (
	"errors"

	"github.com/cardbridge/cardbridge/engine"
)

// Outcome is how a run of a pair ended, from best to worst: of several
// runs, the worst (the largest) is what `sync` exits with.
type Outcome int

// The outcomes of a run, best first.
const (
	// Synced: the run succeeded (conflicts left under the manual policy
	// are not a failure).
	Synced Outcome = iota
	// Failed: the run, or some of its items, failed.
	Failed
	// Moved: a side points at another target than its saved state was
	// made for (engine.IdentityError); nothing ran.
	Moved
	// Guarded: a guard stopped the run before deleting anything
	// (engine.GuardError).
	Guarded
)

// OutcomeOf is the outcome of a run that returned res and err
// (Runner.Run).
func OutcomeOf(res *engine.Result, err error) Outcome {
	var guard *engine.GuardError
	var moved *engine.IdentityError
	switch {
	case errors.As(err, &guard):
		return Guarded
	case errors.As(err, &moved):
		return Moved
	case err != nil || !res.OK():
		return Failed
	}
	return Synced
}

// String is the last line of a sync whose worst outcome was o.
func (o Outcome) String() string {
	switch o {
	case Synced:
		return "every pair synced"
	case Guarded:
		return "a guard stopped the run before deleting anything"
	case Moved:
		return "a side points at another target than its saved state was made for"
	}
	return "a pair failed"
}
