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
			if asJSON {
				return nil
			}
			return pairs.WriteStatus(a.stdout, sts, time.Now())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per pair")
	return cmd
}
