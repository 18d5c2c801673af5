package state

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/o365/api"
)

// TestDirectoryChangeLog: every write of a person takes the tenant's next
// change number; a removal leaves a tombstone (gone when they return); a
// manager's rename re-dates the reports; people who stop qualifying come
// out as deleted; photos are kept and bounded; a future or negative
// change number is an invalid sync token.
func TestDirectoryChangeLog(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		const ten = "aaaaaaaa-0000-4000-8000-000000000001"
		member := func(id, name string) api.DirectoryUser {
			return api.DirectoryUser{ID: id, DisplayName: sp(name), Mail: sp(id + "@c.example"), AccountEnabled: bp(true), UserType: sp("Member")}
		}
		bob := member("b2", "Bob")
		bob.ManagerDelta = []api.DirectoryObject{{ID: "c1"}}
		if err := db.ApplyDirectoryRound(ctx, ten, DirectoryRound{Full: true, Token: "t1",
			Changes: []api.DirectoryUser{member("c1", "Carol"), bob, member("d3", "Dave")},
			Photos:  map[string][]byte{"c1": []byte("\xff\xd8jpeg"), "d3": make([]byte, MaxDirectoryPhoto+1)}}); err != nil {
			t.Fatal(err)
		}
		seq1, err := db.DirectorySeq(ctx, ten)
		if err != nil || seq1 < 3 {
			t.Fatalf("seq after the first round %d %v", seq1, err)
		}
		ch, del, seq, err := db.DirectoryChanges(ctx, ten, 0, DirectoryOptions{})
		slices.Sort(ch)
		if err != nil || strings.Join(ch, ",") != "b2,c1,d3" || len(del) != 0 || seq != seq1 {
			t.Fatalf("changes since 0: %v %v %d %v", ch, del, seq, err)
		}
		got, err := db.DirectoryUsersByID(ctx, ten, []string{"C1", "d3", "zz"}, true, "")
		if err != nil || len(got) != 2 || string(got["c1"].Photo) != "\xff\xd8jpeg" || got["d3"].Photo != nil {
			t.Fatalf("by id: %v %+v", err, got)
		}

		// Carol renamed: Bob's card (naming her) changes too; Dave is
		// disabled (deleted for the default listing); Erin joins.
		if err := db.ApplyDirectoryChanges(ctx, ten, false, []api.DirectoryUser{{ID: "c1", DisplayName: sp("Caroline")},
			{ID: "d3", AccountEnabled: bp(false)}, member("e4", "Erin")}, "t2"); err != nil {
			t.Fatal(err)
		}
		ch, del, seq2, err := db.DirectoryChanges(ctx, ten, seq1, DirectoryOptions{})
		slices.Sort(ch)
		if err != nil || strings.Join(ch, ",") != "b2,c1,e4" || strings.Join(del, ",") != "d3" || seq2 <= seq1 {
			t.Fatalf("changes since %d: %v %v %d %v", seq1, ch, del, seq2, err)
		}
		if ch, del, _, _ := db.DirectoryChanges(ctx, ten, seq1, DirectoryOptions{IncludeDisabled: true}); !slices.Contains(ch, "d3") || len(del) != 0 {
			t.Fatalf("with disabled: %v %v", ch, del)
		}
		if got, _ := db.DirectoryUsersByID(ctx, ten, []string{"c1"}, true, ""); string(got["c1"].Photo) != "\xff\xd8jpeg" {
			t.Fatal("a round without photos dropped Carol's")
		}

		// Erin removed: a tombstone; Bob's manager gone re-dates him.
		if err := db.ApplyDirectoryChanges(ctx, ten, false, []api.DirectoryUser{{ID: "e4", Removed: &api.Removed{Reason: "deleted"}}}, "t3"); err != nil {
			t.Fatal(err)
		}
		ch, del, seq3, err := db.DirectoryChanges(ctx, ten, seq2, DirectoryOptions{})
		if err != nil || len(ch) != 0 || strings.Join(del, ",") != "e4" {
			t.Fatalf("changes after a removal %v %v %v", ch, del, err)
		}
		// a full round without Carol: she goes, Bob is re-dated
		if err := db.ApplyDirectoryChanges(ctx, ten, true, []api.DirectoryUser{bob, member("e4", "Erin")}, "t4"); err != nil {
			t.Fatal(err)
		}
		ch, del, _, err = db.DirectoryChanges(ctx, ten, seq3, DirectoryOptions{})
		slices.Sort(ch)
		slices.Sort(del)
		if err != nil || strings.Join(ch, ",") != "b2,e4" || strings.Join(del, ",") != "c1,d3" {
			t.Fatalf("changes after a full round %v %v %v", ch, del, err)
		}
		var n int
		if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM directory_removed WHERE object_id = 'e4'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("Erin's tombstone after her return: %d %v", n, err)
		}
		for _, bad := range []int64{-1, 1 << 40} {
			if _, _, _, err := db.DirectoryChanges(ctx, ten, bad, DirectoryOptions{}); !errors.Is(err, ErrInvalidSyncToken) {
				t.Fatalf("since %d: %v", bad, err)
			}
		}
		var names []string
		if err := db.EachDirectoryUser(ctx, ten, DirectoryOptions{IncludeDisabled: true}, false, func(u DirectoryUser) error {
			names = append(names, u.DisplayName+"/"+u.ManagerName)
			return nil
		}); err != nil || strings.Join(names, ",") != "Bob/,Erin/" {
			t.Fatalf("each: %v %v", names, err)
		}
		if ts, err := db.MicrosoftTenantsOf(ctx, "nobody"); err != nil || len(ts) != 0 {
			t.Fatalf("tenants of nobody %v %v", ts, err)
		}
	})
}

// TestMigration16FullRoundAgain: a directory copy written before 0016 (no
// change numbers, no photos) loses its delta token, so the next refresh is
// a full round that numbers everyone; the people stay until then.
func TestMigration16FullRoundAgain(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		path := be.location(t)
		raw := be.openAtSchema(t, path, 15).sql
		if _, err := raw.Exec(`INSERT INTO directory_users (tenant_id, object_id, display_name, mail, updated_at) VALUES ('t', 'c1', 'Carol', 'c@x', 1)`); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT INTO directory_tokens (tenant_id, delta_token, updated_at) VALUES ('t', 'old', 1)`); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if tok, err := db.DirectoryToken(ctx, "t"); err != nil || tok != "" {
			t.Fatalf("token after 0016 %q %v, want none (a full round next)", tok, err)
		}
		if us, err := db.DirectoryUsers(ctx, "t", DirectoryOptions{}); err != nil || len(us) != 1 || us[0].Seq != 0 {
			t.Fatalf("people after 0016 %+v %v", us, err)
		}
	})
}
