package main

import (
	"github.com/cardbridge/cardbridge/engine/resolve"
	"github.com/cardbridge/cardbridge/state"
	"github.com/spf13/cobra"
)

// conflictJSON is a conflict in `conflicts list --json` (without the
// versions) and `conflicts show ID --json` (with them).
type conflictJSON struct {
	ID      int64  `json:"id"`
	Pair    string `json:"pair"`
	UID     string `json:"uid"`
	Name    string `json:"name"`
	Created string `json:"created"`
	// Keep is "" while open, else the resolution waiting for the next sync.
	Keep string `json:"keep,omitempty"`

	A       *string  `json:"a,omitempty"`    // side a's vCard
	B       *string  `json:"b,omitempty"`    // side b's vCard
	Base    *string  `json:"base,omitempty"` // the last synced version ("" for none)
	Differ  []string `json:"differ,omitempty"`
	Clashes []string `json:"clashes,omitempty"`
}

func newConflictJSON(c state.Conflict) conflictJSON {
	name := rawFN(c.A)
	if name == "" {
		name = rawFN(c.B)
	}
	return conflictJSON{ID: c.ID, Pair: c.Pair, UID: c.UID, Name: name, Created: jsonTime(c.Created), Keep: c.Keep}
}

// conflictShowJSON is `conflicts show ID --json`: the conflict with its
// versions and how they differ (resolve.Describe).
func (a *app) conflictShowJSON(cmd *cobra.Command, idText string) error {
	_, db, c, err := a.getConflict(cmd, idText, true)
	if err != nil {
		return err
	}
	defer db.Close()
	out := newConflictJSON(c)
	ca, cb, base := string(c.A), string(c.B), string(c.Base)
	out.A, out.B, out.Base = &ca, &cb, &base
	if d, ok := resolve.Describe(c); ok {
		out.Differ, out.Clashes = d.Props, d.Clashes
	}
	return writeJSON(a.stdout, out)
}
