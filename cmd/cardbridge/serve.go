package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/serve"
	"github.com/cardbridge/cardbridge/state"
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
errors are shown to the users named in server.admins (Basic auth).

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
			return a.serve(cmd.Context(), cfg, debounce)
		},
	}
	cmd.Flags().DurationVar(&debounce, "debounce", daemon.DefaultDebounce, "how long after a client's last change of a book its pairs run")
	return cmd
}

// serve runs `cardbridge serve` of cfg (package serve) until ctx ends.
func (a *app) serve(ctx context.Context, cfg *config.Config, debounce time.Duration) error {
	db, err := a.openState(ctx, cfg, false)
	if err != nil {
		return withCode(exitFailed, err)
	}
	defer db.Close()
	r, err := a.runner(cfg, db)
	if err != nil {
		return err
	}
	err = serve.Run(ctx, serve.Options{Config: cfg, DB: db, Pairs: r, Debounce: debounce, Version: version, Warnings: a.stderr, Logger: a.log})
	switch {
	case errors.Is(err, serve.ErrConfig):
		return withCode(exitUsage, err)
	case err != nil:
		return withCode(exitFailed, err)
	}
	return nil
}

// withWebPairs adds the pairs made on serve's web page (kept in the state)
// to cfg, for sync and status. Without a state file, or when it cannot be
// read for them, cfg is returned as it is (the reason logged).
func (a *app) withWebPairs(ctx context.Context, cfg *config.Config) *config.Config {
	if _, err := os.Stat(cfg.State); err != nil {
		return cfg
	}
	db, err := state.Open(ctx, cfg.State, state.Options{ReadOnly: true, Logger: a.log})
	if err != nil {
		a.log.Debug("web pairs: opening the state", "err", err)
		return cfg
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v < state.LatestSchemaVersion() {
		return cfg // a state from before the web page has no web pairs
	}
	out, skipped, err := pairs.Merge(ctx, db, cfg)
	if err != nil {
		a.log.Warn("the pairs made on the web page are left out", "err", err)
		return cfg
	}
	for _, msg := range skipped {
		a.log.Warn("a pair made on the web page is left out", "why", msg)
	}
	return out
}
