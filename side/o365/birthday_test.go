package o365_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/side/o365"
	"github.com/cardbridge/cardbridge/vcard"
)

// outlookZones are the Outlook time zones a birthday must be read from
// (issue 14: UTC−10, UTC−5, UTC, UTC+2, UTC+9, UTC+13), with the Windows
// name mailboxSettings gives for each.
var outlookZones = []struct{ win, iana string }{
	{"Hawaiian Standard Time", "Pacific/Honolulu"}, // UTC−10
	{"SA Pacific Standard Time", "America/Bogota"}, // UTC−5
	{"UTC", "UTC"},
	{"W. Europe Standard Time", "Europe/Berlin"}, // UTC+2 in summer, +1 in winter
	{"Tokyo Standard Time", "Asia/Tokyo"},        // UTC+9
	{"Tonga Standard Time", "Pacific/Tongatapu"}, // UTC+13
}

var birthdays = []string{"1980-06-02", "1975-01-01", "2000-02-29", "1999-12-31", "1867-11-07"}

// TestBirthdayFromOutlookZones: a birthday entered in Outlook is the local
// midnight of its day in UTC; it is read as that day from every zone when
// the mailbox's zone is known, and without it from every zone but those
// past UTC+11 (where the nearest UTC day is the day before).
func TestBirthdayFromOutlookZones(t *testing.T) {
	for _, z := range outlookZones {
		loc, err := time.LoadLocation(z.iana)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range birthdays {
			day, _ := time.Parse("2006-01-02", d)
			stored := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).UTC().Format(time.RFC3339)
			_, off := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).Zone()
			if got, ok := o365.BirthdayIn(stored, loc); !ok || got != d {
				t.Errorf("%s: Outlook's %s (%s) read as %q with the mailbox zone, want %s", z.iana, d, stored, got, d)
			}
			card := o365.ToVCard(api.Contact{DisplayName: bptr("B"), Birthday: &stored}, nil)
			b, _ := card.Get("BDAY")
			if off <= 11*3600 && b.Value != d {
				t.Errorf("%s: Outlook's %s (%s) read as %q without the mailbox zone, want %s", z.iana, d, stored, b.Value, d)
			}
			in := o365.ToVCardIn(api.Contact{DisplayName: bptr("B"), Birthday: &stored}, nil, loc)
			if b, _ := in.Get("BDAY"); b.Value != d {
				t.Errorf("%s: ToVCardIn read %s as %q, want %s", z.iana, stored, b.Value, d)
			}
			// What cardbridge writes reads back as the same day in every zone.
			w := d + o365.BirthdayTime
			if got, _ := o365.BirthdayIn(w, loc); got != d {
				t.Errorf("%s: cardbridge's %s read back as %q", z.iana, w, got)
			}
		}
	}
	// Forms Graph documents: a date, a date-time with a time of day.
	for v, want := range map[string]string{"1974-07-22": "1974-07-22", "2016-10-19T10:37:00Z": "2016-10-19",
		"1980-06-01T22:00:00Z": "1980-06-02", "1980-06-02T04:00:00Z": "1980-06-02", "1980-06-02T12:00:00Z": "1980-06-02",
		"1980-06-01T23:59:00Z": "1980-06-02", "1980-06-02T00:00:00.0000000Z": "1980-06-02"} {
		card := o365.ToVCard(api.Contact{DisplayName: bptr("B"), Birthday: &v}, nil)
		if b, _ := card.Get("BDAY"); b.Value != want {
			t.Errorf("birthday %s read as %q, want %s", v, b.Value, want)
		}
	}
}

// TestBirthdayWrittenShowsSameDay: the birthday written for a card's BDAY
// is the same calendar day in every zone from UTC−11 to UTC+11.
func TestBirthdayWrittenShowsSameDay(t *testing.T) {
	for _, d := range birthdays {
		card, err := vcard.Parse([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:B\r\nBDAY:" + d + "\r\nEND:VCARD\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := o365.FromVCard(card)
		if c.Birthday == nil {
			t.Fatalf("%s: no birthday written", d)
		}
		at, err := time.Parse(time.RFC3339, *c.Birthday)
		if err != nil {
			t.Fatalf("%s: written as %q: %v", d, *c.Birthday, err)
		}
		for h := -11; h <= 11; h++ {
			for _, m := range []int{0, 30, 45} {
				if h == 11 && m > 0 || h == -11 && m > 0 {
					continue
				}
				off := h*3600 + sign(h)*m*60
				if got := at.In(time.FixedZone("", off)).Format("2006-01-02"); got != d {
					t.Errorf("%s written as %s shows as %s in UTC%+d:%02d", d, *c.Birthday, got, h, m)
				}
			}
		}
		if !strings.HasSuffix(*c.Birthday, o365.BirthdayTime) {
			t.Errorf("%s written as %s", d, *c.Birthday)
		}
	}
}

func sign(h int) int {
	if h < 0 {
		return -1
	}
	return 1
}
func bptr(s string) *string { return &s }

// TestOutlookBirthdaysReachTheVCardSide: birthdays entered in Outlook in
// several zones reach the vCard side as the day entered, with and without
// MailboxSettings.Read (the side then cannot know the zone, and UTC+13 is
// out of reach), and what cardbridge writes back does not flap.
func TestOutlookBirthdaysReachTheVCardSide(t *testing.T) {
	for _, z := range outlookZones {
		for _, withZone := range []bool{true, false} {
			loc, _ := time.LoadLocation(z.iana)
			if _, off := time.Date(1980, 6, 2, 0, 0, 0, 0, loc).Zone(); !withZone && off > 11*3600 {
				continue
			}
			t.Run(fmt.Sprintf("%s zone known %v", z.iana, withZone), func(t *testing.T) {
				mb, c := zoneMailbox(t, graphsim.Options{}, z.win, loc, withZone)
				side := openSide(t, c, o365.Options{})
				for i, d := range birthdays {
					mb.Put("", []byte(fmt.Sprintf(`{"givenName":"B","surname":"N%d","displayName":"B N%d","birthday":%q}`, i, i, d)))
				}
				db := tempState(t)
				mem := mem.New("b")
				pair := engine.Pair{Name: "p", A: side, B: mem, Direction: engine.TwoWay, Policy: engine.PolicyMerge}
				if res, err := engine.New(db, nil).Run(context.Background(), pair, engine.Options{}); err != nil || len(res.Errors) > 0 {
					t.Fatalf("%v %+v", err, res)
				}
				got := map[string]bool{}
				for _, raw := range mem.Snapshot() {
					card, err := vcard.Parse(raw)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := card.Get("BDAY")
					got[b.Value] = true
				}
				for _, d := range birthdays {
					if !got[d] {
						t.Errorf("entered %s in Outlook (%s); the vCard side has %v", d, z.iana, got)
					}
				}
				// Edit on b: cardbridge writes the birthday, Outlook shows the day.
				for id, raw := range mem.Snapshot() {
					mem.Put(id, []byte(strings.Replace(string(raw), "END:VCARD", "NOTE:edited\r\nEND:VCARD", 1)))
				}
				for run := range 2 {
					res, err := engine.New(db, nil).Run(context.Background(), pair, engine.Options{})
					if err != nil || len(res.Errors) > 0 || res.B.Updated != 0 || res.A.Updated != (1-run)*len(birthdays) {
						t.Fatalf("run %d after the edit: %v %+v", run, err, res)
					}
				}
				for _, raw := range mb.Contacts("") {
					var ct api.Contact
					json.Unmarshal(raw, &ct)
					at, _ := time.Parse(time.RFC3339, *ct.Birthday)
					if shown := at.In(loc).Format("2006-01-02"); !got[shown] && z.iana != "Pacific/Tongatapu" {
						t.Errorf("Outlook in %s shows %s for %s", z.iana, shown, *ct.Birthday)
					}
				}
			})
		}
	}
}

// TestZonePermissionWarning: without MailboxSettings.Read the side says so
// once (Info, naming the account and the permission) and reads the
// birthdays as the nearest UTC day; with it, nothing is said.
func TestZonePermissionWarning(t *testing.T) {
	for _, withZone := range []bool{true, false} {
		t.Run(fmt.Sprintf("MailboxSettings.Read %v", withZone), func(t *testing.T) {
			berlin, _ := time.LoadLocation("Europe/Berlin")
			mb, c := zoneMailbox(t, graphsim.Options{Transient412Rate: -1}, "W. Europe Standard Time", berlin, withZone)
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			side := openSide(t, c, o365.Options{Account: "work", Logger: log})
			for i := range 45 { // more than one $batch of reads: still one line
				mb.Put("", []byte(fmt.Sprintf(`{"givenName":"B","surname":"N%d","displayName":"B N%d","birthday":"1980-06-02"}`, i, i)))
			}
			db := tempState(t)
			mem := mem.New("b")
			pair := engine.Pair{Name: "p", A: side, B: mem, Direction: engine.TwoWay, Policy: engine.PolicyMerge}
			if res, err := engine.New(db, nil).Run(context.Background(), pair, engine.Options{}); err != nil || len(res.Errors) > 0 || res.B.Created != 45 {
				t.Fatalf("%v %+v", err, res)
			}
			for _, raw := range mem.Snapshot() {
				card, _ := vcard.Parse(raw)
				if b, _ := card.Get("BDAY"); b.Value != "1980-06-02" {
					t.Errorf("BDAY %s", b.Value)
				}
			}
			n := strings.Count(logs.String(), "time zone is not readable")
			if withZone && n != 0 || !withZone && (n != 1 || !strings.Contains(logs.String(), "level=INFO") ||
				!strings.Contains(logs.String(), "account=work") || !strings.Contains(logs.String(), "permission=MailboxSettings.Read")) {
				t.Errorf("log:\n%s", logs.String())
			}
		})
	}
}

// zoneMailbox starts a graphsim (opts) whose mailbox has the time zone
// win/loc, and returns the mailbox and a client whose token has
// MailboxSettings.Read when withZone.
func zoneMailbox(t *testing.T, opts graphsim.Options, win string, loc *time.Location, withZone bool) (*graphsim.Mailbox, *graph.Client) {
	t.Helper()
	sim, mb := newSim(opts)
	mb.SetTimeZone(win, loc)
	scopes := []string{"Contacts.ReadWrite", "User.Read"}
	if withZone {
		scopes = append(scopes, "MailboxSettings.Read")
	}
	url, tok := serveSim(t, sim, sim, scopes...)
	return mb, newClient(t, url, tok, graph.Options{})
}
