package state

import (
	"context"
	"slices"
	"testing"

	"github.com/cardbridge/cardbridge/o365/api"
)

// TestDirectoryGroup: a listing limited to a group lists only its direct
// members as SetDirectoryGroupMembers stored them; a person who joins or
// leaves gets the tenant's next change number, so the changes since a
// token report them changed or deleted; an unchanged member list writes
// nothing; groups and tenants are kept apart.
func TestDirectoryGroup(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		const ten, grp, other = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002", "cccccccc-0000-4000-8000-000000000003"
		member := func(id string) api.DirectoryUser {
			return api.DirectoryUser{ID: id, DisplayName: sp(id), Mail: sp(id + "@c.example"), AccountEnabled: bp(true), UserType: sp("Member")}
		}
		if err := db.ApplyDirectoryRound(ctx, ten, DirectoryRound{Full: true, Token: "t1",
			Changes: []api.DirectoryUser{member("a1"), member("b2"), member("c3")}}); err != nil {
			t.Fatal(err)
		}
		opts := DirectoryOptions{Group: "BBBBBBBB-0000-4000-8000-000000000002"}
		listed := func() []string {
			t.Helper()
			var ids []string
			if err := db.EachDirectoryUser(ctx, ten, opts, false, func(u DirectoryUser) error { ids = append(ids, u.ObjectID); return nil }); err != nil {
				t.Fatal(err)
			}
			us, err := db.DirectoryUsers(ctx, ten, opts)
			if err != nil || len(us) != len(ids) {
				t.Fatalf("DirectoryUsers %v %v, EachDirectoryUser %v", us, err, ids)
			}
			return ids
		}
		if got := listed(); len(got) != 0 {
			t.Fatalf("before the group is read: %v", got)
		}
		if j, l, err := db.SetDirectoryGroupMembers(ctx, ten, grp, []string{"A1", "b2", "zz-not-a-user"}); err != nil || j != 3 || l != 0 {
			t.Fatalf("first members: joined %d left %d %v", j, l, err)
		}
		if _, _, err := db.SetDirectoryGroupMembers(ctx, ten, other, []string{"c3"}); err != nil {
			t.Fatal(err)
		}
		if got := listed(); !slices.Equal(got, []string{"a1", "b2"}) {
			t.Fatalf("group listing %v, want a1 b2", got)
		}
		seq1, _ := db.DirectorySeq(ctx, ten)
		if j, l, err := db.SetDirectoryGroupMembers(ctx, ten, grp, []string{"a1", "b2", "zz-not-a-user"}); err != nil || j+l != 0 {
			t.Fatalf("same members: joined %d left %d %v", j, l, err)
		}
		if seq, _ := db.DirectorySeq(ctx, ten); seq != seq1 {
			t.Fatalf("unchanged members moved the change number %d -> %d", seq1, seq)
		}
		// b2 leaves, c3 joins.
		if j, l, err := db.SetDirectoryGroupMembers(ctx, ten, grp, []string{"a1", "c3", "zz-not-a-user"}); err != nil || j != 1 || l != 1 {
			t.Fatalf("b2 leaves, c3 joins: joined %d left %d %v", j, l, err)
		}
		ch, del, seq2, err := db.DirectoryChanges(ctx, ten, seq1, opts)
		if err != nil || seq2 != seq1+2 || !slices.Equal(ch, []string{"c3"}) || !slices.Equal(del, []string{"b2"}) {
			t.Fatalf("changes since %d: changed %v deleted %v seq %d %v; want c3 / b2 at %d", seq1, ch, del, seq2, err, seq1+2)
		}
		if ch, del, _, _ := db.DirectoryChanges(ctx, ten, seq1, DirectoryOptions{}); len(ch) != 2 || len(del) != 0 {
			t.Errorf("whole-tenant listing: changed %v deleted %v, want both changed", ch, del)
		}
		got, err := db.DirectoryUsersByID(ctx, ten, []string{"a1", "b2", "c3"}, false, grp)
		if err != nil || !got["a1"].InGroup || got["b2"].InGroup || !got["c3"].InGroup {
			t.Fatalf("by id with group: %+v %v", got, err)
		}
		if !opts.Includes(got["c3"]) || opts.Includes(got["b2"]) {
			t.Error("Includes does not follow InGroup")
		}
		if got := listed(); !slices.Equal(got, []string{"a1", "c3"}) {
			t.Fatalf("group listing %v, want a1 c3", got)
		}
		if _, _, err := db.SetDirectoryGroupMembers(ctx, "", grp, nil); err == nil {
			t.Error("no tenant: no error")
		}
	})
}
