package pairs

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/state"
)

// TestErrorItems: each typed engine error becomes an error_items object
// with what its type knows.
func TestErrorItems(t *testing.T) {
	cause := errors.New("HTTP 507: insufficient storage")
	res := &engine.Result{Pair: "work", Errors: []error{
		&engine.ItemError{Pair: "work", UID: "u1", Name: "Ann", Op: engine.OpCreate, Side: engine.SideB, SideName: "Phone", ID: "u1.vcf", Err: cause},
		fmt.Errorf("wrapped: %w", &engine.ItemError{Pair: "work", UID: "u2", Name: "Bob", Op: engine.OpNone, Err: cause}),
		&engine.RestoreError{Pair: "work", TrashID: 7, Err: cause},
		&engine.ResolutionError{Pair: "work", ConflictID: 9, Err: cause},
		errors.New("listing side a: timeout"),
	}}
	want := []SyncItem{
		{Pair: "work", Side: "b", ID: "u1.vcf", Name: "Ann", UID: "u1", Op: "create", Reason: cause.Error()},
		{Pair: "work", Name: "Bob", UID: "u2", Reason: cause.Error()},
		{Pair: "work", TrashID: 7, Reason: cause.Error()},
		{Pair: "work", ConflictID: 9, Reason: res.Errors[3].Error()},
		{Pair: "work", Reason: "listing side a: timeout"},
	}
	got := ErrorItems(res)
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestSyncReport: the summary's keys come first, then skipped_items and
// error_items (arrays, [] for none), and "time" only when stamped, in the
// stamp's zone.
func TestSyncReport(t *testing.T) {
	res := &engine.Result{Pair: "work", Skipped: []engine.Skip{{Side: engine.SideA, ID: "x.vcf", UID: "u", Name: "Ann", Reason: "unreadable"}}}
	line, err := SyncReport(res, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s := string(line)
	if !strings.HasPrefix(s, `{"pair":"work",`) || strings.Contains(s, `"time"`) ||
		!strings.HasSuffix(s, `"skipped_items":[{"pair":"work","side":"a","id":"x.vcf","name":"Ann","uid":"u","reason":"unreadable"}],"error_items":[]}`) {
		t.Errorf("unstamped: %s", s)
	}
	at := time.Date(2026, 12, 7, 13, 0, 0, 0, time.FixedZone("CET", 3600))
	line, _ = SyncReport(&engine.Result{Pair: "p"}, at)
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil || m["time"] != "2026-12-07T13:00:00+01:00" {
		t.Errorf("stamped: %s (%v)", line, err)
	}
}

func viewCard(fn, title, rev string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:" + fn + "\r\nTITLE:" + title + "\r\nREV:" + rev + "\r\nEND:VCARD\r\n")
}

// TestConflictViews: listed conflicts carry no versions and are named by
// a's name, else b's; the detail has the versions and the fields, every
// list [] rather than null.
func TestConflictViews(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 7200))
	c := state.Conflict{ID: 3, Pair: "work", UID: "u1", Created: created, Keep: "a",
		Base: viewCard("Ann", "Clerk", "20260101T000000Z"), A: []byte("broken"), B: viewCard("Ann B", "Director", "20260102T000000Z")}
	list := ConflictViews([]state.Conflict{c})
	want := ConflictView{ID: 3, Pair: "work", UID: "u1", Name: "Ann B", Created: "2026-01-02T01:04:05Z", Keep: "a"}
	if !reflect.DeepEqual(list, []ConflictView{want}) {
		t.Errorf("list: %+v", list)
	}
	if v := ConflictViews(nil); v == nil || len(v) != 0 {
		t.Errorf("no conflicts: %#v", v)
	}
	// a does not parse: the versions, no fields.
	d := ConflictDetail(c)
	if *d.A != "broken" || *d.B != string(c.B) || *d.Base != string(c.Base) || d.Fields != nil {
		t.Errorf("detail of a broken version: %+v", d)
	}
	c.A = viewCard("Ann", "Manager", "20260103T000000Z")
	d = ConflictDetail(c)
	if d.Name != "Ann" || !reflect.DeepEqual(d.Clashes, []string{"Job title"}) || d.Newer != "a" {
		t.Fatalf("detail: %+v", d)
	}
	for _, f := range d.Fields {
		if f.Base == nil || f.A == nil || f.B == nil || f.Merged == nil {
			t.Errorf("field %s has a null list: %+v", f.Label, f)
		}
		if f.Label == "Job title" && (!f.Differs || !reflect.DeepEqual(f.Merged, []string{"Manager"})) {
			t.Errorf("job title: %+v", f)
		}
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
}

// TestAccountViews: a token's user wins over the configured one; expiry
// and last sync only with a token; never a token itself.
func TestAccountViews(t *testing.T) {
	exp := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	got := AccountViews([]AccountInfo{
		{Account: config.Account{Name: "work", User: "cfg@contoso.com", Tenant: "t", Flow: "device-code"}, Configured: true,
			HasToken: true, Token: state.AccountToken{User: "ann@contoso.com", AccessToken: "secret", HasRefreshToken: true, Expiry: exp}},
		{Account: config.Account{Name: "web-dora", Flow: "browser"}, Owner: "dora", Token: state.AccountToken{Expiry: exp}},
	})
	want := []AccountView{
		{Name: "work", User: "ann@contoso.com", Tenant: "t", Flow: "device-code", SignedIn: true, Refresh: true, Expiry: "2026-05-06T07:08:09Z", Configured: true},
		{Name: "web-dora", Flow: "browser", Owner: "dora"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if b, _ := json.Marshal(got); strings.Contains(string(b), "secret") {
		t.Errorf("a token in %s", b)
	}
}

// TestTrashViews: an entry's card is named, a restore shown as requested
// and done.
func TestTrashViews(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	got := TrashViews([]state.TrashEntry{
		{ID: 1, Pair: "p", Side: "b", SideID: "x.vcf", UID: "u1", Card: viewCard("Ann", "T", "1"), Reason: "deleted", Created: at, RestoreRequested: true},
		{ID: 2, Pair: "p", Side: "a", Card: []byte("junk"), Reason: "overwritten", Created: at, Restored: at.Add(time.Hour)},
	})
	want := []TrashView{
		{ID: 1, Pair: "p", Side: "b", SideID: "x.vcf", UID: "u1", Name: "Ann", Reason: "deleted", Created: "2026-03-04T05:06:07Z", Restore: true},
		{ID: 2, Pair: "p", Side: "a", Reason: "overwritten", Created: "2026-03-04T05:06:07Z", Restored: "2026-03-04T06:06:07Z"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if v := TrashViews(nil); v == nil {
		t.Error("no entries: nil, want []")
	}
}

// TestUserViews: each user with their address books, [] for none.
func TestUserViews(t *testing.T) {
	ctx := t.Context()
	r, _ := accountsRunner(t)
	if us, err := r.UserViews(ctx); err != nil || us == nil || len(us) != 0 {
		t.Fatalf("no users: %#v, %v", us, err)
	}
	if err := r.SetUser(ctx, "dora", "first-password", true); err != nil {
		t.Fatal(err)
	}
	us, err := r.UserViews(ctx)
	if err != nil || len(us) != 1 || us[0].Name != "dora" || us[0].Created == "" ||
		!reflect.DeepEqual(us[0].Books, []BookView{{Name: state.DefaultAddressBook, DisplayName: us[0].Books[0].DisplayName}}) {
		t.Fatalf("users: %+v, %v", us, err)
	}
	b, err := r.o.DB.CreateAddressBook(ctx, "dora", "directory", "Directory", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.o.DB.SetAddressBookReadOnly(ctx, b.ID, true); err != nil {
		t.Fatal(err)
	}
	us, err = r.UserViews(ctx)
	if err != nil || len(us) != 1 || !reflect.DeepEqual(us[0].Books, []BookView{
		{Name: state.DefaultAddressBook, DisplayName: us[0].Books[0].DisplayName},
		{Name: "directory", DisplayName: "Directory", ReadOnly: true}}) {
		t.Fatalf("users with a read-only book: %+v, %v", us, err)
	}
}

// TestConflictSideNames: a conflict's sides are named by what they are,
// a book of this server by its title; "A" and "B" once its pair is gone.
func TestConflictSideNames(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t)
	if err := r.SetUser(ctx, "dora", "first-password", true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAddressBook(ctx, "dora", "work", "Office 365", ""); err != nil {
		t.Fatal(err)
	}
	r.Config().Pairs["p"] = config.Pair{Name: "p", A: config.Side{Type: config.SideO365, Account: "x"},
		B: config.Side{Type: config.SideServer, User: "dora", Addressbook: "work"}}
	for _, tc := range []struct{ pair, a, b string }{{"p", "Office 365", "Office 365 book"}, {"gone", "A", "B"}} {
		if a, b := r.ConflictSideNames(ctx, state.Conflict{Pair: tc.pair}); a != tc.a || b != tc.b {
			t.Errorf("pair %s: %q, %q; want %q, %q", tc.pair, a, b, tc.a, tc.b)
		}
	}
	found := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	text := r.ConflictText(ctx, state.Conflict{ID: 4, Pair: "p", Created: found, A: []byte("junk"), B: viewCard("Ann", "T", "1")})
	if text.NameA != "Office 365" || text.Err == nil || text.ID != 4 || text.Created.Location() != time.Local || !text.Created.Equal(found) {
		t.Errorf("text of a broken version: %+v", text)
	}
}
