package pairs

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	davserver "github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"golang.org/x/crypto/bcrypt"
)

const (
	simClient = "11111111-2222-3333-4444-555555555555"
	simSecret = "sim-secret"
	simUser   = "alice@contoso.example"
	davUser   = "bob"
	davPass   = "bob-pw"
)

// fixture is one state, a graphsim, a CardDAV server (its own state) and
// the configuration that names them.
type fixture struct {
	t     *testing.T
	dir   string
	db    *state.DB
	cfg   *config.Config
	sim   *graphsim.Mailbox
	dav   string // the CardDAV address book's URL
	davDB *state.DB
	env   []string
	// graphHook, when set before a run, sees each request to the
	// simulated Graph API (/v1.0/...) before it is served.
	graphHook func(r *http.Request)
}

func openDB(t *testing.T, path string) *state.DB {
	t.Helper()
	return statetest.Open(t, path, state.Options{TokenKey: bytes.Repeat([]byte{3}, state.TokenKeySize)})
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, db: openDB(t, filepath.Join(dir, "state.db"))}
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	if err := f.db.AddUser(ctx, "carol", string(hash)); err != nil {
		t.Fatal(err)
	}

	sim := graphsim.New(graphsim.Options{})
	sim.AddApp(graphsim.App{ClientID: simClient, Secret: simSecret})
	f.sim = sim.AddUser(graphsim.User{UPN: simUser, DisplayName: "Alice", Password: "alice"})
	simTS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.graphHook != nil && strings.HasPrefix(r.URL.Path, "/v1.0/") {
			f.graphHook(r)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(simTS.Close)

	davDB := openDB(t, filepath.Join(dir, "dav.db"))
	f.davDB = davDB
	hash, _ = bcrypt.GenerateFromPassword([]byte(davPass), bcrypt.MinCost)
	if err := davDB.AddUser(ctx, davUser, string(hash)); err != nil {
		t.Fatal(err)
	}
	h, err := davserver.New(davserver.Options{Store: davDB})
	if err != nil {
		t.Fatal(err)
	}
	davTS := httptest.NewServer(h)
	t.Cleanup(davTS.Close)
	f.dav = davTS.URL + "/addressbooks/" + davUser + "/" + state.DefaultAddressBook + "/"
	t.Setenv("SIM_SECRET", simSecret) // o365/auth reads client_secret_env from the process
	f.env = []string{"DAV_PASS=" + davPass}

	f.cfg = &config.Config{
		State: f.db.Path(),
		Accounts: map[string]config.Account{"work": {Name: "work", Tenant: "contoso.example", ClientID: simClient,
			Flow: "client-secret", ClientSecretEnv: "SIM_SECRET", User: simUser, LoginURL: simTS.URL, GraphURL: simTS.URL + "/v1.0"}},
		Pairs: map[string]config.Pair{},
		Trash: config.DefaultTrash(),
	}
	return f
}

// vdirSide is a vCard directory under the fixture's folder.
func (f *fixture) vdirSide(name string) config.Side {
	return config.Side{Type: config.SideVdir, Path: filepath.Join(f.dir, name)}
}

// pair adds pair name (a ⇄ b, two-way, policy) to the configuration.
func (f *fixture) pair(name string, a, b config.Side, policy string) {
	f.cfg.Pairs[name] = config.Pair{Name: name, A: a, B: b, Direction: "two-way", Conflict: policy, MaxDelete: config.DefaultLimit()}
}

func (f *fixture) runner() *Runner {
	f.t.Helper()
	r, err := New(Options{DB: f.db, Config: f.cfg, Env: f.env})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// putCard writes a card into the vCard directory of side s.
func (f *fixture) putCard(s config.Side, uid, fn string) {
	f.t.Helper()
	if err := os.MkdirAll(s.Path, 0o700); err != nil {
		f.t.Fatal(err)
	}
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nN:" + fn + ";;;;\r\nEND:VCARD\r\n"
	if err := os.WriteFile(filepath.Join(s.Path, uid+".vcf"), []byte(card), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// vdirFNs is the FN of every card of a vCard directory, by file.
func (f *fixture) vdirFNs(s config.Side) map[string]string {
	f.t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(s.Path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		f.t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".vcf") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(s.Path, e.Name()))
		if err != nil {
			f.t.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\r\n") {
			if fn, ok := strings.CutPrefix(line, "FN:"); ok {
				out[e.Name()] = fn
			}
		}
	}
	return out
}

// bookCount is how many cards user's default book of db holds.
func bookCount(t *testing.T, db *state.DB, user string) int {
	t.Helper()
	b, err := db.AddressBook(t.Context(), user, state.DefaultAddressBook)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := db.Cards(t.Context(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// TestRunEachKind runs a pair of each side type once: the cards of one
// side reach the other, the run is recorded, and an Office 365 account's
// last sync is recorded.
func TestRunEachKind(t *testing.T) {
	cases := []struct {
		name  string
		other func(f *fixture) config.Side // the side the vdir "a" syncs with
		seed  func(f *fixture)             // cards on the other side before
		count func(f *fixture) int         // cards on the other side after
		want  int                          // 3 from the vdir + the seeded
		o365  bool
	}{
		{"vdir", func(f *fixture) config.Side { return f.vdirSide("b") }, func(*fixture) {},
			func(f *fixture) int { return len(f.vdirFNs(f.vdirSide("b"))) }, 3, false},
		{"server", func(*fixture) config.Side {
			return config.Side{Type: config.SideServer, User: "carol", Addressbook: state.DefaultAddressBook}
		}, func(*fixture) {}, func(f *fixture) int { return bookCount(t, f.db, "carol") }, 3, false},
		{"carddav", func(f *fixture) config.Side {
			return config.Side{Type: config.SideCardDAV, URL: f.dav, Username: davUser, PasswordEnv: "DAV_PASS"}
		}, func(*fixture) {}, func(f *fixture) int { return bookCount(t, f.davDB, davUser) }, 3, false},
		{"o365", func(*fixture) config.Side { return config.Side{Type: config.SideO365, Account: "work"} },
			func(f *fixture) { f.sim.Seed("", 4, 1) }, func(f *fixture) int { return len(f.sim.Contacts("")) }, 7, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			f := newFixture(t)
			a := f.vdirSide("a")
			for i := range 3 {
				f.putCard(a, fmt.Sprintf("uid-%d", i), fmt.Sprintf("Person %d", i))
			}
			tc.seed(f)
			f.pair("p", a, tc.other(f), "merge")
			res, err := f.runner().Run(ctx, "p", RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK() {
				t.Fatalf("errors: %v", res.Errors)
			}
			if got := len(f.vdirFNs(a)); got != tc.want {
				t.Errorf("side a holds %d cards, want %d", got, tc.want)
			}
			if got := tc.count(f); got != tc.want {
				t.Errorf("side b holds %d cards, want %d", got, tc.want)
			}
			if n, err := f.db.CountItems(ctx, "p"); err != nil || n != tc.want {
				t.Errorf("state links %d items (%v), want %d", n, err, tc.want)
			}
			if _, ok, err := f.db.LastRun(ctx, "p"); err != nil || !ok {
				t.Errorf("no run recorded (%v)", err)
			}
			if got := !lastSync(t, f.db, "work").IsZero(); got != tc.o365 {
				t.Errorf("account work has a last sync: %v, want %v", got, tc.o365)
			}
		})
	}
}

// lastSync is account name's last sync in db (zero when none).
func lastSync(t *testing.T, db *state.DB, name string) time.Time {
	t.Helper()
	accs, err := db.Accounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		if a.Name == name {
			return a.LastSync
		}
	}
	return time.Time{}
}

// TestRunDryRun: a dry run plans, writes no side and records no last sync.
func TestRunDryRun(t *testing.T) {
	f := newFixture(t)
	a, b := f.vdirSide("a"), config.Side{Type: config.SideO365, Account: "work"}
	f.putCard(a, "u1", "Ann")
	f.pair("p", a, b, "merge")
	res, err := f.runner().Run(t.Context(), "p", RunOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan == nil || len(res.Plan.Actions) != 1 {
		t.Fatalf("plan %+v, want one action", res.Plan)
	}
	if n := len(f.sim.Contacts("")); n != 0 {
		t.Errorf("a dry run wrote %d contacts to Office 365", n)
	}
	if !lastSync(t, f.db, "work").IsZero() {
		t.Error("a dry run recorded the account's last sync")
	}
}

// conflictFixture syncs card u1 between two vdirs (manual policy), then
// changes it differently on both and runs: one open conflict.
func conflictFixture(t *testing.T) (*fixture, *Runner, config.Side, config.Side, state.Conflict) {
	t.Helper()
	ctx := t.Context()
	f := newFixture(t)
	a, b := f.vdirSide("a"), f.vdirSide("b")
	f.putCard(a, "u1", "Ann")
	f.pair("p", a, b, "manual")
	r := f.runner()
	if _, err := r.Run(ctx, "p", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	f.putCard(a, "u1", "Ann A")
	f.putCard(b, "u1", "Ann B")
	res, err := r.Run(ctx, "p", RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := f.db.Conflicts(ctx, "p", true)
	if err != nil || len(cs) != 1 || res.Conflicts != 1 {
		t.Fatalf("%d open conflicts (%v), result %d, want 1", len(cs), err, res.Conflicts)
	}
	return f, r, a, b, cs[0]
}

// TestResolve: keeping a, b or merged of a conflict writes that version
// to both sides at the next run and closes the conflict; a bad choice and
// a second choice after the run are refused.
func TestResolve(t *testing.T) {
	cases := []struct{ keep, want string }{
		{"a", "Ann A"},
		{"b", "Ann B"},
	}
	for _, tc := range cases {
		t.Run(tc.keep, func(t *testing.T) {
			ctx := t.Context()
			f, r, a, b, c := conflictFixture(t)
			if err := r.Resolve(ctx, c, "c"); !errors.Is(err, ErrBadKeep) {
				t.Errorf("keep c: %v, want ErrBadKeep", err)
			}
			if err := r.Resolve(ctx, c, tc.keep); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Run(ctx, "p", RunOptions{}); err != nil {
				t.Fatal(err)
			}
			for name, s := range map[string]config.Side{"a": a, "b": b} {
				if got := f.vdirFNs(s)["u1.vcf"]; got != tc.want {
					t.Errorf("side %s: FN %q, want %q", name, got, tc.want)
				}
			}
			if cs, _ := f.db.Conflicts(ctx, "p", true); len(cs) != 0 {
				t.Errorf("%d conflicts still open", len(cs))
			}
			applied, err := f.db.GetConflict(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Resolve(ctx, applied, "a"); !errors.Is(err, ErrApplied) {
				t.Errorf("resolving an applied conflict: %v, want ErrApplied", err)
			}
		})
	}
}

// syncedVdirs is pair p (merge) of two vCard directories, a holding cards
// u1, u2, ... named fns, synced once.
func syncedVdirs(t *testing.T, fns ...string) (*fixture, *Runner, config.Side, config.Side) {
	t.Helper()
	f := newFixture(t)
	a, b := f.vdirSide("a"), f.vdirSide("b")
	for i, fn := range fns {
		f.putCard(a, fmt.Sprintf("u%d", i+1), fn)
	}
	f.pair("p", a, b, "merge")
	r := f.runner()
	if _, err := r.Run(t.Context(), "p", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return f, r, a, b
}

// TestRestore: a card deleted on one side is deleted on the other and
// kept in the trash; restoring it brings it back on both at the next run.
func TestRestore(t *testing.T) {
	ctx := t.Context()
	f, r, a, b := syncedVdirs(t, "Ann", "Bob", "Cy", "Di")
	if err := os.Remove(filepath.Join(a.Path, "u1.vcf")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, "p", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.vdirFNs(b)); n != 3 {
		t.Fatalf("side b holds %d cards after the delete, want 3", n)
	}
	es, err := f.db.ListTrash(ctx, "p")
	if err != nil || len(es) != 1 {
		t.Fatalf("trash %v (%v), want one entry", es, err)
	}
	// The trash's pairs: every one with a trash, or the one named, by its
	// configured name, or as the trash knows it once unconfigured.
	f.pair("q", f.vdirSide("c"), f.vdirSide("d"), "merge")
	for _, tc := range []struct{ pair, want string }{{"", "p"}, {"P", "p"}, {"q", "q"}, {"zz", "error"}} {
		got, err := r.TrashTargets(ctx, tc.pair)
		if s := strings.Join(got, ","); (tc.want == "error") != errors.Is(err, ErrNoPair) || (err == nil && s != tc.want) {
			t.Errorf("TrashTargets(%q) = %v, %v; want %s", tc.pair, got, err, tc.want)
		}
	}
	if _, err := r.RestoreEntry(ctx, es[0].ID+100); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("restoring no entry: %v, want ErrNotFound", err)
	}
	e, err := r.RestoreEntry(ctx, es[0].ID)
	if err != nil || e.ID != es[0].ID || e.Pair != "p" {
		t.Fatalf("RestoreEntry: %+v, %v", e, err)
	}
	if _, err := r.Run(ctx, "p", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]config.Side{"a": a, "b": b} {
		if got := len(f.vdirFNs(s)); got != 4 {
			t.Errorf("side %s holds %d cards after the restore, want 4", name, got)
		}
	}
	delete(f.cfg.Pairs, "p")
	if got, err := r.TrashTargets(ctx, "p"); err != nil || strings.Join(got, ",") != "p" {
		t.Errorf("an unconfigured pair with a trash: %v, %v", got, err)
	}
}

// TestRunErrors: what cannot run says which pair, side and why; the
// engine's own errors come back typed.
func TestRunErrors(t *testing.T) {
	cases := []struct {
		name string
		b    config.Side
		run  string // the pair run; "p" when ""
		want string // in the error
		is   error
	}{
		{"no pair", config.Side{}, "nope", "pair nope: no such pair", ErrNoPair},
		{"no account", config.Side{Type: config.SideO365, Account: "gone"}, "", `pair p: side b: no account "gone"`, nil},
		{"password_env unset", config.Side{Type: config.SideCardDAV, URL: "http://127.0.0.1:1/", PasswordEnv: "UNSET_PW"}, "",
			"pair p: side b: password_env: the environment variable UNSET_PW is not set", nil},
		{"unknown type", config.Side{Type: "ldap"}, "", `pair p: side b: side type "ldap" is not available`, nil},
		{"bad ca_file", config.Side{Type: config.SideCardDAV, URL: "https://127.0.0.1:1/", CAFile: "/nonexistent/ca.pem"}, "",
			"pair p: side b: ca_file:", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.pair("p", f.vdirSide("a"), tc.b, "merge")
			run := tc.run
			if run == "" {
				run = "p"
			}
			_, err := f.runner().Run(t.Context(), run, RunOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
	if _, err := New(Options{Config: &config.Config{}}); err == nil {
		t.Error("New without a DB: no error")
	}
	if _, err := New(Options{DB: newFixture(t).db}); err == nil {
		t.Error("New without a configuration: no error")
	}
}

// TestWebPairs: a pair made on the web page is merged with the configured
// ones (its account is server.connect's app), runs by its name, is listed
// among its user's pairs, and is left out when a configured pair takes its
// name.
func TestWebPairs(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	f.pair("carol-p", config.Side{Type: config.SideServer, User: "carol", Addressbook: state.DefaultAddressBook}, f.vdirSide("a"), "merge")
	f.pair("other", f.vdirSide("c"), f.vdirSide("d"), "merge")
	f.cfg.Server.Connect = config.Connect{ClientID: simClient, Tenant: "contoso.example", Cloud: "global",
		LoginURL: "http://127.0.0.1:1", GraphURL: "http://127.0.0.1:1/v1.0"}
	name, err := f.db.CreateWebPair(ctx, state.WebPair{Name: "web-carol:work", User: "carol", Account: "web-carol",
		Addressbook: "work", Every: time.Hour}, "Work")
	if err != nil {
		t.Fatal(err)
	}
	r := f.runner()
	merged, skipped, err := r.Pairs(ctx)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("Pairs: skipped %v, %v", skipped, err)
	}
	p, ok := merged.Pair(name)
	if !ok || p.A.Type != config.SideO365 || p.A.Account != "web-carol" || p.B.Type != config.SideServer || p.B.Addressbook != "work" || p.Conflict != "merge" {
		t.Fatalf("web pair %s: %+v (found %v)", name, p, ok)
	}
	if acc, ok := merged.Account("web-carol"); !ok || acc.ClientID != simClient {
		t.Errorf("web pair's account: %+v (found %v)", acc, ok)
	}
	if _, ok := f.cfg.Pair(name); ok {
		t.Error("Pairs changed the Runner's configuration")
	}
	// It runs by its name: the account has not signed in, which is what
	// the run says (the pair was found and its sides opened in order).
	if _, err := r.Run(ctx, name, RunOptions{}); err == nil || errors.Is(err, ErrNoPair) {
		t.Errorf("running the web pair: %v, want a sign-in error", err)
	}
	ups, err := r.UserPairs(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, up := range ups {
		got = append(got, fmt.Sprintf("%s web=%v", up.Name, up.Web))
	}
	if want := []string{"carol-p web=false", name + " web=true"}; strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("carol's pairs %v, want %v", got, want)
	}
	f.pair(name, f.vdirSide("e"), f.vdirSide("f"), "merge") // a configured pair takes the name
	if _, skipped, _ := f.runner().Pairs(ctx); len(skipped) != 1 || !strings.Contains(skipped[0], "a configured pair has that name") {
		t.Errorf("skipped %v, want the web pair named", skipped)
	}
}

// TestPurgeTrash: a deleted card's trash entry is purged by age (the
// pair's retention, or olderThan), by the daily housekeeping, and kept
// when the trash is kept whatever its age and size.
func TestPurgeTrash(t *testing.T) {
	cases := []struct {
		name      string
		trash     config.Trash
		olderThan time.Duration
		daily     bool // Housekeeping instead of PurgeTrash
		purged    int
	}{
		{"retention", config.Trash{Retention: time.Nanosecond}, 0, false, 1},
		{"older than", config.DefaultTrash(), time.Nanosecond, false, 1},
		{"not old yet", config.DefaultTrash(), 0, false, 0},
		{"housekeeping", config.Trash{Retention: time.Nanosecond}, 0, true, 1},
		{"kept forever", config.Trash{}, 0, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			f := newFixture(t)
			a, b := f.vdirSide("a"), f.vdirSide("b")
			for i := range 4 {
				f.putCard(a, fmt.Sprintf("u%d", i), fmt.Sprintf("P %d", i))
			}
			f.pair("p", a, b, "merge")
			r := f.runner()
			if _, err := r.Run(ctx, "p", RunOptions{}); err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(a.Path, "u0.vcf"))
			if _, err := r.Run(ctx, "p", RunOptions{}); err != nil {
				t.Fatal(err)
			}
			if es, _ := f.db.ListTrash(ctx, "p"); len(es) != 1 {
				t.Fatalf("%d trash entries, want 1", len(es))
			}
			f.cfg.Trash = tc.trash
			time.Sleep(time.Millisecond)
			if tc.daily {
				if err := r.Housekeeping(ctx); err != nil {
					t.Fatal(err)
				}
			} else {
				done, err := r.PurgeTrash(ctx, []string{"p"}, tc.olderThan, true)
				if err != nil {
					t.Fatal(err)
				}
				if len(done) != 1 || done[0].Pair != "p" || done[0].Result.Entries != tc.purged {
					t.Errorf("purged %+v, want %d entries of p", done, tc.purged)
				}
			}
			if es, _ := f.db.ListTrash(ctx, "p"); len(es) != 1-tc.purged {
				t.Errorf("%d trash entries left, want %d", len(es), 1-tc.purged)
			}
		})
	}
}
