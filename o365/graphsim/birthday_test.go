package graphsim

import (
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
