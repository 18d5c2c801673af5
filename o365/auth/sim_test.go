package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graphsim"
)

// TestSignInErrorsThroughGraphsim: the AADSTS errors graphsim produces as
// Microsoft does reach the user with the code and the table's hint, for
// every flow that meets them. It runs in a testing/synctest bubble, the
// simulator in process: golang.org/x/oauth2's device code polls and the
// months between a login and a refresh pass on the bubble's clock.
func TestSignInErrorsThroughGraphsim(t *testing.T) {
	synctest.Test(t, testSignInErrorsThroughGraphsim)
}

// approving plays alice entering every pending code before each device
// code poll reaches the simulator.
type approving struct{ sim *graphsim.Server }

func (a approving) RoundTrip(r *http.Request) (*http.Response, error) {
	for _, c := range a.sim.PendingUserCodes() {
		a.sim.ApproveDeviceCode(c, "alice@contoso.example")
	}
	return handlerTransport{a.sim}.RoundTrip(r)
}

func testSignInErrorsThroughGraphsim(t *testing.T) {
	sim := graphsim.New(graphsim.Options{Seed: 3})
	ts := struct{ URL string }{"http://127.0.0.1:9"} // reached in process (approving), never over the network
	hc := &http.Client{Transport: approving{sim}}
	sim.AddUser(graphsim.User{UPN: "alice@contoso.example"})
	sim.AddApp(graphsim.App{ClientID: "single", PublicClient: true})                                           // the portal's default + public flows
	sim.AddApp(graphsim.App{ClientID: "private"})                                                              // "Allow public client flows" off
	sim.AddApp(graphsim.App{ClientID: "multi", Audience: graphsim.AudienceMultipleOrgs, Secret: "pw"})         // multitenant, confidential
	sim.AddApp(graphsim.App{ClientID: "strict", PublicClient: true, SignInFrequency: 12 * time.Hour})          // sign-in frequency policy
	sim.AddApp(graphsim.App{ClientID: "both", Audience: graphsim.AudienceOrgsAndPersonal, PublicClient: true}) // anything goes
	acc := func(client, tenant, flow string) config.Account {
		return config.Account{Name: "work", Tenant: tenant, ClientID: client, Flow: flow, LoginURL: ts.URL, GraphURL: ts.URL + "/v1.0"}
	}
	lo := LoginOptions{HTTPClient: hc}
	ctx := context.Background()
	login := func(a config.Account) (*memStore, error) {
		st := newStore()
		_, err := LoginDevice(ctx, a, st, lo)
		return st, err
	}
	appOnly := func(a config.Account) error {
		a.User, a.ClientSecretEnv = "alice@contoso.example", "S"
		s, err := NewSourceWith(a, newStore(), SourceOptions{HTTPClient: hc, LookupEnv: env(map[string]string{"S": "pw"})})
		if err != nil {
			return err
		}
		_, err = s.Token(ctx)
		return err
	}
	// refreshAfter signs in, lets d pass and refreshes.
	refreshAfter := func(a config.Account, d time.Duration) error {
		st, err := login(a)
		if err != nil {
			return err
		}
		time.Sleep(d)
		s, err := NewSourceWith(a, st, SourceOptions{HTTPClient: hc})
		if err != nil {
			return err
		}
		_, err = s.Token(ctx)
		var nl *NeedLoginError
		if err != nil && !errors.As(err, &nl) {
			t.Errorf("refresh error %v is not a NeedLoginError", err)
		}
		return err
	}
	cases := []struct {
		name string
		code string
		run  func() error
	}{
		{"single-tenant app at /organizations", "AADSTS50059", func() error { _, err := login(acc("single", "organizations", FlowDevice)); return err }},
		{"single-tenant app at /common", "AADSTS50194", func() error { _, err := login(acc("single", "common", FlowDevice)); return err }},
		{"unknown client id", "AADSTS700016", func() error { _, err := login(acc("nosuch", "contoso.example", FlowDevice)); return err }},
		{"single-tenant app at /consumers", "AADSTS700016", func() error { _, err := login(acc("single", "consumers", FlowDevice)); return err }},
		{"not a public client", "AADSTS7000218", func() error { _, err := login(acc("private", "contoso.example", FlowDevice)); return err }},
		{"client credentials at /organizations", "AADSTS50059", func() error { return appOnly(acc("multi", "organizations", FlowClientSecret)) }},
		{"unknown tenant", "AADSTS90002", func() error { _, err := login(acc("both", "nosuch.example", FlowDevice)); return err }},
		{"refresh token unused for 91 days", "AADSTS700082", func() error {
			return refreshAfter(acc("both", "contoso.example", FlowDevice), 91*24*time.Hour)
		}},
		{"sign-in frequency", "AADSTS70043", func() error { return refreshAfter(acc("strict", "contoso.example", FlowDevice), 13*time.Hour) }},
	}
	for _, c := range cases {
		err := c.run()
		if err == nil || !strings.Contains(err.Error(), c.code+":") || !strings.HasSuffix(err.Error(), "; hint: "+Hint(c.code)) {
			t.Errorf("%s: %v, want %s with its hint", c.name, err, c.code)
		}
	}
	// and the right settings sign in
	if _, err := login(acc("single", "contoso.example", FlowDevice)); err != nil {
		t.Errorf("single-tenant app at its tenant: %v", err)
	}
	if err := appOnly(acc("multi", "contoso.example", FlowClientSecret)); err != nil {
		t.Errorf("client credentials at the tenant domain: %v", err)
	}
	if err := refreshAfter(acc("strict", "contoso.example", FlowDevice), 11*time.Hour); err != nil {
		t.Errorf("refresh within the sign-in frequency: %v", err)
	}
}

// TestMailboxSettingsScopeThroughGraphsim: the tokens of a device code login
// and of its refresh read the mailbox's time zone (graphsim refuses
// mailboxSettings without MailboxSettings.Read); a token refreshed from a
// login without that scope still reads contacts but not mailboxSettings.
func TestMailboxSettingsScopeThroughGraphsim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := graphsim.New(graphsim.Options{Transient412Rate: -1}) // no transient 412 on the reads
		sim.AddUser(graphsim.User{UPN: "alice@contoso.example"})
		sim.AddApp(graphsim.App{ClientID: "app", PublicClient: true})
		hc := &http.Client{Transport: approving{sim}}
		acc := config.Account{Name: "work", Tenant: "contoso.example", ClientID: "app", LoginURL: "http://127.0.0.1:9", GraphURL: "http://127.0.0.1:9/v1.0"}
		ctx := context.Background()
		get := func(at, path string) int {
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/v1.0/me/"+path, nil)
			req.Header.Set("Authorization", "Bearer "+at)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		st := newStore()
		if _, err := LoginDevice(ctx, acc, st, LoginOptions{HTTPClient: hc}); err != nil {
			t.Fatal(err)
		}
		if code := get(st.get("work").AccessToken, "mailboxSettings?$select=timeZone"); code != 200 {
			t.Errorf("mailboxSettings with the login's token: %d", code)
		}
		s, err := NewSourceWith(acc, st, SourceOptions{HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Hour) // the access token expires: the next Token refreshes
		at, err := s.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if code := get(at, "mailboxSettings?$select=timeZone"); code != 200 {
			t.Errorf("mailboxSettings with the refreshed token: %d", code)
		}

		// A login of an older cardbridge: without MailboxSettings.Read.
		ep, _ := EndpointsFor(acc)
		old := st.get("work")
		old.Scopes, old.Expiry = ep.contactScopes(), time.Now().Add(-time.Minute)
		st.toks["work"] = old
		s, _ = NewSourceWith(acc, st, SourceOptions{HTTPClient: hc})
		if at, err = s.Token(ctx); err != nil {
			t.Fatalf("refresh of an older login: %v", err)
		}
		if code := get(at, "contacts?$top=1"); code != 200 {
			t.Errorf("contacts with the older login's token: %d", code)
		}
		if code := get(at, "mailboxSettings?$select=timeZone"); code != 403 {
			t.Errorf("mailboxSettings with the older login's token: %d, want 403", code)
		}
	})
}
