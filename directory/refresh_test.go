package directory

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
)

type appTokens struct{ s *graphsim.Server }

func (a appTokens) Token(context.Context) (string, error) {
	return a.s.IssueToken("daemon", "", "User.Read.All")
}
func (a appTokens) Invalidate() {}

func names(t *testing.T, db *state.DB, tenant string) string {
	t.Helper()
	us, err := db.DirectoryUsers(t.Context(), tenant, state.DirectoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, u := range us {
		n = append(n, u.DisplayName+"/"+u.JobTitle+"/"+u.ManagerName)
	}
	return strings.Join(n, ",")
}

// TestRefreshFromGraphsim: graphsim's directory through UsersDelta into
// the state and out as cards: a full round, incremental rounds with a
// change, a join, a disabled account and a removal, and a full round
// again after the token expired.
func TestRefreshFromGraphsim(t *testing.T) {
	ctx := t.Context()
	s := graphsim.New(graphsim.Options{Seed: 3})
	s.AddApp(graphsim.App{ClientID: "daemon", Secret: "d", Roles: []string{"User.Read.All"}})
	s.AddUser(graphsim.User{UPN: "carol@contoso.example", DisplayName: "Carol", JobTitle: "CTO", Department: "R&D"})
	s.AddUser(graphsim.User{UPN: "bob@contoso.example", DisplayName: "Bob", Manager: "carol@contoso.example"})
	s.AddUser(graphsim.User{UPN: "erin_f#EXT#@contoso.example", DisplayName: "Erin", Guest: true, Mail: "erin@f.example"})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := graph.New(graph.Options{BaseURL: ts.URL + "/v1.0", Mailbox: "directory", Tokens: appTokens{s}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tenant := s.Tenants()[0]

	r, err := Refresh(ctx, c, db, tenant)
	if err != nil || !r.Full || r.Changes != 3 {
		t.Fatalf("first refresh %+v %v", r, err)
	}
	if got := names(t, db, tenant); got != "Bob//Carol,Carol/CTO/" {
		t.Fatalf("after the first round %q", got)
	}

	if err := s.UpdateUser("carol@contoso.example", func(u *graphsim.User) { u.JobTitle = "CEO" }); err != nil {
		t.Fatal(err)
	}
	s.AddUser(graphsim.User{UPN: "dan@contoso.example", DisplayName: "Dan", Manager: "bob@contoso.example"})
	if err := s.DisableUser("bob@contoso.example"); err != nil {
		t.Fatal(err)
	}
	r, err = Refresh(ctx, c, db, tenant)
	if err != nil || r.Full || r.Changes != 3 {
		t.Fatalf("incremental refresh %+v %v", r, err)
	}
	// bob is disabled (left out) but still names dan's manager
	if got := names(t, db, tenant); got != "Carol/CEO/,Dan//Bob" {
		t.Fatalf("after changes %q", got)
	}
	us, _ := db.DirectoryUsers(ctx, tenant, state.DirectoryOptions{})
	if card := string(Card(us[0]).Encode()); !strings.Contains(card, "TITLE:CEO\r\n") || !strings.Contains(card, "ORG:;R&D\r\n") {
		t.Fatalf("carol's card after a partial change:\n%s", card)
	}

	if err := s.RemoveUser("dan@contoso.example", true); err != nil {
		t.Fatal(err)
	}
	s.ExpireDeltaTokens()
	r, err = Refresh(ctx, c, db, tenant)
	if err != nil || !r.Full {
		t.Fatalf("refresh after the token expired %+v %v", r, err)
	}
	if got := names(t, db, tenant); got != "Carol/CEO/" {
		t.Fatalf("after a full round again %q", got)
	}
	if r, err = Refresh(ctx, c, db, tenant); err != nil || r.Full || r.Changes != 0 {
		t.Fatalf("no-change refresh %+v %v", r, err)
	}
}

// TestRefreshPhotos: Refresh reads each named person's photo (404: none),
// leaves out one over state.MaxDirectoryPhoto, and keeps a photo across a
// round that does not name the person.
func TestRefreshPhotos(t *testing.T) {
	ctx := t.Context()
	s := graphsim.New(graphsim.Options{Seed: 4})
	s.AddApp(graphsim.App{ClientID: "daemon", Secret: "d", Roles: []string{"User.Read.All"}})
	s.AddUser(graphsim.User{UPN: "carol@contoso.example", DisplayName: "Carol", Photo: []byte("\xff\xd8\xff\xe0carol")})
	s.AddUser(graphsim.User{UPN: "big@contoso.example", DisplayName: "Big", Photo: append([]byte("\xff\xd8\xff\xe0"), make([]byte, state.MaxDirectoryPhoto)...)})
	s.AddUser(graphsim.User{UPN: "none@contoso.example", DisplayName: "None"})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := graph.New(graph.Options{BaseURL: ts.URL + "/v1.0", Mailbox: "directory", Tokens: appTokens{s}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tenant := s.Tenants()[0]
	photos := func() map[string]int {
		m := map[string]int{}
		if err := db.EachDirectoryUser(ctx, tenant, state.DirectoryOptions{}, true, func(u state.DirectoryUser) error {
			m[u.DisplayName] = len(u.Photo)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if r, err := Refresh(ctx, c, db, tenant); err != nil || r.Photos != 3 {
		t.Fatalf("refresh %+v %v", r, err)
	}
	if got := photos(); got["Carol"] != 9 || got["Big"] != 0 || got["None"] != 0 {
		t.Fatalf("photo sizes %v", got)
	}
	if err := s.UpdateUser("none@contoso.example", func(u *graphsim.User) { u.JobTitle = "Now titled" }); err != nil {
		t.Fatal(err)
	}
	if r, err := Refresh(ctx, c, db, tenant); err != nil || r.Photos != 1 {
		t.Fatalf("second refresh %+v %v", r, err)
	}
	if got := photos(); got["Carol"] != 9 {
		t.Fatalf("Carol's photo lost in a round that did not name her: %v", got)
	}
}
