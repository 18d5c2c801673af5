package serve

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"
	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graphsim"
)

// TestDirectoryGroupEndToEnd: an account with directory: {group: G},
// refreshed as serve's job does (users delta, then G's members) against
// graphsim and served over CardDAV (go-webdav's client): the book lists
// G's members only; one removed from G comes out of sync-collection as
// deleted since the previous token and one added as new; the listing
// follows.
func TestDirectoryGroupEndToEnd(t *testing.T) {
	ctx := t.Context()
	const grp = "22222222-0000-4000-8000-000000000002"
	org := newOrgTenant(t, []string{"User.Read.All", "GroupMember.Read.All"}, nil)
	sim := org.sim
	for _, n := range []string{"carol", "dan", "erin"} {
		sim.AddUser(graphsim.User{UPN: n + "@contoso.example", DisplayName: strings.ToUpper(n[:1]) + n[1:], Password: "pw"})
	}
	if err := sim.AddGroup(graphsim.Group{ID: grp, DisplayName: "Sales", Members: []string{"carol@contoso.example", "dan@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	tenant := sim.Tenants()[0]
	db, runner := org.runner(t, func(a *config.Account) {
		a.Directory = &config.DirectoryBook{Group: grp, Every: config.DefaultMailboxEvery}
	})
	cfg := runner.Config()
	job := newDirectoryJob("org", runner, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	job.tick(ctx)
	if _, err := db.AddMicrosoftUser(ctx, tenant, "a0000000-0000-4000-8000-00000000000a", "viewer@contoso.example", "viewer"); err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err := db.SetUserPassword(ctx, "viewer", string(h)); err != nil {
		t.Fatal(err)
	}
	dav, err := server.New(server.Options{Store: davStore(cfg, db)})
	if err != nil {
		t.Fatal(err)
	}
	ds := httptest.NewServer(dav)
	t.Cleanup(ds.Close)
	c, err := carddav.NewClient(webdav.HTTPClientWithBasicAuth(http.DefaultClient, "viewer", "pw"), ds.URL)
	if err != nil {
		t.Fatal(err)
	}
	const book = "/addressbooks/viewer/directory/"
	names := func(paths []string) []string {
		t.Helper()
		if len(paths) == 0 {
			return nil
		}
		objs, err := c.MultiGetAddressBook(ctx, book, &carddav.AddressBookMultiGet{Paths: paths, DataRequest: carddav.AddressDataRequest{AllProp: true}})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range objs {
			out = append(out, o.Card.PreferredValue("FN"))
		}
		slices.Sort(out)
		return out
	}
	first, err := c.SyncCollection(ctx, book, &carddav.SyncQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, o := range first.Updated {
		paths = append(paths, o.Path)
	}
	if got := names(paths); !slices.Equal(got, []string{"Carol", "Dan"}) {
		t.Fatalf("the group's book lists %v, want Carol and Dan (Erin is not a member)", got)
	}

	var danPath string
	for _, p := range paths {
		if n := names([]string{p}); slices.Equal(n, []string{"Dan"}) {
			danPath = p
		}
	}

	// Dan leaves the group, Erin joins.
	if err := sim.RemoveGroupMember(grp, "dan@contoso.example"); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddGroupMember(grp, "erin@contoso.example"); err != nil {
		t.Fatal(err)
	}
	job.tick(ctx)
	next, err := c.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: first.SyncToken})
	if err != nil || len(next.Updated) != 1 || len(next.Deleted) != 1 {
		t.Fatalf("sync since the first token %+v %v, want one added and one deleted", next, err)
	}
	if got := names([]string{next.Updated[0].Path}); !slices.Equal(got, []string{"Erin"}) {
		t.Errorf("added since the first token %v, want Erin", got)
	}
	if next.Deleted[0] != danPath {
		t.Errorf("deleted %q, want Dan's %q", next.Deleted[0], danPath)
	}
	if o, err := c.GetAddressObject(ctx, danPath); err == nil {
		t.Errorf("Dan's card is still served: %s", o.Card.PreferredValue("FN"))
	}
	all, err := c.SyncCollection(ctx, book, &carddav.SyncQuery{})
	if err != nil {
		t.Fatal(err)
	}
	paths = paths[:0]
	for _, o := range all.Updated {
		paths = append(paths, o.Path)
	}
	if got := names(paths); !slices.Equal(got, []string{"Carol", "Erin"}) {
		t.Errorf("the book lists %v after the change, want Carol and Erin", got)
	}
}

// testWriter writes to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
