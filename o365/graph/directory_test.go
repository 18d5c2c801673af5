package graph

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graphsim"
)

// appTokens issues app-only simulator tokens with User.Read.All.
type appTokens struct{ s *graphsim.Server }

func (a appTokens) Token(context.Context) (string, error) {
	return a.s.IssueToken("daemon", "", "User.Read.All")
}
func (a appTokens) Invalidate() {}

func byID(t *testing.T, ch []api.DirectoryUser) map[string]api.DirectoryUser {
	t.Helper()
	m := map[string]api.DirectoryUser{}
	for _, u := range ch {
		m[u.ID] = u
	}
	return m
}

func TestUsersDeltaRounds(t *testing.T) {
	s := graphsim.New(graphsim.Options{Seed: 7, DeltaEmptyPages: 0.3})
	s.AddApp(graphsim.App{ClientID: "daemon", Secret: "d", Roles: []string{"User.Read.All"}})
	carol := s.AddUser(graphsim.User{UPN: "carol@contoso.example", DisplayName: "Carol", JobTitle: "CTO"})
	bob := s.AddUser(graphsim.User{UPN: "bob@contoso.example", DisplayName: "Bob", Manager: "carol@contoso.example", BusinessPhones: []string{"+1 555 0100"}})
	gone := s.AddUser(graphsim.User{UPN: "gone@contoso.example", DisplayName: "Gone"})
	for i := range 30 { // more than one page
		s.AddUser(graphsim.User{UPN: "u" + string(rune('a'+i)) + "@contoso.example", DisplayName: "U"})
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c := newWith(t, Options{BaseURL: ts.URL + "/v1.0", Mailbox: "daemon-dir", Tokens: appTokens{s}, Sleep: (&sleeps{}).sleep, Rand: func() float64 { return 0 }, MaxPageSize: 10}, nil)
	ctx := t.Context()

	full, tok, err := c.UsersDelta(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if tok == "" {
		t.Fatal("no delta token after a full round")
	}
	m := byID(t, full)
	if len(m) != 33 {
		t.Fatalf("full round: %d users, want 33", len(m))
	}
	b := m[bob.User().ID]
	if b.DisplayName == nil || *b.DisplayName != "Bob" || len(b.BusinessPhones) != 1 || len(b.ManagerDelta) != 1 || b.ManagerDelta[0].ID != carol.User().ID {
		t.Fatalf("bob in the full round: %+v", b)
	}
	if b.AccountEnabled == nil || !*b.AccountEnabled || b.UserType == nil || *b.UserType != "Member" {
		t.Fatalf("bob's accountEnabled/userType not read: %+v", b)
	}

	// a round without changes is empty
	none, tok2, err := c.UsersDelta(ctx, tok)
	if err != nil || len(none) != 0 || tok2 == "" {
		t.Fatalf("no-change round: %d changes, token %q, %v", len(none), tok2, err)
	}

	dan := s.AddUser(graphsim.User{UPN: "dan@contoso.example", DisplayName: "Dan"})
	if err := s.UpdateUser(carol.User().ID, func(u *graphsim.User) { u.JobTitle = "CEO" }); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableUser(bob.User().ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(gone.User().ID, false); err != nil {
		t.Fatal(err)
	}
	ch, tok3, err := c.UsersDelta(ctx, tok2)
	if err != nil {
		t.Fatal(err)
	}
	m = byID(t, ch)
	if len(m) != 4 {
		t.Fatalf("changes: %d users (%+v), want dan, carol, bob, gone", len(m), ch)
	}
	if d := m[dan.User().ID]; d.DisplayName == nil || *d.DisplayName != "Dan" {
		t.Errorf("new user: %+v", d)
	}
	if cu := m[carol.User().ID]; cu.JobTitle == nil || *cu.JobTitle != "CEO" || cu.DisplayName != nil {
		t.Errorf("changed user should carry only jobTitle: %+v", cu)
	}
	if bu := m[bob.User().ID]; bu.AccountEnabled == nil || *bu.AccountEnabled || bu.DisplayName != nil {
		t.Errorf("disabled user should carry only accountEnabled false: %+v", bu)
	}
	if g := m[gone.User().ID]; g.Removed == nil || g.Removed.Reason != "changed" {
		t.Errorf("removed user: %+v", g)
	}

	s.ExpireDeltaTokens()
	if _, _, err := c.UsersDelta(ctx, tok3); !errors.Is(err, ErrDirectoryTokenExpired) {
		t.Fatalf("expired token: %v, want ErrDirectoryTokenExpired", err)
	}
	if again, _, err := c.UsersDelta(ctx, ""); err != nil || len(byID(t, again)) != 33 {
		t.Fatalf("full round after expiry: %d, %v", len(again), err)
	}
}
