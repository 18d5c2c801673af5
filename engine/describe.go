package engine

import "fmt"

// Who names the contact a planned action is about, for a dry run's
// listing: `"FN" <UID>` with the FN of its new base, else of the version
// it replaces or deletes (a's first), else the bare UID.
func (a *Action) Who() string {
	switch {
	case a.Base != nil && a.Base.FN() != "":
		return fmt.Sprintf("%q <%s>", a.Base.FN(), a.UID)
	case a.A.Old != nil:
		return fmt.Sprintf("%q <%s>", a.A.Old.FN(), a.UID)
	case a.B.Old != nil:
		return fmt.Sprintf("%q <%s>", a.B.Old.FN(), a.UID)
	}
	return a.UID
}

// Ops says what a planned action does, in order: each side's write with
// the id it targets ("create a", "update b (u1.vcf)"), then what it
// records in the state ("link in state", "forget in state", "record
// conflict").
func (a *Action) Ops() []string {
	var ops []string
	for i, w := range []Write{a.A, a.B} {
		if w.Op == OpNone {
			continue
		}
		op := fmt.Sprintf("%s %s", w.Op, Which(i))
		if w.Ref.ID != "" {
			op += " (" + w.Ref.ID + ")"
		}
		ops = append(ops, op)
	}
	switch a.Kind {
	case ActLink:
		ops = append(ops, "link in state")
	case ActForget:
		ops = append(ops, "forget in state")
	case ActConflict:
		ops = append(ops, "record conflict")
	}
	return ops
}
