package pairs

import (
	"errors"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"golang.org/x/crypto/bcrypt"
)

// TestCheckUserName: names safe in URLs and paths pass; others are
// refused naming the rule.
func TestCheckUserName(t *testing.T) {
	for name, ok := range map[string]bool{
		"alice": true, "a.b_c@d+e-f": true, "A9": true, strings.Repeat("x", 64): true,
		"": false, ".hidden": false, "a/b": false, "a b": false, "zoë": false, "a%2f": false, strings.Repeat("x", 65): false,
	} {
		err := CheckUserName(name)
		if ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "use 1 to 64 letters")) {
			t.Errorf("CheckUserName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}

// TestCheckPassword: from MinPassword to MaxPassword bytes (not
// characters) pass.
func TestCheckPassword(t *testing.T) {
	cases := []struct {
		pw   string
		want string // "" for accepted
	}{
		{"1234567", "at least 8 characters"},
		{"12345678", ""},
		{strings.Repeat("p", 72), ""},
		{strings.Repeat("p", 73), "is 73 bytes long"},
		{strings.Repeat("é", 37), "is 74 bytes long"},
	}
	for _, tc := range cases {
		err := CheckPassword(tc.pw)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckPassword(%d bytes) = %v, want %q", len(tc.pw), err, tc.want)
		}
	}
}

// TestSetUser: add stores a bcrypt hash of the password (and refuses a
// name taken), passwd replaces it (and refuses a user who does not
// exist); bad names and passwords store nothing.
func TestSetUser(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t)
	matches := func(name, pw string) bool {
		h, err := db.UserPasswordHash(ctx, name)
		return err == nil && bcrypt.CompareHashAndPassword([]byte(h), []byte(pw)) == nil
	}
	if err := r.SetUser(ctx, "dora", "first-password", true); err != nil || !matches("dora", "first-password") {
		t.Fatalf("add: %v", err)
	}
	if err := r.SetUser(ctx, "dora", "other-password", true); !errors.Is(err, state.ErrExists) {
		t.Errorf("add a taken name: %v, want ErrExists", err)
	}
	if err := r.SetUser(ctx, "dora", "second-password", false); err != nil || !matches("dora", "second-password") {
		t.Errorf("passwd: %v", err)
	}
	if err := r.SetUser(ctx, "nobody", "some-password", false); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("passwd of nobody: %v, want ErrNotFound", err)
	}
	if err := r.SetUser(ctx, "dora", "short", false); err == nil || !matches("dora", "second-password") {
		t.Errorf("a short password: %v (the old one must stay)", err)
	}
	if err := r.SetUser(ctx, ".eve", "long-enough", true); err == nil {
		t.Error("a bad name was added")
	}
	if us, _ := db.Users(ctx); len(us) != 1 {
		t.Errorf("%d users, want 1", len(us))
	}
}

// TestRemoveUser: a user goes with their books; an unknown one is
// state.ErrNotFound.
func TestRemoveUser(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t)
	if err := r.SetUser(ctx, "dora", "first-password", true); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveUser(ctx, "dora"); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if us, err := db.Users(ctx); err != nil || len(us) != 0 {
		t.Errorf("users after remove: %v, %v", us, err)
	}
	if bs, err := db.AddressBooks(ctx, "dora"); err != nil || len(bs) != 0 {
		t.Errorf("books after remove: %v, %v", bs, err)
	}
	if err := r.RemoveUser(ctx, "dora"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("remove again: %v, want ErrNotFound", err)
	}
}
