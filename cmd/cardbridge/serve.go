package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardbridge/cardbridge/buildinfo"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/serve"
	"github.com/spf13/cobra"
)

// serveCmd is `cardbridge serve`: the CardDAV server of the state's
// address books, /healthz, and the pairs run on their schedule and after
// clients change a book they use.
func (a *app) serveCmd() *cobra.Command {
	var debounce time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the address books over CardDAV and run the pairs on their schedule",
		Long: `Serve the built-in address books (see cardbridge user) over CardDAV on
server.listen, with TLS when server.tls_cert and server.tls_key are set.
Clients discover them at /.well-known/carddav. /healthz answers anyone
whether the server is up ({"status":"ok"}, or 503); the pairs' state and
errors are shown to the users named in server.admins (Basic auth), who
also see the web page's administrator view (/ui/admin).

Every pair with an "every" runs at the start and then on that schedule; a
pair with a {type: server} side also runs a few seconds (--debounce) after
a client changes that address book. SIGTERM or SIGINT lets requests and
the sync in progress finish, then exits 0.

The web page at /ui/ lets the server's users sign in with their CardDAV
password, see their books, pairs, conflicts and trash, and connect Office
365 (server.connect) into a new address book (see docs/web.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if err := a.checkResources(cfg); err != nil {
				return err
			}
			return a.serve(cmd.Context(), cfg, debounce)
		},
	}
	cmd.Flags().DurationVar(&debounce, "debounce", daemon.DefaultDebounce, "how long after a client's last change of a book its pairs run")
	return cmd
}

// serve runs `cardbridge serve` of cfg (package serve) until ctx ends.
func (a *app) serve(ctx context.Context, cfg *config.Config, debounce time.Duration) error {
	r, db, err := a.stateRunner(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if us, err := db.Users(ctx); err == nil && len(us) == 0 {
		fmt.Fprintln(a.stderr, "cardbridge serve: the server has", pairs.NoUsersHint)
	}
	err = serve.Run(ctx, serve.Options{Config: cfg, DB: db, Pairs: r, Debounce: debounce, Version: buildinfo.Current(version).Short(), Warnings: a.stderr, Logger: a.log})
	switch {
	case errors.Is(err, serve.ErrConfig):
		return withCode(exitUsage, err)
	case err != nil:
		return withCode(exitFailed, err)
	}
	return nil
}
