package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cardbridge/cardbridge/pairs"
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
			var sts []pairs.Status
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
				sts = append(sts, st)
			}
			// The provisioned mailboxes (accounts.X.mailboxes), when no pair
			// is named: a table, or one more JSON line {"mailboxes": [...]}.
			var mbs []pairs.MailboxView
			if len(args) == 0 && r.HasMailboxes() {
				if mbs, err = r.Mailboxes(ctx); err != nil {
					return withCode(exitFailed, err)
				}
			}
			if asJSON {
				if mbs != nil {
					line, _ := json.Marshal(struct {
						Mailboxes []pairs.MailboxView `json:"mailboxes"`
					}{mbs})
					fmt.Fprintln(a.stdout, termout.JSON(line))
				}
				return nil
			}
			if err := pairs.WriteStatus(a.stdout, sts, time.Now()); err != nil {
				return err
			}
			if mbs != nil {
				return pairs.WriteMailboxes(a.stdout, mbs, time.Now())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per pair")
	return cmd
}
