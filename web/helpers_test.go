package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/testutil"
	"golang.org/x/crypto/bcrypt"
)

const (
	simClient = "22222222-3333-4444-5555-666666666666"
	simUser   = "alice@contoso.example"
	simPass   = "alice-at-microsoft"
)

// fakeSched records what the page asks of the scheduler.
type fakeSched struct {
	mu       sync.Mutex
	known    map[string]bool
	triggers []string
	added    []string
	books    map[string][]string
	every    map[string]time.Duration
	removed  []string
	status   map[string]daemon.PairStatus // what Status says of a pair, when set
}

func newFakeSched(pairs ...string) *fakeSched {
	f := &fakeSched{known: map[string]bool{}, books: map[string][]string{}, every: map[string]time.Duration{}}
	for _, p := range pairs {
		f.known[p] = true
	}
	return f
}

func (f *fakeSched) Trigger(p string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.known[p] {
		return false
	}
	f.triggers = append(f.triggers, p)
	return true
}

func (f *fakeSched) Status() []daemon.PairStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []daemon.PairStatus
	for p := range f.known {
		st, ok := f.status[p]
		if !ok {
			st = daemon.PairStatus{Pair: p}
		}
		out = append(out, st)
	}
	return out
}

func (f *fakeSched) Add(name string, every time.Duration, books []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.known[name] = true
	f.added = append(f.added, name)
	f.books[name] = books
	f.every[name] = every
	return nil
}

func (f *fakeSched) Remove(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ok := f.known[name]
	delete(f.known, name)
	f.removed = append(f.removed, name)
	return ok
}

func (f *fakeSched) triggered() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.triggers)
}

// env is a web UI in front of a state with users alice and bob, graphsim
// as Office 365 and a fake scheduler.
type env struct {
	t     *testing.T
	db    *state.DB
	cfg   *config.Config
	pairs *pairs.Runner
	sched *fakeSched
	clock *testutil.Clock
	sim   *graphsim.Server
	simMB *graphsim.Mailbox
	simTS *httptest.Server
	ui    *httptest.Server
	guard *authguard.Guard      // the sign-in's, with the defaults and the env's clock
	logs  testutil.LockedBuffer // what the guard logs
}

// newEnv starts it all; configured pairs: alice-p (alice/contacts ⇄ a
// folder), bob-p (bob/contacts ⇄ a folder), other (two folders).
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db := statetest.Open(t, filepath.Join(dir, "state.db"), state.Options{TokenKey: bytes.Repeat([]byte{1}, state.TokenKeySize)})
	for _, u := range []string{"alice", "bob"} {
		hash, _ := bcrypt.GenerateFromPassword([]byte(u+"-pw"), bcrypt.MinCost)
		if err := db.AddUser(ctx, u, string(hash)); err != nil {
			t.Fatal(err)
		}
	}
	sim := graphsim.New(graphsim.Options{})
	sim.AddApp(graphsim.App{ClientID: simClient, PublicClient: true, RedirectURIs: []string{"http://127.0.0.1/ui/connect/callback"}})
	mb := sim.AddUser(graphsim.User{ID: "00000000-0000-0000-0000-0000000a11ce", UPN: simUser, DisplayName: "Alice", Password: simPass})
	simTS := httptest.NewServer(sim)
	t.Cleanup(simTS.Close)

	cfg := &config.Config{
		State:    db.Path(),
		Accounts: map[string]config.Account{},
		Pairs: map[string]config.Pair{
			"alice-p": {Name: "alice-p", A: config.Side{Type: "server", User: "alice", Addressbook: "contacts"}, B: config.Side{Type: "vdir", Path: dir + "/a"}},
			"bob-p":   {Name: "bob-p", A: config.Side{Type: "vdir", Path: dir + "/b"}, B: config.Side{Type: "server", User: "bob", Addressbook: "contacts"}},
			"other":   {Name: "other", A: config.Side{Type: "vdir", Path: dir + "/c"}, B: config.Side{Type: "vdir", Path: dir + "/d"}},
		},
		Server: config.Server{Listen: "127.0.0.1:0", Connect: config.Connect{ClientID: simClient, Tenant: "contoso.example", Cloud: "global",
			LoginURL: simTS.URL, GraphURL: simTS.URL + "/v1.0"}},
	}
	e := &env{t: t, db: db, cfg: cfg, sched: newFakeSched("alice-p", "bob-p", "other"), clock: testutil.NewClock(time.Now()), sim: sim, simMB: mb, simTS: simTS}
	guard, err := authguard.New(authguard.Options{Hashes: db, Logger: slog.New(slog.NewTextHandler(&e.logs, nil)), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.guard = guard
	mux := http.NewServeMux()
	e.ui = httptest.NewUnstartedServer(mux)
	e.ui.Start()
	t.Cleanup(e.ui.Close)
	if e.pairs, err = pairs.New(pairs.Options{DB: db, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{DB: db, Config: cfg, Pairs: e.pairs, Guard: e.guard, Scheduler: e.sched,
		BaseURL: e.ui.URL, FailedLoginDelay: -1, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(Prefix, h)
	return e
}

// browser is an HTTP client with its own cookies that does not follow
// redirects.
type browser struct {
	t  *testing.T
	c  *http.Client
	ui string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, ui: e.ui.URL, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request and returns the status, Location and body.
func (b *browser) do(method, target string, form url.Values) (int, string, string) {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.ui + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(raw)
}

func (b *browser) get(target string) (int, string, string) { return b.do(http.MethodGet, target, nil) }

// post posts form (with the CSRF token csrf added when not "").
func (b *browser) post(target, csrf string, form url.Values) (int, string, string) {
	if form == nil {
		form = url.Values{}
	}
	if csrf != "" {
		form.Set("csrf", csrf)
	}
	return b.do(http.MethodPost, target, form)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs user in and returns the session's CSRF token.
func (b *browser) signIn(user string) string {
	b.t.Helper()
	st, loc, _ := b.post("/ui/login", "", url.Values{"user": {user}, "password": {user + "-pw"}})
	if st != http.StatusSeeOther || loc != "/ui/" {
		b.t.Fatalf("sign in as %s: %d %s", user, st, loc)
	}
	return b.csrf()
}

// csrf reads the CSRF token from the dashboard.
func (b *browser) csrf() string {
	b.t.Helper()
	st, _, body := b.get("/ui/")
	m := csrfRE.FindStringSubmatch(body)
	if st != http.StatusOK || m == nil {
		b.t.Fatalf("dashboard: %d, no CSRF token in\n%s", st, body)
	}
	return m[1]
}

// consent plays the user on graphsim's consent page for an authorize URL
// and returns where graphsim redirects the browser (the callback URL).
func (e *env) consent(authorizeURL, login, password string) string {
	e.t.Helper()
	b := e.browser()
	st, _, body := b.get(authorizeURL)
	if st != http.StatusOK {
		e.t.Fatalf("authorize page: %d\n%s", st, body)
	}
	m := regexp.MustCompile(`name="session" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no consent form in\n%s", body)
	}
	u, _ := url.Parse(authorizeURL)
	u.RawQuery = ""
	st, loc, body := b.do(http.MethodPost, u.String(), url.Values{"session": {m[1]}, "login": {login}, "passwd": {password}, "consent": {"accept"}})
	if st != http.StatusFound || loc == "" {
		e.t.Fatalf("consent: %d %s\n%s", st, loc, body)
	}
	return loc
}

// connect starts "Connect Office 365" for b and returns the authorize URL.
func (e *env) connect(b *browser, csrf string) string {
	e.t.Helper()
	st, loc, body := b.post("/ui/connect", csrf, nil)
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, e.simTS.URL+"/contoso.example/oauth2/v2.0/authorize?") {
		e.t.Fatalf("connect: %d %s\n%s", st, loc, body)
	}
	return loc
}

// hasToken reports whether account has tokens stored.
func (e *env) hasToken(account string) bool {
	_, ok, err := e.db.LoadToken(context.Background(), account)
	if err != nil {
		e.t.Fatal(err)
	}
	return ok
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func idText(id int64) string { return strconv.FormatInt(id, 10) }

func countSessions(t *testing.T, db *state.DB) int {
	t.Helper()
	n, err := db.CountWebSessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rawSignIn signs user in with a fresh client and returns the Set-Cookie
// header.
func rawSignIn(t *testing.T, e *env, user string) string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(e.ui.URL+"/ui/login", url.Values{"user": {user}, "password": {user + "-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Set-Cookie")
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func formRequest(target string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
