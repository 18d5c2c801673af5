package o365_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/side/o365"
)

// TestIdentity: a side's identity names the account target and the id the
// folder resolved to, not the folder's configured name: "" and "Contacts"
// are one folder, a named folder is its id whatever its case, and another
// folder or account is another identity.
func TestIdentity(t *testing.T) {
	sim := graphsim.New(graphsim.Options{})
	sim.AddApp(graphsim.App{ClientID: testClient, PublicClient: true})
	sim.AddUser(graphsim.User{ID: "00000000-0000-0000-0000-000000000b0b", UPN: testUser, Password: "bob"})
	fam := sim.Mailbox(testUser).AddFolder("Family")
	work := sim.Mailbox(testUser).AddFolder("Work")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	tok, err := sim.IssueToken(testClient, testUser)
	if err != nil {
		t.Fatal(err)
	}
	c, err := graph.New(graph.Options{BaseURL: srv.URL + "/v1.0", Tokens: staticToken(tok)})
	if err != nil {
		t.Fatal(err)
	}
	const acc = "cloud global tenant contoso.example mailbox " + testUser
	for _, tc := range []struct {
		folder, account, want string
	}{
		{"", acc, "o365 " + acc + " folder default"},
		{"Contacts", acc, "o365 " + acc + " folder default"},
		{"Family", acc, "o365 " + acc + " folder " + fam},
		{"family", acc, "o365 " + acc + " folder " + fam},
		{"Work", acc, "o365 " + acc + " folder " + work},
		{"Family", "cloud global tenant fabrikam.example mailbox " + testUser, "o365 cloud global tenant fabrikam.example mailbox " + testUser + " folder " + fam},
		{"", "", "o365 mailbox me folder default"},
	} {
		s, err := o365.New(context.Background(), o365.Options{Client: c, Folder: tc.folder, Target: tc.account})
		if err != nil {
			t.Fatal(err)
		}
		got, err := engine.Side(s).(engine.Identifier).Identity(context.Background())
		s.Close()
		if err != nil || got != tc.want {
			t.Errorf("folder %q account %q: identity %q, %v; want %q", tc.folder, tc.account, got, err, tc.want)
		}
	}
}
