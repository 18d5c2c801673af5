package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cardbridge/cardbridge/termout"
	"github.com/spf13/cobra"
)

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [PAIR]",
		Short: "Show each pair's contacts in state, open conflicts and last run",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, names, err := a.configPairs(ctx, args)
			if err != nil {
				return err
			}
			r, db, err := a.stateRunner(ctx, cfg, true)
			if err != nil {
				return err
			}
			defer db.Close()
			for _, n := range names {
				p, _ := cfg.Pair(n)
				st, err := r.Status(ctx, p)
				if err != nil {
					return withCode(exitFailed, err)
				}
				if asJSON {
					line, _ := json.Marshal(st)
					fmt.Fprintln(a.stdout, termout.JSON(line))
					continue
				}
				last := "never synced"
				if st.LastRun != nil {
					ok := "ok"
					if !st.LastOK {
						ok = "with errors"
					}
					last = fmt.Sprintf("last sync %s (%s ago), %s", st.LastRun.Format(time.RFC3339), time.Since(*st.LastRun).Round(time.Second), ok)
				}
				fmt.Fprintf(a.stdout, "%s: %s <-> %s: %d contacts, %d open conflicts, %d failed items, %s\n", termout.String(n), termout.String(st.A), termout.String(st.B), st.Items, st.Conflicts, len(st.Failed), last)
				for _, fi := range st.Failed {
					who := fi.ID
					if fi.UID != "" {
						who += " (" + fi.UID + ")"
					}
					fmt.Fprintf(a.stdout, "  failed on side %s: %s: %s; %d attempts since %s, next retry %s\n", fi.Side, termout.String(who), termout.String(fi.Reason),
						fi.Attempts, fi.FirstFailed.Format(time.RFC3339), fi.NextRetry.Format(time.RFC3339))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per pair")
	return cmd
}
