package state

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestMicrosoftIdentities: the first sign-in creates a user without a
// password under a free name, the identity finds them again (case
// insensitively), is unique, and goes with the user: a namesake made later
// is not signed in by it.
func TestMicrosoftIdentities(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		if err := db.AddUser(ctx, "alice", "$2a$hash"); err != nil {
			t.Fatal(err)
		}
		const tid, oid = "AAAAAAAA-0000-4000-8000-000000000001", "0000000A-0000-4000-8000-00000000A11C"
		if _, err := db.MicrosoftUser(ctx, tid, oid); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown identity: %v", err)
		}
		id, err := db.AddMicrosoftUser(ctx, tid, oid, "alice@contoso.example", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if id.User != "alice-2" || id.TenantID != "aaaaaaaa-0000-4000-8000-000000000001" {
			t.Fatalf("added %+v, want user alice-2 (alice is taken)", id)
		}
		if h, err := db.UserPasswordHash(ctx, "alice-2"); err != nil || h != NoPassword {
			t.Fatalf("password hash %q %v", h, err)
		}
		if b, err := db.AddressBooks(ctx, "alice-2"); err != nil || len(b) != 1 {
			t.Fatalf("books %v %v", b, err)
		}
		got, err := db.MicrosoftUser(ctx, "aaaaaaaa-0000-4000-8000-000000000001", "0000000a-0000-4000-8000-00000000a11c")
		if err != nil || got.User != "alice-2" || got.UPN != "alice@contoso.example" {
			t.Fatalf("found %+v %v", got, err)
		}
		if _, err := db.AddMicrosoftUser(ctx, tid, oid, "x@y", "x"); !errors.Is(err, ErrExists) {
			t.Fatalf("same identity twice: %v", err)
		}
		if err := db.SetMicrosoftUPN(ctx, tid, oid, "alice.new@contoso.example"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.MicrosoftUser(ctx, tid, oid); got.UPN != "alice.new@contoso.example" {
			t.Fatalf("upn %q", got.UPN)
		}
		// the same object id in another tenant is another person
		other, err := db.AddMicrosoftUser(ctx, "bbbbbbbb-0000-4000-8000-000000000002", oid, "a@fabrikam.example", "alice")
		if err != nil || other.User != "alice-3" {
			t.Fatalf("other tenant: %+v %v", other, err)
		}
		if _, err := db.AddMicrosoftUser(ctx, tid, "x", "", "bad/name"); err == nil {
			t.Fatal("bad user name accepted")
		}
		// removing the user removes the identity; a namesake inherits nothing
		if err := db.RemoveUser(ctx, "alice-2"); err != nil {
			t.Fatal(err)
		}
		if err := db.AddUser(ctx, "alice-2", "$2a$other"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.MicrosoftUser(ctx, tid, oid); !errors.Is(err, ErrNotFound) {
			t.Fatalf("identity survived its user: %v", err)
		}
		// and the database refuses an identity of no user
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO microsoft_identities (tenant_id, object_id, user_name, created_at) VALUES ('t', 'o', 'nobody', 0)`); err == nil {
			t.Fatal("identity of no user accepted")
		}
	})
}

// TestSignInStates: a sign-in state is taken once, by its own browser, and
// not after it expired.
func TestSignInStates(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		t0 := time.Now().UTC()
		o := SignInState{StateHash: "st", BrowserHash: "b1", Verifier: "v", Nonce: "n", RedirectURI: "http://x/cb", Expires: t0.Add(10 * time.Minute)}
		if err := db.SaveSignInState(ctx, o); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveSignInState(ctx, SignInState{StateHash: "x", BrowserHash: "b1", Verifier: "v", Expires: t0}); err == nil {
			t.Fatal("state without nonce accepted")
		}
		if _, err := db.TakeSignInState(ctx, "st", "b2", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another browser took the state: %v", err)
		}
		got, err := db.TakeSignInState(ctx, "st", "b1", t0)
		if err != nil || got.Verifier != "v" || got.Nonce != "n" || got.RedirectURI != "http://x/cb" {
			t.Fatalf("take = %+v, %v", got, err)
		}
		if _, err := db.TakeSignInState(ctx, "st", "b1", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("state taken twice: %v", err)
		}
		o.StateHash = "old"
		if err := db.SaveSignInState(ctx, o); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TakeSignInState(ctx, "old", "b1", t0.Add(11*time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired state accepted: %v", err)
		}
		o.StateHash = "purged"
		db.SaveSignInState(ctx, o)
		if _, err := db.PurgeWebSessions(ctx, t0.Add(11*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, "web_signin_states"); n != 0 {
			t.Fatalf("purge left %d sign-in states", n)
		}
	})
}
