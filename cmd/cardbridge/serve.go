package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/sync"
	"github.com/cardbridge/cardbridge/web"
	"github.com/spf13/cobra"
)

// shutdownGrace is how long in-flight HTTP requests may take to finish
// after SIGTERM; the scheduler's own grace (daemon.DefaultGrace) runs
// alongside.
const shutdownGrace = 10 * time.Second

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
Clients discover them at /.well-known/carddav; /healthz reports the pairs
without authentication.

Every pair with an "every" runs at the start and then on that schedule; a
pair with a {type: server} side also runs a few seconds (--debounce) after
a client changes that address book. SIGTERM or SIGINT lets requests and
the sync in progress finish, then exits 0.

The web page at /ui/ lets the server's users sign in with their CardDAV
password, see their books, pairs, conflicts and trash, and connect Office
365 (server.connect) into a new address book (see docs/web.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.serve(cmd.Context(), debounce)
		},
	}
	cmd.Flags().DurationVar(&debounce, "debounce", daemon.DefaultDebounce, "how long after a client's last change of a book its pairs run")
	return cmd
}

// serve runs the daemon until ctx ends (SIGTERM, SIGINT).
func (a *app) serve(ctx context.Context, debounce time.Duration) error {
	cfg, db, err := a.configAndState(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	log := a.log

	// Pairs made on the web page (in state) run like configured ones.
	ecfg, skipped, err := web.MergePairs(ctx, db, cfg)
	if err != nil {
		return withCode(exitFailed, err)
	}
	for _, msg := range skipped {
		log.Warn("not running a pair made on the web page", "why", msg)
	}
	sched := daemon.NewScheduler(daemon.SchedulerOptions{
		Every:     pairSchedules(ecfg),
		BookPairs: bookPairs(ecfg),
		Run: func(ctx context.Context, pair string) error {
			c, _, err := web.MergePairs(ctx, db, cfg) // a pair made since the start
			if err != nil {
				return err
			}
			if _, ok := c.Pair(pair); !ok {
				return fmt.Errorf("pair %s no longer exists (disconnected on the web page)", pair)
			}
			return a.daemonSync(ctx, db, c, pair)
		},
		Debounce:     debounce,
		Logger:       log,
		Housekeeping: a.housekeeping(db, cfg), // the daily trash purge
	})
	dav, err := server.New(server.Options{Store: db, Logger: log, OnChange: sched.Changed,
		MaxMultigetHrefs: cfg.Server.MaxMultigetHrefs})
	if err != nil {
		return withCode(exitFailed, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeHealth(w, r, sched.Status())
	})
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.WantsUI(r) { // a browser at the root: the web page
			http.Redirect(w, r, web.Prefix, http.StatusFound)
			return
		}
		dav.ServeHTTP(w, r)
	}))

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute, // a REPORT of a large book
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug), // TLS handshake noise
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	useTLS := cfg.Server.TLSCert != ""
	if useTLS {
		cert, err := tls.LoadX509KeyPair(cfg.Server.TLSCert, cfg.Server.TLSKey)
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("server.tls_cert/tls_key: %w", err))
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return withCode(exitFailed, fmt.Errorf("server.listen: %w", err))
	}
	if !useTLS && !isLoopback(cfg.Server.Listen) {
		msg := "listening on " + cfg.Server.Listen + " beyond loopback WITHOUT TLS: passwords and contacts travel in clear text; set server.tls_cert and server.tls_key, or listen on 127.0.0.1 behind a TLS proxy"
		log.Warn(msg)
		fmt.Fprintln(a.stderr, "cardbridge: WARNING:", msg)
	}
	baseURL := clientURL(cfg.Server, ln.Addr(), useTLS)
	ui, err := web.New(web.Options{DB: db, Config: cfg, CheckPassword: dav.(server.PasswordChecker).CheckPassword,
		Scheduler: sched, BaseURL: baseURL, Secure: useTLS || strings.HasPrefix(baseURL, "https://"), Logger: log})
	if err != nil {
		ln.Close()
		return withCode(exitFailed, err)
	}
	mux.Handle(web.Prefix, ui)
	log.Info("serving CardDAV", "listen", ln.Addr().String(), "url", baseURL, "tls", useTLS, "version", version)
	log.Info("web page", "url", strings.TrimRight(baseURL, "/")+web.Prefix, "connect_redirect_uri", web.RedirectURI(baseURL))

	schedCtx, stopSched := context.WithCancel(ctx)
	defer stopSched()
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(schedCtx) }()
	serveDone := make(chan error, 1)
	go func() {
		if useTLS {
			serveDone <- srv.ServeTLS(ln, "", "")
		} else {
			serveDone <- srv.Serve(ln)
		}
	}()

	var serveErr error
	select {
	case serveErr = <-serveDone:
	case <-ctx.Done():
		log.Info("stopping: finishing the requests and the sync in progress")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still running at the end of the grace period", "err", err)
		srv.Close()
	}
	if serveErr == nil {
		serveErr = <-serveDone
	}
	stopSched() // also when the server failed on its own
	<-schedDone
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return withCode(exitFailed, fmt.Errorf("serve: %w", serveErr))
	}
	log.Info("stopped")
	return nil
}

// daemonSync runs one pair for the scheduler: like syncPair, but its
// outcome goes to the log (one structured line) instead of stdout.
func (a *app) daemonSync(ctx context.Context, db *state.DB, cfg *config.Config, name string) error {
	pc, _ := cfg.Pair(name)
	pair, err := a.enginePair(ctx, cfg, db, pc, false)
	if err != nil {
		return err
	}
	defer closeSide(pair.A)
	defer closeSide(pair.B)
	res, err := sync.New(db, a.log).Run(ctx, pair, sync.Options{})
	if err != nil {
		return err
	}
	a.log.Info("pair synced", "pair", name,
		"a_created", res.A.Created, "a_updated", res.A.Updated, "a_deleted", res.A.Deleted,
		"b_created", res.B.Created, "b_updated", res.B.Updated, "b_deleted", res.B.Deleted,
		"conflicts", res.Conflicts, "skipped", len(res.Skipped), "errors", len(res.Errors),
		"duration", res.Duration)
	for _, s := range res.Skipped {
		a.log.Warn("skipped", "pair", name, "item", s)
	}
	if !res.OK() {
		return fmt.Errorf("%d errors: %s", len(res.Errors), strings.Join(res.Errors, "; "))
	}
	for _, sc := range []config.Side{pc.A, pc.B} {
		if sc.Type == "o365" {
			if err := db.TouchAccountSync(ctx, sc.Account, time.Now()); err != nil {
				a.log.Warn("recording the account's last sync", "account", sc.Account, "err", err)
			}
		}
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
	out, skipped, err := web.MergePairs(ctx, db, cfg)
	if err != nil {
		a.log.Warn("the pairs made on the web page are left out", "err", err)
		return cfg
	}
	for _, msg := range skipped {
		a.log.Warn("a pair made on the web page is left out", "why", msg)
	}
	return out
}

// pairSchedules is every pair's `every` (0 for pairs without one).
func pairSchedules(cfg *config.Config) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, name := range cfg.PairNames() {
		p, _ := cfg.Pair(name)
		out[name] = p.Every
	}
	return out
}

// bookPairs maps "user/book" of the built-in store to the pairs with a
// {type: server} side on it.
func bookPairs(cfg *config.Config) map[string][]string {
	out := map[string][]string{}
	for _, name := range cfg.PairNames() {
		p, _ := cfg.Pair(name)
		for _, sc := range []config.Side{p.A, p.B} {
			if sc.Type == "server" {
				key := sc.User + "/" + sc.Addressbook
				out[key] = append(out[key], name)
			}
		}
	}
	return out
}

// isLoopback reports whether listen (host:port) accepts connections from
// this machine only: 127.0.0.0/8, ::1 or localhost. An empty host (all
// interfaces) and any other name are not.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clientURL is the URL clients should be given: server.public_url, or
// one made of the listening address (the host name when listening on
// every interface).
func clientURL(s config.Server, addr net.Addr, useTLS bool) string {
	if s.PublicURL != "" {
		return s.PublicURL
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

// writeHealth answers /healthz: 200 with {"status":"ok"|"degraded",
// "pairs":[...]}, "degraded" when a pair's last run failed. The errors'
// text (which may name accounts and paths) is shown to loopback clients
// only.
func writeHealth(w http.ResponseWriter, r *http.Request, pairs []daemon.PairStatus) {
	local := false
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip := net.ParseIP(host)
		local = ip != nil && ip.IsLoopback()
	}
	status := "ok"
	for i := range pairs {
		if pairs[i].Runs > 0 && !pairs[i].OK {
			status = "degraded"
		}
		if !local && pairs[i].Error != "" {
			pairs[i].Error = "failed (details in the log)"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(struct {
		Status string              `json:"status"`
		Pairs  []daemon.PairStatus `json:"pairs"`
	}{status, pairs})
}
