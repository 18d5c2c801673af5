package serve

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

// orgTenant is the graphsim tenant of the tests of serve's directory and
// mailbox jobs: one app-only app whose secret is in $SIM_SECRET, served
// over HTTP.
type orgTenant struct {
	sim *graphsim.Server
	url string
}

// newOrgTenant serves a new graphsim with the app (application roles
// roles; nil: graphsim's default); seen, when not nil, sees every request
// first.
func newOrgTenant(t *testing.T, roles []string, seen func(*http.Request)) orgTenant {
	t.Helper()
	const client, secret = "11111111-2222-3333-4444-555555555555", "sim-secret"
	sim := graphsim.New(graphsim.Options{})
	sim.AddApp(graphsim.App{ClientID: client, Secret: secret, Roles: roles})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			seen(r)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Setenv("SIM_SECRET", secret)
	return orgTenant{sim: sim, url: ts.URL}
}

// runner opens a fresh state and a pairs.Runner over it whose
// configuration has one account, "org": the app-only account of the
// tenant with set applied (its directory, mailboxes …).
func (o orgTenant) runner(t *testing.T, set func(*config.Account)) (*state.DB, *pairs.Runner) {
	t.Helper()
	acc := config.Account{Name: "org", Tenant: o.sim.Tenants()[0], ClientID: "11111111-2222-3333-4444-555555555555", Flow: "client-secret",
		ClientSecretEnv: "SIM_SECRET", LoginURL: o.url, GraphURL: o.url + "/v1.0"}
	set(&acc)
	db := statetest.Open(t, filepath.Join(t.TempDir(), "state.db"), state.Options{TokenKey: bytes.Repeat([]byte{3}, state.TokenKeySize)})
	cfg := &config.Config{State: db.Path(), Pairs: map[string]config.Pair{}, Accounts: map[string]config.Account{"org": acc}}
	runner, err := pairs.New(pairs.Options{DB: db, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return db, runner
}
