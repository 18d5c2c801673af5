// Package web is the web page of `cardbridge serve`, mounted at /ui/: a
// local user of the built-in CardDAV server signs in with their CardDAV
// password and sees their address books (with the URL and setup hints for
// their clients), the pairs that use them (last run, counts, errors, "sync
// now"), the conflicts and the trash of those pairs, and connects an Office
// 365 account (authorization code with PKCE) to sync into a new address
// book, and manages their app passwords (the Devices page: one per phone or
// mail client, shown once, revoked one by one). App passwords are for
// CardDAV: the sign-in here takes the user's password, or, with
// server.microsoft_sign_in, "Sign in with Microsoft" (OpenID Connect with
// PKCE; people known by tenant id + object id, see msignin.go);
// server.local_passwords: false turns the password form off. The users of
// server.admins also see the administrator view (admin.go): every user,
// app passwords by user (revocable), the directory copy of each tenant,
// the pairs in trouble; to anyone else it does not exist (404).
//
// Pages are rendered on the server with html/template from embedded
// templates and CSS; every action is a plain HTML form, so no JavaScript is
// needed. Sessions live in the state database (hashed; see state.WebSession),
// their cookie is HttpOnly, SameSite=Lax, Path=/ui/ and Secure under TLS,
// and every POST carries the session's CSRF token. A session ends after
// Options.SessionIdle without use and at the latest Options.SessionLifetime
// after sign-in. Sign-in checks the password through the authguard.Guard
// the CardDAV server uses (backoff, bounded bcrypt, the failure log) and
// is refused for a Host that is not this server's (DNS rebinding). A user sees and acts on
// their own books, pairs, conflicts and trash only; other ids are answered
// as if they did not exist.
package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
)

// Prefix is the path the UI is served under.
const Prefix = "/ui/"

// Defaults of Options.
const (
	// DefaultSessionIdle is how long a session lasts without use.
	DefaultSessionIdle = 12 * time.Hour
	// DefaultSessionLifetime is how long a session lasts at most after
	// sign-in, however much it is used.
	DefaultSessionLifetime = 24 * time.Hour
	// DefaultEvery is the schedule of a pair made from the page.
	DefaultEvery = 15 * time.Minute
	// oauthLifetime bounds the time between "Connect" and the callback.
	oauthLifetime = 15 * time.Minute
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Scheduler is what the page asks of serve's scheduler
// (*daemon.Scheduler implements it).
type Scheduler interface {
	// Trigger asks for a run of pair now; false when it is not scheduled.
	Trigger(pair string) bool
	// Status is every scheduled pair's state.
	Status() []daemon.PairStatus
	// Add schedules a pair made from the page (every, and after changes
	// of books "user/book").
	Add(name string, every time.Duration, books []string) error
	// Remove stops scheduling a pair.
	Remove(name string) bool
}

// Options configure New.
type Options struct {
	// DB is the state database: users, books, sessions, pairs, runs,
	// conflicts, trash. Required.
	DB *state.DB
	// Config is the loaded configuration: its pairs (those with a
	// {type: server} side of the signed-in user are shown) and
	// server.connect. Required.
	Config *config.Config
	// Pairs is the application layer: the user's pairs (configured and
	// made on the page), conflicts resolved, trash restored. Required.
	Pairs *pairs.Runner
	// Guard checks sign-in passwords: serve passes the CardDAV server's,
	// so that both share the backoff and the bcrypt limit; nil makes one
	// with authguard's defaults over DB.
	Guard *authguard.Guard
	// AllowHost reports whether a sign-in's Host header names this server
	// (see serve's server.public_url and listening address); nil accepts
	// the host of BaseURL only. A sign-in to another Host is refused: a
	// page of another site whose name was rebound to this server's
	// address cannot sign in or guess passwords through a browser.
	AllowHost func(host string) bool
	// Scheduler runs the pairs; nil shows no run status and offers no
	// "sync now".
	Scheduler Scheduler
	// BaseURL is the server's public URL (server.public_url, or the
	// listening address), with or without a trailing slash: the CardDAV
	// URL shown and the base of the OAuth redirect URI. Required.
	BaseURL string
	// Secure marks the session cookie Secure (serving TLS, or a public URL
	// that is https).
	Secure bool
	// HTTPClient talks to the identity platform; nil uses a client with a
	// 60 s timeout.
	HTTPClient *http.Client
	// SessionIdle is how long a session lasts unused (default
	// DefaultSessionIdle).
	SessionIdle time.Duration
	// SessionLifetime is how long a session lasts at most after sign-in
	// (default DefaultSessionLifetime).
	SessionLifetime time.Duration
	// FailedLoginDelay is a fixed pause before answering a wrong
	// password, on top of the Guard's backoff (default none).
	FailedLoginDelay time.Duration
	// Logger receives errors and sign-ins (never a password, cookie or
	// token); nil discards.
	Logger *slog.Logger
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// Handler serves the web UI; see New.
type Handler struct {
	o     Options
	log   *slog.Logger
	base  string // BaseURL without the trailing slash
	pages map[string]*template.Template
	mux   *http.ServeMux
	// photoSem bounds the contact photos decoded at once
	// (maxPhotoDecodes).
	photoSem chan struct{}
	// providers caches the OpenID Connect discovery (and with it the
	// signing keys) of each allowed tenant, by issuer.
	providers *providerCache
}

// New returns the handler of the UI, to be mounted at Prefix ("/ui/").
func New(o Options) (*Handler, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("web: no state database")
	case o.Config == nil:
		return nil, errors.New("web: no configuration")
	case o.Pairs == nil:
		return nil, errors.New("web: no application layer (Options.Pairs)")
	case o.BaseURL == "":
		return nil, errors.New("web: no base URL")
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = DefaultSessionLifetime
	}
	if o.Guard == nil {
		g, err := authguard.New(authguard.Options{Hashes: o.DB, Logger: o.Logger})
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		o.Guard = g
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{o: o, log: o.Logger, base: strings.TrimRight(o.BaseURL, "/"), photoSem: make(chan struct{}, maxPhotoDecodes), providers: &providerCache{m: map[string]*oidc.Provider{}}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages(h.isAdmin)
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	h.pages = pages
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	m := http.NewServeMux()
	m.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", cacheStatic(http.FileServerFS(static))))
	m.HandleFunc("GET /ui/login", h.loginPage)
	m.HandleFunc("POST /ui/login", h.login)
	m.HandleFunc("GET /ui/login/microsoft", h.microsoftStart)
	m.HandleFunc("GET /ui/login/microsoft/callback", h.microsoftCallback)
	m.HandleFunc("POST /ui/logout", h.withSession(h.logout))
	m.HandleFunc("GET /ui/{$}", h.withSession(h.dashboard))
	m.HandleFunc("GET /ui/books/{book}/{$}", h.withSession(h.contactsPage))
	m.HandleFunc("GET /ui/books/{book}/cards/{href}", h.withSession(h.contactPage))
	m.HandleFunc("GET /ui/books/{book}/cards/{href}/photo", h.withSession(h.contactPhoto))
	m.HandleFunc("GET /ui/conflicts", h.withSession(h.conflictsPage))
	m.HandleFunc("GET /ui/trash", h.withSession(h.trashPage))
	m.HandleFunc("GET /ui/devices", h.withSession(h.devicesPage))
	m.HandleFunc("POST /ui/devices", h.withSession(h.createAppPassword))
	m.HandleFunc("POST /ui/devices/revoke", h.withSession(h.revokeAppPassword))
	m.HandleFunc("POST /ui/pairs/{name}/sync", h.withSession(h.syncNow))
	m.HandleFunc("POST /ui/conflicts/{id}/resolve", h.withSession(h.resolveConflict))
	m.HandleFunc("POST /ui/trash/{id}/restore", h.withSession(h.restoreTrash))
	m.HandleFunc("GET /ui/books/{book}/phone", h.withSession(h.phonePage))
	m.HandleFunc("GET /ui/books/{book}/qr.png", h.withSession(h.phoneQR))
	m.HandleFunc("GET /ui/books/{book}/profile.mobileconfig", h.withSession(h.phoneProfile))
	m.HandleFunc("POST /ui/books/{book}/profile.mobileconfig", h.withSession(h.phoneProfile))
	m.HandleFunc("POST /ui/connect", h.withSession(h.connectStart))
	m.HandleFunc("GET /ui/connect/callback", h.withSession(h.connectCallback))
	m.HandleFunc("POST /ui/connect/pair", h.withSession(h.createPair))
	m.HandleFunc("POST /ui/connect/disconnect", h.withSession(h.disconnect))
	m.HandleFunc("GET /ui/admin", h.withAdmin(h.adminPage))
	m.HandleFunc("POST /ui/admin/app-passwords/revoke", h.withAdmin(h.adminRevoke))
	m.HandleFunc("/ui/", h.notFound)
	h.mux = m
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin") // "no-referrer" makes browsers send "Origin: null" on our own forms
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'")
	h.mux.ServeHTTP(w, r)
}

// cacheStatic lets browsers keep the embedded assets for an hour.
func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// WantsUI reports whether a request to the server's root comes from a
// browser that should be sent to the UI: a GET of "/" accepting text/html.
// CardDAV clients use PROPFIND or do not ask for HTML, so discovery is not
// disturbed.
func WantsUI(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Path == "/" && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// parsePages parses each page template with the layout; isAdmin tells
// the layout whom to show the administrator view's link.
func parsePages(isAdmin func(user string) bool) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.Local().Format("2006-01-02 15:04:05 MST")
		},
		"initial": initial,
		"reason":  reasonText,
		"plural":  plural,
		"admin":   isAdmin,
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		out[base] = t
	}
	return out, nil
}

// view is what every page template gets.
type view struct {
	Title   string
	User    string // "" when signed out
	CSRF    string
	Flash   string
	Error   string
	Section string // which navigation entry is current
	// Refresh, when set, is the content of a meta refresh ("3;
	// url=/ui/"): the page reloads itself while a sync runs.
	Refresh string
	Data    any
}

// render writes page with status.
func (h *Handler) render(w http.ResponseWriter, status int, page string, v view) {
	t := h.pages[page]
	if t == nil {
		h.log.Error("web: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		h.log.Error("web: rendering", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// fail shows an error page with status: title and a message (escaped by
// the template). s may be nil (signed out).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *session, status int, title, msg string) {
	v := view{Title: title, Error: msg}
	if s != nil {
		v.User, v.CSRF = s.User, s.CSRF
	}
	h.render(w, status, "error", v)
}

// internal logs err and shows a 500 page that does not repeat it.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, s *session, op string, err error) {
	h.log.Error("web: "+op, "path", r.URL.Path, "err", err)
	h.fail(w, r, s, http.StatusInternalServerError, "Something went wrong", op+" failed; the details are in the server's log.")
}
