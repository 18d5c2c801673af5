package authguard

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/state"
)

// appPasswordGuard opens a state with user alice (password "pw", through
// compareCounter's "h:" hashes) and an app password "iPhone" of hers, and
// returns a guard over it.
func appPasswordGuard(t *testing.T, clock *fakeClock, cc *compareCounter) (*Guard, *state.DB, string) {
	t.Helper()
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.AddUser(ctx, "alice", "h:pw"); err != nil {
		t.Fatal(err)
	}
	tok, _, err := db.AddAppPassword(ctx, "alice", "iPhone")
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Hashes: db, AppPasswords: db, Compare: cc.compare, Now: clock.now,
		FreeFailures: 3, BaseDelay: time.Second, MaxDelay: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return g, db, tok
}

func TestCheckDeviceAppPasswords(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cc := &compareCounter{}
	g, db, tok := appPasswordGuard(t, clock, cc)
	phone := addr("192.0.2.10")

	cases := []struct {
		name       string
		check      func(ctx context.Context, client netip.Addr, via, user, pass string) Decision
		user, pass string
		want       Outcome
	}{
		{"device, password", g.CheckDevice, "alice", "pw", OK},
		{"device, app password", g.CheckDevice, "alice", tok, OK},
		{"device, app password of another name", g.CheckDevice, "bob", tok, Denied},
		{"device, wrong", g.CheckDevice, "alice", "nope", Denied},
		// Check (the web sign-in, /healthz) takes the password only.
		{"check, app password", g.Check, "alice", tok, Denied},
		{"check, password", g.Check, "alice", "pw", OK},
	}
	for i, c := range cases {
		client := phone
		if c.want != OK { // each failure from an address of its own, so that they do not add up to a backoff
			client = netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
		}
		if d := c.check(ctx, client, "carddav", c.user, c.pass); d.Outcome != c.want {
			t.Errorf("%s: %v, want %v", c.name, d.Outcome, c.want)
		}
	}
	// The app password costs no bcrypt compare when it is right.
	before := cc.calls.Load()
	for range 5 {
		if d := g.CheckDevice(ctx, phone, "carddav", "alice", tok); !d.OK() {
			t.Fatalf("app password: %v", d.Outcome)
		}
	}
	if n := cc.calls.Load() - before; n != 0 {
		t.Errorf("%d compares for a right app password", n)
	}

	// Revoked: refused at the very next request, although it (and the
	// password) succeeded just before; no cache answers for it.
	if err := db.RevokeAppPassword(ctx, "alice", "iPhone"); err != nil {
		t.Fatal(err)
	}
	if d := g.CheckDevice(ctx, phone, "carddav", "alice", tok); d.Outcome != Denied {
		t.Fatalf("revoked app password: %v, want denied", d.Outcome)
	}
	if d := g.CheckDevice(ctx, phone, "carddav", "alice", "pw"); !d.OK() {
		t.Fatalf("password after the revocation: %v", d.Outcome)
	}
}

// The backoff counts wrong app passwords as any wrong password, and holds
// back a right one from the guessing address.
func TestCheckDeviceAppPasswordBackoff(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cc := &compareCounter{}
	g, _, tok := appPasswordGuard(t, clock, cc)
	guesser := addr("198.51.100.7")
	wrong := tok[:len(tok)-1] + "A"
	if wrong == tok {
		wrong = tok[:len(tok)-1] + "B"
	}
	for i := range 3 {
		if d := g.CheckDevice(ctx, guesser, "carddav", "alice", wrong); d.Outcome != Denied {
			t.Fatalf("guess %d: %v, want denied", i, d.Outcome)
		}
	}
	d := g.CheckDevice(ctx, guesser, "carddav", "alice", tok)
	if d.Outcome != Throttled || d.RetryAfter <= 0 {
		t.Fatalf("right app password after the free failures: %v, want throttled", d)
	}
	clock.add(2 * time.Second)
	if d := g.CheckDevice(ctx, guesser, "carddav", "alice", tok); !d.OK() {
		t.Fatalf("after the delay: %v", d.Outcome)
	}
	// Its success forgave that address's failures for alice: a typo from
	// it is no longer held back.
	if d := g.CheckDevice(ctx, guesser, "carddav", "alice", "typo"); d.Outcome != Denied {
		t.Fatalf("after a success: %v, want denied (not throttled)", d.Outcome)
	}
	if !strings.HasPrefix(tok, state.AppPasswordPrefix) {
		t.Fatalf("token %q", tok)
	}
}

// BenchmarkCheckDeviceAppPassword is one CardDAV request's check of a
// right app password against a SQLite state (one lookup by id, a SHA-256,
// no bcrypt; the last use written at most once a minute).
func BenchmarkCheckDeviceAppPassword(b *testing.B) {
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(b.TempDir(), "state.db"), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.AddUser(ctx, "alice", "h:pw"); err != nil {
		b.Fatal(err)
	}
	tok, _, err := db.AddAppPassword(ctx, "alice", "iPhone")
	if err != nil {
		b.Fatal(err)
	}
	cc := &compareCounter{}
	g, err := New(Options{Hashes: db, AppPasswords: db, Compare: cc.compare})
	if err != nil {
		b.Fatal(err)
	}
	phone := addr("192.0.2.10")
	b.ResetTimer()
	for range b.N {
		if d := g.CheckDevice(ctx, phone, "carddav", "alice", tok); !d.OK() {
			b.Fatal(d.Outcome)
		}
	}
}
