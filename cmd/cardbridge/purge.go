package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/spf13/cobra"
)

// trashPurgeCmd is `cardbridge trash purge`.
func (a *app) trashPurgeCmd() *cobra.Command {
	var (
		olderThan, pair string
		vacuum          bool
	)
	cmd := &cobra.Command{
		Use:   "purge [--older-than DUR] [--pair P] [--vacuum]",
		Short: "Remove old entries from the trash now (sync and serve also do it on their own)",
		Long: `Remove from the trash of each pair (or of --pair) the entries older than
--older-than (default: the pair's trash_retention) and, beyond the pair's
trash_max_size, the oldest ones. Entries whose restore is pending stay.
sync does this at the end of each run of a pair and serve once a day; a
purged entry can no longer be restored.

--older-than takes a number of days (30d) or a duration (36h, 90m).
--vacuum then rebuilds the state file without its free pages (VACUUM): the
file shrinks, and a file made before cardbridge freed pages by itself is
switched to incremental auto-vacuum. It needs free disk as large as the
file and holds every other sync meanwhile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.trashPurge(cmd, olderThan, pair, vacuum)
		},
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "", "purge the entries older than this (30d, 36h; default: trash_retention)")
	cmd.Flags().StringVar(&pair, "pair", "", "only this pair's trash")
	cmd.Flags().BoolVar(&vacuum, "vacuum", false, "then compact the state file (VACUUM)")
	return cmd
}

func (a *app) trashPurge(cmd *cobra.Command, olderThan, pair string, vacuum bool) error {
	ctx := cmd.Context()
	age, err := config.ParseAge("--older-than", olderThan)
	if err != nil {
		return withCode(exitUsage, err)
	}
	r, db, err := a.configRunner(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	names, err := r.TrashTargets(ctx, pair)
	if errors.Is(err, pairs.ErrNoPair) {
		return withCode(exitUsage, fmt.Errorf("--pair %s: no such pair in the configuration nor in the trash (pairs: %s)", pair, strings.Join(r.Config().PairNames(), ", ")))
	}
	if err != nil {
		return withCode(exitFailed, err)
	}
	done, err := r.PurgeTrash(ctx, names, age, true)
	pairs.WritePurged(a.stdout, done, err == nil)
	if err != nil {
		return withCode(exitFailed, err)
	}
	if vacuum {
		before, after, err := db.Vacuum(ctx)
		if err != nil {
			return withCode(exitFailed, err)
		}
		fmt.Fprintf(a.stdout, "state file %s: %s -> %s\n", db.Path(), state.FormatBytes(before), state.FormatBytes(after))
	}
	return nil
}
