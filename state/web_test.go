package state

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestWebSessions: a session is found by its hash until it expires, a touch
// moves the expiry, sign-out and user removal end it, and purge drops the
// expired ones.
func TestWebSessions(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		if err := db.AddUser(ctx, "alice", "$2a$hash"); err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := db.CreateWebSession(ctx, WebSession{IDHash: "h1", User: "nobody", CSRF: "c", Expires: t0.Add(time.Hour)}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("session of an unknown user: %v", err)
		}
		if err := db.CreateWebSession(ctx, WebSession{IDHash: "h1", User: "alice", CSRF: "tok", Created: t0, Seen: t0, Expires: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		s, err := db.WebSession(ctx, "h1", t0.Add(30*time.Minute))
		if err != nil || s.User != "alice" || s.CSRF != "tok" || !s.Expires.Equal(t0.Add(time.Hour)) {
			t.Fatalf("WebSession = %+v, %v", s, err)
		}
		if _, err := db.WebSession(ctx, "h1", t0.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired session still found: %v", err)
		}
		if _, err := db.WebSession(ctx, "other", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown hash found: %v", err)
		}
		if err := db.TouchWebSession(ctx, "h1", t0.Add(50*time.Minute), t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if s, err := db.WebSession(ctx, "h1", t0.Add(90*time.Minute)); err != nil || !s.Seen.Equal(t0.Add(50*time.Minute)) {
			t.Fatalf("after touch: %+v, %v", s, err)
		}
		if err := db.TouchWebSession(ctx, "gone", t0, t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("touch of a missing session: %v", err)
		}
		if err := db.DeleteWebSession(ctx, "h1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.WebSession(ctx, "h1", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted session found: %v", err)
		}

		// Purge and cascade.
		for i, exp := range []time.Time{t0.Add(time.Minute), t0.Add(time.Hour)} {
			if err := db.CreateWebSession(ctx, WebSession{IDHash: string(rune('a' + i)), User: "alice", CSRF: "c", Expires: exp}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.PurgeWebSessions(ctx, t0.Add(10*time.Minute)); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		if err := db.RemoveUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, "web_sessions"); n != 0 {
			t.Fatalf("%d sessions left after the user was removed", n)
		}
	})
}

// TestOAuthStates: a state is taken once, only by its own session, and not
// after it expired.
func TestOAuthStates(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		db.AddUser(ctx, "alice", "$2a$hash")
		t0 := time.Now().UTC()
		for _, h := range []string{"s1", "s2"} {
			if err := db.CreateWebSession(ctx, WebSession{IDHash: h, User: "alice", CSRF: "c", Expires: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		o := OAuthState{StateHash: "st", SessionHash: "s1", Verifier: "v", RedirectURI: "http://x/cb", Expires: t0.Add(10 * time.Minute)}
		if err := db.SaveOAuthState(ctx, o); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TakeOAuthState(ctx, "st", "s2", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another session took the state: %v", err)
		}
		got, err := db.TakeOAuthState(ctx, "st", "s1", t0)
		if err != nil || got.Verifier != "v" || got.RedirectURI != "http://x/cb" {
			t.Fatalf("take = %+v, %v", got, err)
		}
		if _, err := db.TakeOAuthState(ctx, "st", "s1", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("state taken twice: %v", err)
		}
		o.StateHash = "old"
		db.SaveOAuthState(ctx, o)
		if _, err := db.TakeOAuthState(ctx, "old", "s1", t0.Add(11*time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired state accepted: %v", err)
		}
		if n := countRows(t, db, "web_oauth_states"); n != 0 {
			t.Fatalf("expired state not consumed: %d rows", n)
		}
		o.StateHash = "cascade"
		db.SaveOAuthState(ctx, o)
		db.DeleteWebSession(ctx, "s1")
		if n := countRows(t, db, "web_oauth_states"); n != 0 {
			t.Fatalf("sign-out left %d pending authorizations", n)
		}
	})
}

// TestWebPairs: creating a pair creates its book; names and books are not
// reused; disconnecting removes the account's pairs and tokens but keeps
// the book and its cards.
func TestWebPairs(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		db.AddUser(ctx, "alice", "$2a$hash")
		db.AddUser(ctx, "bob", "$2a$hash")
		p := WebPair{Name: "web-alice-work", User: "alice", Account: "web-alice", Addressbook: "work", Conflict: "manual", Every: 15 * time.Minute}
		if _, err := db.CreateWebPair(ctx, p, "Work"); err != nil {
			t.Fatal(err)
		}
		b, err := db.AddressBook(ctx, "alice", "work")
		if err != nil || b.DisplayName != "Work" {
			t.Fatalf("book = %+v, %v", b, err)
		}
		if _, err := db.CreateWebPair(ctx, WebPair{Name: "other", User: "alice", Account: "web-alice", Addressbook: "work"}, ""); !errors.Is(err, ErrExists) {
			t.Fatalf("existing book: %v", err)
		}
		if _, err := db.CreateWebPair(ctx, WebPair{Name: "x", User: "carol", Account: "web-carol", Addressbook: "b"}, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		if _, err := db.CreateWebPair(ctx, WebPair{Name: "web-bob-b", User: "bob", Account: "web-bob", Addressbook: "b", Every: time.Minute}, ""); err != nil {
			t.Fatal(err)
		}
		ps, err := db.WebPairs(ctx, "alice")
		if err != nil || len(ps) != 1 || ps[0].Name != "web-alice-work" || ps[0].Every != 15*time.Minute || ps[0].Account != "web-alice" || ps[0].Conflict != "manual" {
			t.Fatalf("WebPairs(alice) = %+v, %v", ps, err)
		}
		all, _ := db.WebPairs(ctx, "")
		if len(all) != 2 || all[1].Conflict != "merge" {
			t.Fatalf("WebPairs() = %+v", all)
		}
		if _, _, err := db.PutCard(ctx, b.ID, "c1.vcf", "u1", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:A\r\nEND:VCARD\r\n"), Precondition{}); err != nil {
			t.Fatal(err)
		}
		db.SaveToken(ctx, "web-alice", AccountToken{AccessToken: "a", RefreshToken: "r"})
		db.SaveToken(ctx, "web-bob", AccountToken{AccessToken: "a", RefreshToken: "r"})
		names, err := db.DisconnectWebAccount(ctx, "web-alice")
		if err != nil || !slices.Equal(names, []string{"web-alice-work"}) {
			t.Fatalf("disconnect = %v, %v", names, err)
		}
		if _, ok, _ := db.LoadToken(ctx, "web-alice"); ok {
			t.Fatal("tokens kept after disconnect")
		}
		if _, ok, _ := db.LoadToken(ctx, "web-bob"); !ok {
			t.Fatal("another account's tokens went too")
		}
		if cs, err := db.Cards(ctx, b.ID); err != nil || len(cs) != 1 {
			t.Fatalf("the book's cards after disconnect: %d, %v", len(cs), err)
		}
		if ps, _ := db.WebPairs(ctx, ""); len(ps) != 1 || ps[0].User != "bob" {
			t.Fatalf("pairs after disconnect: %+v", ps)
		}
	})
}
