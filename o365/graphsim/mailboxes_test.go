package graphsim

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestAppOnlyManyMailboxes: an app-only token with Contacts.ReadWrite
// reaches every mailbox of its tenant and only those; a user without a
// mailbox answers 404 MailboxNotEnabledForRESTAPI, a removed one 404, an
// application access policy 403 for mailboxes outside its group.
func TestAppOnlyManyMailboxes(t *testing.T) {
	e := dirEnv(t, Options{})
	must(t, e.s.AddTenant(fabrikam, "fabrikam.example"))
	e.s.AddUser(User{UPN: "olga@fabrikam.example", Tenant: fabrikam})
	must(t, e.s.RemoveUser("dave@contoso.example", false))
	e.s.AddApp(App{ClientID: "noroles", Secret: "x", Roles: []string{"User.Read.All"}})
	e.s.AddApp(App{ClientID: "reader", Secret: "x", Roles: []string{"Contacts.Read"}})
	e.s.AddApp(App{ClientID: "scoped", Secret: "x", Roles: []string{"Contacts.ReadWrite"}, AccessPolicyGroup: testGroup})
	daemon := e.appTok("daemon")
	// a contact written to carol's mailbox is in carol's only
	if r := e.do("POST", "/v1.0/users/carol@contoso.example/contactFolders/Contacts/contacts", daemon, map[string]any{"givenName": "Zed"}); r.status != 201 {
		t.Fatalf("create in carol's: %d %s", r.status, r.body)
	}
	cases := []struct {
		name, method, path, tok string
		status                  int
		code                    string
	}{
		{"alice", "GET", "/v1.0/users/alice@contoso.example/contactFolders/Contacts/contacts", daemon, 200, ""},
		{"bob by id", "GET", "/v1.0/users/" + e.bob.User().ID + "/contacts", daemon, 200, ""},
		{"carol", "GET", "/v1.0/users/c0000000-0000-4000-8000-000000000003/contacts/delta", daemon, 200, ""},
		{"no licence", "GET", "/v1.0/users/frank@contoso.example/contacts", daemon, 404, "MailboxNotEnabledForRESTAPI"},
		{"no licence, folders", "GET", "/v1.0/users/frank@contoso.example/contactFolders", daemon, 404, "MailboxNotEnabledForRESTAPI"},
		{"removed user", "GET", "/v1.0/users/dave@contoso.example/contacts", daemon, 404, "ErrorInvalidUser"},
		{"other tenant's user", "GET", "/v1.0/users/olga@fabrikam.example/contacts", daemon, 404, "ErrorInvalidUser"},
		{"no Contacts role", "GET", "/v1.0/users/alice@contoso.example/contacts", e.appTok("noroles"), 403, "ErrorAccessDenied"},
		{"Contacts.Read writes", "POST", "/v1.0/users/alice@contoso.example/contacts", e.appTok("reader"), 403, "ErrorAccessDenied"},
		{"policy: member", "GET", "/v1.0/users/alice@contoso.example/contacts", e.appTok("scoped"), 200, ""},
		{"policy: not a member", "GET", "/v1.0/users/bob@contoso.example/contacts", e.appTok("scoped"), 403, "ErrorAccessDenied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.method == "POST" {
				body = map[string]any{"givenName": "X"}
			}
			r := e.do(c.method, c.path, c.tok, body)
			if r.status != c.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if c.code != "" && r.errCode(t) != c.code {
				t.Fatalf("code %s, want %s: %s", r.errCode(t), c.code, r.body)
			}
		})
	}
	if got := e.s.Mailbox("carol@contoso.example").Count(""); got != 1 {
		t.Fatalf("carol has %d contacts", got)
	}
	if got := e.alice.Count(""); got != 0 {
		t.Fatalf("alice has %d contacts", got)
	}
}

// TestAppOnlyMailboxLimitsAreSeparate: one app-only token, three
// mailboxes, four concurrent requests each: none is throttled; a fifth on
// one mailbox is, and only there.
func TestAppOnlyMailboxLimitsAreSeparate(t *testing.T) {
	e := dirEnv(t, Options{Latency: 400 * time.Millisecond})
	tok := e.appTok("daemon")
	var paths []string
	for _, u := range []string{"alice@contoso.example", "bob@contoso.example", "carol@contoso.example"} {
		for range 4 {
			paths = append(paths, "/v1.0/users/"+u+"/contacts")
		}
	}
	paths = append(paths, "/v1.0/users/bob@contoso.example/contacts")
	status := make([]int, len(paths))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			req, _ := http.NewRequest("GET", e.ts.URL+p, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			<-start
			res, err := cl.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			status[i] = res.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	st := e.s.Stats()
	n429 := 0
	for _, s := range status {
		if s == 429 {
			n429++
		} else if s != 200 {
			t.Fatalf("statuses %v", status)
		}
	}
	if n429 != 1 || st.PerMailbox["bob@contoso.example"].Throttled429 != 1 || st.PerMailbox["alice@contoso.example"].MaxConcurrent != 4 || st.PerMailbox["carol@contoso.example"].Throttled429 != 0 {
		t.Fatalf("429s %d, per mailbox %+v", n429, st.PerMailbox)
	}
}
