package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/spf13/cobra"
)

// pairStatus is what `status` shows of a pair.
type pairStatus struct {
	Pair      string          `json:"pair"`
	A         string          `json:"a"`
	B         string          `json:"b"`
	Items     int             `json:"items"`
	Conflicts int             `json:"open_conflicts"`
	LastRun   *time.Time      `json:"last_run,omitempty"`
	LastOK    bool            `json:"last_run_ok"`
	Summary   json.RawMessage `json:"last_summary,omitempty"`
	// Failed lists the items runs could not read or apply, read again by
	// id from their next retry on.
	Failed []failedStatus `json:"failed_items"`
}

// failedStatus is what `status` shows of one failed item.
type failedStatus struct {
	Side        string    `json:"side"`
	ID          string    `json:"id"`
	UID         string    `json:"uid,omitempty"`
	Reason      string    `json:"reason"`
	Attempts    int       `json:"attempts"`
	FirstFailed time.Time `json:"first_failed"`
	LastFailed  time.Time `json:"last_failed"`
	NextRetry   time.Time `json:"next_retry"`
}

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [PAIR]",
		Short: "Show each pair's contacts in state, open conflicts and last run",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			cfg = a.withWebPairs(cmd.Context(), cfg)
			names, err := pairNames(cfg, args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := a.openState(ctx, cfg, true)
			if err != nil {
				return withCode(exitFailed, err)
			}
			defer db.Close()
			for _, n := range names {
				p, _ := cfg.Pair(n)
				st := pairStatus{Pair: n, A: sideText(p.A.Type, p.A.Path), B: sideText(p.B.Type, p.B.Path)}
				if st.Items, err = db.CountItems(ctx, n); err != nil {
					return withCode(exitFailed, err)
				}
				cs, err := db.Conflicts(ctx, n, true)
				if err != nil {
					return withCode(exitFailed, err)
				}
				st.Conflicts = len(cs)
				if r, ok, err := db.LastRun(ctx, n); err != nil {
					return withCode(exitFailed, err)
				} else if ok {
					t := r.Finished
					st.LastRun, st.LastOK, st.Summary = &t, r.OK, r.Summary
				}
				fis, err := db.FailedItems(ctx, n)
				if err != nil {
					return withCode(exitFailed, err)
				}
				st.Failed = []failedStatus{}
				for _, fi := range fis {
					st.Failed = append(st.Failed, failedStatus{Side: fi.Side, ID: fi.SideID, UID: fi.UID, Reason: fi.Reason, Attempts: fi.Attempts,
						FirstFailed: fi.FirstFailed.UTC(), LastFailed: fi.LastFailed.UTC(), NextRetry: fi.NextRetry.UTC()})
				}
				if asJSON {
					line, _ := json.Marshal(st)
					fmt.Fprintln(a.stdout, jsonSafe(line))
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
				fmt.Fprintf(a.stdout, "%s: %s <-> %s: %d contacts, %d open conflicts, %d failed items, %s\n", termSafe(n), termSafe(st.A), termSafe(st.B), st.Items, st.Conflicts, len(st.Failed), last)
				for _, fi := range st.Failed {
					who := fi.ID
					if fi.UID != "" {
						who += " (" + fi.UID + ")"
					}
					fmt.Fprintf(a.stdout, "  failed on side %s: %s: %s; %d attempts since %s, next retry %s\n", fi.Side, termSafe(who), termSafe(fi.Reason),
						fi.Attempts, fi.FirstFailed.Format(time.RFC3339), fi.NextRetry.Format(time.RFC3339))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per pair")
	return cmd
}

func sideText(typ config.SideType, path string) string {
	if path != "" {
		return string(typ) + " " + path
	}
	return string(typ)
}
