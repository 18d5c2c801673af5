package pairs

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
	"golang.org/x/crypto/bcrypt"
)

// accountsRunner is a Runner over a fresh state and the configured
// accounts accs (by name).
func accountsRunner(t *testing.T, accs ...config.Account) (*Runner, *state.DB) {
	t.Helper()
	db := openDB(t, filepath.Join(t.TempDir(), "state.db"))
	cfg := &config.Config{State: db.Path(), Accounts: map[string]config.Account{}, Pairs: map[string]config.Pair{}}
	for _, a := range accs {
		cfg.Accounts[a.Name] = a
	}
	r, err := New(Options{DB: db, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return r, db
}

// webAccount adds server user user, who connects account on the web page.
func webAccount(t *testing.T, db *state.DB, account, user string) {
	t.Helper()
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	if err := db.AddUser(t.Context(), user, string(hash)); err != nil {
		t.Fatal(err)
	}
	if err := db.ClaimWebAccount(t.Context(), account, user); err != nil {
		t.Fatal(err)
	}
}

// TestAccounts: the configured accounts come first in the configuration's
// order, then those only the state knows (tokens of a removed account, a
// connection made on the web page), by name, each with what the state
// holds of it.
func TestAccounts(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t,
		config.Account{Name: "work", Tenant: "contoso.example", Flow: "device"},
		config.Account{Name: "app", Tenant: "contoso.example", Flow: "client-secret", User: "alice@contoso.example"})
	if got, err := r.Accounts(ctx); err != nil || len(got) != 2 || got[0].HasToken || got[1].HasToken {
		t.Fatalf("before any token: %+v, %v", got, err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, tok := range []state.AccountToken{
		{Name: "work", AccessToken: "a1", RefreshToken: "r1", Expiry: exp, User: "bob@contoso.example", Tenant: "contoso.example", Flow: "device"},
		{Name: "zz-gone", AccessToken: "a2", Tenant: "fabrikam.example", Flow: "browser"},
		{Name: "old", AccessToken: "a3", Tenant: "old.example", Flow: "device"},
	} {
		if err := db.SaveToken(ctx, tok.Name, tok); err != nil {
			t.Fatal(err)
		}
	}
	webAccount(t, db, "web-carol", "carol")
	got, err := r.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, tenant, flow, owner string
		configured, token         bool
	}{
		{"app", "contoso.example", "client-secret", "", true, false},
		{"work", "contoso.example", "device", "", true, true},
		{"old", "old.example", "device", "", false, true},
		{"web-carol", "", "", "carol", false, false},
		{"zz-gone", "fabrikam.example", "browser", "", false, true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d accounts, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Account.Name != w.name || g.Account.Tenant != w.tenant || g.Account.Flow != w.flow || g.Owner != w.owner || g.Configured != w.configured || g.HasToken != w.token {
			t.Errorf("account %d: %+v, want %+v", i, g, w)
		}
	}
	if w := got[1].Token; w.User != "bob@contoso.example" || !w.HasRefreshToken || !w.Expiry.Equal(exp) {
		t.Errorf("work's token: %+v", w)
	}
	if got[0].Account.User != "alice@contoso.example" {
		t.Errorf("a configured account keeps its configuration: %+v", got[0].Account)
	}
}

// TestStoredAccount: an account is stored when the state holds its
// tokens or a web page connection; the owner is who connected it.
func TestStoredAccount(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t)
	if err := db.SaveToken(ctx, "left", state.AccountToken{Name: "left", AccessToken: "a"}); err != nil {
		t.Fatal(err)
	}
	webAccount(t, db, "web-carol", "carol")
	for _, tc := range []struct {
		name, owner string
		stored      bool
	}{{"left", "", true}, {"web-carol", "carol", true}, {"nobody", "", false}} {
		owner, stored, err := r.StoredAccount(ctx, tc.name)
		if err != nil || owner != tc.owner || stored != tc.stored {
			t.Errorf("StoredAccount(%s) = %q, %v, %v; want %q, %v", tc.name, owner, stored, err, tc.owner, tc.stored)
		}
	}
}

// TestAppOnly: only the client secret and certificate flows sign in as
// an app.
func TestAppOnly(t *testing.T) {
	for flow, want := range map[string]bool{"": false, "device": false, "browser": false, "client-secret": true, "client-certificate": true} {
		if got := AppOnly(config.Account{Flow: flow}); got != want {
			t.Errorf("AppOnly(flow %q) = %v, want %v", flow, got, want)
		}
	}
}
