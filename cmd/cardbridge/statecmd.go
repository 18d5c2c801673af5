package main

import (
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/termout"
	"github.com/spf13/cobra"
)

func (a *app) stateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Work on the state database itself",
		Args:  cobra.NoArgs,
	}
	var from, to string
	copyCmd := &cobra.Command{
		Use:   "copy --from FILE --to URL",
		Short: "Copy the whole state into a new database (e.g. from SQLite to PostgreSQL) and verify it",
		Long: `Copy every table of the state at --from (a SQLite file, or a PostgreSQL URL) into the
empty database at --to (a postgres://user:password@host/db URL, or a new SQLite file), then
check each table's row count and content hash on both. The source is only read; the target
must hold no data and is left as it was if anything fails. Office 365 tokens move sealed:
the replicas need the key that sealed them.

Exit codes: 0 copied and verified, 1 the copy failed, 2 bad usage or a source that cannot
be opened.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := pairs.CopyState(cmd.Context(), pairs.CopyStateOptions{From: from, To: to, Logger: a.logger()})
			if errors.Is(err, pairs.ErrCopySource) {
				return withCode(exitUsage, err)
			}
			if err != nil {
				return withCode(exitFailed, err)
			}
			if a.asJSON {
				return writeJSON(a.stdout, rep)
			}
			pairs.WriteCopyReport(a.stdout, rep)
			return nil
		},
	}
	f := copyCmd.Flags()
	f.StringVar(&from, "from", "", "the state to copy: a SQLite file (or a PostgreSQL URL)")
	f.StringVar(&to, "to", "", "where to copy it: a PostgreSQL URL (or a new SQLite file)")
	f.BoolVar(&a.asJSON, "json", false, "print the report as JSON")
	copyCmd.MarkFlagRequired("from")
	copyCmd.MarkFlagRequired("to")
	cmd.AddCommand(copyCmd, a.stateMigrateCmd())
	return cmd
}

// stateMigrateCmd is `cardbridge state migrate --state FILE|URL`.
func (a *app) stateMigrateCmd() *cobra.Command {
	var loc string
	cmd := &cobra.Command{
		Use:   "migrate --state FILE|URL",
		Short: "Bring a state to this cardbridge's schema version (applies the migrations it lacks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, where, err := pairs.MigrateState(cmd.Context(), loc, a.logger())
			if errors.Is(err, pairs.ErrCopySource) {
				return withCode(exitUsage, err)
			}
			if err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintf(a.stdout, "%s is at schema version %d\n", termout.String(where), v)
			return nil
		},
	}
	cmd.Flags().StringVar(&loc, "state", "", "the state to migrate: a file or a postgres:// URL")
	cmd.MarkFlagRequired("state")
	return cmd
}
