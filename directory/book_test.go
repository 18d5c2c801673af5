package directory

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"
	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
)

// dirEnv is graphsim's tenant refreshed into a state served by a CardDAV
// server whose store is Books.
type dirEnv struct {
	sim    *graphsim.Server
	graph  *graph.Client
	db     *state.DB
	tenant string
	url    string
}

func newDirEnv(t *testing.T) *dirEnv {
	t.Helper()
	ctx := t.Context()
	s := graphsim.New(graphsim.Options{Seed: 5})
	s.AddApp(graphsim.App{ClientID: "daemon", Secret: "d", Roles: []string{"User.Read.All"}})
	s.AddUser(graphsim.User{UPN: "carol@contoso.example", DisplayName: "Carol", JobTitle: "CTO", Photo: []byte("\xff\xd8\xff\xe0carol")})
	s.AddUser(graphsim.User{UPN: "dan@contoso.example", DisplayName: "Dan", Manager: "carol@contoso.example"})
	s.AddUser(graphsim.User{UPN: "erin_f#EXT#@contoso.example", DisplayName: "Erin", Guest: true, Mail: "erin@f.example"})
	s.AddUser(graphsim.User{UPN: "frank@contoso.example", DisplayName: "Frank", Disabled: true})
	s.AddUser(graphsim.User{UPN: "gina@contoso.example", DisplayName: "Gina", NoMailbox: true})
	gs := httptest.NewServer(s)
	t.Cleanup(gs.Close)
	c, err := graph.New(graph.Options{BaseURL: gs.URL + "/v1.0", Mailbox: "directory", Tokens: appTokens{s}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &dirEnv{sim: s, graph: c, db: db, tenant: s.Tenants()[0]}
	e.refresh(t)
	// alice and bob: people of the tenant; mallory: of another tenant;
	// plain: no Microsoft identity.
	for _, u := range []struct{ name, tenant, oid string }{
		{"alice", e.tenant, "a0000000-0000-4000-8000-00000000000a"},
		{"bob", e.tenant, "b0000000-0000-4000-8000-00000000000b"},
		{"mallory", "99999999-0000-4000-8000-000000000009", "c0000000-0000-4000-8000-00000000000c"},
	} {
		if _, err := db.AddMicrosoftUser(ctx, u.tenant, u.oid, u.name+"@x.example", u.name); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddUser(ctx, "plain", "x"); err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for _, u := range []string{"alice", "bob", "mallory", "plain"} {
		if err := db.SetUserPassword(ctx, u, string(h)); err != nil {
			t.Fatal(err)
		}
	}
	dav, err := server.New(server.Options{Store: NewBooks(db, db, []Tenant{{ID: strings.ToUpper(e.tenant)}})})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(dav)
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

func (e *dirEnv) refresh(t *testing.T) {
	t.Helper()
	if _, err := Refresh(t.Context(), e.graph, e.db, e.tenant); err != nil {
		t.Fatal(err)
	}
}

func (e *dirEnv) client(t *testing.T, user string) (*carddav.Client, webdav.HTTPClient) {
	t.Helper()
	hc := webdav.HTTPClientWithBasicAuth(http.DefaultClient, user, "pw")
	c, err := carddav.NewClient(hc, e.url)
	if err != nil {
		t.Fatal(err)
	}
	return c, hc
}

func bookPaths(t *testing.T, c *carddav.Client, user string) []string {
	t.Helper()
	books, err := c.FindAddressBooks(t.Context(), "/addressbooks/"+user+"/")
	if err != nil {
		t.Fatal(err)
	}
	var p []string
	for _, b := range books {
		p = append(p, b.Path+"="+b.Name)
	}
	return p
}

// TestDirectoryBookEndToEnd: graphsim's people refreshed into the state
// and served over CardDAV (go-webdav's client) to a user of the tenant:
// the book is listed, multiget returns the people with mail that are
// enabled members (photo and manager included), a PUT is refused 403
// need-privileges, a person who joins shows in sync-collection since the
// previous token and one who leaves as deleted; users of another tenant or
// without identity do not see it; an invalid token is refused.
func TestDirectoryBookEndToEnd(t *testing.T) {
	ctx := t.Context()
	e := newDirEnv(t)
	c, hc := e.client(t, "alice")
	if got := bookPaths(t, c, "alice"); !slices.Equal(got, []string{"/addressbooks/alice/contacts/=Contacts", "/addressbooks/alice/directory/=Directory"}) {
		t.Fatalf("alice's books %q", got)
	}
	for _, u := range []string{"mallory", "plain"} {
		uc, _ := e.client(t, u)
		if got := bookPaths(t, uc, u); len(got) != 1 {
			t.Fatalf("%s's books %q", u, got)
		}
	}
	const book = "/addressbooks/alice/directory/"
	initial, err := c.SyncCollection(ctx, book, &carddav.SyncQuery{})
	if err != nil || len(initial.Updated) != 2 || initial.SyncToken == "" {
		t.Fatalf("initial sync %+v %v", initial, err)
	}
	var paths []string
	for _, o := range initial.Updated {
		paths = append(paths, o.Path)
	}
	objs, err := c.MultiGetAddressBook(ctx, book, &carddav.AddressBookMultiGet{Paths: paths, DataRequest: carddav.AddressDataRequest{AllProp: true}})
	if err != nil || len(objs) != 2 {
		t.Fatalf("multiget %d %v", len(objs), err)
	}
	cards := map[string]string{}
	for _, o := range objs {
		cards[o.Card.PreferredValue("FN")] = o.Card.PreferredValue("PHOTO") + "|" + o.Card.PreferredValue("RELATED") + "|" + o.ETag
	}
	if !strings.HasPrefix(cards["Carol"], "data:image/jpeg;base64,") || !strings.Contains(cards["Dan"], "|Carol|") {
		t.Fatalf("cards %q", cards)
	}

	// a PUT is refused, the card unchanged
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, e.url+paths[0], strings.NewReader("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:x\r\nFN:X\r\nEND:VCARD\r\n"))
	req.Header.Set("Content-Type", "text/vcard")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("need-privileges")) {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	// PROPPATCH and DELETE refused as well
	for _, m := range []struct{ method, path, body string }{
		{"PROPPATCH", book, `<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>X</d:displayname></d:prop></d:set></d:propertyupdate>`},
		{http.MethodDelete, paths[0], ""},
		{http.MethodDelete, book, ""},
	} {
		req, _ := http.NewRequestWithContext(ctx, m.method, e.url+m.path, strings.NewReader(m.body))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("need-privileges")) {
			t.Fatalf("%s %s: %d %s", m.method, m.path, resp.StatusCode, body)
		}
	}
	// PROPFIND: ETag, ctag, sync token, read-only privileges
	req, _ = http.NewRequestWithContext(ctx, "PROPFIND", e.url+book, strings.NewReader(`<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:getetag/><cs:getctag/><d:sync-token/><d:current-user-privilege-set/></d:prop></d:propfind>`))
	req.Header.Set("Depth", "1")
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{initial.SyncToken, "getctag>", strings.Trim(objs[0].ETag, `"`), "read-current-user-privilege-set"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("PROPFIND lacks %q: %s", want, body)
		}
	}
	if bytes.Contains(body, []byte("write-content")) {
		t.Fatalf("PROPFIND says the book is writable: %s", body)
	}
	// addressbook-query
	found, err := c.QueryAddressBook(ctx, book, &carddav.AddressBookQuery{DataRequest: carddav.AddressDataRequest{AllProp: true},
		PropFilters: []carddav.PropFilter{{Name: "FN", TextMatches: []carddav.TextMatch{{Text: "caro"}}}}})
	if err != nil || len(found) != 1 || found[0].Card.PreferredValue("FN") != "Carol" {
		t.Fatalf("query %+v %v", found, err)
	}

	// MKCOL of the name the Directory holds
	req, _ = http.NewRequestWithContext(ctx, "MKCOL", e.url+book, nil)
	if resp, err = hc.Do(req); err != nil || resp.StatusCode < 400 {
		t.Fatalf("MKCOL over the Directory: %v %v", resp, err)
	}
	resp.Body.Close()

	// Hana joins, Dan leaves
	e.sim.AddUser(graphsim.User{UPN: "hana@contoso.example", DisplayName: "Hana"})
	if err := e.sim.RemoveUser("dan@contoso.example", true); err != nil {
		t.Fatal(err)
	}
	e.refresh(t)
	next, err := c.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: initial.SyncToken})
	if err != nil || len(next.Updated) != 1 || len(next.Deleted) != 1 || next.SyncToken == initial.SyncToken {
		t.Fatalf("sync since the first token %+v %v", next, err)
	}
	hana, err := c.GetAddressObject(ctx, next.Updated[0].Path)
	if err != nil || hana.Card.PreferredValue("FN") != "Hana" {
		t.Fatalf("the new person %+v %v", hana, err)
	}
	if gone := next.Deleted[0]; !slices.Contains(paths, gone) || cards["Dan"] == "" {
		t.Fatalf("deleted %q", gone)
	}
	if _, err := c.GetAddressObject(ctx, next.Deleted[0]); err == nil {
		t.Fatal("the person who left is still served")
	}
	if _, err := c.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: "cb-sync-1-999"}); err == nil {
		t.Fatal("a token of another book was taken")
	}
	if _, err := c.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: next.SyncToken + "9"}); err == nil {
		t.Fatal("a token from the future was taken")
	}
}

// TestDirectoryBookOneCopy: two users of the tenant read the same
// people from one copy: the state holds one row per person, and both
// users' books list the same cards and ETags.
func TestDirectoryBookOneCopy(t *testing.T) {
	ctx := t.Context()
	e := newDirEnv(t)
	var lists []string
	for _, u := range []string{"alice", "bob"} {
		c, _ := e.client(t, u)
		sc, err := c.SyncCollection(ctx, "/addressbooks/"+u+"/directory/", &carddav.SyncQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var l []string
		for _, o := range sc.Updated {
			l = append(l, o.Path[strings.LastIndex(o.Path, "/"):]+o.ETag)
		}
		slices.Sort(l)
		lists = append(lists, strings.Join(l, ","))
	}
	if lists[0] != lists[1] || lists[0] == "" {
		t.Fatalf("alice %q, bob %q", lists[0], lists[1])
	}
	us, err := e.db.DirectoryUsers(ctx, e.tenant, state.DirectoryOptions{IncludeGuests: true, IncludeDisabled: true, IncludeWithoutMail: true})
	if err != nil || len(us) != 5 {
		t.Fatalf("rows in the state: %d %v", len(us), err)
	}
	var cards int
	for _, u := range []string{"alice", "bob"} {
		books, _ := e.db.AddressBooks(ctx, u)
		for _, b := range books {
			cs, _ := e.db.Cards(ctx, b.ID)
			cards += len(cs)
		}
	}
	if cards != 0 {
		t.Fatalf("%d cards copied into the users' own books", cards)
	}
}

// TestDirectoryBookNameTaken: a user's own book named directory keeps the
// name; the Directory book is served as directory-2.
func TestDirectoryBookNameTaken(t *testing.T) {
	e := newDirEnv(t)
	if _, err := e.db.CreateAddressBook(t.Context(), "alice", "directory", "Mine", ""); err != nil {
		t.Fatal(err)
	}
	c, _ := e.client(t, "alice")
	if got := bookPaths(t, c, "alice"); !slices.Equal(got, []string{"/addressbooks/alice/contacts/=Contacts", "/addressbooks/alice/directory/=Mine", "/addressbooks/alice/directory-2/=Directory"}) {
		t.Fatalf("books %q", got)
	}
}

// TestDirectoryBookSyncLimit: a sync-collection with a limit answers part
// of the changes (and 507 for the rest, RFC 6578 §3.6) and a token that
// resumes with the rest.
func TestDirectoryBookSyncLimit(t *testing.T) {
	ctx := t.Context()
	e := newDirEnv(t)
	for _, n := range []string{"ina", "jon", "kim"} {
		e.sim.AddUser(graphsim.User{UPN: n + "@contoso.example", DisplayName: n})
	}
	e.refresh(t)
	_, hc := e.client(t, "alice")
	const book = "/addressbooks/alice/directory/"
	hrefRE := regexp.MustCompile(`<(?:[a-zA-Z]+:)?href>([^<]+\.vcf)</`)
	tokRE := regexp.MustCompile(`<(?:[a-zA-Z]+:)?sync-token>([^<]+)</`)
	seen := map[string]bool{}
	tok := ""
	for round := 0; round < 10; round++ {
		body := `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>` + tok + `</d:sync-token><d:sync-level>1</d:sync-level>` +
			`<d:limit><d:nresults>2</d:nresults></d:limit><d:prop><d:getetag/></d:prop></d:sync-collection>`
		req, _ := http.NewRequestWithContext(ctx, "REPORT", e.url+book, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/xml")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		hrefs := hrefRE.FindAllStringSubmatch(string(b), -1)
		m := tokRE.FindStringSubmatch(string(b))
		if resp.StatusCode != http.StatusMultiStatus || len(hrefs) > 2 || m == nil {
			t.Fatalf("round %d: %d %s", round, resp.StatusCode, b)
		}
		for _, h := range hrefs {
			seen[h[1]] = true
		}
		if m[1] == tok || len(hrefs) == 0 {
			break
		}
		tok = m[1]
	}
	// the five listed people come as changes; the guest, the disabled
	// one and the one without mail may come as deleted (written since
	// the token, not listed), which a client that never had them ignores
	c, _ := e.client(t, "alice")
	all, err := c.SyncCollection(ctx, book, &carddav.SyncQuery{})
	if err != nil || len(all.Updated) != 5 {
		t.Fatalf("full sync %d %v", len(all.Updated), err)
	}
	for _, o := range all.Updated {
		if !seen[o.Path] {
			t.Fatalf("limited rounds missed %s: %v", o.Path, seen)
		}
	}
}

// TestDirectoryBookAppPassword: a server over Books without a Guard of
// its own still takes the users' app passwords, as over *state.DB.
func TestDirectoryBookAppPassword(t *testing.T) {
	e := newDirEnv(t)
	tok, _, err := e.db.AddAppPassword(t.Context(), "alice", "phone")
	if err != nil {
		t.Fatal(err)
	}
	hc := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "alice", tok)
	c, err := carddav.NewClient(hc, e.url)
	if err != nil {
		t.Fatal(err)
	}
	if got := bookPaths(t, c, "alice"); len(got) != 2 {
		t.Fatalf("books with an app password %q", got)
	}
}
