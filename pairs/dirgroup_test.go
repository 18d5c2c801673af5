package pairs

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
)

// countingGroups is a Graph client that counts its group member reads.
type countingGroups struct {
	*graph.Client
	calls atomic.Int64
}

func (c *countingGroups) GroupMemberIDs(ctx context.Context, groupID string) ([]string, error) {
	c.calls.Add(1)
	return c.Client.GroupMemberIDs(ctx, groupID)
}

// TestProvisionMailboxesDirectoryGroup: an account whose mailboxes and
// Directory book name the same group reads its members once a round; both
// the mailboxes and the book follow them.
func TestProvisionMailboxesDirectoryGroup(t *testing.T) {
	ctx := t.Context()
	const group = "0f3c1111-2222-4333-8444-555555555555"
	f := newTenantFixture(t, group, 0)
	acc := f.cfg.Accounts["org"]
	acc.Directory = &config.DirectoryBook{Group: group, Every: time.Hour}
	f.cfg.Accounts["org"] = acc
	f.person("alice@contoso.example", 0, nil)
	f.person("bob@contoso.example", 0, nil)
	if err := f.sim.AddGroup(graphsim.Group{ID: group, DisplayName: "Sales", Members: []string{"bob@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	c, err := f.r.GraphClient(ctx, acc)
	if err != nil {
		t.Fatal(err)
	}
	g := &countingGroups{Client: c}
	round, err := f.r.ProvisionMailboxes(ctx, "org", g)
	if err != nil || !slices.Equal(round.Added, []string{"org-bob"}) {
		t.Fatalf("added %v %v, want org-bob", round.Added, err)
	}
	if n := g.calls.Load(); n != 1 {
		t.Errorf("%d reads of the group's members in one round, want 1", n)
	}
	us, err := f.db.DirectoryUsers(ctx, f.tenant, DirectoryOptions(acc))
	if err != nil || len(us) != 1 || us[0].UPN != "bob@contoso.example" {
		t.Errorf("the Directory book's people %+v %v, want bob", us, err)
	}
	// A Directory book of another group: each group read once.
	acc.Directory.Group = "1f3c1111-2222-4333-8444-555555555555"
	if err := f.sim.AddGroup(graphsim.Group{ID: acc.Directory.Group, DisplayName: "Staff", Members: []string{"alice@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	f.cfg.Accounts["org"] = acc
	g.calls.Store(0)
	if _, err := f.r.ProvisionMailboxes(ctx, "org", g); err != nil {
		t.Fatal(err)
	}
	if n := g.calls.Load(); n != 2 {
		t.Errorf("%d group member reads for two groups, want 2", n)
	}
	if us, err := f.db.DirectoryUsers(ctx, f.tenant, state.DirectoryOptions{Group: acc.Directory.Group}); err != nil || len(us) != 1 || us[0].UPN != "alice@contoso.example" {
		t.Errorf("the other group's book %+v %v, want alice", us, err)
	}
}
