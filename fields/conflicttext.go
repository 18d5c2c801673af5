package fields

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cardbridge/cardbridge/termout"
	"github.com/cardbridge/cardbridge/vcard"
)

// Conflict is what ConflictText shows of a conflict: the stored conflict,
// the names of its pair's sides (SideNames) and its versions compared
// (resolve.Explain), or why they cannot be.
type Conflict struct {
	ID   int64
	Pair string
	// Created is when the conflict was found, written with its zone
	// (pairs.Runner.ConflictText passes local time).
	Created time.Time
	// Keep is the resolution waiting for the next sync; "" while open.
	Keep string
	// A and B are the two versions as stored.
	A, B []byte
	// NameA and NameB name the sides (SideNames: "Office 365", the book's title).
	NameA, NameB string

	// Rows, Clashes, Newer and HasBase are the versions compared field by
	// field (resolve.Explanation); Err, when set, says why they cannot be
	// compared, and the others are then unused.
	Rows    []Row
	Clashes []string
	Newer   string
	HasBase bool
	Err     error
}

// ConflictText writes c for a person to decide (`conflicts show`): each
// field that differs in words with the base's, a's, b's values and what
// keeping "merged" writes, the fields both agree on, and how to choose.
// Card text is escaped for the terminal (termout.String); REV, UID and
// vCard escapes are not shown. Write errors are w's to report.
func ConflictText(w io.Writer, c Conflict) {
	name := cardName(c.A)
	if nb := cardName(c.B); nb != name {
		name += " / " + nb
	}
	fmt.Fprintf(w, "Conflict %d: %s (pair %s, since %s)\n", c.ID, name, termout.String(c.Pair), c.Created.Format("2006-01-02 15:04:05 MST"))
	nameA, nameB := termout.String(c.NameA), termout.String(c.NameB)
	fmt.Fprintf(w, "Changed in %s (a) and in %s (b).\n", nameA, nameB)
	if c.Keep != "" {
		fmt.Fprintf(w, "Chosen: keep %s (the next sync applies it).\n", c.Keep)
	}
	if c.Err != nil {
		fmt.Fprintf(w, "\nThe versions cannot be compared: %s\n", termout.String(c.Err.Error()))
		fmt.Fprintf(w, "\nChoose with: cardbridge conflicts resolve %d --keep a (%s) or b (%s)\n", c.ID, nameA, nameB)
		return
	}
	clash := map[string]bool{}
	for _, l := range c.Clashes {
		clash[l] = true
	}
	var same []string
	for _, r := range c.Rows {
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
		if c.HasBase {
			valueLines(tw, "before:", r.Base)
		}
		valueLines(tw, nameA+" (a):", r.A)
		valueLines(tw, nameB+" (b):", r.B)
		valueLines(tw, "keep merged writes:", r.Merged)
		tw.Flush()
	}
	if len(same) > 0 {
		fmt.Fprintf(w, "\nThe same on both sides: %s.\n", strings.Join(same, ", "))
	}
	if len(c.Clashes) > 0 {
		newer := nameA
		if c.Newer == "b" {
			newer = nameB
		}
		fmt.Fprintf(w, "Where both changed a field differently, keep merged takes %s's value (the newer change).\n", newer)
	}
	fmt.Fprintf(w, "\nChoose with: cardbridge conflicts resolve %d --keep a (%s), b (%s) or merged\n", c.ID, nameA, nameB)
}

// cardName is the display name of a version, escaped; "?" when it does
// not parse.
func cardName(raw []byte) string {
	c, err := vcard.Parse(raw)
	if err != nil {
		return "?"
	}
	return termout.String(c.FN())
}

// valueLines writes one version's values of a field, one per line,
// escaped ("(empty)" for none).
func valueLines(tw io.Writer, label string, values []string) {
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
