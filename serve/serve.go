// Package serve is `cardbridge serve` put together: the built-in CardDAV
// server of the state's address books, /healthz, the web page at /ui/ and
// the scheduler that runs the pairs (through the application layer,
// pairs.Runner) on their schedule and after clients change a book, behind
// one listener with a connection limit, optional TLS and HSTS.
package serve

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/directory"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/web"
)

// ShutdownGrace is how long in-flight HTTP requests may take to finish
// after SIGTERM; the scheduler's own grace (daemon.DefaultGrace) runs
// alongside.
const ShutdownGrace = 10 * time.Second

// ErrConfig marks an error of the server's configuration that only the
// user can fix.
var ErrConfig = errors.New("server configuration")

// Options configure Run.
type Options struct {
	// Config is the loaded configuration (server, pairs). Required.
	Config *config.Config
	// DB is the state: users, books, runs. Required.
	DB *state.DB
	// Pairs runs the pairs and serves the web page's use cases. Required.
	Pairs *pairs.Runner
	// Debounce is how long after a client's last change of a book its
	// pairs run (0: daemon.DefaultDebounce).
	Debounce time.Duration
	// Version is logged at the start.
	Version string
	// Warnings receives the warnings a person must see even without logs
	// (clear-text passwords beyond loopback); nil discards.
	Warnings io.Writer
	// Logger receives the server's, the scheduler's and the runs' logs;
	// nil discards.
	Logger *slog.Logger
}

// Run serves until ctx ends (SIGTERM, SIGINT): the requests in flight and
// the sync in progress finish first. A configuration the server cannot
// use (server.trusted_proxies, tls_cert/tls_key) is an error wrapping
// ErrConfig.
func Run(ctx context.Context, o Options) error {
	switch {
	case o.Config == nil || o.DB == nil || o.Pairs == nil:
		return errors.New("serve: Options.Config, DB and Pairs are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Warnings == nil {
		o.Warnings = io.Discard
	}
	cfg, db, log := o.Config, o.DB, o.Logger
	sched, err := newScheduler(ctx, o)
	if err != nil {
		return err
	}
	guard, err := newGuard(cfg.Server, db, log)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if db.Postgres() {
		// A client's change on any replica wakes this one's pairs.
		stop := listenChanges(ctx, db, sched, log, nil)
		defer stop()
	}
	if err := checkSignIn(cfg.Server); err != nil {
		return err
	}
	// Every mailbox of a tenant (accounts.X.mailboxes): provisioned each tick.
	stopMailboxes, err := startMailboxJobs(ctx, cfg, o.Pairs, sched, log)
	if err != nil {
		return err
	}
	defer stopMailboxes()
	warnUnknownAdmins(ctx, db, cfg.Server.Admins, log)
	mux, err := davMux(o, guard, sched)
	if err != nil {
		return err
	}
	tlsConfig, err := loadTLS(cfg.Server)
	if err != nil {
		return err
	}
	useTLS := tlsConfig != nil
	ln, err := listen(cfg.Server, useTLS, log, o.Warnings)
	if err != nil {
		return err
	}
	baseURL := clientURL(cfg.Server, ln.Addr(), useTLS)
	secure := useTLS || strings.HasPrefix(baseURL, "https://")
	ui, err := web.New(web.Options{DB: db, Config: cfg, Pairs: o.Pairs, Guard: guard, AllowHost: hostChecker(cfg.Server, ln.Addr(), useTLS),
		Scheduler: sched, BaseURL: baseURL, Secure: secure, SessionLifetime: cfg.Server.SessionLifetime, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	mux.Handle(web.Prefix, ui)
	srv := newHTTPServer(ctx, withHSTS(mux, secure), log)
	srv.TLSConfig = tlsConfig
	log.Info("serving CardDAV", "listen", ln.Addr().String(), "url", baseURL, "tls", useTLS, "version", o.Version)
	log.Info("web page", "url", strings.TrimRight(baseURL, "/")+web.Prefix, "connect_redirect_uri", web.RedirectURI(baseURL))
	if cfg.Server.MicrosoftSignIn.Configured() {
		log.Info("sign in with Microsoft", "redirect_uri", web.SignInRedirectURI(baseURL), "tenants", cfg.Server.MicrosoftSignIn.Tenants)
	}
	return serveUntilDone(ctx, srv, ln, useTLS, sched, log)
}

// checkSignIn refuses (ErrConfig) a server.microsoft_sign_in whose client
// secret, or certificate and key (certificate_file), cannot be read, at
// start-up rather than at someone's first sign-in.
func checkSignIn(s config.Server) error {
	ms := s.MicrosoftSignIn
	if !ms.Configured() {
		return nil
	}
	if ms.CertificateFile != "" {
		if _, err := auth.ClientAuthParams(ms.Account("server.microsoft_sign_in", ""), ms.Authority()+"/organizations/oauth2/v2.0/token", os.LookupEnv, time.Now()); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		return nil
	}
	if _, err := ms.Secret(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// newScheduler returns the scheduler of the configured pairs and of those
// made on the web page (in state), which run like configured ones.
func newScheduler(ctx context.Context, o Options) (*daemon.Scheduler, error) {
	runner, log := o.Pairs, o.Logger
	ecfg, skipped, err := runner.Pairs(ctx)
	if err != nil {
		return nil, err
	}
	for _, msg := range skipped {
		log.Warn("not running a pair made on the web page", "why", msg)
	}
	var co daemon.Coordinator
	if o.DB.Postgres() { // replicas may share it
		co = NewCoordinator(o.DB)
	}
	var sched *daemon.Scheduler // set before anything runs
	sched = daemon.NewScheduler(daemon.SchedulerOptions{
		Coordinator: co,
		Every:       pairSchedules(ecfg),
		BookPairs:   bookPairs(ecfg),
		Run: func(ctx context.Context, pair string) error {
			// a pair made since the start too; its progress for the web page
			return runPair(ctx, runner, log, pair, func(done, total int) { sched.Progress(pair, done, total) })
		},
		Debounce:     o.Debounce,
		Logger:       log,
		Housekeeping: runner.Housekeeping, // the daily trash purge
	})
	return sched, nil
}

// listenChanges calls sched.Changed for every change of the built-in
// server's books that any replica sharing db makes (state.ListenChanges),
// until ctx ends or the returned stop is called (it waits for the
// listener to end); ready, when set, is called once it listens.
func listenChanges(ctx context.Context, db *state.DB, sched *daemon.Scheduler, log *slog.Logger, ready func()) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := db.ListenChanges(ctx, state.ListenOptions{OnChange: sched.Changed,
			OnListening: func() {
				log.Debug("listening for the changes of the other replicas")
				if ready != nil {
					ready()
				}
			}})
		if err != nil {
			log.Error("not listening for the changes of the other replicas", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}

// davStore is the CardDAV server's store: the state, with the read-only
// Directory book of every account with directory set (directory.Books)
// for the users of its tenant.
func davStore(cfg *config.Config, db *state.DB) server.Store {
	var tenants []directory.Tenant
	for _, name := range slices.Sorted(maps.Keys(cfg.Accounts)) {
		a := cfg.Accounts[name]
		if a.Directory == nil {
			continue
		}
		tenants = append(tenants, directory.Tenant{ID: a.Tenant, Options: pairs.DirectoryOptions(a)})
	}
	if len(tenants) == 0 {
		return db
	}
	return directory.NewBooks(db, db, tenants)
}

// davMux returns the server's routes but the web page: /healthz, the
// CardDAV server (whose changes wake sched) and a redirect of a browser at
// the root to the web page.
func davMux(o Options, guard *authguard.Guard, sched *daemon.Scheduler) (*http.ServeMux, error) {
	cfg, db := o.Config, o.DB
	dav, err := server.New(server.Options{Store: davStore(cfg, db), Logger: o.Logger, OnChange: sched.Changed, Guard: guard,
		MaxMultigetHrefs: cfg.Server.MaxMultigetHrefs})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthHandler(guard, cfg.Server.Admins, sched.Status, db.SchemaVersion))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.WantsUI(r) { // a browser at the root: the web page
			http.Redirect(w, r, web.Prefix, http.StatusFound)
			return
		}
		dav.ServeHTTP(w, r)
	}))
	return mux, nil
}

// loadTLS returns the TLS configuration of server.tls_cert and tls_key,
// nil without TLS.
func loadTLS(s config.Server) (*tls.Config, error) {
	if s.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("%w: server.tls_cert/tls_key: %w", ErrConfig, err)
	}
	return serverTLSConfig(cert), nil
}

// listen opens server.listen with the connection limit. Clear text beyond
// loopback is warned about in the log and on warnings.
func listen(s config.Server, useTLS bool, log *slog.Logger, warnings io.Writer) (net.Listener, error) {
	tcpLn, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return nil, fmt.Errorf("server.listen: %w", err)
	}
	maxConns := s.MaxConnections
	if maxConns == 0 {
		maxConns = config.DefaultMaxConnections
	}
	ln := newLimitListener(tcpLn, maxConns, log)
	if !useTLS && !isLoopback(s.Listen) {
		msg := "listening on " + s.Listen + " beyond loopback WITHOUT TLS: passwords and contacts travel in clear text; set server.tls_cert and server.tls_key, or listen on 127.0.0.1 behind a TLS proxy"
		log.Warn(msg)
		fmt.Fprintln(warnings, "cardbridge: WARNING:", msg)
	}
	return ln, nil
}

// newHTTPServer returns the HTTP server of h with its timeouts and limits;
// its requests' contexts carry ctx's values but not its end (shutdown
// lets them finish).
func newHTTPServer(ctx context.Context, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute, // a REPORT of a large book
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug), // TLS handshake noise
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// serveUntilDone runs sched and serves srv on ln until ctx ends or the
// server fails, then shuts both down: the requests in flight get
// ShutdownGrace, the sync in progress finishes.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, useTLS bool, sched *daemon.Scheduler, log *slog.Logger) error {
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
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
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
		return fmt.Errorf("serve: %w", serveErr)
	}
	log.Info("stopped")
	return nil
}

// runPair runs one pair for the scheduler (pairs.Runner.Run), reporting
// its progress to progress; its outcome goes to the log, one structured
// line.
func runPair(ctx context.Context, r *pairs.Runner, log *slog.Logger, name string, progress func(done, total int)) error {
	res, err := r.Run(ctx, name, pairs.RunOptions{Progress: progress})
	if err != nil {
		return err
	}
	log.Info("pair synced", "pair", name,
		"a_created", res.A.Created, "a_updated", res.A.Updated, "a_deleted", res.A.Deleted,
		"b_created", res.B.Created, "b_updated", res.B.Updated, "b_deleted", res.B.Deleted,
		"conflicts", res.Conflicts, "skipped", len(res.Skipped), "errors", len(res.Errors),
		"duration", res.Duration)
	for _, s := range res.Skipped {
		log.Warn("skipped", "pair", name, "item", s)
	}
	if !res.OK() {
		return fmt.Errorf("%d errors: %s", len(res.Errors), strings.Join(res.ErrorStrings(), "; "))
	}
	return nil
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
			if sc.Type == config.SideServer {
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

// healthHandler answers /healthz. To anyone: {"status":"ok"} (200) while
// the state database answers, {"status":"unavailable"} (503) when it does
// not; nothing else. To a user of admins signing in with Basic auth
// (checked by guard like every login): also "degraded" when a pair's last
// run failed, and the pairs with their errors. Wrong credentials are
// answered like the CardDAV server's (401, 429, 503).
func healthHandler(guard *authguard.Guard, admins []string, pairs func() []daemon.PairStatus, ping func(context.Context) (int, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admin := false
		if user, pass, ok := r.BasicAuth(); ok {
			d := guard.Check(r.Context(), guard.ClientAddr(r), "healthz", user, pass)
			switch d.Outcome {
			case authguard.OK:
				admin = slices.Contains(admins, user)
			case authguard.Denied:
				w.Header().Set("WWW-Authenticate", `Basic realm="cardbridge", charset="UTF-8"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			case authguard.Throttled:
				w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
				http.Error(w, "too many failed logins; try again later", http.StatusTooManyRequests)
				return
			default:
				w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
				http.Error(w, "too many logins being checked; try again later", http.StatusServiceUnavailable)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if _, err := ping(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(struct {
				Status string `json:"status"`
			}{"unavailable"})
			return
		}
		if !admin {
			json.NewEncoder(w).Encode(struct {
				Status string `json:"status"`
			}{"ok"})
			return
		}
		ps := pairs()
		status := "ok"
		for i := range ps {
			if ps[i].Runs > 0 && !ps[i].OK {
				status = "degraded"
			}
		}
		json.NewEncoder(w).Encode(struct {
			Status string              `json:"status"`
			Pairs  []daemon.PairStatus `json:"pairs"`
		}{status, ps})
	})
}

// newGuard is the password check shared by the CardDAV server, the web
// page and /healthz, from server.trusted_proxies and the login knobs.
func newGuard(s config.Server, db *state.DB, log *slog.Logger) (*authguard.Guard, error) {
	proxies, err := authguard.ParseTrustedProxies(s.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server.trusted_proxies: %w", err)
	}
	g, err := authguard.New(authguard.Options{Hashes: db, AppPasswords: db, Logger: log, TrustedProxies: proxies,
		FreeFailures: s.LoginFreeFailures, MaxDelay: s.LoginMaxDelay})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return g, nil
}

// warnUnknownAdmins logs the names of server.admins that are not users
// of the server (yet): they grant nothing until `cardbridge user add`.
func warnUnknownAdmins(ctx context.Context, db *state.DB, admins []string, log *slog.Logger) {
	for _, n := range admins {
		if _, err := db.UserPasswordHash(ctx, n); errors.Is(err, state.ErrNotFound) {
			log.Warn("server.admins names no user of the server", "user", n)
		}
	}
}

// hstsMaxAge is the Strict-Transport-Security lifetime: a year.
const hstsMaxAge = "max-age=31536000"

// withHSTS adds Strict-Transport-Security to every answer when the server
// is reached over https (its own TLS, or a public_url that is https).
func withHSTS(next http.Handler, secure bool) http.Handler {
	if !secure {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hstsMaxAge)
		next.ServeHTTP(w, r)
	})
}

// serverTLSConfig is the TLS of serve: TLS 1.2 and 1.3, and in TLS 1.2 only
// ECDHE key exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305); TLS
// 1.3's suites are all AEAD and not configurable.
func serverTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		}}
}

// hostChecker says which Host headers name this server for the web
// page's sign-in: public_url's host, and the listening address (what a
// proxy that does not pass Host on sends): that address and port, with
// localhost and both loopback addresses when it is a loopback one, and
// any IP address or this machine's name on that port when it listens on
// every interface. A DNS name of another site (DNS rebinding) is none of
// these.
func hostChecker(s config.Server, addr net.Addr, useTLS bool) func(string) bool {
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	var public string
	publicScheme := scheme
	if u, err := url.Parse(s.PublicURL); err == nil && s.PublicURL != "" {
		public, publicScheme = u.Host, u.Scheme
	}
	lhost, port, _ := net.SplitHostPort(addr.String())
	lip := net.ParseIP(lhost)
	hostname, _ := os.Hostname()
	return func(h string) bool {
		if public != "" && web.SameHost(h, public, publicScheme) {
			return true
		}
		hh, hp, err := net.SplitHostPort(h)
		if err != nil {
			hh, hp = strings.Trim(h, "[]"), ""
		}
		if hp != port {
			return false
		}
		ip := net.ParseIP(hh)
		switch {
		case lip != nil && lip.IsUnspecified():
			return ip != nil || (hostname != "" && strings.EqualFold(hh, hostname))
		case lip != nil && lip.IsLoopback():
			return strings.EqualFold(hh, "localhost") || (ip != nil && ip.IsLoopback())
		}
		return ip != nil && lip != nil && ip.Equal(lip)
	}
}
