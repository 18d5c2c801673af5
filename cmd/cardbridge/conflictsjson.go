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

	A    *string `json:"a,omitempty"`    // side a's vCard
	B    *string `json:"b,omitempty"`    // side b's vCard
	Base *string `json:"base,omitempty"` // the last synced version ("" for none)
	// Fields are the versions field by field in words, with what keeping
	// "merged" writes (resolve.Explain); Clashes the labels of the fields
	// both sides changed differently; Newer the side whose values the
	// merge takes there.
	Fields  []fieldJSON `json:"fields,omitempty"`
	Clashes []string    `json:"clashes,omitempty"`
	Newer   string      `json:"newer,omitempty"`
}

// fieldJSON is one field of a conflict (fields.Row).
type fieldJSON struct {
	Label   string   `json:"label"`
	Base    []string `json:"base"`
	A       []string `json:"a"`
	B       []string `json:"b"`
	Merged  []string `json:"merged"`
	Differs bool     `json:"differs"`
}

func newConflictJSON(c state.Conflict) conflictJSON {
	name := rawFN(c.A)
	if name == "" {
		name = rawFN(c.B)
	}
	return conflictJSON{ID: c.ID, Pair: c.Pair, UID: c.UID, Name: name, Created: jsonTime(c.Created), Keep: c.Keep}
}

// conflictShowJSON is `conflicts show ID --json`: the conflict with its
// versions and, when both parse, the fields in words (resolve.Explain).
func (a *app) conflictShowJSON(cmd *cobra.Command, idText string) error {
	_, db, c, err := a.getConflict(cmd, idText, true)
	if err != nil {
		return err
	}
	defer db.Close()
	out := newConflictJSON(c)
	ca, cb, base := string(c.A), string(c.B), string(c.Base)
	out.A, out.B, out.Base = &ca, &cb, &base
	if e, err := resolve.Explain(c); err == nil {
		for _, r := range e.Rows {
			out.Fields = append(out.Fields, fieldJSON{Label: r.Label, Base: orEmpty(r.Base), A: orEmpty(r.A), B: orEmpty(r.B), Merged: orEmpty(r.Merged), Differs: r.Differs})
		}
		out.Clashes, out.Newer = e.Clashes, e.Newer
	}
	return writeJSON(a.stdout, out)
}

// orEmpty is vs, or an empty list for none (JSON [] rather than null).
func orEmpty(vs []string) []string {
	if vs == nil {
		return []string{}
	}
	return vs
}
