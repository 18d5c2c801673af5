package pairs

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
)

// TestChoices: the trash's ids complete in order (ListTrash is newest
// first), each described on one line; accounts by where they come from;
// no conflicts, no choices.
func TestChoices(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t, config.Account{Name: "work"})
	for _, e := range []*state.TrashEntry{
		{Pair: "p", Side: "a", UID: "u1", Card: viewCard("Ann\tLee", "T", "1"), Reason: "deleted"},
		{Pair: "p", Side: "b", UID: "u2", Card: []byte("junk"), Reason: "overwritten"},
	} {
		if err := db.AddTrash(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.TrashChoices(ctx)
	if want := []Choice{{Value: "1", Desc: "p: deleted Ann Lee"}, {Value: "2", Desc: "p: overwritten"}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("trash: %q, %v; want %q", got, err, want)
	}
	if got, err := r.AccountChoices(ctx); err != nil || !reflect.DeepEqual(got, []Choice{{Value: "work", Desc: "config"}}) {
		t.Errorf("accounts: %q, %v", got, err)
	}
	if got, err := r.ConflictChoices(ctx); err != nil || len(got) != 0 {
		t.Errorf("conflicts: %q, %v", got, err)
	}
	if got := idChoices(map[int64]string{10: "b:\n two", 9: "a"}); !reflect.DeepEqual(got, []Choice{{Value: "9", Desc: "a"}, {Value: "10", Desc: "b: two"}}) {
		t.Errorf("ids: %q", got)
	}
}

// TestListTrashAndLogoutTarget: a configured pair lists by its configured
// name (any case), a gone pair with entries lists them, another is
// ErrNoPair; logout finds a configured account by name (any case), one
// connected on the web page with its owner, and refuses others with
// ErrNoAccount.
func TestListTrashAndLogoutTarget(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t, config.Account{Name: "work"})
	r.Config().Pairs["kept"] = config.Pair{Name: "kept"}
	for _, p := range []string{"kept", "gone"} {
		if err := db.AddTrash(ctx, &state.TrashEntry{Pair: p, Side: "a", UID: "u", Card: []byte("x"), Reason: "deleted"}); err != nil {
			t.Fatal(err)
		}
	}
	for pair, want := range map[string]int{"": 2, "KEPT": 1, "gone": 1} {
		if es, err := r.ListTrash(ctx, pair); err != nil || len(es) != want {
			t.Errorf("ListTrash(%q): %d entries, %v; want %d", pair, len(es), err, want)
		}
	}
	if _, err := r.ListTrash(ctx, "never"); !errors.Is(err, ErrNoPair) {
		t.Errorf("unknown pair: %v", err)
	}
	webAccount(t, db, "web-dora", "dora")
	for _, tc := range []struct{ name, account, owner string }{{"WORK", "work", ""}, {"web-dora", "web-dora", "dora"}} {
		if acc, owner, err := r.LogoutTarget(ctx, tc.name); err != nil || acc != tc.account || owner != tc.owner {
			t.Errorf("LogoutTarget(%s) = %q, %q, %v", tc.name, acc, owner, err)
		}
	}
	if _, _, err := r.LogoutTarget(ctx, "nobody"); !errors.Is(err, ErrNoAccount) {
		t.Errorf("unknown account: %v", err)
	}
}

// TestFoldersAndLogout: an account's folders are listed by name (the
// default one left out); logout deletes its tokens.
func TestFoldersAndLogout(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	f.sim.AddFolder("Family")
	r := f.runner()
	acc, _ := f.cfg.Account("work")
	got, err := r.Folders(ctx, acc)
	if err != nil || !reflect.DeepEqual(got, []string{"Family"}) {
		t.Fatalf("folders: %q, %v", got, err)
	}
	if accs, _ := f.db.Accounts(ctx); len(accs) != 1 {
		t.Fatalf("app-only sign-in stored %d accounts", len(accs))
	}
	if err := r.Logout(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if accs, _ := f.db.Accounts(ctx); len(accs) != 0 {
		t.Errorf("after logout: %+v", accs)
	}
}

// TestOpenConflictsAndConflict: the open conflicts list in id order and
// one reads by id, resolved or not; an unknown id is state.ErrNotFound.
func TestOpenConflictsAndConflict(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t, config.Account{Name: "work"})
	for _, uid := range []string{"u1", "u2"} {
		if err := db.UpsertConflict(ctx, &state.Conflict{Pair: "p", UID: uid, A: viewCard("Ann", "", ""), B: viewCard("Bo", "", "")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.ResolveConflict(ctx, 2, "a", nil); err != nil {
		t.Fatal(err)
	}
	cs, err := r.OpenConflicts(ctx)
	if err != nil || len(cs) != 1 || cs[0].UID != "u1" {
		t.Fatalf("open conflicts: %+v, %v; want u1 only", cs, err)
	}
	if c, err := r.Conflict(ctx, 2); err != nil || c.UID != "u2" || c.Keep != "a" {
		t.Errorf("conflict 2: %+v, %v", c, err)
	}
	if _, err := r.Conflict(ctx, 9); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("conflict 9: %v, want ErrNotFound", err)
	}
}
