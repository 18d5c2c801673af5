package directory

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"
	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/o365/api"

	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
)

// BenchmarkRefreshFull5000: a full users delta round of a 5,000-person
// directory from graphsim (no latency) into a SQLite state.
func BenchmarkRefreshFull5000(b *testing.B) {
	ctx := b.Context()
	s := graphsim.New(graphsim.Options{Seed: 3})
	s.AddApp(graphsim.App{ClientID: "daemon", Secret: "d", Roles: []string{"User.Read.All"}})
	for i := range 5000 {
		s.AddUser(graphsim.User{UPN: fmt.Sprintf("u%04d@contoso.example", i), DisplayName: fmt.Sprintf("User %04d", i),
			JobTitle: "Engineer", Department: "R&D", BusinessPhones: []string{"+1 555 0100"}, Manager: "u0000@contoso.example"})
	}
	ts := httptest.NewServer(s)
	b.Cleanup(ts.Close)
	c, err := graph.New(graph.Options{BaseURL: ts.URL + "/v1.0", Mailbox: "directory", Tokens: appTokens{s}})
	if err != nil {
		b.Fatal(err)
	}
	tenant := s.Tenants()[0]
	for b.Loop() {
		b.StopTimer()
		db, err := state.Open(ctx, filepath.Join(b.TempDir(), "state.db"), state.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := Refresh(ctx, c, db, tenant)
		if err != nil || r.Changes < 5000 {
			b.Fatalf("%+v %v", r, err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}

// BenchmarkBook5000: a 5,000-person directory (each with a 2 KB photo)
// served as the Directory book: one sync-collection from empty and one
// addressbook-multiget of every card, over HTTP with go-webdav's client.
func BenchmarkBook5000(b *testing.B) {
	ctx := b.Context()
	db, err := state.Open(ctx, filepath.Join(b.TempDir(), "state.db"), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	const tenant = "aaaaaaaa-0000-4000-8000-000000000001"
	photo := append([]byte("\xff\xd8\xff\xe0"), make([]byte, 2048)...)
	var changes []api.DirectoryUser
	photos := map[string][]byte{}
	str := func(s string) *string { return &s }
	yes := true
	for i := range 5000 {
		id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		changes = append(changes, api.DirectoryUser{ID: id, DisplayName: str(fmt.Sprintf("User %04d", i)), Mail: str(fmt.Sprintf("u%04d@contoso.example", i)),
			JobTitle: str("Engineer"), Department: str("R&D"), BusinessPhones: []string{"+1 555 0100"}, AccountEnabled: &yes, UserType: str("Member"),
			ManagerDelta: []api.DirectoryObject{{ID: "00000000-0000-4000-8000-000000000000"}}})
		photos[id] = photo
	}
	if err := db.ApplyDirectoryRound(ctx, tenant, state.DirectoryRound{Full: true, Changes: changes, Token: "t", Photos: photos}); err != nil {
		b.Fatal(err)
	}
	if _, err := db.AddMicrosoftUser(ctx, tenant, "a0000000-0000-4000-8000-00000000000a", "alice@contoso.example", "alice"); err != nil {
		b.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err := db.SetUserPassword(ctx, "alice", string(h)); err != nil {
		b.Fatal(err)
	}
	dav, err := server.New(server.Options{Store: NewBooks(db, db, []Tenant{{ID: tenant}}), MaxMultigetHrefs: 10000})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(dav)
	b.Cleanup(ts.Close)
	c, err := carddav.NewClient(webdav.HTTPClientWithBasicAuth(http.DefaultClient, "alice", "pw"), ts.URL)
	if err != nil {
		b.Fatal(err)
	}
	const book = "/addressbooks/alice/directory/"
	books := NewBooks(db, db, []Tenant{{ID: tenant}})
	b.Run("store-render-all", func(b *testing.B) {
		// the server side of a full multiget: every card read and rendered
		for b.Loop() {
			n, size := 0, 0
			if err := books.EachCard(ctx, BookID(Tenant{ID: tenant}), true, func(c state.Card) error { n++; size += len(c.Data); return nil }); err != nil || n != 5000 {
				b.Fatalf("%d %v", n, err)
			}
			b.ReportMetric(float64(size)/5000, "B/card")
		}
	})
	var paths []string
	b.Run("sync-collection", func(b *testing.B) {
		for b.Loop() {
			sc, err := c.SyncCollection(ctx, book, &carddav.SyncQuery{})
			if err != nil || len(sc.Updated) != 5000 {
				b.Fatalf("%d %v", len(sc.Updated), err)
			}
			paths = paths[:0]
			for _, o := range sc.Updated {
				paths = append(paths, o.Path)
			}
		}
	})
	b.Run("multiget", func(b *testing.B) {
		for b.Loop() {
			objs, err := c.MultiGetAddressBook(ctx, book, &carddav.AddressBookMultiGet{Paths: paths, DataRequest: carddav.AddressDataRequest{AllProp: true}})
			if err != nil || len(objs) != 5000 {
				b.Fatalf("%d %v", len(objs), err)
			}
		}
	})
}
