package state

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestMailboxes: a provisioned mailbox gets a free pair name (reserved
// names, web pairs and other mailboxes' pairs are skipped), is unique per
// account and person, pauses keeping its first left_at, resumes, records
// its runs, and goes with its user together with its pair's state.
func TestMailboxes(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		for _, u := range []string{"alice", "bob"} {
			if err := db.AddUser(ctx, u, NoPassword); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.CreateWebPair(ctx, WebPair{Name: "org-bob", User: "bob", Account: "web-bob", Addressbook: "work"}, "Work"); err != nil {
			t.Fatal(err)
		}
		a, err := db.AddMailbox(ctx, Mailbox{Account: "Org", TenantID: "TID", ObjectID: "OID-A", UPN: "alice@contoso.example", User: "alice"}, []string{"org-alice"})
		if err != nil {
			t.Fatal(err)
		}
		if a.Pair != "org-alice-2" || a.State != MailboxActive || a.Account != "org" || a.ObjectID != "oid-a" {
			t.Fatalf("added %+v, want pair org-alice-2 (org-alice reserved), active", a)
		}
		b, err := db.AddMailbox(ctx, Mailbox{Account: "org", TenantID: "tid", ObjectID: "oid-b", User: "bob"}, nil)
		if err != nil || b.Pair != "org-bob-2" {
			t.Fatalf("added %+v %v, want pair org-bob-2 (a web pair is org-bob)", b, err)
		}
		if _, err := db.AddMailbox(ctx, Mailbox{Account: "org", TenantID: "tid", ObjectID: "OID-A", User: "bob"}, nil); !errors.Is(err, ErrExists) {
			t.Fatalf("second mailbox of one person: %v, want ErrExists", err)
		}
		if got := MailboxPairName("org", "Jean.Dupont@x"); got != "org-jean-dupont-x" {
			t.Errorf("MailboxPairName = %q", got)
		}

		left := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := db.PauseMailbox(ctx, "org", "oid-a", left); err != nil {
			t.Fatal(err)
		}
		if err := db.PauseMailbox(ctx, "org", "oid-a", left.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		ms, err := db.Mailboxes(ctx, "org")
		if err != nil || len(ms) != 2 {
			t.Fatalf("mailboxes %v %v", ms, err)
		}
		if ms[0].State != MailboxPaused || !ms[0].LeftAt.Equal(left) {
			t.Fatalf("paused %+v, want paused since %v", ms[0], left)
		}
		if err := db.ResumeMailbox(ctx, "org", "oid-a", "alice.new@contoso.example"); err != nil {
			t.Fatal(err)
		}
		end := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)
		if err := db.RecordMailboxRun(ctx, a.Pair, MailboxRun{End: end, AChanges: 1, BChanges: 7, ItemErrors: 2, Error: "boom"}); err != nil {
			t.Fatal(err)
		}
		got, err := db.MailboxOfPair(ctx, a.Pair)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != MailboxActive || !got.LeftAt.IsZero() || got.UPN != "alice.new@contoso.example" || !got.LastRun.Equal(end) ||
			got.AChanges != 1 || got.BChanges != 7 || got.ItemErrors != 2 || got.LastError != "boom" {
			t.Fatalf("resumed and run: %+v", got)
		}
		if err := db.PauseMailbox(ctx, "org", "nobody", left); !errors.Is(err, ErrNotFound) {
			t.Fatalf("pause of an unknown mailbox: %v", err)
		}
		if err := db.RecordMailboxRun(ctx, "not-a-mailbox", MailboxRun{End: end}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("run of an unknown pair: %v", err)
		}
		if all, err := db.Mailboxes(ctx, ""); err != nil || len(all) != 2 {
			t.Fatalf("all mailboxes %v %v", all, err)
		}

		// Removing alice removes her mailbox, its pair's state and its account row.
		it := Item{Pair: a.Pair, UID: "u", AID: "a1", BID: "b1", BaseHash: "h", Base: []byte("B")}
		if err := db.PutItem(ctx, &it); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchAccountSync(ctx, a.Pair, end); err != nil {
			t.Fatal(err)
		}
		if err := db.RemoveUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.MailboxOfPair(ctx, a.Pair); !errors.Is(err, ErrNotFound) {
			t.Fatalf("mailbox after its user was removed: %v", err)
		}
		var n int
		if err := db.sql.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM items WHERE pair = ?) + (SELECT COUNT(*) FROM accounts WHERE name = ?)`, a.Pair, a.Pair).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d rows of the removed mailbox's pair left (%v)", n, err)
		}
		if ms, _ := db.Mailboxes(ctx, ""); len(ms) != 1 || ms[0].User != "bob" {
			t.Fatalf("left %+v, want bob's", ms)
		}
	})
}
