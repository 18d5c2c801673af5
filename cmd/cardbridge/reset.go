package main

import (
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/spf13/cobra"
)

// resetCmd is `cardbridge reset PAIR [--side a|b] [--dry-run]`: after a
// side of a pair was pointed elsewhere (another folder, mailbox, directory
// or book), forget that side's token, ids and versions, keeping the
// contacts' UIDs and bases, so that the next sync links the new target's
// contacts by UID.
func (a *app) resetCmd() *cobra.Command {
	var side string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "reset PAIR [--side a|b]",
		Short: "Forget a side's change token and contact ids after it was pointed elsewhere (keeps UIDs and bases)",
		Long: "reset forgets what the state knows of one side of a pair (both without --side): its change token, " +
			"the identity of what it pointed at, and each contact's id and version there. The contacts, their UIDs " +
			"and their bases are kept, so the next sync reads the side afresh and links its contacts by UID: " +
			"no duplicate, no deletion; a contact the side does not hold is copied to it. It refuses while a sync " +
			"of the pair runs.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sides, err := pairs.ResetSides(side)
			if err != nil {
				return withCode(exitUsage, err)
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			names, err := pairs.Select(cfg, args)
			if err != nil {
				return withCode(exitUsage, err)
			}
			r, db, err := a.stateRunner(cmd.Context(), cfg, dryRun)
			if err != nil {
				return err
			}
			defer db.Close()
			done, err := r.Reset(cmd.Context(), names[0], sides, dryRun)
			pairs.WriteReset(a.stdout, names[0], done, dryRun, err == nil)
			return failed(err)
		},
	}
	cmd.Flags().StringVar(&side, "side", "", "reset only this side (a or b); both when omitted")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be forgotten and write nothing")
	return cmd
}
