package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/demo"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/spf13/cobra"
)

// demoCmd is `cardbridge demo`: the zero-setup first run.
func (a *app) demoCmd() *cobra.Command {
	var o demo.RunOptions
	var debounce time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "A first run that needs no account: simulated Office 365 <-> the built-in CardDAV server and its web page",
		Long:  demo.Help,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.env = demo.WithoutConfigEnv(a.env)
			o.Stdout, o.Stderr, o.Env, o.Logger = a.stdout, a.stderr, a.env, a.log
			o.Sync = func(ctx context.Context, cfg *config.Config) error {
				if o := a.syncOnce(ctx, cfg, []string{demo.Pair}, syncFlags{}); o != pairs.Synced {
					return withCode(outcomeCode[o], fmt.Errorf("demo: the first sync failed (%s)", o))
				}
				return nil
			}
			o.Serve = func(ctx context.Context, cfg *config.Config) error { return a.serve(ctx, cfg, debounce) }
			err := demo.Run(cmd.Context(), o)
			if errors.Is(err, demo.ErrUsage) {
				return withCode(exitUsage, err)
			}
			return failed(err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "", "workspace folder, new or empty, kept at exit (default: a temporary folder, removed at exit)")
	f.StringVar(&o.Listen, "listen", "", "address of the CardDAV server and web page (default "+demo.Listen+", or a free port when that is busy; 0.0.0.0:5232 lets phones on the same network connect, over plain HTTP)")
	f.IntVar(&o.Contacts, "contacts", demo.Contacts, "how many sample contacts the simulated Office 365 starts with")
	f.DurationVar(&debounce, "debounce", daemon.DefaultDebounce, "how long after a client's last change the pair runs")
	return cmd
}
