package main

import (
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/termout"
	"github.com/spf13/cobra"
)

func (a *app) trashCmd() *cobra.Command {
	var pair string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "trash [list | restore ID | purge]",
		Short: "List deleted and overwritten versions, bring one back, or purge old ones",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return a.trashList(cmd, pair, asJSON) },
	}
	list := &cobra.Command{Use: "list", Short: "List the trash, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.trashList(cmd, pair, asJSON) }}
	list.Flags().StringVar(&pair, "pair", "", "only this pair")
	list.Flags().BoolVar(&asJSON, "json", false, "print the entries as a JSON array")
	restore := &cobra.Command{Use: "restore ID", Short: "Bring a version back on both sides at the next sync", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.trashRestore(cmd, args[0]) }}
	cmd.AddCommand(list, restore, a.trashPurgeCmd())
	return cmd
}

func (a *app) trashList(cmd *cobra.Command, pair string, asJSON bool) error {
	ctx := cmd.Context()
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	r, db, err := a.stateRunner(ctx, pairs.WithWebPairs(ctx, cfg, a.log), true)
	if err != nil {
		return err
	}
	defer db.Close()
	es, err := r.ListTrash(ctx, pair)
	if errors.Is(err, pairs.ErrNoPair) {
		return withCode(exitUsage, fmt.Errorf("no pair %q in the configuration nor in the trash (pairs: %v)", pair, r.Config().PairNames()))
	} else if err != nil {
		return withCode(exitFailed, err)
	}
	if asJSON {
		return writeJSON(a.stdout, pairs.TrashViews(es))
	}
	if len(es) == 0 {
		fmt.Fprintln(a.stdout, "the trash is empty")
		return nil
	}
	tw := termout.NewTable(a.stdout, "ID", "PAIR", "SIDE", "WHY", "WHEN", "CONTACT", "STATE")
	for _, e := range es {
		st := "-"
		switch {
		case !e.Restored.IsZero():
			st = "restored " + e.Restored.Format("2006-01-02 15:04")
		case e.RestoreRequested:
			st = "restore at next sync"
		}
		tw.Row(fmt.Sprint(e.ID), termout.Cell(e.Pair), e.Side, e.Reason, e.Created.Format("2006-01-02 15:04"), termout.Cell(pairs.CardName(e.Card)), st)
	}
	return tw.Flush()
}

func (a *app) trashRestore(cmd *cobra.Command, idText string) error {
	id, err := parseID(idText)
	if err != nil {
		return err
	}
	r, db, err := a.configRunner(cmd.Context(), false)
	if err != nil {
		return err
	}
	defer db.Close()
	e, err := r.RestoreEntry(cmd.Context(), id)
	var gone *state.PurgedError
	switch {
	case errors.As(err, &gone):
		return withCode(exitUsage, gone)
	case errors.Is(err, state.ErrNotFound):
		return withCode(exitUsage, fmt.Errorf("no trash entry %d (see `cardbridge trash list`)", id))
	case err != nil:
		return withCode(exitFailed, err)
	}
	fmt.Fprintf(a.stdout, "trash entry %d (%s): the next `cardbridge sync %s` brings it back on both sides\n", id, fnOf(e.Card), termout.String(e.Pair))
	return nil
}
