package main

import (
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
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
		RunE: func(cmd *cobra.Command, args []string) error { return a.conflictsShow(cmd, args[0]) }}
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

func (a *app) conflictsList(cmd *cobra.Command) error {
	return list(a, cmd.Context(), nil, (*pairs.Runner).OpenConflicts,
		func(cs []state.Conflict) any { return pairs.ConflictViews(cs) }, pairs.WriteConflicts)
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
	c, err := r.Conflict(cmd.Context(), id)
	if errors.Is(err, state.ErrNotFound) {
		err = withCode(exitUsage, fmt.Errorf("no conflict %d (see `cardbridge conflicts list`)", id))
	}
	if err != nil {
		db.Close()
		return nil, nil, c, failed(err)
	}
	return r, db, c, nil
}

// conflictsShow is `conflicts show ID`: the conflict field by field, or
// under --json as pairs.ConflictDetail.
func (a *app) conflictsShow(cmd *cobra.Command, idText string) error {
	r, db, c, err := a.getConflict(cmd, idText, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if a.asJSON {
		return writeJSON(a.stdout, pairs.ConflictDetail(c))
	}
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
