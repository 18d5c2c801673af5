package graphsim

import (
	"net/url"
	"testing"
	"time"
)

// TestOutlookBirthdayIsLocalMidnight: a birthday entered in Outlook is
// stored as the local midnight of the mailbox's time zone in UTC and
// returned as that instant; the zone is in mailboxSettings (with
// MailboxSettings.Read only); a birthday written through Graph is kept as
// given.
func TestOutlookBirthdayIsLocalMidnight(t *testing.T) {
	for _, tc := range []struct {
		name, win, iana, want string
	}{
		{"UTC", "UTC", "UTC", "1980-06-02T00:00:00Z"},
		{"CEST", "W. Europe Standard Time", "Europe/Berlin", "1980-06-01T22:00:00Z"},
		{"New York", "Eastern Standard Time", "America/New_York", "1980-06-02T04:00:00Z"},
		{"UTC+13", "Tonga Standard Time", "Pacific/Tongatapu", "1980-06-01T11:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			loc, err := time.LoadLocation(tc.iana)
			if err != nil {
				t.Fatal(err)
			}
			e.alice.SetTimeZone(tc.win, loc)
			id := e.alice.Put("", []byte(`{"givenName":"B","birthday":"1980-06-02"}`))
			tok := e.tok()
			if got := e.do("GET", "/v1.0/me/contacts/"+id, tok, nil).json(t)["birthday"]; got != tc.want {
				t.Errorf("birthday entered in Outlook: %v, want %s", got, tc.want)
			}
			if r := e.do("GET", "/v1.0/me/mailboxSettings", tok, nil); r.status != 403 || r.errCode(t) != "ErrorAccessDenied" {
				t.Errorf("mailboxSettings without MailboxSettings.Read: %d %s", r.status, r.body)
			}
			tok2, _ := e.s.IssueToken("pub", "alice@contoso.example", "Contacts.ReadWrite", "MailboxSettings.Read")
			if got := e.do("GET", "/v1.0/me/mailboxSettings", tok2, nil).json(t)["timeZone"]; got != tc.win {
				t.Errorf("mailboxSettings timeZone: %v, want %s", got, tc.win)
			}
			r := e.do("PATCH", "/v1.0/me/contacts/"+id, tok, map[string]any{"birthday": "1980-06-02T12:00:00Z"})
			if got := r.json(t)["birthday"]; got != "1980-06-02T12:00:00Z" {
				t.Errorf("birthday written through Graph: %v", got)
			}
		})
	}
}

// TestMailboxSettingsPermission: mailboxSettings needs MailboxSettings.Read,
// requested as a delegated scope (granted through the token endpoint and
// kept on refresh) or held by the app as an application permission; a token
// without it gets 403 ErrorAccessDenied.
func TestMailboxSettingsPermission(t *testing.T) {
	e := newEnv(t, Options{})
	e.s.AddApp(App{ClientID: "conf-mbx", Secret: "s3cret", MailboxSettings: true})
	appToken := func(client string) string {
		r := e.form("/"+e.s.opts.Tenant+"/oauth2/v2.0/token", url.Values{"client_id": {client}, "grant_type": {"client_credentials"},
			"scope": {GraphResource + ".default"}, "client_secret": {"s3cret"}})
		tok, _ := r.json(t)["access_token"].(string)
		if tok == "" {
			t.Fatalf("client credentials of %s: %d %s", client, r.status, r.body)
		}
		return tok
	}
	delegated := func(scope string) string {
		dc := e.form(tenantPath+"/devicecode", url.Values{"client_id": {"pub"}, "scope": {scope}}).json(t)
		if err := e.s.ApproveDeviceCode(dc["user_code"].(string), "alice@contoso.example"); err != nil {
			t.Fatal(err)
		}
		r := e.form(tenantPath+"/token", url.Values{"client_id": {"pub"}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {dc["device_code"].(string)}})
		rt, _ := r.json(t)["refresh_token"].(string)
		if rt == "" {
			t.Fatalf("code redemption: %d %s", r.status, r.body)
		}
		r = e.form(tenantPath+"/token", url.Values{"client_id": {"pub"}, "grant_type": {"refresh_token"},
			"refresh_token": {rt}, "scope": {scope}})
		tok, _ := r.json(t)["access_token"].(string)
		if tok == "" {
			t.Fatalf("refresh: %d %s", r.status, r.body)
		}
		return tok
	}
	const base = GraphResource + "Contacts.ReadWrite offline_access " + GraphResource + "User.Read"
	for _, tc := range []struct {
		name, tok, path string
		want            int
	}{
		{"delegated with MailboxSettings.Read", delegated(base + " " + GraphResource + "MailboxSettings.Read"), "/v1.0/me/mailboxSettings?$select=timeZone", 200},
		{"delegated without", delegated(base), "/v1.0/me/mailboxSettings?$select=timeZone", 403},
		{"app-only with the application permission", appToken("conf-mbx"), "/v1.0/users/alice@contoso.example/mailboxSettings?$select=timeZone", 200},
		{"app-only without", appToken("conf"), "/v1.0/users/alice@contoso.example/mailboxSettings?$select=timeZone", 403},
	} {
		r := e.do("GET", tc.path, tc.tok, nil)
		if r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.want)
		}
		if tc.want == 403 && r.errCode(t) != "ErrorAccessDenied" {
			t.Errorf("%s: %s", tc.name, r.body)
		}
	}
}
