package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAppPasswords(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		clock := &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
		db := be.openClocked(t, clock)
		for _, u := range []string{"alice", "bob"} {
			if err := db.AddUser(ctx, u, "hash-"+u); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := db.AddAppPassword(ctx, "nobody", "iPhone"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("app password of an unknown user: %v, want ErrNotFound", err)
		}
		for _, bad := range []string{"", "  ", "a\nb", "a\x00b", strings.Repeat("x", MaxAppPasswordName+1), "\xff"} {
			if _, _, err := db.AddAppPassword(ctx, "alice", bad); err == nil || !strings.Contains(err.Error(), "app password name") {
				t.Errorf("name %q: %v, want it refused naming the name", bad, err)
			}
		}
		tok, p, err := db.AddAppPassword(ctx, "alice", "iPhone")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, fmt.Sprintf("%s%d_", AppPasswordPrefix, p.ID)) || len(tok) < len(AppPasswordPrefix)+2+43 {
			t.Fatalf("token %q (id %d)", tok, p.ID)
		}
		if p.Name != "iPhone" || p.User != "alice" || !p.Created.Equal(clock.t) {
			t.Fatalf("added %+v", p)
		}
		if _, _, err := db.AddAppPassword(ctx, "alice", "iPhone"); !errors.Is(err, ErrExists) {
			t.Fatalf("same name twice: %v, want ErrExists", err)
		}
		// Bob may use the same name: unique per user.
		bobTok, _, err := db.AddAppPassword(ctx, "bob", "iPhone")
		if err != nil {
			t.Fatal(err)
		}
		// Never stored in clear.
		var stored string
		if err := db.sql.QueryRow(`SELECT secret_sum FROM app_passwords WHERE id = ?`, p.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(tok, stored) || strings.Contains(stored, tok[strings.LastIndexByte(tok, '_')+1:]) || len(stored) != 64 {
			t.Fatalf("stored %q for token %q", stored, tok)
		}

		secret := tok[strings.LastIndexByte(tok, '_')+1:]
		wrong := tok[:len(tok)-1] + "A"
		if wrong == tok {
			wrong = tok[:len(tok)-1] + "B"
		}
		cases := []struct {
			name, user, pass string
			want             bool
		}{
			{"right", "alice", tok, true},
			{"another user's name", "bob", tok, false},
			{"bob's token as alice", "alice", bobTok, false},
			{"wrong secret", "alice", wrong, false},
			{"truncated", "alice", tok[:len(tok)-5], false},
			{"no id", "alice", AppPasswordPrefix + "_" + secret, false},
			{"unknown id", "alice", fmt.Sprintf("%s%d_%s", AppPasswordPrefix, p.ID+1000, secret), false},
			{"not a token", "alice", "hunter2", false},
			{"NUL user", "al\x00ice", tok, false},
		}
		for _, c := range cases {
			if got, err := db.CheckAppPassword(ctx, c.user, c.pass); err != nil || got != c.want {
				t.Errorf("%s: CheckAppPassword = %v, %v; want %v", c.name, got, err, c.want)
			}
		}

		lastUsed := func() time.Time {
			t.Helper()
			ps, err := db.AppPasswords(ctx, "alice")
			if err != nil || len(ps) != 1 {
				t.Fatalf("AppPasswords = %+v, %v", ps, err)
			}
			return ps[0].LastUsed
		}
		if got := lastUsed(); !got.Equal(clock.t) {
			t.Fatalf("last used %v, want %v", got, clock.t)
		}
		// Within the minute: no write.
		first := clock.t
		clock.t = clock.t.Add(AppPasswordUseInterval - time.Second)
		if ok, _ := db.CheckAppPassword(ctx, "alice", tok); !ok {
			t.Fatal("second use refused")
		}
		if got := lastUsed(); !got.Equal(first) {
			t.Fatalf("last used %v after a use within the minute, want still %v", got, first)
		}
		clock.t = clock.t.Add(2 * time.Second)
		if ok, _ := db.CheckAppPassword(ctx, "alice", tok); !ok {
			t.Fatal("third use refused")
		}
		if got := lastUsed(); !got.Equal(clock.t) {
			t.Fatalf("last used %v after a minute, want %v", got, clock.t)
		}

		// Revocation: the very next check fails.
		if err := db.RevokeAppPassword(ctx, "alice", "iPhone"); err != nil {
			t.Fatal(err)
		}
		if ok, err := db.CheckAppPassword(ctx, "alice", tok); ok || err != nil {
			t.Fatalf("revoked token: %v, %v", ok, err)
		}
		if err := db.RevokeAppPassword(ctx, "alice", "iPhone"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoking twice: %v, want ErrNotFound", err)
		}
		if ok, _ := db.CheckAppPassword(ctx, "bob", bobTok); !ok {
			t.Fatal("revoking alice's iPhone revoked bob's")
		}
		if ps, err := db.AppPasswords(ctx, "alice"); err != nil || len(ps) != 0 {
			t.Fatalf("after revoking: %+v, %v", ps, err)
		}
		if _, err := db.AppPasswords(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("list of an unknown user: %v", err)
		}

		// The per-user bound.
		for i := range MaxAppPasswords {
			if _, _, err := db.AddAppPassword(ctx, "alice", fmt.Sprintf("device %02d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := db.AddAppPassword(ctx, "alice", "one too many"); !errors.Is(err, ErrTooMany) {
			t.Fatalf("beyond %d: %v, want ErrTooMany", MaxAppPasswords, err)
		}
		if ps, _ := db.AppPasswords(ctx, "alice"); len(ps) != MaxAppPasswords || ps[0].Name != "device 00" {
			t.Fatalf("listed %d, first %+v", len(ps), ps[0])
		}

		// Removing bob removes his app passwords: a namesake gets none.
		if err := db.RemoveUser(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		if err := db.AddUser(ctx, "bob", "hash-new"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := db.CheckAppPassword(ctx, "bob", bobTok); ok {
			t.Fatal("the removed bob's app password works for the new bob")
		}
		if ps, err := db.AppPasswords(ctx, "bob"); err != nil || len(ps) != 0 {
			t.Fatalf("new bob inherits %+v, %v", ps, err)
		}
	})
}
