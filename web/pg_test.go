package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
	"golang.org/x/crypto/bcrypt"
)

// replicaHeader, on a request to the balancer, picks the replica that
// answers it (else the balancer's current one).
const replicaHeader = "X-Test-Replica"

// balancer is several web UI replicas over one state (a PostgreSQL
// database, or one SQLite file that several processes open) behind
// one URL (a load balancer): each replica is a handle of its own
// (*state.DB), its own pairs.Runner, sign-in guard, scheduler and
// Handler, as in separate `cardbridge serve` processes.
type balancer struct {
	t     *testing.T
	front *httptest.Server
	dbs   []*state.DB
	ui    []*Handler
	sched []*fakeSched
	to    atomic.Int32 // the replica answering requests without replicaHeader
	simTS *httptest.Server
}

// newBalancer starts n replicas over a new state on be (users alice and
// bob; graphsim as Office 365; the same token key on every replica, as a
// deployment must give them).
func newBalancer(t *testing.T, be pgtest.Backend, n int) *balancer {
	t.Helper()
	ctx := context.Background()
	loc := be.Location(t)
	key := bytes.Repeat([]byte{7}, state.TokenKeySize)
	lb := &balancer{t: t}
	for range n {
		lb.dbs = append(lb.dbs, statetest.Open(t, loc, state.Options{TokenKey: key}))
	}
	for _, u := range []string{"alice", "bob"} {
		hash, _ := bcrypt.GenerateFromPassword([]byte(u+"-pw"), bcrypt.MinCost)
		if err := lb.dbs[0].AddUser(ctx, u, string(hash)); err != nil {
			t.Fatal(err)
		}
	}
	sim := graphsim.New(graphsim.Options{})
	sim.AddApp(graphsim.App{ClientID: simClient, PublicClient: true, RedirectURIs: []string{"http://127.0.0.1/ui/connect/callback"}})
	sim.AddUser(graphsim.User{ID: "00000000-0000-0000-0000-0000000a11ce", UPN: simUser, DisplayName: "Alice", Password: simPass})
	lb.simTS = httptest.NewServer(sim)
	t.Cleanup(lb.simTS.Close)
	lb.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(lb.to.Load())
		if v := r.Header.Get(replicaHeader); v != "" {
			i, _ = strconv.Atoi(v)
		}
		lb.ui[i].ServeHTTP(w, r)
	}))
	t.Cleanup(lb.front.Close)
	dir := t.TempDir()
	for _, db := range lb.dbs {
		cfg := &config.Config{
			State:    loc,
			Accounts: map[string]config.Account{},
			Pairs: map[string]config.Pair{
				"alice-p": {Name: "alice-p", A: config.Side{Type: "server", User: "alice", Addressbook: "contacts"}, B: config.Side{Type: "vdir", Path: dir + "/a"}},
			},
			Server: config.Server{Listen: "127.0.0.1:0", Connect: config.Connect{ClientID: simClient, Tenant: "contoso.example", Cloud: "global",
				LoginURL: lb.simTS.URL, GraphURL: lb.simTS.URL + "/v1.0"}},
		}
		runner, err := pairs.New(pairs.Options{DB: db, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		sched := newFakeSched("alice-p")
		h, err := New(Options{DB: db, Config: cfg, Pairs: runner, Scheduler: sched, BaseURL: lb.front.URL, FailedLoginDelay: -1})
		if err != nil {
			t.Fatal(err)
		}
		lb.ui = append(lb.ui, h)
		lb.sched = append(lb.sched, sched)
	}
	return lb
}

// use sends the requests without replicaHeader to replica i.
func (lb *balancer) use(i int) { lb.to.Store(int32(i)) }

// browser is a browser of the balancer's URL.
func (lb *balancer) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: lb.t, ui: lb.front.URL, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// TestReplicasShareSessions: a session signed in on one replica is valid
// on the others; a form's CSRF token from one replica's page is accepted
// by another (and a wrong one refused there); signing out on a third ends
// the session on all.
func TestReplicasShareSessions(t *testing.T) { pgtest.ForBackends(t, testReplicasShareSessions) }

func testReplicasShareSessions(t *testing.T, be pgtest.Backend) {
	lb := newBalancer(t, be, 3)
	b := lb.browser()
	lb.use(0)
	csrf := b.signIn("alice")

	lb.use(1)
	if st, _, body := b.get("/ui/"); st != http.StatusOK || !strings.Contains(body, "alice") {
		t.Fatalf("replica 1 with replica 0's session: %d\n%s", st, body)
	}
	if st, _, body := b.post("/ui/pairs/alice-p/sync", "not-"+csrf, nil); st != http.StatusForbidden {
		t.Fatalf("replica 1 with a wrong CSRF token: %d\n%s", st, body)
	}
	if st, _, body := b.post("/ui/pairs/alice-p/sync", csrf, nil); st != http.StatusSeeOther {
		t.Fatalf("replica 1 with replica 0's CSRF token: %d\n%s", st, body)
	}
	if got := lb.sched[1].triggered(); len(got) != 1 || got[0] != "alice-p" {
		t.Fatalf("replica 1 triggered %v", got)
	}

	lb.use(2)
	if st, loc, _ := b.post("/ui/logout", csrf, nil); st != http.StatusSeeOther || !strings.Contains(loc, "signedout") {
		t.Fatalf("sign out on replica 2: %d %s", st, loc)
	}
	for i := range lb.ui {
		lb.use(i)
		if st, loc, _ := b.get("/ui/"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login") {
			t.Fatalf("replica %d after sign out: %d %s", i, st, loc)
		}
	}
	if n := countSessions(t, lb.dbs[0]); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

// TestReplicasTakeOAuthStateOnce: "Connect Office 365" started on one
// replica is finished by another (the state and PKCE verifier are in the
// database); the same callback sent to two replicas at once connects
// once: one answers "connected", the other refuses the used state, and
// the tokens sealed by one replica open on all.
func TestReplicasTakeOAuthStateOnce(t *testing.T) {
	pgtest.ForBackends(t, testReplicasTakeOAuthStateOnce)
}

func testReplicasTakeOAuthStateOnce(t *testing.T, be pgtest.Backend) {
	lb := newBalancer(t, be, 3)
	b := lb.browser()
	lb.use(0)
	csrf := b.signIn("alice")
	_, authz, _ := b.post("/ui/connect", csrf, nil)
	if !strings.HasPrefix(authz, lb.simTS.URL+"/contoso.example/oauth2/v2.0/authorize?") {
		t.Fatalf("connect on replica 0: redirected to %q", authz)
	}
	cb := (&env{t: t, ui: lb.front}).consent(authz, simUser, simPass) // consent uses none of env but the browser
	if !strings.HasPrefix(cb, lb.front.URL+"/ui/connect/callback?") {
		t.Fatalf("graphsim redirected to %s", cb)
	}

	codes, bodies := make([]int, 2), make([]string, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodGet, cb, nil)
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set(replicaHeader, strconv.Itoa(i+1))
			<-start
			resp, err := b.c.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, errs[i] = buf.ReadFrom(resp.Body)
			codes[i], bodies[i] = resp.StatusCode, buf.String()
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("callback on replica %d: %v", i+1, err)
		}
	}
	won := -1
	for i := range codes {
		switch {
		case codes[i] == http.StatusOK && strings.Contains(bodies[i], "Office 365 connected"):
			if won >= 0 {
				t.Fatalf("both replicas connected with one state")
			}
			won = i
		case codes[i] == http.StatusBadRequest && strings.Contains(bodies[i], "state mismatch, or it was used"):
		default:
			t.Fatalf("callback on replica %d: %d\n%s", i+1, codes[i], bodies[i])
		}
	}
	if won < 0 {
		t.Fatalf("no replica connected: %v", codes)
	}
	for i, db := range lb.dbs {
		tok, ok, err := db.LoadToken(context.Background(), "web-alice")
		if err != nil || !ok || tok.RefreshToken == "" {
			t.Fatalf("replica %d reads the tokens: %v, %v", i, ok, err)
		}
	}
	// The state is gone for every replica: the callback again is refused.
	lb.use(0)
	if st, _, body := b.get(cb); st != http.StatusBadRequest {
		t.Fatalf("the callback again on replica 0: %d\n%s", st, body)
	}
}
