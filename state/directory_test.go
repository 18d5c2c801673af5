package state

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/o365/api"
)

func sp(s string) *string { return &s }
func bp(b bool) *bool     { return &b }

func dirNames(us []DirectoryUser) string {
	var n []string
	for _, u := range us {
		n = append(n, u.DisplayName)
	}
	return strings.Join(n, ",")
}

// TestDirectoryChanges: a full round stores the tenant's users and token; a
// later round merges partial changes (absent properties kept), moves and
// clears managers, removes users; guests, disabled accounts and users
// without mail are left out by default; tenants are apart; a full round
// again drops users it does not name.
func TestDirectoryChanges(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		const ten, other = "AAAAAAAA-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
		if tok, err := db.DirectoryToken(ctx, ten); err != nil || tok != "" {
			t.Fatalf("token before any round: %q %v", tok, err)
		}
		full := []api.DirectoryUser{
			{ID: "C1", DisplayName: sp("Carol"), Mail: sp("carol@c.example"), JobTitle: sp("CTO"), Department: sp("R&D"),
				BusinessPhones: []string{"+1 555 0100"}, OtherMails: []string{"carol@home.example"}, AccountEnabled: bp(true), UserType: sp("Member")},
			{ID: "b2", DisplayName: sp("Bob"), Mail: sp("bob@c.example"), OfficeLocation: sp("B1"), AccountEnabled: bp(true), UserType: sp("Member"),
				ManagerDelta: []api.DirectoryObject{{ID: "c1"}}},
			{ID: "d3", DisplayName: sp("Dave"), Mail: sp("dave@c.example"), AccountEnabled: bp(false), UserType: sp("Member")},
			{ID: "e4", DisplayName: sp("Erin"), Mail: sp("erin@f.example"), AccountEnabled: bp(true), UserType: sp("Guest")},
			{ID: "f5", DisplayName: sp("Frank"), AccountEnabled: bp(true), UserType: sp("Member")},
			{ID: "b2", DisplayName: sp("Bob"), Mail: sp("bob@c.example"), OfficeLocation: sp("B1"), AccountEnabled: bp(true), UserType: sp("Member"),
				ManagerDelta: []api.DirectoryObject{{ID: "c1"}}}, // a repeat in the snapshot
		}
		if err := db.ApplyDirectoryChanges(ctx, ten, true, full, "tok1"); err != nil {
			t.Fatal(err)
		}
		if err := db.ApplyDirectoryChanges(ctx, other, true, []api.DirectoryUser{{ID: "x", DisplayName: sp("Xena"), Mail: sp("x@o.example")}}, "otok"); err != nil {
			t.Fatal(err)
		}
		us, err := db.DirectoryUsers(ctx, ten, DirectoryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := dirNames(us); got != "Bob,Carol" {
			t.Fatalf("default listing %q, want Bob,Carol", got)
		}
		if b := us[0]; b.ManagerID != "c1" || b.ManagerName != "Carol" || b.Office != "B1" || !b.Enabled || b.TenantID != strings.ToLower(ten) {
			t.Fatalf("bob %+v", b)
		}
		if c := us[1]; c.ObjectID != "c1" || !slices.Equal(c.BusinessPhones, []string{"+1 555 0100"}) || !slices.Equal(c.OtherMails, []string{"carol@home.example"}) || c.JobTitle != "CTO" || c.Department != "R&D" {
			t.Fatalf("carol %+v", c)
		}
		all, err := db.DirectoryUsers(ctx, ten, DirectoryOptions{IncludeGuests: true, IncludeDisabled: true, IncludeWithoutMail: true})
		if err != nil || dirNames(all) != "Bob,Carol,Dave,Erin,Frank" {
			t.Fatalf("everyone: %q %v", dirNames(all), err)
		}
		if tok, _ := db.DirectoryToken(ctx, ten); tok != "tok1" {
			t.Fatalf("token %q", tok)
		}

		// a later round: carol changes title only, bob loses his manager,
		// dave is enabled, erin is removed, gina joins
		later := []api.DirectoryUser{
			{ID: "c1", JobTitle: sp("CEO")},
			{ID: "b2", ManagerDelta: []api.DirectoryObject{}},
			{ID: "d3", AccountEnabled: bp(true)},
			{ID: "e4", Removed: &api.Removed{Reason: "changed"}},
			{ID: "g6", DisplayName: sp("Gina"), Mail: sp("gina@c.example"), UserType: sp("Member"), AccountEnabled: bp(true), ManagerDelta: []api.DirectoryObject{{ID: "c1"}}},
		}
		if err := db.ApplyDirectoryChanges(ctx, ten, false, later, "tok2"); err != nil {
			t.Fatal(err)
		}
		us, err = db.DirectoryUsers(ctx, ten, DirectoryOptions{})
		if err != nil || dirNames(us) != "Bob,Carol,Dave,Gina" {
			t.Fatalf("after changes %q %v", dirNames(us), err)
		}
		if b := us[0]; b.ManagerID != "" || b.ManagerName != "" || b.Office != "B1" || b.Mail != "bob@c.example" {
			t.Fatalf("bob after losing his manager %+v", b)
		}
		if c := us[1]; c.JobTitle != "CEO" || c.Department != "R&D" || c.Mail != "carol@c.example" || len(c.BusinessPhones) != 1 {
			t.Fatalf("carol after a partial change %+v", c)
		}
		if g := us[3]; g.ManagerName != "Carol" {
			t.Fatalf("gina %+v", g)
		}
		if all, _ := db.DirectoryUsers(ctx, ten, DirectoryOptions{IncludeGuests: true}); dirNames(all) != "Bob,Carol,Dave,Gina" {
			t.Fatalf("removed guest still there: %q", dirNames(all))
		}
		if tok, _ := db.DirectoryToken(ctx, ten); tok != "tok2" {
			t.Fatalf("token %q", tok)
		}
		if o, _ := db.DirectoryUsers(ctx, other, DirectoryOptions{}); dirNames(o) != "Xena" {
			t.Fatalf("other tenant %q", dirNames(o))
		}

		// a bad change rolls the whole round back
		if err := db.ApplyDirectoryChanges(ctx, ten, false, []api.DirectoryUser{{ID: "c1", JobTitle: sp("Boss")}, {ID: ""}}, "tok3"); err == nil {
			t.Fatal("a change without an id was accepted")
		}
		if tok, _ := db.DirectoryToken(ctx, ten); tok != "tok2" {
			t.Fatalf("token after a failed round %q", tok)
		}
		if us, _ := db.DirectoryUsers(ctx, ten, DirectoryOptions{}); us[1].JobTitle != "CEO" {
			t.Fatalf("failed round was partly applied: %+v", us[1])
		}
		if err := db.ApplyDirectoryChanges(ctx, ten, false, nil, ""); err == nil {
			t.Fatal("an empty token was accepted")
		}

		// a full round again (after an expired token) replaces the copy
		if err := db.ApplyDirectoryChanges(ctx, ten, true, []api.DirectoryUser{{ID: "c1", DisplayName: sp("Carol"), Mail: sp("carol@c.example")}}, "tok4"); err != nil {
			t.Fatal(err)
		}
		if us, _ := db.DirectoryUsers(ctx, ten, DirectoryOptions{IncludeDisabled: true, IncludeGuests: true}); dirNames(us) != "Carol" {
			t.Fatalf("after a second full round %q", dirNames(us))
		}
	})
}

// TestDirectoryReportsLookupIsIndexed: the lookup of a person's reports,
// run once per renamed or new person in a refresh, reads an index rather
// than the whole tenant (a 5,000-person first refresh read 25 million
// rows in one transaction without it).
func TestDirectoryReportsLookupIsIndexed(t *testing.T) {
	db, _ := openTest(t) // SQLite: its query plan is what EXPLAIN QUERY PLAN says
	rows, err := db.sql.QueryContext(context.Background(), `EXPLAIN QUERY PLAN SELECT object_id FROM directory_users WHERE tenant_id = ? AND manager_id = ? ORDER BY object_id`, "t", "m")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "directory_users_manager") {
		t.Fatalf("the reports lookup does not use directory_users_manager: %s", p)
	}
}
