package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/spf13/cobra"
)

func (a *app) trashCmd() *cobra.Command {
	var pair string
	cmd := &cobra.Command{
		Use:   "trash [list | restore ID | purge]",
		Short: "List deleted and overwritten versions, bring one back, or purge old ones",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return a.trashList(cmd, pair) },
	}
	list := &cobra.Command{Use: "list", Short: "List the trash, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.trashList(cmd, pair) }}
	list.Flags().StringVar(&pair, "pair", "", "only this pair")
	list.Flags().BoolVar(&a.asJSON, "json", false, "print the entries as a JSON array")
	restore := &cobra.Command{Use: "restore ID", Short: "Bring a version back on both sides at the next sync", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.trashRestore(cmd, args[0]) }}
	cmd.AddCommand(list, restore, a.trashPurgeCmd())
	return cmd
}

// trashList is `trash list`, of the pairs made on the web page too.
func (a *app) trashList(cmd *cobra.Command, pair string) error {
	ctx := cmd.Context()
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	read := func(r *pairs.Runner, ctx context.Context) ([]state.TrashEntry, error) {
		es, err := r.ListTrash(ctx, pair)
		if errors.Is(err, pairs.ErrNoPair) {
			return nil, withCode(exitUsage, fmt.Errorf("no pair %q in the configuration nor in the trash (pairs: %v)", pair, r.Config().PairNames()))
		}
		return es, err
	}
	return list(a, ctx, pairs.WithWebPairs(ctx, cfg, a.log), read,
		func(es []state.TrashEntry) any { return pairs.TrashViews(es) }, pairs.WriteTrash)
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
	fmt.Fprintln(a.stdout, pairs.RestoreLine(e))
	return nil
}
