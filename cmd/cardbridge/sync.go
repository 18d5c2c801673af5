package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/termout"
	"github.com/spf13/cobra"
)

type syncFlags struct {
	dryRun, forceDelete, json bool
	every                     time.Duration
}

func (a *app) syncCmd() *cobra.Command {
	var fl syncFlags
	cmd := &cobra.Command{
		Use:   "sync [PAIR...]",
		Short: "Sync pairs (all configured pairs when none is named)",
		Long: `Sync each named pair once (or every --every), both ways unless the pair says otherwise.

Exit codes: 0 done (conflicts left under the manual policy are not an error),
1 a pair failed, 2 bad usage or configuration, 3 a guard stopped the run
before deleting anything (see --dry-run, then --force-delete).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, names, err := a.configPairs(cmd.Context(), args)
			if err != nil {
				return err
			}
			if err := a.checkResources(cfg); err != nil {
				return err
			}
			if fl.every > 0 && fl.every < time.Second {
				return withCode(exitUsage, fmt.Errorf("--every %s: too short", fl.every))
			}
			ctx := cmd.Context()
			run := a
			if fl.every > 0 {
				// Every line says when: stdout's unless it is JSON (which
				// carries "time"), stderr's (the progress bar keeps the terminal).
				s := *a
				run = &s
				run.progressErr = a.stderr
				run.stderr = termout.NewStampWriter(a.stderr, time.Now)
				if !fl.json {
					run.stdout = termout.NewStampWriter(a.stdout, time.Now)
				}
			}
			for {
				o := run.syncOnce(ctx, cfg, names, fl)
				if fl.every == 0 {
					if o != pairs.Synced {
						return withCode(outcomeCode[o], errors.New(o.String()))
					}
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(fl.every):
				}
			}
		},
	}
	f := cmd.Flags()
	f.BoolVar(&fl.dryRun, "dry-run", false, "print the whole plan and write nothing anywhere (state included)")
	f.BoolVar(&fl.forceDelete, "force-delete", false, "delete even when a side lists empty or deletions exceed max_delete")
	f.DurationVar(&fl.every, "every", 0, "run again at this interval until interrupted (e.g. 15m)")
	f.BoolVar(&fl.json, "json", false, "print one JSON object per pair")
	return cmd
}

// outcomeCode is the exit code of each outcome of a sync (pairs.Outcome):
// exitUsage only for a side whose identity changed (engine.IdentityError).
var outcomeCode = [...]int{pairs.Synced: exitOK, pairs.Failed: exitFailed, pairs.Moved: exitUsage, pairs.Guarded: exitGuard}

// configPairs loads the configuration with the pairs made on serve's web
// page and checks the named pairs exist (all pairs when none is named).
func (a *app) configPairs(ctx context.Context, args []string) (*config.Config, []string, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	cfg = pairs.WithWebPairs(ctx, cfg, a.log)
	names, err := pairs.Select(cfg, args)
	if err != nil {
		return nil, nil, withCode(exitUsage, err)
	}
	return cfg, names, nil
}

// syncOnce runs the pairs once and returns the worst outcome.
func (a *app) syncOnce(ctx context.Context, cfg *config.Config, names []string, fl syncFlags) pairs.Outcome {
	r, db, err := a.stateRunner(ctx, cfg, fl.dryRun && !pairs.DryRunWritesState(cfg, names))
	if err != nil {
		fmt.Fprintln(a.stderr, "cardbridge:", err)
		return pairs.Failed
	}
	defer db.Close()
	worst := pairs.Synced
	for _, name := range names {
		worst = max(worst, a.syncPair(ctx, r, name, fl))
	}
	return worst
}

// syncPair runs one pair (pairs.Runner.Run), prints its outcome and
// returns it.
func (a *app) syncPair(ctx context.Context, r *pairs.Runner, name string, fl syncFlags) pairs.Outcome {
	progErr := a.stderr
	if a.progressErr != nil {
		progErr = a.progressErr
	}
	prog := termout.NewProgress(progErr, name, a.quiet || fl.json)
	res, err := r.Run(ctx, name, pairs.RunOptions{DryRun: fl.dryRun, ForceDelete: fl.forceDelete, Progress: prog.Update})
	prog.Done()
	switch {
	case err != nil:
		a.reportFailure(name, err, fl.json, fl.every > 0)
	case fl.json:
		a.printSyncJSON(res, fl.every > 0)
	default:
		pairs.WriteResult(a.stdout, a.stderr, res, a.quiet)
	}
	return pairs.OutcomeOf(res, err)
}

func (a *app) reportFailure(name string, err error, asJSON, stamp bool) {
	if asJSON {
		a.printSyncJSON(&engine.Result{Pair: name, Errors: []error{err}}, stamp)
		return
	}
	fmt.Fprintf(a.stderr, "%s: %s\n", name, termout.Block(err.Error()))
}

// printSyncJSON prints the line of `sync --json` for res, with the time
// when stamp (--every).
func (a *app) printSyncJSON(res *engine.Result, stamp bool) {
	var at time.Time
	if stamp {
		at = time.Now()
	}
	pairs.WriteSyncJSON(a.stdout, res, at)
}
