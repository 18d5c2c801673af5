package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/pairs"
)

// TestMicrosoftSignInContacts: with server.microsoft_sign_in.contacts the
// one authorization asks for Contacts.ReadWrite and offline_access too. A
// tenant that withholds Contacts.ReadWrite still signs the person in, the
// page says the contacts were not granted and nothing is stored; once it
// is granted the sign-in stores the tokens (sealed) as the user's web
// connection, one POST from the landing page makes the pair, and the pair
// syncs the mailbox into the new book with the sign-in app's tokens,
// refreshing them with the app's client secret.
func TestMicrosoftSignInContacts(t *testing.T) {
	m := newMSEnv(t)
	ctx := context.Background()
	m.cfg.Server.MicrosoftSignIn.Contacts = true
	m.cfg.Server.MicrosoftSignIn.GraphURL = m.simTS.URL + "/v1.0"
	app := graphsim.App{ClientID: msClient, Secret: msSecret, Audience: graphsim.AudienceMultipleOrgs,
		RedirectURIs: []string{"http://127.0.0.1/ui/login/microsoft/callback"}}
	m.simMB.Put(m.simMB.DefaultFolderID(), []byte(`{"givenName":"Grace","surname":"Hopper","emailAddresses":[{"address":"grace@example.com"}]}`))

	// Consent to Contacts.ReadWrite withheld: signed in, nothing connected.
	held := app
	held.Withheld = []string{"Contacts.ReadWrite"}
	m.sim.AddApp(held)
	if _, loc, _ := m.browser().get("/ui/login/microsoft"); !strings.Contains(mustURL(t, loc).Query().Get("scope"), "Contacts.ReadWrite") ||
		!strings.Contains(mustURL(t, loc).Query().Get("scope"), "offline_access") || !strings.Contains(mustURL(t, loc).Query().Get("scope"), "openid") {
		t.Fatalf("authorize URL %s", loc)
	}
	b := m.browser()
	cb := m.start(b, simUser, simPass)
	st, loc, body := b.get(cb)
	if st != http.StatusSeeOther || loc != "/ui/?contacts=refused" {
		t.Fatalf("callback without the contacts: %d %s\n%s", st, loc, body)
	}
	user := signedInAs(t, b)
	if user != "alice-2" {
		t.Fatalf("signed in as %q", user)
	}
	if _, _, body := b.get(loc); !strings.Contains(body, "did not grant access to your contacts") {
		t.Fatalf("landing page without the refusal:\n%s", body)
	}
	if _, ok, err := m.db.LoadToken(ctx, AccountName(user)); ok || err != nil {
		t.Fatalf("tokens stored for a refused consent (%v)", err)
	}
	if st, _, body := b.post("/ui/connect/pair", b.csrf(), url.Values{"book": {"office365"}}); st != http.StatusBadRequest || !strings.Contains(body, "Not connected") {
		t.Fatalf("pair without a connection: %d\n%s", st, body)
	}

	// Granted: the tokens are the user's connection, one POST makes the pair.
	m.sim.AddApp(app)
	b = m.browser()
	st, loc, body = b.get(m.start(b, simUser, simPass))
	if st != http.StatusSeeOther || loc != "/ui/?contacts=granted" {
		t.Fatalf("callback with the contacts: %d %s\n%s", st, loc, body)
	}
	_, _, body = b.get(loc)
	if !strings.Contains(body, "with access to your Office 365 contacts") || !strings.Contains(body, `id="create-pair"`) || !strings.Contains(body, `id="connected-as">`+simUser) {
		t.Fatalf("landing page:\n%s", body)
	}
	tok, ok, err := m.db.LoadToken(ctx, AccountName(user))
	if err != nil || !ok || tok.RefreshToken == "" || tok.ClientID != msClient || tok.Tenant != m.contoso || tok.Flow != auth.FlowBrowser || tok.User != simUser {
		t.Fatalf("stored connection %+v %v %v", tok, ok, err)
	}
	if owner, err := m.db.WebAccountOwner(ctx, AccountName(user)); err != nil || owner != user {
		t.Fatalf("web account owner %q %v", owner, err)
	}
	if st, loc, body := b.post("/ui/connect/pair", b.csrf(), url.Values{"book": {"office365"}}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/?created=") {
		t.Fatalf("create the pair: %d %s\n%s", st, loc, body)
	}
	wps, err := m.db.WebPairs(ctx, user)
	if err != nil || len(wps) != 1 || wps[0].Account != AccountName(user) {
		t.Fatalf("web pairs %+v %v", wps, err)
	}
	merged, skipped, err := pairs.Merge(ctx, m.db, m.cfg)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("merge: %v %v", skipped, err)
	}
	if acc := merged.Accounts[wps[0].Account]; acc.ClientID != msClient || acc.Tenant != m.contoso || !acc.Confidential || acc.ClientSecretFile == "" {
		t.Fatalf("the pair's account %+v, want the sign-in app's", acc)
	}

	// The access token has expired: the run refreshes it, as the
	// confidential sign-in app (graphsim refuses a refresh without the
	// secret), and syncs the mailbox into the book.
	tok.Expiry = time.Now().Add(-time.Hour)
	if err := m.db.SaveToken(ctx, AccountName(user), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := m.pairs.Run(ctx, wps[0].Name, pairs.RunOptions{}); err != nil {
		t.Fatalf("run of the pair: %v", err)
	}
	after, _, _ := m.db.LoadToken(ctx, AccountName(user))
	if after.RefreshToken == tok.RefreshToken || !after.Expiry.After(time.Now()) {
		t.Fatal("the run did not refresh the tokens")
	}
	ab, err := m.db.AddressBook(ctx, user, "office365")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := m.db.CountCards(ctx, ab.ID); err != nil || n != 1 {
		t.Fatalf("book holds %d cards (%v), want the mailbox's 1", n, err)
	}
}

// TestMicrosoftSignInKeepsConnection: a connection the user made with
// "Connect Office 365" (server.connect's app) is not replaced by a later
// sign-in with the contacts: the landing says it is kept, the tokens stay
// the connect app's. Without server.connect the dashboard of a user whose
// contacts were not granted offers signing in with Microsoft again.
func TestMicrosoftSignInKeepsConnection(t *testing.T) {
	m := newMSEnv(t)
	ctx := context.Background()
	m.cfg.Server.MicrosoftSignIn.Contacts = true
	m.cfg.Server.MicrosoftSignIn.GraphURL = m.simTS.URL + "/v1.0"
	b := m.browser()
	if st, loc, body := b.get(m.start(b, simUser, simPass)); st != http.StatusSeeOther || loc != "/ui/?contacts=granted" {
		t.Fatalf("first sign-in: %d %s\n%s", st, loc, body)
	}
	// Replaced by "Connect Office 365" (it may: the user asked for it).
	if st, _, body := b.get(m.consent(m.connect(b, b.csrf()), simUser, simPass)); st != http.StatusOK || !strings.Contains(body, "Office 365 connected") {
		t.Fatalf("connect: %d\n%s", st, body)
	}
	b2 := m.browser()
	if st, loc, body := b2.get(m.start(b2, simUser, simPass)); st != http.StatusSeeOther || loc != "/ui/?contacts=kept" {
		t.Fatalf("sign-in after connect: %d %s\n%s", st, loc, body)
	}
	if _, _, body := b2.get("/ui/?contacts=kept"); !strings.Contains(body, "existing Office 365 connection is kept") {
		t.Fatalf("landing:\n%s", body)
	}
	if tok, ok, err := m.db.LoadToken(ctx, AccountName("alice-2")); err != nil || !ok || tok.ClientID != simClient {
		t.Fatalf("connection %+v %v %v, want the connect app's kept", tok, ok, err)
	}

	// No server.connect, contacts not connected: sign in again.
	m.cfg.Server.Connect = config.Connect{}
	if _, err := m.db.DisconnectWebAccount(ctx, AccountName("alice-2")); err != nil {
		t.Fatal(err)
	}
	_, _, body := b2.get("/ui/")
	if !strings.Contains(body, `id="signin-contacts"`) || strings.Contains(body, `id="connect"`) {
		t.Fatalf("dashboard without server.connect:\n%s", body)
	}
}
