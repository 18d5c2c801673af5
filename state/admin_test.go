package state

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
)

// TestAdminUsers: users listed by name with how they sign in (password,
// Microsoft identities), their book counts, filtered by a part of the
// name (wildcards taken literally) and paged, with the total.
func TestAdminUsers(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		for _, u := range []string{"alice", "carol", "a_b", "axb"} {
			if err := db.AddUser(ctx, u, "hash-"+u); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.CreateAddressBook(ctx, "alice", "work", "Work", ""); err != nil {
			t.Fatal(err)
		}
		bob, err := db.AddMicrosoftUser(ctx, "T1", "O1", "bob@t1.example", "bob")
		if err != nil {
			t.Fatal(err)
		}
		users, total, err := db.AdminUsers(ctx, "", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range users {
			names = append(names, u.Name)
		}
		if total != 5 || !slices.Equal(names, []string{"a_b", "alice", "axb", "bob", "carol"}) {
			t.Fatalf("users %v of %d", names, total)
		}
		a, b := users[1], users[3]
		if !a.Password || len(a.Identities) != 0 || a.Books != 2 || a.Created.IsZero() {
			t.Errorf("alice: %+v", a)
		}
		if b.Password || len(b.Identities) != 1 || b.Identities[0].TenantID != "t1" || b.Identities[0].UPN != "bob@t1.example" || b.Books != 1 || b.Name != bob.User {
			t.Errorf("bob: %+v", b)
		}

		cases := []struct {
			match         string
			offset, limit int
			want          []string
			total         int
		}{
			{"A", 0, 10, []string{"a_b", "alice", "axb", "carol"}, 4},
			{"_", 0, 10, []string{"a_b"}, 1}, // not a wildcard
			{"%", 0, 10, nil, 0},
			{"", 1, 2, []string{"alice", "axb"}, 5},
			{"", 4, 2, []string{"carol"}, 5},
			{"", 9, 2, nil, 5},
			{"", -1, 0, []string{"a_b"}, 5}, // clamped to offset 0, one user
		}
		for _, c := range cases {
			us, n, err := db.AdminUsers(ctx, c.match, c.offset, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range us {
				got = append(got, u.Name)
			}
			if n != c.total || !slices.Equal(got, c.want) {
				t.Errorf("%q %d+%d: %v of %d, want %v of %d", c.match, c.offset, c.limit, got, n, c.want, c.total)
			}
		}
	})
}

// TestAppPasswordsOf: the app passwords of the users named, by user and
// name, with their use; none for the others.
func TestAppPasswordsOf(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		for _, u := range []string{"alice", "bob", "carol"} {
			if err := db.AddUser(ctx, u, "hash-"+u); err != nil {
				t.Fatal(err)
			}
		}
		var bobTok string
		for _, p := range []struct{ user, name string }{{"alice", "phone"}, {"alice", "laptop"}, {"bob", "tablet"}, {"carol", "x"}} {
			tok, _, err := db.AddAppPassword(ctx, p.user, p.name)
			if err != nil {
				t.Fatal(err)
			}
			if p.user == "bob" {
				bobTok = tok
			}
		}
		if ok, err := db.CheckAppPassword(ctx, "bob", bobTok); !ok || err != nil {
			t.Fatal(ok, err)
		}
		got, err := db.AppPasswordsOf(ctx, []string{"alice", "bob", "nobody"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || len(got["alice"]) != 2 || got["alice"][0].Name != "laptop" || got["alice"][1].Name != "phone" || !got["alice"][0].LastUsed.IsZero() ||
			len(got["bob"]) != 1 || got["bob"][0].LastUsed.IsZero() || got["bob"][0].User != "bob" {
			t.Fatalf("%+v", got)
		}
		if got, err := db.AppPasswordsOf(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("none: %v %v", got, err)
		}
		many := make([]string, MaxAdminUsers+1)
		for i := range many {
			many[i] = fmt.Sprint("u", i)
		}
		if _, err := db.AppPasswordsOf(ctx, many); err == nil {
			t.Fatal("more than MaxAdminUsers names accepted")
		}
	})
}

// TestDirectorySummaries: per tenant, everyone and those with mail,
// enabled, members and all three; the last round's time and whether a
// token is held.
func TestDirectorySummaries(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		if got, err := db.DirectorySummaries(ctx); err != nil || len(got) != 0 {
			t.Fatalf("empty: %v %v", got, err)
		}
		before := time.Now().Add(-time.Second)
		people := []api.DirectoryUser{
			{ID: "1", DisplayName: sp("Ann"), Mail: sp("ann@t.example"), UserType: sp("Member")},
			{ID: "2", DisplayName: sp("Ben"), Mail: sp("ben@t.example"), UserType: sp("Guest")},
			{ID: "3", DisplayName: sp("Cy"), Mail: sp("cy@t.example"), UserType: sp("Member"), AccountEnabled: bp(false)},
			{ID: "4", DisplayName: sp("Di"), UserType: sp("Member")},
		}
		if err := db.ApplyDirectoryChanges(ctx, "TB", true, people, "tok"); err != nil {
			t.Fatal(err)
		}
		if err := db.ApplyDirectoryChanges(ctx, "ta", true, nil, "tok-a"); err != nil {
			t.Fatal(err)
		}
		got, err := db.DirectorySummaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].TenantID != "ta" || got[0].People != 0 || !got[0].HasToken || got[0].Refreshed.Before(before) {
			t.Fatalf("%+v", got)
		}
		s := got[1]
		if s.TenantID != "tb" || s.People != 4 || s.WithMail != 3 || s.Enabled != 3 || s.Members != 3 || s.Served != 1 || !s.HasToken || s.Refreshed.Before(before) {
			t.Fatalf("tb: %+v", s)
		}
	})
}

// TestLastFailedRuns: a pair is listed when its last finished run failed
// (a run in progress does not hide it; a later success does), with that
// run; failed items are counted per pair.
func TestLastFailedRuns(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
		runs := []Run{
			{Pair: "healed", Started: t0, Finished: t0.Add(time.Second), OK: false},
			{Pair: "healed", Started: t0.Add(time.Hour), Finished: t0.Add(time.Hour + time.Second), OK: true},
			{Pair: "broke", Started: t0, Finished: t0.Add(time.Second), OK: true},
			{Pair: "broke", Started: t0.Add(2 * time.Hour), Finished: t0.Add(2*time.Hour + time.Second), OK: false, Summary: []byte(`{"errors":["boom"]}`)},
			{Pair: "running", Started: t0.Add(time.Hour), Finished: t0.Add(time.Hour + time.Second), OK: false},
			{Pair: "running", Started: t0.Add(3 * time.Hour)},
		}
		for i := range runs {
			if err := db.AddRun(ctx, &runs[i]); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.LastFailedRuns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Pair != "broke" || got[0].ID != runs[3].ID || string(got[0].Summary) != `{"errors":["boom"]}` || !got[0].Finished.Equal(runs[3].Finished) ||
			got[1].Pair != "running" || got[1].ID != runs[4].ID {
			t.Fatalf("%+v", got)
		}

		for _, f := range []struct{ pair, id string }{{"broke", "x"}, {"broke", "y"}, {"healed", "z"}} {
			if err := db.Update(ctx, func(tx *Tx) error {
				return tx.RecordFailure(f.pair, Failure{Side: "a", SideID: f.id, Reason: "bad"}, t0)
			}); err != nil {
				t.Fatal(err)
			}
		}
		counts, err := db.FailedItemCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != 2 || counts["broke"] != 2 || counts["healed"] != 1 {
			t.Fatalf("counts %v", counts)
		}
	})
}
