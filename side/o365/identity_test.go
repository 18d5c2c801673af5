package o365_test

import (
	"context"
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
	sim, mb := newSim(graphsim.Options{})
	fam := mb.AddFolder("Family")
	work := mb.AddFolder("Work")
	url, tok := serveSim(t, sim, sim)
	c := newClient(t, url, tok, graph.Options{})
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
