package engine

import "fmt"

// The errors of a run that applied the rest (Result.Errors). Each is one
// type, to tell them apart with errors.As; each wraps its cause, for
// errors.Is.

// ItemError is an item whose sync failed this run: a side write (Op is
// set, Side names the side), or what surrounds the writes (Op is OpNone:
// the trash, making the writes durable, recording them in state). The
// item is recorded as failed and read again on a later run.
type ItemError struct {
	Pair string
	// UID is the item's UID; Name its display name (FN) when known.
	UID, Name string
	// Op is the write that failed, OpNone when the failure is not one
	// side's write; Side and SideName then mean nothing.
	Op       Op
	Side     Which
	SideName string
	// ID is the item's id on Side, when it has one there.
	ID  string
	Err error
}

// Error names the contact, then the write and the side, then the cause.
func (e *ItemError) Error() string {
	who := e.UID
	if e.Name != "" {
		who = fmt.Sprintf("%q (%s)", e.Name, e.UID)
	}
	if e.Op == OpNone {
		return fmt.Sprintf("%s: %v", who, e.Err)
	}
	return fmt.Sprintf("%s: %s on %s (%s): %v", who, e.Op, e.Side, e.SideName, e.Err)
}

// Unwrap returns the cause.
func (e *ItemError) Unwrap() error { return e.Err }

// RestoreError is a pending trash restore that cannot be applied: the
// trashed card does not parse.
type RestoreError struct {
	Pair    string
	TrashID int64
	Err     error
}

// Error names the trash entry and the cause.
func (e *RestoreError) Error() string {
	return fmt.Sprintf("trash entry %d cannot be restored: %v", e.TrashID, e.Err)
}

// Unwrap returns the cause.
func (e *RestoreError) Unwrap() error { return e.Err }

// ResolutionError is a pending conflict resolution that cannot be
// applied: the merged card does not parse (Err), or the conflict's item
// is no longer in state (Err is nil).
type ResolutionError struct {
	Pair       string
	ConflictID int64
	ItemID     int64
	Err        error
}

// Error names the conflict and the cause.
func (e *ResolutionError) Error() string {
	return fmt.Sprintf("conflict %d: resolution cannot be applied: %v", e.ConflictID, e.Err)
}

// Unwrap returns the cause.
func (e *ResolutionError) Unwrap() error { return e.Err }

// InterruptedError is a run stopped by its context (a signal, a
// deadline) before it applied everything: the writes done are recorded,
// the change tokens are not advanced. Err is the context's error.
type InterruptedError struct {
	Pair string
	Err  error
}

// Error says the run was interrupted, and why.
func (e *InterruptedError) Error() string { return "interrupted: " + e.Err.Error() }

// Unwrap returns the context's error.
func (e *InterruptedError) Unwrap() error { return e.Err }

// RoundError is the end of a run that could not be recorded: the failed
// items and the sides' new change tokens (the next run reads the same
// changes again).
type RoundError struct {
	Pair string
	Err  error
}

// Error names the pair and the cause.
func (e *RoundError) Error() string {
	return fmt.Sprintf("pair %s: recording the round (failed items and change tokens): %v", e.Pair, e.Err)
}

// Unwrap returns the cause.
func (e *RoundError) Unwrap() error { return e.Err }

// ErrorStrings returns the run's errors as text, in order (the `errors`
// of `sync --json`); never nil.
func (r *Result) ErrorStrings() []string {
	out := make([]string, len(r.Errors))
	for i, err := range r.Errors {
		out[i] = err.Error()
	}
	return out
}
