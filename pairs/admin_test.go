package pairs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestAdminView: users with their pairs (configured and web-made) and app
// passwords, paged; the directory summaries; the pairs whose last run
// failed with their errors (cut) and owners, and failed item counts —
// pairs that no longer exist left out.
func TestAdminView(t *testing.T) { pgtest.ForBackends(t, testAdminView) }

func testAdminView(t *testing.T, be pgtest.Backend) {
	ctx := t.Context()
	loc := be.Location(t)
	db := openDB(t, loc)
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := db.AddUser(ctx, u, "hash"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateWebPair(ctx, state.WebPair{Name: "web-carol-o", User: "carol", Account: "web-carol", Addressbook: "o", Every: time.Hour}, "Office"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddAppPassword(ctx, "bob", "phone"); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{State: loc, Accounts: map[string]config.Account{}, Pairs: map[string]config.Pair{
		"alice-p": {Name: "alice-p", A: config.Side{Type: config.SideServer, User: "alice", Addressbook: "contacts"}, B: config.Side{Type: config.SideVdir, Path: "/x"}},
		"both":    {Name: "both", A: config.Side{Type: config.SideServer, User: "bob", Addressbook: "contacts"}, B: config.Side{Type: config.SideServer, User: "alice", Addressbook: "b"}},
		"folders": {Name: "folders", A: config.Side{Type: config.SideVdir, Path: "/a"}, B: config.Side{Type: config.SideVdir, Path: "/b"}},
	}}
	r, err := New(Options{DB: db, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyDirectoryChanges(ctx, "t1", true, []api.DirectoryUser{{ID: "1", Mail: ptr("a@t1.example")}}, "tok"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour)
	long := "x" + strings.Repeat("é", maxErrorText) // byte maxErrorText is inside a character
	for _, run := range []state.Run{
		{Pair: "both", Started: t0, Finished: t0.Add(time.Second), Summary: []byte(fmt.Sprintf(`{"errors":["e1","e2","%s","e4","e5"]}`, long))},
		{Pair: "web-carol-o", Started: t0.Add(time.Minute), Finished: t0.Add(2 * time.Minute), Summary: []byte(`{"errors":["token expired"]}`)},
		{Pair: "alice-p", Started: t0, Finished: t0.Add(time.Second), OK: true},
		{Pair: "gone", Started: t0, Finished: t0.Add(time.Second)},
	} {
		if err := db.AddRun(ctx, &run); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []struct{ pair, id string }{{"alice-p", "1"}, {"both", "1"}, {"both", "2"}, {"gone", "1"}} {
		if err := db.Update(ctx, func(tx *state.Tx) error {
			return tx.RecordFailure(f.pair, state.Failure{Side: "a", SideID: f.id, Reason: "bad"}, t0)
		}); err != nil {
			t.Fatal(err)
		}
	}

	v, err := r.AdminView(ctx, AdminOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.TotalUsers != 3 || len(v.Users) != 3 || v.Limit != DefaultAdminUsers {
		t.Fatalf("users: %+v", v)
	}
	alice, bob, carol := v.Users[0], v.Users[1], v.Users[2]
	if !slices.Equal(alice.Pairs, []string{"alice-p", "both"}) || !slices.Equal(bob.Pairs, []string{"both"}) || !slices.Equal(carol.Pairs, []string{"web-carol-o"}) {
		t.Errorf("pairs: %v %v %v", alice.Pairs, bob.Pairs, carol.Pairs)
	}
	if len(bob.AppPasswords) != 1 || bob.AppPasswords[0].Name != "phone" || len(alice.AppPasswords) != 0 {
		t.Errorf("app passwords: %+v %+v", bob.AppPasswords, alice.AppPasswords)
	}
	if carol.Books != 2 || !carol.Password {
		t.Errorf("carol: %+v", carol.AdminUser)
	}
	if len(v.Directory) != 1 || v.Directory[0].TenantID != "t1" || v.Directory[0].People != 1 || !v.Directory[0].HasToken {
		t.Errorf("directory: %+v", v.Directory)
	}
	if len(v.FailedRuns) != 2 || v.MoreFailedRuns != 0 {
		t.Fatalf("failed runs: %+v", v.FailedRuns)
	}
	w, b := v.FailedRuns[0], v.FailedRuns[1]
	if w.Pair != "web-carol-o" || !slices.Equal(w.Users, []string{"carol"}) || !slices.Equal(w.Errors, []string{"token expired"}) || w.When.IsZero() {
		t.Errorf("web pair's run: %+v", w)
	}
	if b.Pair != "both" || !slices.Equal(b.Users, []string{"alice", "bob"}) || len(b.Errors) != maxRunErrors || b.MoreErrors != 2 ||
		b.Errors[2] != "x"+strings.Repeat("é", maxErrorText/2-1)+"…" {
		t.Errorf("both's run: %+v", b)
	}
	if len(v.FailedItems) != 2 || v.FailedItems[0].Pair != "both" || !slices.Equal(v.FailedItems[0].Users, []string{"alice", "bob"}) || v.FailedItems[0].Count != 2 ||
		v.FailedItems[1].Pair != "alice-p" || v.FailedItems[1].Count != 1 {
		t.Errorf("failed items: %+v", v.FailedItems)
	}

	// A page of one, filtered.
	v, err = r.AdminView(ctx, AdminOptions{Match: "O", Offset: 1, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v.TotalUsers != 2 || len(v.Users) != 1 || v.Users[0].Name != "carol" || v.Offset != 1 || v.Limit != 1 {
		t.Errorf("page: %+v", v)
	}
	if v, err := r.AdminView(ctx, AdminOptions{Limit: state.MaxAdminUsers + 1}); err != nil || v.Limit != state.MaxAdminUsers {
		t.Errorf("limit clamped: %d %v", v.Limit, err)
	}
}

// TestAdminViewBounds: more failed runs and pairs with failed items than
// MaxAdminErrors are counted, not listed.
func TestAdminViewBounds(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t)
	n := MaxAdminErrors + 3
	t0 := time.Now().Add(-time.Hour)
	for i := range n {
		name := fmt.Sprintf("p%03d", i)
		r.o.Config.Pairs[name] = config.Pair{Name: name, A: config.Side{Type: config.SideVdir, Path: "/a"}, B: config.Side{Type: config.SideVdir, Path: "/b"}}
		if err := db.AddRun(ctx, &state.Run{Pair: name, Started: t0, Finished: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if err := db.Update(ctx, func(tx *state.Tx) error {
			return tx.RecordFailure(name, state.Failure{Side: "a", SideID: "x", Reason: "bad"}, t0)
		}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := r.AdminView(ctx, AdminOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.FailedRuns) != MaxAdminErrors || v.MoreFailedRuns != 3 || v.FailedRuns[0].Pair != fmt.Sprintf("p%03d", n-1) {
		t.Errorf("failed runs: %d listed, %d more, first %s", len(v.FailedRuns), v.MoreFailedRuns, v.FailedRuns[0].Pair)
	}
	if len(v.FailedItems) != MaxAdminErrors || v.MoreFailedItems != 3 || v.FailedItems[0].Pair != "p000" {
		t.Errorf("failed items: %d listed, %d more", len(v.FailedItems), v.MoreFailedItems)
	}
}

func ptr[T any](v T) *T { return &v }
