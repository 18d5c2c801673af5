package pairs

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
)

// TestMailboxesView: the view of a paused mailbox says when it goes
// (left_at + mailbox_keep); the table shows each mailbox's state, last
// run and changes, with text from Graph escaped.
func TestMailboxesView(t *testing.T) {
	ctx := t.Context()
	f := newTenantFixture(t, "", 0)
	f.cfg.Accounts["org"].Mailboxes.Keep = 48 * time.Hour
	for _, u := range []string{"alice", "bob"} {
		if err := f.db.AddUser(ctx, u, state.NoPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.AddMailbox(ctx, state.Mailbox{Account: "org", TenantID: f.tenant, ObjectID: "oid-" + u, UPN: u + "@contoso.example", User: u}, nil); err != nil {
			t.Fatal(err)
		}
	}
	left := time.Now().Add(-time.Hour).UTC()
	if err := f.db.PauseMailbox(ctx, "org", "oid-bob", left); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RecordMailboxRun(ctx, "org-alice", state.MailboxRun{End: time.Now(), AChanges: 1, BChanges: 2, ItemErrors: 1, Error: "denied\x1b[31m"}); err != nil {
		t.Fatal(err)
	}
	vs, err := f.r.Mailboxes(ctx)
	if err != nil || len(vs) != 2 {
		t.Fatalf("views %+v %v", vs, err)
	}
	if b := vs[1]; b.State != "paused" || b.LeftAt == nil || b.RemoveAt == nil || !b.RemoveAt.Equal(left.Add(48*time.Hour)) || b.LastRun != nil {
		t.Errorf("bob's view %+v, want paused, removed 48h after %v", b, left)
	}
	var out bytes.Buffer
	if err := WriteMailboxes(&out, vs, time.Now()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"MAILBOX", "alice@contoso.example", "1 to Office 365, 2 to the book, 1 failed", "paused since 1 hour ago", "never"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b") {
		t.Errorf("table holds an escape sequence:\n%q", text)
	}
}

// TestMailboxPairConfig: a run of a mailbox's pair reads its configuration
// from its one row, and it is the very pair and account Pairs (Merge)
// gives; a paused mailbox, a configured pair's name and a name no mailbox
// has take Pairs' way (ok false).
func TestMailboxPairConfig(t *testing.T) {
	ctx := t.Context()
	f := newTenantFixture(t, "", 0)
	for _, u := range []string{"alice", "bob"} {
		if err := f.db.AddUser(ctx, u, state.NoPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.AddMailbox(ctx, state.Mailbox{Account: "org", TenantID: f.tenant, ObjectID: "oid-" + u, UPN: u + "@contoso.example", User: u}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.PauseMailbox(ctx, "org", "oid-bob", time.Now()); err != nil {
		t.Fatal(err)
	}
	f.cfg.Pairs["work"] = config.Pair{Name: "work"}
	merged, _, err := f.r.Pairs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, ok, err := f.r.mailboxPairConfig(ctx, "org-alice")
	if err != nil || !ok {
		t.Fatalf("org-alice: ok %v, %v", ok, err)
	}
	got, _ := cfg.Pair("org-alice")
	want, _ := merged.Pair("org-alice")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pair %+v, Merge's %+v", got, want)
	}
	gotAcc, _ := cfg.Account(got.A.Account)
	wantAcc, _ := merged.Account(want.A.Account)
	if !reflect.DeepEqual(gotAcc, wantAcc) || gotAcc.User != "oid-alice" {
		t.Errorf("account %+v, Merge's %+v", gotAcc, wantAcc)
	}
	if len(cfg.Pairs) != 2 || len(f.cfg.Pairs) != 1 {
		t.Errorf("pairs %v: want the configured one and org-alice, the Runner's configuration untouched (%v)", cfg.Pairs, f.cfg.Pairs)
	}
	for _, name := range []string{"org-bob", "work", "nobody"} {
		if _, ok, err := f.r.mailboxPairConfig(ctx, name); ok || err != nil {
			t.Errorf("%s: ok %v, %v; want Pairs' way", name, ok, err)
		}
	}
}
