package o365_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/side/o365"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

// newSim returns a simulator with opts that knows the test app and the
// test user (whose mailbox it returns too).
func newSim(opts graphsim.Options) (*graphsim.Server, *graphsim.Mailbox) {
	sim := graphsim.New(opts)
	sim.AddApp(graphsim.App{ClientID: testClient, PublicClient: true})
	mb := sim.AddUser(graphsim.User{ID: "00000000-0000-0000-0000-000000000b0b", UPN: testUser, Password: "bob"})
	return sim, mb
}

// serveSim serves h (sim, or sim behind a wrapper) until the test ends and
// returns its URL and a token sim issued to the test user with scopes
// (none: the simulator's default scopes).
func serveSim(t testing.TB, sim *graphsim.Server, h http.Handler, scopes ...string) (url, tok string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tok, err := sim.IssueToken(testClient, testUser, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, tok
}

// newClient returns a Graph client of its own for the simulator at url,
// signed in with tok; gopts gives the other options.
func newClient(t testing.TB, url, tok string, gopts graph.Options) *graph.Client {
	t.Helper()
	gopts.BaseURL, gopts.Tokens = url+"/v1.0", staticToken(tok)
	c, err := graph.New(gopts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openSide opens a side with opts on client c; it is closed when the test
// ends.
func openSide(t testing.TB, c *graph.Client, opts o365.Options) *o365.Side {
	t.Helper()
	opts.Client = c
	s, err := o365.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tempState opens a fresh state file, closed when the test ends.
func tempState(t testing.TB) *state.DB {
	t.Helper()
	return statetest.Open(t, filepath.Join(t.TempDir(), "s.db"), state.Options{})
}

// countPhotoPuts is sim behind a counter of the photo uploads (PUT
// …/photo/$value) it is sent.
func countPhotoPuts(sim http.Handler, puts *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/photo/$value") {
			puts.Add(1)
		}
		sim.ServeHTTP(w, r)
	})
}
