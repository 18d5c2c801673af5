package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/termout"
	"github.com/cardbridge/cardbridge/vcard"
	"github.com/spf13/cobra"
)

func (a *app) conflictsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conflicts [list | show ID | resolve ID --keep a|b|merged]",
		Short: "List, show and resolve conflicts left by the manual policy",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return a.conflictsList(cmd) },
	}
	list := &cobra.Command{Use: "list", Short: "List open conflicts", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.conflictsList(cmd) }}
	show := &cobra.Command{Use: "show ID", Short: "Show a conflict field by field, and what keeping the merge writes", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.asJSON {
				return a.conflictShowJSON(cmd, args[0])
			}
			return a.conflictsShow(cmd, args[0])
		}}
	for _, c := range []*cobra.Command{cmd, list, show} {
		c.Flags().BoolVar(&a.asJSON, "json", false, "print JSON (a list: an array; show: one object)")
	}
	var keep string
	resolve := &cobra.Command{Use: "resolve ID --keep a|b|merged", Short: "Choose a version; the next sync writes it to both sides", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.conflictsResolve(cmd, args[0], keep) }}
	resolve.Flags().StringVar(&keep, "keep", "", "a, b, or merged (a three-way merge, clashes to the newer side)")
	cmd.AddCommand(list, show, resolve)
	return cmd
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, withCode(exitUsage, fmt.Errorf("%q is not an id (a positive number, as listed)", s))
	}
	return id, nil
}

func (a *app) conflictsList(cmd *cobra.Command) error {
	_, db, err := a.configRunner(cmd.Context(), true)
	if err != nil {
		return err
	}
	defer db.Close()
	cs, err := db.Conflicts(cmd.Context(), "", true)
	if err != nil {
		return withCode(exitFailed, err)
	}
	if a.asJSON {
		return writeJSON(a.stdout, pairs.ConflictViews(cs))
	}
	if len(cs) == 0 {
		fmt.Fprintln(a.stdout, "no open conflicts")
		return nil
	}
	tw := termout.NewTable(a.stdout, "ID", "PAIR", "SINCE", "CONTACT", "UID")
	for _, c := range cs {
		tw.Row(fmt.Sprint(c.ID), termout.Cell(c.Pair), c.Created.Format("2006-01-02 15:04"), termout.Cell(pairs.CardName(c.A)), termout.Cell(c.UID))
	}
	return tw.Flush()
}

func fnOf(raw []byte) string {
	c, err := vcard.Parse(raw)
	if err != nil {
		return "?"
	}
	return termout.String(c.FN())
}

// getConflict opens the state and the application layer and reads
// conflict idText. The caller closes the database.
func (a *app) getConflict(cmd *cobra.Command, idText string, readOnly bool) (*pairs.Runner, *state.DB, state.Conflict, error) {
	id, err := parseID(idText)
	if err != nil {
		return nil, nil, state.Conflict{}, err
	}
	r, db, err := a.configRunner(cmd.Context(), readOnly)
	if err != nil {
		return nil, nil, state.Conflict{}, err
	}
	c, err := db.GetConflict(cmd.Context(), id)
	if errors.Is(err, state.ErrNotFound) {
		db.Close()
		return nil, nil, c, withCode(exitUsage, fmt.Errorf("no conflict %d (see `cardbridge conflicts list`)", id))
	}
	if err != nil {
		db.Close()
		return nil, nil, c, withCode(exitFailed, err)
	}
	return r, db, c, nil
}

// conflictShowJSON is `conflicts show ID --json` (pairs.ConflictDetail).
func (a *app) conflictShowJSON(cmd *cobra.Command, idText string) error {
	_, db, c, err := a.getConflict(cmd, idText, true)
	if err != nil {
		return err
	}
	defer db.Close()
	return writeJSON(a.stdout, pairs.ConflictDetail(c))
}

func (a *app) conflictsShow(cmd *cobra.Command, idText string) error {
	r, db, c, err := a.getConflict(cmd, idText, true)
	if err != nil {
		return err
	}
	defer db.Close()
	fields.ConflictText(a.stdout, r.ConflictText(cmd.Context(), c))
	return nil
}

func (a *app) conflictsResolve(cmd *cobra.Command, idText, keep string) error {
	if keep != "a" && keep != "b" && keep != "merged" {
		return withCode(exitUsage, fmt.Errorf("--keep %q: want a, b or merged", keep))
	}
	r, db, c, err := a.getConflict(cmd, idText, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := r.Resolve(cmd.Context(), c, keep); err != nil {
		if errors.Is(err, pairs.ErrApplied) {
			return withCode(exitUsage, fmt.Errorf("conflict %d was resolved (%s) and applied already", c.ID, c.Keep))
		}
		return withCode(exitFailed, err)
	}
	fmt.Fprintf(a.stdout, "conflict %d: keeping %s; the next `cardbridge sync %s` writes it to both sides\n", c.ID, keep, c.Pair)
	return nil
}
