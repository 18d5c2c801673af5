package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
)

const testGroup = "33333333-3333-4333-8333-333333333333"

// dirEnv is newEnv plus a directory: carol (Bob's manager, a photo),
// dave (disabled), erin (guest), frank (no mailbox), and a group of
// alice, carol and erin.
func dirEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	e := newEnv(t, opts)
	e.s.AddUser(User{ID: "c0000000-0000-4000-8000-000000000003", UPN: "carol@contoso.example", DisplayName: "Carol Chef", GivenName: "Carol", Surname: "Chef",
		JobTitle: "CTO", Department: "R&D", OfficeLocation: "B1", BusinessPhones: []string{"+1 555 0100"}, MobilePhone: "+1 555 0101",
		OtherMails: []string{"carol@home.example"}, Photo: []byte("\xff\xd8\xff\xe0 jpeg bytes")})
	e.s.AddUser(User{UPN: "dave@contoso.example", DisplayName: "Dave", Disabled: true})
	e.s.AddUser(User{UPN: "erin_fabrikam.example#EXT#@contoso.example", DisplayName: "Erin", Guest: true, Mail: "erin@fabrikam.example"})
	e.s.AddUser(User{UPN: "frank@contoso.example", DisplayName: "Frank", NoMailbox: true})
	if err := e.s.UpdateUser("bob@contoso.example", func(u *User) { u.Manager = "carol@contoso.example" }); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AddGroup(Group{ID: testGroup, DisplayName: "Staff", Members: []string{"alice@contoso.example", "carol@contoso.example", "erin_fabrikam.example#EXT#@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	e.s.AddApp(App{ClientID: "daemon", Secret: "d", Roles: []string{"User.Read.All", "GroupMember.Read.All", "Contacts.ReadWrite"}})
	return e
}

func (e *testEnv) appTok(client string, roles ...string) string {
	e.t.Helper()
	tok, err := e.s.IssueToken(client, "", roles...)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// collect follows nextLinks from path and returns every value and the
// final deltaLink (if any).
func (e *testEnv) collect(path, tok string, hdr ...string) ([]map[string]any, string, int) {
	e.t.Helper()
	var all []map[string]any
	pages := 0
	for path != "" {
		r := e.do("GET", path, tok, nil, hdr...)
		if r.status != 200 {
			e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		pages++
		var p struct {
			Value []map[string]any `json:"value"`
			Next  string           `json:"@odata.nextLink"`
			Delta string           `json:"@odata.deltaLink"`
		}
		json.Unmarshal(r.body, &p)
		all = append(all, p.Value...)
		if p.Next == "" {
			return all, p.Delta, pages
		}
		if p.Delta != "" {
			e.t.Fatalf("page with both links: %s", r.body)
		}
		path = p.Next
	}
	return all, "", pages
}

func names(vals []map[string]any, key string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, fmt.Sprint(v[key]))
	}
	sort.Strings(out)
	return out
}

func TestDirectoryAccess(t *testing.T) {
	e := dirEnv(t, Options{})
	cases := []struct {
		name, path, tok string
		status          int
		code            string
	}{
		{"delegated list", "/v1.0/users", e.tok(), 403, "Authorization_RequestDenied"},
		{"delegated delta", "/v1.0/users/delta", e.tok(), 403, "Authorization_RequestDenied"},
		{"app without User.Read.All", "/v1.0/users", e.appTok("conf", "Contacts.ReadWrite"), 403, "Authorization_RequestDenied"},
		{"delta without User.Read.All", "/v1.0/users/delta", e.appTok("conf", "Contacts.ReadWrite"), 403, "Authorization_RequestDenied"},
		{"manager without role", "/v1.0/users/bob@contoso.example/manager", e.appTok("conf", "Contacts.ReadWrite"), 403, "Authorization_RequestDenied"},
		{"members without GroupMember.Read.All", "/v1.0/groups/" + testGroup + "/members", e.appTok("conf", "User.Read.All"), 403, "Authorization_RequestDenied"},
		{"app list", "/v1.0/users", e.appTok("daemon"), 200, ""},
		{"members", "/v1.0/groups/" + testGroup + "/members", e.appTok("daemon"), 200, ""},
		{"unknown group", "/v1.0/groups/44444444-4444-4444-8444-444444444444/members", e.appTok("daemon"), 404, "Request_ResourceNotFound"},
		{"no manager", "/v1.0/users/alice@contoso.example/manager", e.appTok("daemon"), 404, "Request_ResourceNotFound"},
		{"no photo", "/v1.0/users/alice@contoso.example/photo/$value", e.appTok("daemon"), 404, "ImageNotFound"},
		{"unknown user's manager", "/v1.0/users/nobody@contoso.example/manager", e.appTok("daemon"), 404, "Request_ResourceNotFound"},
		{"bad select", "/v1.0/users?$select=shoeSize", e.appTok("daemon"), 400, "Request_BadRequest"},
		{"unsupported filter", "/v1.0/users?$filter=department eq 'R%26D'", e.appTok("daemon"), 400, "Request_UnsupportedQuery"},
		{"ne filter", "/v1.0/users?$filter=userType ne 'Guest'", e.appTok("daemon"), 400, "Request_UnsupportedQuery"},
		{"top too big", "/v1.0/users?$top=1000", e.appTok("daemon"), 400, "Request_BadRequest"},
		{"delta $top", "/v1.0/users/delta?$top=5", e.appTok("daemon"), 400, "Request_BadRequest"},
		{"delta filter other than id", "/v1.0/users/delta?$filter=accountEnabled eq true", e.appTok("daemon"), 400, "Request_UnsupportedQuery"},
		{"delta forged token", "/v1.0/users/delta?$deltatoken=abc.def", e.appTok("daemon"), 400, CodeSyncStateInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("GET", strings.ReplaceAll(c.path, " ", "%20"), c.tok, nil)
			if r.status != c.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if c.code != "" {
				if got := r.errCode(t); got != c.code {
					t.Fatalf("code %s, want %s", got, c.code)
				}
			}
		})
	}
}

func TestDirectoryListUsers(t *testing.T) {
	e := dirEnv(t, Options{})
	tok := e.appTok("daemon")
	all, _, pages := e.collect("/v1.0/users?$top=2&$select=id,displayName,accountEnabled,userType,mail", tok)
	if pages != 3 || len(all) != 6 {
		t.Fatalf("%d pages, %d users: %v", pages, len(all), all)
	}
	if got := names(all, "displayName"); !slices.Equal(got, []string{"Alice", "Bob", "Carol Chef", "Dave", "Erin", "Frank"}) {
		t.Fatalf("users %v", got)
	}
	for _, u := range all {
		if _, ok := u["jobTitle"]; ok {
			t.Fatalf("$select ignored: %v", u)
		}
		if u["displayName"] == "Frank" && u["mail"] != nil {
			t.Fatalf("a user without a mailbox has no mail: %v", u)
		}
	}
	// default properties: no accountEnabled/userType without $select
	def, _, _ := e.collect("/v1.0/users", tok)
	if _, ok := def[0]["accountEnabled"]; ok || def[0]["userPrincipalName"] == nil {
		t.Fatalf("default set: %v", def[0])
	}
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{"accountEnabled eq false", []string{"Dave"}},
		{"userType eq 'Guest'", []string{"Erin"}},
		{"accountEnabled eq true and userType eq 'Member'", []string{"Alice", "Bob", "Carol Chef", "Frank"}},
	} {
		got, _, _ := e.collect("/v1.0/users?$filter="+url.QueryEscape(c.filter), tok)
		if n := names(got, "displayName"); !slices.Equal(n, c.want) {
			t.Errorf("%s: %v, want %v", c.filter, n, c.want)
		}
	}
	// manager and photo
	r := e.do("GET", "/v1.0/users/bob@contoso.example/manager?$select=id,displayName", tok, nil)
	if m := r.json(t); r.status != 200 || m["displayName"] != "Carol Chef" || m["@odata.type"] != "#microsoft.graph.user" {
		t.Fatalf("manager: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/v1.0/users/c0000000-0000-4000-8000-000000000003/photo/$value", tok, nil)
	if r.status != 200 || string(r.body) != "\xff\xd8\xff\xe0 jpeg bytes" || r.h.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("photo: %d %q %s", r.status, r.body, r.h.Get("Content-Type"))
	}
	// members, paged
	mem, _, pages := e.collect("/v1.0/groups/"+testGroup+"/members?$top=2&$select=id,displayName", tok)
	if pages != 2 || !slices.Equal(names(mem, "displayName"), []string{"Alice", "Carol Chef", "Erin"}) {
		t.Fatalf("members (%d pages): %v", pages, mem)
	}
}

func TestDirectoryTenantsAreSeparate(t *testing.T) {
	e := dirEnv(t, Options{})
	const other = "99999999-9999-4999-8999-999999999999"
	if err := e.s.AddTenant(other, "fabrikam.example"); err != nil {
		t.Fatal(err)
	}
	e.s.AddUser(User{UPN: "olga@fabrikam.example", DisplayName: "Olga", Tenant: "fabrikam.example"})
	e.s.AddApp(App{ClientID: "fab", Secret: "f", Tenant: other, Roles: []string{"User.Read.All", "Contacts.ReadWrite"}})
	all, _, _ := e.collect("/v1.0/users", e.appTok("fab"))
	if got := names(all, "displayName"); !slices.Equal(got, []string{"Olga"}) {
		t.Fatalf("fabrikam sees %v", got)
	}
	if r := e.do("GET", "/v1.0/users/alice@contoso.example/contacts", e.appTok("fab"), nil); r.status != 404 {
		t.Fatalf("another tenant's mailbox: %d", r.status)
	}
	all, _, _ = e.collect("/v1.0/users/delta", e.appTok("daemon"))
	if slices.Contains(names(all, "displayName"), "Olga") {
		t.Fatal("contoso's delta shows fabrikam's user")
	}
}

// TestUsersDeltaRounds: the initial round lists every live user; after
// changes from the test helpers the next round has exactly those changes.
func TestUsersDeltaRounds(t *testing.T) {
	e := dirEnv(t, Options{})
	tok := e.appTok("daemon")
	first, link, pages := e.collect("/v1.0/users/delta?$select=displayName,mail,jobTitle,accountEnabled,userType&$expand=manager", tok, "Prefer", "odata.maxpagesize=4")
	if pages != 2 || len(first) != 6 || link == "" || !strings.Contains(link, "$deltatoken=") {
		t.Fatalf("initial: %d pages %d users link %q", pages, len(first), link)
	}
	for _, u := range first {
		if u["@removed"] != nil {
			t.Fatalf("removed in initial round: %v", u)
		}
		if u["displayName"] == "Bob" {
			md, _ := u["manager@delta"].([]any)
			if len(md) != 1 || md[0].(map[string]any)["id"] != "c0000000-0000-4000-8000-000000000003" {
				t.Fatalf("bob's manager@delta: %v", u)
			}
		}
	}
	// nothing changed: an empty round with a new deltaLink
	none, link2, _ := e.collect(link, tok)
	if len(none) != 0 || link2 == "" {
		t.Fatalf("no-change round: %v", none)
	}
	// changes
	e.s.AddUser(User{UPN: "gina@contoso.example", DisplayName: "Gina", JobTitle: "Nurse"})
	must(t, e.s.DisableUser("alice@contoso.example"))
	must(t, e.s.UpdateUser("carol@contoso.example", func(u *User) { u.JobTitle = "CEO"; u.Department = "Board" }))
	must(t, e.s.RemoveUser("frank@contoso.example", false))
	must(t, e.s.RemoveUser("dave@contoso.example", true))
	must(t, e.s.UpdateUser("bob@contoso.example", func(u *User) { u.DisplayName = "Bob" })) // no change: not in delta
	round, link3, _ := e.collect(link2, tok)
	byName := map[string]map[string]any{}
	for _, u := range round {
		byName[fmt.Sprint(u["id"])] = u
	}
	if len(round) != 5 {
		t.Fatalf("round has %d entries, want 5: %v", len(round), round)
	}
	alice := byName[e.alice.User().ID]
	if alice["accountEnabled"] != false || len(alice) != 2 {
		t.Fatalf("alice: only id and accountEnabled: %v", alice)
	}
	carol := byName["c0000000-0000-4000-8000-000000000003"]
	if carol["jobTitle"] != "CEO" || carol["displayName"] != nil || len(carol) != 2 { // department is not selected
		t.Fatalf("carol: %v", carol)
	}
	var gina, frank, dave map[string]any
	for _, u := range round {
		switch {
		case u["displayName"] == "Gina":
			gina = u
		case u["@removed"] != nil && u["@removed"].(map[string]any)["reason"] == "changed":
			frank = u
		case u["@removed"] != nil:
			dave = u
		}
	}
	if gina == nil || gina["jobTitle"] != "Nurse" || gina["accountEnabled"] != true {
		t.Fatalf("gina in full: %v", gina)
	}
	if frank == nil || dave == nil || dave["@removed"].(map[string]any)["reason"] != "deleted" {
		t.Fatalf("removals: %v", round)
	}
	// the removed are gone from /users, their mailbox and the group
	if r := e.do("GET", "/v1.0/users/frank@contoso.example", tok, nil); r.status != 404 {
		t.Fatalf("removed user: %d", r.status)
	}
	// group membership changes show in members
	must(t, e.s.RemoveGroupMember(testGroup, "alice@contoso.example"))
	must(t, e.s.AddGroupMember(testGroup, "gina@contoso.example"))
	mem, _, _ := e.collect("/v1.0/groups/"+testGroup+"/members", tok)
	if got := names(mem, "displayName"); !slices.Equal(got, []string{"Carol Chef", "Erin", "Gina"}) {
		t.Fatalf("members %v", got)
	}
	if err := e.s.AddGroupMember(testGroup, "gina@contoso.example"); err == nil {
		t.Fatal("adding a member twice: no error")
	}
	// the manager going away shows as a manager change
	must(t, e.s.RemoveUser("carol@contoso.example", false))
	last, _, _ := e.collect(link3, tok)
	var bob map[string]any
	for _, u := range last {
		if u["id"] == e.bob.User().ID {
			bob = u
		}
	}
	if md, ok := bob["manager@delta"].([]any); !ok || len(md) != 0 {
		t.Fatalf("bob after his manager left: %v", last)
	}
}

func TestUsersDeltaTokens(t *testing.T) {
	e := dirEnv(t, Options{DirectoryDeltaTokenTTL: time.Hour})
	tok := e.appTok("daemon")
	_, link, _ := e.collect("/v1.0/users/delta?$select=displayName", tok)
	// $select is kept in the token
	e.s.AddUser(User{UPN: "hal@contoso.example", DisplayName: "Hal", JobTitle: "Pilot"})
	round, link2, _ := e.collect(link, tok)
	if len(round) != 1 || round[0]["jobTitle"] != nil || round[0]["displayName"] != "Hal" {
		t.Fatalf("select not kept: %v", round)
	}
	e.clock.Add(2 * time.Hour)
	tok = e.appTok("daemon")
	r := e.do("GET", link2, tok, nil)
	if r.status != 410 || r.errCode(t) != CodeSyncStateNotFound {
		t.Fatalf("expired: %d %s", r.status, r.body)
	}
	// ExpireDeltaTokens too
	_, link3, _ := e.collect("/v1.0/users/delta", tok)
	e.s.ExpireDeltaTokens()
	if r := e.do("GET", link3, tok, nil); r.status != 410 {
		t.Fatalf("after ExpireDeltaTokens: %d", r.status)
	}
	// another tenant's token is refused
	must(t, e.s.AddTenant("99999999-9999-4999-8999-999999999999", "fabrikam.example"))
	e.s.AddApp(App{ClientID: "fab", Secret: "f", Tenant: "fabrikam.example", Roles: []string{"User.Read.All"}})
	_, link4, _ := e.collect("/v1.0/users/delta", tok)
	if r := e.do("GET", link4, e.appTok("fab"), nil); r.status != 400 {
		t.Fatalf("other tenant's token: %d", r.status)
	}
	// $filter=id eq: only those users
	ids, _, _ := e.collect("/v1.0/users/delta?$filter="+url.QueryEscape("id eq '"+e.bob.User().ID+"'"), tok)
	if len(ids) != 1 || ids[0]["id"] != e.bob.User().ID {
		t.Fatalf("id filter: %v", ids)
	}
}

func TestUsersDeltaPageCap(t *testing.T) {
	e := dirEnv(t, Options{})
	for i := range 250 {
		e.s.AddUser(User{UPN: fmt.Sprintf("u%03d@contoso.example", i)})
	}
	tok := e.appTok("daemon")
	r := e.do("GET", "/v1.0/users/delta?$select=id", tok, nil, "Prefer", "odata.maxpagesize=999")
	var p struct{ Value []any }
	json.Unmarshal(r.body, &p)
	if len(p.Value) != userDeltaPageCap {
		t.Fatalf("page of %d, want the cap %d", len(p.Value), userDeltaPageCap)
	}
	all, _, _ := e.collect("/v1.0/users/delta?$select=id", tok)
	if len(all) != 256 {
		t.Fatalf("%d users", len(all))
	}
}

func TestDirectoryHelpersRefuse(t *testing.T) {
	e := dirEnv(t, Options{})
	for name, err := range map[string]error{
		"unknown user":   e.s.DisableUser("nobody@contoso.example"),
		"upn change":     e.s.UpdateUser("bob@contoso.example", func(u *User) { u.UPN = "robert@contoso.example" }),
		"self manager":   e.s.UpdateUser("bob@contoso.example", func(u *User) { u.Manager = "bob@contoso.example" }),
		"bad tenant id":  e.s.AddTenant("fabrikam", "fabrikam.example"),
		"same tenant":    e.s.AddTenant(e.s.Options().Tenant, "x.example"),
		"bad group id":   e.s.AddGroup(Group{ID: "staff"}),
		"member twice":   e.s.AddGroupMember(testGroup, "alice@contoso.example"),
		"not a member":   e.s.RemoveGroupMember(testGroup, "bob@contoso.example"),
		"remove unknown": e.s.RemoveUser("nobody@contoso.example", true),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDisabledUserCannotSignIn: a disabled account is refused at the
// authorize endpoint, at refresh and at the device login.
func TestDisabledUserCannotSignIn(t *testing.T) {
	e := newEnv(t, Options{AutoApprove: true})
	rt := firstRefresh(t, e)
	must(t, e.s.DisableUser("alice@contoso.example"))
	_, challenge := pkce()
	if r := e.do("GET", authorizeURL("http://localhost:53682/", challenge, "alice@contoso.example"), "", nil); r.status != 400 || !strings.Contains(string(r.body), "AADSTS50057") {
		t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	if c, n := refreshVia(e, rt).aad(t); c != "invalid_grant" || n != 50057 {
		t.Fatalf("refresh: %s %v", c, n)
	}
	dc := e.form(tenantPath+"/devicecode", url.Values{"client_id": {"pub"}, "scope": {"Contacts.ReadWrite"}}).json(t)
	if err := e.s.ApproveDeviceCode(dc["user_code"].(string), "alice@contoso.example"); err == nil || !strings.Contains(err.Error(), "50057") {
		t.Fatalf("device approval: %v", err)
	}
	// the mailbox stays readable app-only
	if r := e.do("GET", "/v1.0/users/alice@contoso.example/contacts", e.appTok("conf"), nil); r.status != 200 {
		t.Fatalf("disabled user's mailbox, app-only: %d %s", r.status, r.body)
	}
}

// TestUsersDeltaWireTypes: a users delta round decodes into the api
// types: the full select, manager@delta, a removal.
func TestUsersDeltaWireTypes(t *testing.T) {
	e := dirEnv(t, Options{})
	tok := e.appTok("daemon")
	decode := func(path string) ([]api.DirectoryUser, string) {
		r := e.do("GET", path, tok, nil)
		var p struct {
			Value []api.DirectoryUser `json:"value"`
			Delta string              `json:"@odata.deltaLink"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return p.Value, p.Delta
	}
	users, link := decode("/v1.0/users/delta?$expand=manager&$select=" + api.UserDirectorySelect)
	var bob, erin api.DirectoryUser
	for _, u := range users {
		switch u.ID {
		case e.bob.User().ID:
			bob = u
		}
		if u.UserType != nil && *u.UserType == "Guest" {
			erin = u
		}
	}
	if len(bob.ManagerDelta) != 1 || bob.ManagerDelta[0].ID != "c0000000-0000-4000-8000-000000000003" || bob.AccountEnabled == nil || !*bob.AccountEnabled {
		t.Fatalf("bob: %+v", bob)
	}
	if erin.Mail == nil || *erin.Mail != "erin@fabrikam.example" {
		t.Fatalf("guest: %+v", erin)
	}
	must(t, e.s.RemoveUser("erin_fabrikam.example#EXT#@contoso.example", true))
	gone, _ := decode(link)
	if len(gone) != 1 || gone[0].Removed == nil || gone[0].Removed.Reason != "deleted" || gone[0].DisplayName != nil {
		t.Fatalf("removal: %+v", gone)
	}
}

// TestUsersDeltaShortPagesAndRepeats: with DeltaEmptyPages and
// DeltaDuplicates the initial snapshot has short pages and users again on
// later pages; upserting by id still gives every user once.
func TestUsersDeltaShortPagesAndRepeats(t *testing.T) {
	repeats, pages := 0, 0
	for seed := uint64(1); seed <= 4; seed++ {
		e := dirEnv(t, Options{DeltaEmptyPages: 0.5, DeltaDuplicates: true, Seed: seed})
		for i := range 294 {
			e.s.AddUser(User{UPN: fmt.Sprintf("u%03d@contoso.example", i)})
		}
		all, link, n := e.collect("/v1.0/users/delta?$select=id,displayName", e.appTok("daemon"), "Prefer", "odata.maxpagesize=50")
		ids := map[string]bool{}
		for _, u := range all {
			ids[fmt.Sprint(u["id"])] = true
		}
		if len(ids) != 300 || link == "" {
			t.Fatalf("seed %d: %d distinct users of 300", seed, len(ids))
		}
		repeats += len(all) - len(ids)
		pages += n
	}
	// 300 users in pages of 50 are 6 pages a round without short ones
	if repeats == 0 || pages <= 4*6 {
		t.Fatalf("no repeats or short pages: %d repeats, %d pages in 4 rounds", repeats, pages)
	}
}

// TestDirectoryPerTenantTokens: a multi-tenant app's client-credentials
// token is for the tenant it was asked in, and sees that directory only;
// an in-place edit of a slice in UpdateUser is a change like any other.
func TestDirectoryPerTenantTokens(t *testing.T) {
	e := dirEnv(t, Options{})
	must(t, e.s.AddTenant(fabrikam, "fabrikam.example"))
	e.s.AddUser(User{UPN: "olga@fabrikam.example", DisplayName: "Olga", Tenant: fabrikam})
	e.s.AddApp(App{ClientID: "multi", Secret: "m", Audience: AudienceMultipleOrgs, Roles: []string{"User.Read.All"}})
	token := func(tenant string) string {
		r := e.form("/"+tenant+"/oauth2/v2.0/token", url.Values{"client_id": {"multi"}, "client_secret": {"m"}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
		if r.status != 200 {
			t.Fatalf("token at %s: %d %s", tenant, r.status, r.body)
		}
		return r.json(t)["access_token"].(string)
	}
	fab, _, _ := e.collect("/v1.0/users", token("fabrikam.example"))
	con, _, _ := e.collect("/v1.0/users", token(e.s.Options().Tenant))
	if got := names(fab, "displayName"); !slices.Equal(got, []string{"Olga"}) {
		t.Fatalf("fabrikam: %v", got)
	}
	if len(con) != 6 || slices.Contains(names(con, "displayName"), "Olga") {
		t.Fatalf("contoso: %v", names(con, "displayName"))
	}

	tok := e.appTok("daemon")
	_, link, _ := e.collect("/v1.0/users/delta?$select=businessPhones", tok)
	must(t, e.s.UpdateUser("carol@contoso.example", func(u *User) { u.BusinessPhones[0] = "+1 555 0199" }))
	round, _, _ := e.collect(link, tok)
	if len(round) != 1 || fmt.Sprint(round[0]["businessPhones"]) != "[+1 555 0199]" {
		t.Fatalf("in-place edit: %v", round)
	}
}

// TestSeedDirectory: a seeded directory of 1,000 has guests, disabled
// users, users without a mailbox, managers and decodable photos, and
// reads back through /users/delta in pages of at most 200.
func TestSeedDirectory(t *testing.T) {
	e := dirEnv(t, Options{})
	mbs, err := e.s.SeedDirectory("", 1000, 7)
	if err != nil || len(mbs) != 1000 {
		t.Fatal(err, len(mbs))
	}
	if _, err := e.s.SeedDirectory("nosuch.example", 1, 1); err == nil {
		t.Fatal("unknown tenant: no error")
	}
	if SeedUser(7, 3, "contoso.example").UPN != mbs[3].User().UPN {
		t.Fatal("SeedUser is not deterministic")
	}
	tok := e.appTok("daemon")
	all, _, pages := e.collect("/v1.0/users/delta?$expand=manager&$select="+api.UserDirectorySelect, tok)
	if len(all) != 1006 || pages != 6 {
		t.Fatalf("%d users in %d pages", len(all), pages)
	}
	var guests, disabled, managed int
	for _, u := range all {
		if u["userType"] == "Guest" {
			guests++
		}
		if u["accountEnabled"] == false {
			disabled++
		}
		if u["manager@delta"] != nil {
			managed++
		}
	}
	if guests != 51 || disabled != 31 || managed != 901 { // erin, dave and bob from dirEnv; a guest is never also disabled
		t.Fatalf("guests %d disabled %d managed %d", guests, disabled, managed)
	}
	r := e.do("GET", "/v1.0/users/"+mbs[5].User().ID+"/photo/$value", tok, nil)
	if _, _, err := image.Decode(bytes.NewReader(r.body)); r.status != 200 || err != nil {
		t.Fatalf("photo: %d %v", r.status, err)
	}
}
