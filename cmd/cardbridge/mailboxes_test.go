package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/graphsim"
)

// TestServeProvisionsTenantMailboxes: `cardbridge serve` with an app-only
// account with mailboxes: all gives each mailbox of a graphsim tenant a
// user, a book with its contacts and a pair; the unlicensed one fails
// alone; `status` lists the mailboxes in a table and `status --json` ends
// with a {"mailboxes": [...]} line.
func TestServeProvisionsTenantMailboxes(t *testing.T) {
	sim := graphsim.New(graphsim.Options{})
	const client, secret = "11111111-2222-3333-4444-555555555555", "org-secret"
	sim.AddApp(graphsim.App{ClientID: client, Secret: secret})
	for name, n := range map[string]int{"alice": 3, "bob": 2} {
		m := sim.AddUser(graphsim.User{UPN: name + "@contoso.example", DisplayName: name, Password: "pw"})
		m.Seed(m.DefaultFolderID(), n, int64(n))
	}
	sim.AddUser(graphsim.User{UPN: "nolicence@contoso.example", Password: "pw", NoMailbox: true, Mail: "nolicence@contoso.example"})
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)

	dir := t.TempDir()
	cfg := serveConfig(t, dir, freePort(t), fmt.Sprintf(`accounts:
  org:
    tenant: %s
    client_id: %s
    flow: client-secret
    client_secret_env: ORG_SECRET
    login_url: %s
    graph_url: %s/v1.0
    mailboxes: all
    mailbox_concurrency: 2
`, sim.Tenants()[0], client, ts.URL, ts.URL))
	env := []string{"ORG_SECRET=" + secret}
	cmd := binCmd(t, env, "--config", cfg, "serve")
	out := startCmd(t, cmd)

	type view struct {
		Mailbox, User, Pair, State, Error string
		LastRun                           *time.Time `json:"last_run"`
		ToBook                            int        `json:"changes_to_book"`
	}
	var mbs []view
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := runCmd(t, binCmd(t, env, "--config", cfg, "status", "--json"))
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		mbs = nil
		if r.code == 0 && len(lines) > 0 {
			var last struct{ Mailboxes []view }
			if json.Unmarshal([]byte(lines[len(lines)-1]), &last) == nil {
				mbs = last.Mailboxes
			}
		}
		ran := len(mbs) == 3
		for _, m := range mbs {
			ran = ran && m.LastRun != nil
		}
		if ran {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailboxes not all run after 60 s: %+v\nstatus: %s %s\nserve:\n%s", mbs, r.stdout, r.stderr, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	byUser := map[string]view{}
	for _, m := range mbs {
		byUser[m.User] = m
	}
	if a := byUser["alice"]; a.Pair != "org-alice" || a.State != "active" || a.ToBook != 3 || a.Error != "" || a.Mailbox != "alice@contoso.example" {
		t.Errorf("alice's mailbox %+v, want org-alice, active, 3 cards to the book", a)
	}
	if b := byUser["bob"]; b.ToBook != 2 || b.Error != "" {
		t.Errorf("bob's mailbox %+v", b)
	}
	if n := byUser["nolicence"]; !strings.Contains(n.Error, "MailboxNotEnabledForRESTAPI") {
		t.Errorf("unlicensed mailbox %+v, want MailboxNotEnabledForRESTAPI", n)
	}
	r := runCmd(t, binCmd(t, env, "--config", cfg, "status"))
	for _, want := range []string{"Mailboxes:", "MAILBOX", "USER", "STATE", "LAST RUN", "CHANGES", "ERROR",
		"alice@contoso.example", "0 to Office 365, 3 to the book", "MailboxNotEnabledForRESTAPI"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	if code := stopServe(t, cmd, out); code != 0 {
		t.Errorf("serve exit %d:\n%s", code, out)
	}
}
