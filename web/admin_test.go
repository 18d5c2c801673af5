package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil"
)

// adminUI serves e's state and configuration through a UI of its own whose
// log is returned, with alice as the only administrator, and returns a
// browser of it.
func adminUI(t *testing.T, e *env) (func() *browser, *testutil.LockedBuffer) {
	t.Helper()
	e.cfg.Server.Admins = []string{"alice"}
	logs := &testutil.LockedBuffer{}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	h, err := New(Options{DB: e.db, Config: e.cfg, Pairs: e.pairs, Guard: e.guard, Scheduler: e.sched, BaseURL: ts.URL,
		FailedLoginDelay: -1, Now: e.clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(Prefix, h)
	return func() *browser { b := e.browser(); b.ui = ts.URL; return b }, logs
}

// davStatus is the status of a PROPFIND of user's principal on a CardDAV
// server over e's state, with Basic credentials user:pass.
func davStatus(t *testing.T, dav *httptest.Server, user, pass string) int {
	t.Helper()
	req, _ := http.NewRequest("PROPFIND", dav.URL+"/principals/"+user+"/", strings.NewReader(`<?xml version="1.0"?><propfind xmlns="DAV:"><prop><displayname/></prop></propfind>`))
	req.Header.Set("Depth", "0")
	req.Header.Set("Content-Type", "application/xml")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAdminPage: an administrator (server.admins) sees the link and every
// section with the state's data, escaped, without any script; anyone else
// signed in gets the very 404 of a page that does not exist (a POST too,
// CSRF token or not), a visitor the sign-in page.
func TestAdminPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	open, _ := adminUI(t, e)

	const hostileUser = `<img src=x onerror="alert(1)">&'`
	const hostileUPN = `dan@t.example<script>alert(2)</script>`
	const hostilePW = `<b>Bob's "phone"</b>`
	const hostileErr = `<script>alert(3)</script> token expired`
	if err := e.db.AddUser(ctx, hostileUser, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AddMicrosoftUser(ctx, "Tenant-1", "oid-1", hostileUPN, "dan"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.db.AddAppPassword(ctx, "bob", hostilePW); err != nil {
		t.Fatal(err)
	}
	people := []api.DirectoryUser{
		{ID: "1", Mail: ptrTo("a@t.example"), UserType: ptrTo("Member")},
		{ID: "2", Mail: ptrTo("b@t.example"), UserType: ptrTo("Guest")},
		{ID: "3", UserType: ptrTo("Member")},
	}
	if err := e.db.ApplyDirectoryChanges(ctx, "tenant-1", true, people, "tok"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour)
	if err := e.db.AddRun(ctx, &state.Run{Pair: "bob-p", Started: t0, Finished: t0.Add(time.Second), Summary: []byte(fmt.Sprintf(`{"errors":[%q]}`, hostileErr))}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"x", "y"} {
		if err := e.db.Update(ctx, func(tx *state.Tx) error {
			return tx.RecordFailure("alice-p", state.Failure{Side: "a", SideID: id, Reason: "bad"}, t0)
		}); err != nil {
			t.Fatal(err)
		}
	}

	admin := open()
	admin.signIn("alice")
	if _, _, body := admin.get("/ui/"); !strings.Contains(body, `href="/ui/admin" id="nav-admin"`) {
		t.Fatalf("no link to the administrator view for an admin:\n%s", body)
	}
	st, _, body := admin.get("/ui/admin")
	if st != http.StatusOK {
		t.Fatalf("admin page: %d\n%s", st, body)
	}
	for _, want := range []string{
		`<section id="users">`, `<section id="app-passwords">`, `<section id="directory">`, `<section id="errors">`,
		`id="nav-admin" class="current"`,
		`Users 1–4 of 4.`,
		// users: how they sign in, books, pairs
		`Microsoft: dan@t.example&lt;script&gt;alert(2)&lt;/script&gt; (tenant tenant-1)`,
		`<b>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;&#39;</b>`,
		`<td data-label="Pairs">alice-p</td>`, `<td data-label="Pairs">bob-p</td>`,
		// app passwords
		`<b>&lt;b&gt;Bob&#39;s &#34;phone&#34;&lt;/b&gt;</b>`, `name="user" value="bob"`,
		// directory: 3 people, 2 with mail, 3 enabled, 2 members, 1 served, token held
		`<td><code>tenant-1</code></td><td data-label="People">3</td><td data-label="With mail">2</td><td data-label="Enabled">3</td><td data-label="Members">2</td>`,
		`<td data-label="Served">1</td>`, `<td data-label="Delta token">held</td>`,
		// errors
		`<td><b>bob-p</b></td><td data-label="Users">bob</td>`, `&lt;script&gt;alert(3)&lt;/script&gt; token expired`,
		`<td><b>alice-p</b></td><td data-label="Users">alice</td><td data-label="Items">2</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("admin page lacks %s", want)
		}
	}
	if n := strings.Count(body, `class="admin-user"`); n != 4 {
		t.Errorf("%d user rows, want 4", n)
	}
	for _, raw := range []string{hostileUser, hostileUPN, hostilePW, "<script", "onerror=\"", "javascript:"} {
		if strings.Contains(body, raw) {
			t.Errorf("admin page holds %q unescaped", raw)
		}
	}
	// Every action is a plain form: the revoke buttons post without script.
	if !strings.Contains(body, `<form class="inline" method="post" action="/ui/admin/app-passwords/revoke">`) {
		t.Error("no revoke form")
	}

	// Anyone else: the 404 of a page that does not exist, and no link.
	bob := open()
	csrf := bob.signIn("bob")
	if _, _, body := bob.get("/ui/"); strings.Contains(body, "/ui/admin") {
		t.Errorf("a non-admin's dashboard links the administrator view")
	}
	_, _, none := bob.get("/ui/adminx")
	for _, c := range []struct {
		method, csrf string
	}{{"GET", ""}, {"POST", ""}, {"POST", csrf}} {
		var st int
		var body string
		if c.method == "GET" {
			st, _, body = bob.get("/ui/admin")
		} else {
			st, _, body = bob.post("/ui/admin/app-passwords/revoke", c.csrf, url.Values{"user": {"bob"}, "name": {hostilePW}})
			body = strings.ReplaceAll(body, "/ui/admin/app-passwords/revoke", "/ui/admin")
		}
		if st != http.StatusNotFound || strings.ReplaceAll(body, "/ui/admin.", "/ui/adminx.") != none {
			t.Errorf("non-admin %s (csrf %v): %d\n%s", c.method, c.csrf != "", st, body)
		}
	}
	if ps, _ := e.db.AppPasswords(ctx, "bob"); len(ps) != 1 {
		t.Fatalf("a non-admin revoked: %+v", ps)
	}

	// A visitor is sent to sign in, as for every page.
	for _, c := range []struct{ method, path string }{{"GET", "/ui/admin"}, {"POST", "/ui/admin/app-passwords/revoke"}} {
		if st, loc, _ := open().do(c.method, c.path, url.Values{}); st != http.StatusSeeOther || loc != "/ui/login" {
			t.Errorf("signed out %s %s: %d %s", c.method, c.path, st, loc)
		}
	}
}

// TestAdminRevoke: an administrator revokes another user's app password;
// the device is served until then and refused from its next request; the
// revocation is logged naming admin, user and password; a form without
// the CSRF token and an unknown password revoke nothing.
func TestAdminRevoke(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	open, logs := adminUI(t, e)
	dav := httptest.NewServer(mustDAV(t, e.db))
	t.Cleanup(dav.Close)
	tok, _, err := e.db.AddAppPassword(ctx, "bob", "Bob's phone")
	if err != nil {
		t.Fatal(err)
	}
	keep, _, err := e.db.AddAppPassword(ctx, "bob", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if st := davStatus(t, dav, "bob", tok); st != http.StatusMultiStatus {
		t.Fatalf("before the revocation: %d, want 207", st)
	}
	admin := open()
	csrf := admin.signIn("alice")
	form := url.Values{"user": {"bob"}, "name": {"Bob's phone"}, "q": {"b"}, "page": {"1"}}
	for _, bad := range []string{"", "wrong"} {
		if st, _, _ := admin.post("/ui/admin/app-passwords/revoke", bad, form); st != http.StatusForbidden {
			t.Errorf("CSRF token %q: %d, want 403", bad, st)
		}
	}
	if st := davStatus(t, dav, "bob", tok); st != http.StatusMultiStatus {
		t.Fatalf("after refused revocations: %d, want 207", st)
	}
	if st, _, body := admin.post("/ui/admin/app-passwords/revoke", csrf, url.Values{"user": {"bob"}, "name": {"tablet"}}); st != http.StatusNotFound || !strings.Contains(body, `id="error"`) || !strings.Contains(body, "nothing was revoked") {
		t.Errorf("unknown password: %d\n%s", st, body)
	}

	st, loc, _ := admin.post("/ui/admin/app-passwords/revoke", csrf, form)
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/admin?") || !strings.HasSuffix(loc, "#app-passwords") {
		t.Fatalf("revoke: %d %s", st, loc)
	}
	if q := mustURL(t, loc).Query(); q.Get("revoked") != "Bob's phone" || q.Get("of") != "bob" || q.Get("q") != "b" {
		t.Errorf("redirect %s", loc)
	}
	if st := davStatus(t, dav, "bob", tok); st != http.StatusUnauthorized {
		t.Fatalf("after the revocation: %d, want 401", st)
	}
	if st := davStatus(t, dav, "bob", keep); st != http.StatusMultiStatus {
		t.Fatalf("bob's other app password: %d, want 207", st)
	}
	if l := logs.String(); !strings.Contains(l, `msg="web: app password revoked by an administrator" admin=alice user=bob name="Bob's phone"`) {
		t.Errorf("log:\n%s", l)
	}
	_, _, body := admin.get(loc)
	if !strings.Contains(body, `id="flash"`) || !strings.Contains(body, "Bob&#39;s phone") || strings.Count(body, `class="admin-app-password"`) != 1 || strings.Contains(body, `id="no-admin-app-passwords"`) {
		t.Errorf("after the revocation:\n%s", body)
	}
	if st, _, _ := admin.post("/ui/admin/app-passwords/revoke", csrf, url.Values{"user": {"bob"}, "name": {"laptop"}}); st != http.StatusSeeOther {
		t.Fatalf("revoke laptop: %d", st)
	}
	if _, _, body := admin.get("/ui/admin"); strings.Count(body, `class="admin-app-password"`) != 0 || !strings.Contains(body, `id="no-admin-app-passwords"`) {
		t.Errorf("no app passwords left:\n%s", body)
	}
}

// TestAdminPaging: thousands of users are shown a page at a time with the
// total and links to the neighbouring pages; a filter narrows them.
func TestAdminPaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	open, _ := adminUI(t, e)
	const n = 2500
	for i := range n {
		if err := e.db.AddUser(ctx, fmt.Sprintf("u%04d", i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	total := n + 2 // alice and bob
	admin := open()
	admin.signIn("alice")
	cases := []struct {
		target     string
		rows       int
		count      string
		prev, next string
	}{
		{"/ui/admin", adminPageSize, fmt.Sprintf("Users 1–100 of %d.", total), "", `href="/ui/admin?page=2"`},
		{"/ui/admin?page=2", adminPageSize, fmt.Sprintf("Users 101–200 of %d.", total), `href="/ui/admin"`, `href="/ui/admin?page=3"`},
		{"/ui/admin?page=26", 2, fmt.Sprintf("Users 2501–2502 of %d.", total), `href="/ui/admin?page=25"`, ""},
		{"/ui/admin?page=99", 0, "No users", `href="/ui/admin?page=26"`, ""},
		{"/ui/admin?page=x", adminPageSize, fmt.Sprintf("Users 1–100 of %d.", total), "", `href="/ui/admin?page=2"`},
		{"/ui/admin?q=U24", 100, "Users 1–100 of 100 whose name holds “U24”.", "", ""},
		{"/ui/admin?q=u24&page=2", 0, "No users", `href="/ui/admin?q=u24"`, ""},
	}
	for _, c := range cases {
		st, _, body := admin.get(c.target)
		if st != http.StatusOK {
			t.Fatalf("%s: %d", c.target, st)
		}
		if got := strings.Count(body, `class="admin-user"`); got != c.rows {
			t.Errorf("%s: %d rows, want %d", c.target, got, c.rows)
		}
		if !strings.Contains(body, c.count) {
			t.Errorf("%s: no %q", c.target, c.count)
		}
		if c.prev != "" && !strings.Contains(body, c.prev+` rel="prev"`) || c.prev == "" && strings.Contains(body, `rel="prev"`) {
			t.Errorf("%s: previous link, want %q", c.target, c.prev)
		}
		if c.next != "" && !strings.Contains(body, c.next+` rel="next"`) || c.next == "" && strings.Contains(body, `rel="next"`) {
			t.Errorf("%s: next link, want %q", c.target, c.next)
		}
		if len(body) > 200<<10 {
			t.Errorf("%s: %d bytes", c.target, len(body))
		}
	}
}

// mustDAV is a CardDAV server over db (its default guard takes app
// passwords).
func mustDAV(t *testing.T, db *state.DB) http.Handler {
	t.Helper()
	h, err := server.New(server.Options{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func ptrTo[T any](v T) *T { return &v }

// BenchmarkAdminPage5k renders the administrator view of an organisation,
// server-side: 5,000 users with an app password each and a pair each (a
// fifth of them failed, with failed items), and a 5,000-person directory.
func BenchmarkAdminPage5k(b *testing.B) {
	h, cookie := benchUI(b, 0, 0)
	ctx := context.Background()
	db, cfg := h.o.DB, h.o.Config
	cfg.Server.Admins = []string{"alice"}
	const n = 5000
	people := make([]api.DirectoryUser, 0, n)
	t0 := time.Now().Add(-time.Hour)
	for i := range n {
		u := fmt.Sprintf("user%04d", i)
		if err := db.AddUser(ctx, u, "x"); err != nil {
			b.Fatal(err)
		}
		if _, _, err := db.AddAppPassword(ctx, u, "phone"); err != nil {
			b.Fatal(err)
		}
		p := "mb-" + u
		cfg.Pairs[p] = config.Pair{Name: p, A: config.Side{Type: config.SideServer, User: u, Addressbook: state.DefaultAddressBook}, B: config.Side{Type: config.SideVdir, Path: "/x"}}
		if i%5 == 0 {
			if err := db.AddRun(ctx, &state.Run{Pair: p, Started: t0, Finished: t0.Add(time.Second), Summary: []byte(`{"errors":["MailboxNotEnabledForRESTAPI"]}`)}); err != nil {
				b.Fatal(err)
			}
			if err := db.Update(ctx, func(tx *state.Tx) error {
				return tx.RecordFailure(p, state.Failure{Side: "a", SideID: "x", Reason: "bad"}, t0)
			}); err != nil {
				b.Fatal(err)
			}
		}
		people = append(people, api.DirectoryUser{ID: fmt.Sprint(i), Mail: ptrTo(u + "@t.example"), UserType: ptrTo("Member")})
	}
	if err := db.ApplyDirectoryChanges(ctx, "tenant", true, people, "tok"); err != nil {
		b.Fatal(err)
	}
	var size int
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:5232/ui/admin", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || strings.Count(w.Body.String(), `class="admin-user"`) != adminPageSize {
			b.Fatalf("%d, %d users", w.Code, strings.Count(w.Body.String(), `class="admin-user"`))
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}

// TestAdminMailboxes: the Mailboxes section counts every provisioned
// mailbox and lists those of the users shown, with their state, last run,
// changes and error (escaped); without mailboxes it says how they come.
func TestAdminMailboxes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	open, _ := adminUI(t, e)
	admin := open()
	admin.signIn("alice")
	if _, _, body := admin.get("/ui/admin"); !strings.Contains(body, `id="no-mailboxes"`) || !strings.Contains(body, `<section id="mailboxes">`) {
		t.Fatalf("no mailbox: the section should say none are provisioned:\n%s", body)
	}

	for i, u := range []string{"carol", "dave", "erin"} {
		if err := e.db.AddUser(ctx, u, "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.AddMailbox(ctx, state.Mailbox{Account: "contoso", TenantID: "t1", ObjectID: fmt.Sprintf("oid-%d", i),
			UPN: u + "@contoso.example", User: u, Created: time.Now()}, nil); err != nil {
			t.Fatal(err)
		}
	}
	mbs, err := e.db.Mailboxes(ctx, "")
	if err != nil || len(mbs) != 3 {
		t.Fatalf("mailboxes: %v %v", mbs, err)
	}
	pairOf := map[string]string{}
	for _, m := range mbs {
		pairOf[m.User] = m.Pair
	}
	if err := e.db.RecordMailboxRun(ctx, pairOf["carol"], state.MailboxRun{End: time.Now(), AChanges: 2, BChanges: 7,
		Error: `<script>alert(1)</script>MailboxNotEnabledForRESTAPI`}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.PauseMailbox(ctx, "contoso", "oid-1", time.Now()); err != nil {
		t.Fatal(err)
	}

	_, _, body := admin.get("/ui/admin")
	for _, want := range []string{
		`3 provisioned mailboxes: 2 active, 1 paused, 1 whose last run failed.`,
		`<b>carol@contoso.example</b>`, `<b>dave@contoso.example</b>`, `<b>erin@contoso.example</b>`,
		`2 to Office 365, 7 to the book`,
		`&lt;script&gt;alert(1)&lt;/script&gt;MailboxNotEnabledForRESTAPI`,
		`<td data-label="State">paused`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("admin page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("a mailbox's error reached the page unescaped")
	}

	// the filter narrows the list to the users shown; the counts stay
	_, _, body = admin.get("/ui/admin?q=erin")
	if !strings.Contains(body, `<b>erin@contoso.example</b>`) || strings.Contains(body, `<b>carol@contoso.example</b>`) ||
		!strings.Contains(body, `3 provisioned mailboxes`) {
		t.Errorf("filtered page: want erin's mailbox only and the counts of all:\n%s", body)
	}
}

// TestAdminDirectoryServedOptions: with an account serving the tenant's
// Directory book, the Directory section's Served count follows its options
// (here guests and a group) and names them under the count.
func TestAdminDirectoryServedOptions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	open, _ := adminUI(t, e)
	const grp = "cccccccc-0000-4000-8000-000000000003"
	people := []api.DirectoryUser{
		{ID: "1", Mail: ptrTo("a@t.example"), UserType: ptrTo("Member")},
		{ID: "2", Mail: ptrTo("b@t.example"), UserType: ptrTo("Guest")},
		{ID: "3", Mail: ptrTo("c@t.example"), UserType: ptrTo("Member")},
	}
	if err := e.db.ApplyDirectoryChanges(ctx, "tenant-1", true, people, "tok"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.db.SetDirectoryGroupMembers(ctx, "tenant-1", grp, []string{"1", "2"}); err != nil {
		t.Fatal(err)
	}
	e.cfg.Accounts["org"] = config.Account{Name: "org", Tenant: "tenant-1", Flow: "client-secret", Directory: &config.DirectoryBook{Guests: true, Group: grp}}
	admin := open()
	admin.signIn("alice")
	st, _, body := admin.get("/ui/admin")
	if st != http.StatusOK {
		t.Fatalf("admin page: %d\n%s", st, body)
	}
	if want := `<td data-label="Served">2<br><span class="muted">guests group <code>` + grp + `</code></span></td>`; !strings.Contains(body, want) {
		t.Errorf("admin page lacks %s", want)
	}
}
