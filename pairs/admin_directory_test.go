package pairs

import (
	"testing"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestAdminViewServedByOptions: the administrator view's Served count of a
// tenant with a configured directory account follows that account's
// options (guests, disabled, group); a tenant without one keeps the
// default rule.
func TestAdminViewServedByOptions(t *testing.T) { pgtest.ForBackends(t, testAdminViewServedByOptions) }

func testAdminViewServedByOptions(t *testing.T, be pgtest.Backend) {
	ctx := t.Context()
	loc := be.Location(t)
	db := openDB(t, loc)
	const ten, plain, grp = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002", "cccccccc-0000-4000-8000-000000000003"
	yes, no := true, false
	person := func(id, kind string, enabled bool) api.DirectoryUser {
		return api.DirectoryUser{ID: id, Mail: ptr(id + "@x.example"), UserType: ptr(kind), AccountEnabled: &enabled}
	}
	people := []api.DirectoryUser{person("m1", "Member", yes), person("m2", "Member", yes), person("g1", "Guest", yes), person("d1", "Member", no)}
	for _, tenant := range []string{ten, plain} {
		if err := db.ApplyDirectoryChanges(ctx, tenant, true, people, "tok"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.SetDirectoryGroupMembers(ctx, ten, grp, []string{"m1", "g1", "d1"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		book *config.DirectoryBook
		want int
	}{
		{"no directory account", nil, 2},
		{"defaults", &config.DirectoryBook{}, 2},
		{"guests", &config.DirectoryBook{Guests: true}, 3},
		{"guests and disabled", &config.DirectoryBook{Guests: true, Disabled: true}, 4},
		{"group", &config.DirectoryBook{Group: grp}, 1},
		{"group with guests and disabled", &config.DirectoryBook{Group: grp, Guests: true, Disabled: true}, 3},
	} {
		cfg := &config.Config{State: loc, Pairs: map[string]config.Pair{}, Accounts: map[string]config.Account{
			"org": {Name: "org", Tenant: ten, Flow: "client-secret", Directory: tt.book}}}
		r, err := New(Options{DB: db, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		v, err := r.AdminView(ctx, AdminOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]state.DirectorySummary{}
		for _, s := range v.Directory {
			got[s.TenantID] = s
		}
		if s := got[ten]; s.Served != tt.want || s.Configured != (tt.book != nil) || s.Options.Group != DirectoryOptions(cfg.Accounts["org"]).Group {
			t.Errorf("%s: served %d (configured %v, options %+v), want %d", tt.name, s.Served, s.Configured, s.Options, tt.want)
		}
		if s := got[plain]; s.Served != 2 || s.Configured {
			t.Errorf("%s: the other tenant: served %d configured %v, want 2 by the default rule", tt.name, s.Served, s.Configured)
		}
	}
}
