package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine/resolve"
	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/termout"
)

// conflictSideNames names the sides of c's pair by what they are
// (fields.SideNames: "Outlook", the book's title, the folder's name); "A"
// and "B" when the pair is no longer configured.
func conflictSideNames(ctx context.Context, r *pairs.Runner, db *state.DB, c state.Conflict) (string, string) {
	cfg, _, err := r.Pairs(ctx)
	if err != nil {
		return "A", "B"
	}
	p, ok := cfg.Pairs[c.Pair]
	if !ok {
		return "A", "B"
	}
	title := func(s config.Side) string {
		if s.Type != config.SideServer {
			return ""
		}
		b, err := db.AddressBook(ctx, s.User, s.Addressbook)
		if err != nil {
			return ""
		}
		return b.DisplayName
	}
	return fields.SideNames(p.A, p.B, title(p.A), title(p.B))
}

// writeConflict writes c for a person to decide (`conflicts show`): each
// field that differs in words with the base's, a's, b's values and what
// keeping "merged" writes, the fields both agree on, and how to choose.
// Card text is escaped for the terminal; REV, UID and vCard escapes are
// not shown.
func writeConflict(w io.Writer, c state.Conflict, nameA, nameB string) error {
	name := fnOf(c.A)
	if nb := fnOf(c.B); nb != name {
		name += " / " + nb
	}
	fmt.Fprintf(w, "Conflict %d: %s (pair %s, since %s)\n", c.ID, name, termout.String(c.Pair), c.Created.Format("2006-01-02 15:04:05"))
	nameA, nameB = termout.String(nameA), termout.String(nameB)
	fmt.Fprintf(w, "Changed in %s (a) and in %s (b).\n", nameA, nameB)
	if c.Keep != "" {
		fmt.Fprintf(w, "Chosen: keep %s (the next sync applies it).\n", c.Keep)
	}
	e, err := resolve.Explain(c)
	if err != nil {
		fmt.Fprintf(w, "\nThe versions cannot be compared: %s\n", termout.String(err.Error()))
		fmt.Fprintf(w, "\nChoose with: cardbridge conflicts resolve %d --keep a (%s) or b (%s)\n", c.ID, nameA, nameB)
		return nil
	}
	clash := map[string]bool{}
	for _, l := range e.Clashes {
		clash[l] = true
	}
	var same []string
	for _, r := range e.Rows {
		if !r.Differs {
			same = append(same, r.Label)
			continue
		}
		head := r.Label
		if clash[r.Label] {
			head += " (changed differently on both sides)"
		}
		fmt.Fprintf(w, "\n%s\n", head)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		if e.HasBase {
			fieldCell(tw, "before:", r.Base)
		}
		fieldCell(tw, nameA+" (a):", r.A)
		fieldCell(tw, nameB+" (b):", r.B)
		fieldCell(tw, "keep merged writes:", r.Merged)
		tw.Flush()
	}
	if len(same) > 0 {
		fmt.Fprintf(w, "\nThe same on both sides: %s.\n", strings.Join(same, ", "))
	}
	if len(e.Clashes) > 0 {
		newer := nameA
		if e.Newer == "b" {
			newer = nameB
		}
		fmt.Fprintf(w, "Where both changed a field differently, keep merged takes %s's value (the newer change).\n", newer)
	}
	fmt.Fprintf(w, "\nChoose with: cardbridge conflicts resolve %d --keep a (%s), b (%s) or merged\n", c.ID, nameA, nameB)
	return nil
}

// fieldCell writes one version's values of a field, one per line, escaped
// ("(empty)" for none).
func fieldCell(tw io.Writer, label string, values []string) {
	var ls []string
	for _, v := range values {
		ls = append(ls, strings.Split(v, "\n")...)
	}
	if len(ls) == 0 {
		ls = []string{"(empty)"}
	}
	for i, l := range ls {
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(tw, "  %s\t%s\n", label, termout.String(l))
	}
}
