package fields

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/vcard"
)

// parse reads a vCard 3.0 made of lines.
func parse(t *testing.T, lines ...string) *vcard.Card {
	t.Helper()
	c, err := vcard.Parse([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n"))
	if err != nil {
		t.Fatalf("parse %q: %v", lines, err)
	}
	return c
}

func TestLabelAndValue(t *testing.T) {
	for _, tc := range []struct {
		line, label, value string
	}{
		{"TITLE:Head of sales", "Job title", "Head of sales"},
		{"TEL;TYPE=CELL:+44 7700 900123", "Mobile phone", "+44 7700 900123"},
		{"TEL;TYPE=WORK,VOICE:020 7946 0000", "Work phone", "020 7946 0000"},
		{"TEL;TYPE=WORK,CELL:1", "Work mobile phone", "1"},
		{"TEL;TYPE=HOME,FAX:2", "Home fax", "2"},
		{"TEL;VALUE=uri:tel:+1-555-0100", "Phone", "+1-555-0100"},
		{"TEL:3", "Phone", "3"},
		{"EMAIL;TYPE=INTERNET,WORK:a@example.com", "Work e-mail", "a@example.com"},
		{"EMAIL:b@example.com", "E-mail", "b@example.com"},
		{"item1.EMAIL:c@example.com", "E-mail", "c@example.com"},
		{"ADR;TYPE=HOME:;;1 Main St\\, Flat 2;Springfield;;12345;USA", "Home address", "1 Main St, Flat 2, Springfield, 12345, USA"},
		{"N:Doe;Jane;Q.;Dr.;PhD", "Name in parts", "Dr. Jane Q. Doe PhD"},
		{"FN:Jane Doe", "Name", "Jane Doe"},
		{"ORG:Acme\\; Sons;Sales", "Organisation", "Acme; Sons, Sales"},
		{"NOTE:line one\\nline two\\, with comma", "Note", "line one\nline two, with comma"},
		{"BDAY:19800102", "Birthday", "1980-01-02"},
		{"BDAY:1980-01-02T00:00:00Z", "Birthday", "1980-01-02"},
		{"BDAY:--0315", "Birthday", "15 March"},
		{"CATEGORIES:Friends,Work", "Categories", "Friends, Work"},
		{"NICKNAME:JD", "Nickname", "JD"},
		{"URL;TYPE=WORK:https://example.com/", "Work web page", "https://example.com/"},
		{"PHOTO;ENCODING=b;TYPE=JPEG:" + strings.Repeat("QUJD", 1024), "Photo", "photo, 3 KB"},
		{"PHOTO;VALUE=uri:https://example.com/p.jpg", "Photo", "photo at https://example.com/p.jpg"},
		{"X-FAVOURITE-DRINK:tea", "Favourite drink", "tea"},
		{"X-SPOUSE:Sam", "Spouse", "Sam"},
		{"IMPP:xmpp:jane@example.com", "Instant messaging", "xmpp:jane@example.com"},
		{"TEL;TYPE=MAIN:5", "Main phone", "5"},
	} {
		c := parse(t, tc.line)
		var p vcard.Property
		for _, q := range c.Props {
			if Shown(q.Name) {
				p = q
			}
		}
		if got := Label(c, p); got != tc.label {
			t.Errorf("Label(%s) = %q, want %q", tc.line, got, tc.label)
		}
		if got := Value(p); got != tc.value {
			t.Errorf("Value(%s) = %q, want %q", tc.line, got, tc.value)
		}
	}
}

func TestAppleLabel(t *testing.T) {
	c := parse(t, "item1.TEL:1", "item1.X-ABLabel:_$!<Mobile>!$_", "item2.EMAIL:x@example.com", "item2.X-ABLabel:Club")
	var got []string
	for _, p := range c.Props {
		if Shown(p.Name) {
			got = append(got, Label(c, p))
		}
	}
	if want := []string{"Mobile phone", "Club e-mail"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("labels %q, want %q", got, want)
	}
}

func TestShown(t *testing.T) {
	for name, want := range map[string]bool{"REV": false, "uid": false, "PRODID": false, "VERSION": false,
		"X-ABLabel": false, "X-CARDBRIDGE-LANG": false, "FN": true, "TEL": true, "X-OTHER": true} {
		if Shown(name) != want {
			t.Errorf("Shown(%s) = %v", name, !want)
		}
	}
}

func TestCompare(t *testing.T) {
	base := parse(t, "UID:u1", "REV:20240101T000000Z", "FN:Jane", "TITLE:Clerk", "TEL;TYPE=CELL:1")
	a := parse(t, "UID:u1", "REV:20240201T000000Z", "FN:Jane", "TITLE:Manager", "TEL;TYPE=CELL:1", "NOTE:from a")
	b := parse(t, "UID:u1", "REV:20240301T000000Z", "FN:Jane", "TITLE:Director", "TEL;TYPE=CELL:1", "TEL;TYPE=WORK:2")
	merged := parse(t, "UID:u1", "FN:Jane", "TITLE:Director", "TEL;TYPE=CELL:1", "TEL;TYPE=WORK:2", "NOTE:from a")
	got := Compare(base, a, b, merged)
	want := []Row{
		{Label: "Name", Base: []string{"Jane"}, A: []string{"Jane"}, B: []string{"Jane"}, Merged: []string{"Jane"}},
		{Label: "Job title", Base: []string{"Clerk"}, A: []string{"Manager"}, B: []string{"Director"}, Merged: []string{"Director"}, Differs: true},
		{Label: "Mobile phone", Base: []string{"1"}, A: []string{"1"}, B: []string{"1"}, Merged: []string{"1"}},
		{Label: "Work phone", B: []string{"2"}, Merged: []string{"2"}, Differs: true},
		{Label: "Note", A: []string{"from a"}, Merged: []string{"from a"}, Differs: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Compare:\n got %+v\nwant %+v", got, want)
	}
	if rows := Compare(nil, a, b, nil); rows[1].Base != nil || rows[1].Merged != nil {
		t.Fatalf("no base, no merge: %+v", rows[1])
	}
}

// TestSideNames pins the one rule by which a side is named to a person
// (the pair line, the conflicts page, `conflicts show`).
func TestSideNames(t *testing.T) {
	o365 := config.Side{Type: config.SideO365, Account: "work"}
	for _, tc := range []struct {
		a, b           config.Side
		titleA, titleB string
		wantA, wantB   string
	}{
		{o365, config.Side{Type: config.SideServer, User: "alice", Addressbook: "contacts"}, "", "iPhone book", "Office 365", "iPhone book"},
		{config.Side{Type: config.SideO365, Folder: "Team"}, config.Side{Type: config.SideServer, Addressbook: "contacts"}, "", "", "Office 365 (Team)", "address book contacts"},
		{config.Side{Type: config.SideVdir, Path: "/home/a/Phone book/"}, config.Side{Type: config.SideCardDAV, URL: "https://dav.example.com:8443/x/"}, "", "", "folder Phone book", "CardDAV dav.example.com"},
		{config.Side{Type: config.SideVdir, Path: "/x/contacts"}, config.Side{Type: config.SideVdir, Path: "/y/contacts"}, "", "", "folder contacts (A)", "folder contacts (B)"},
		// The web page's default: a book titled "Office 365" opposite Office 365.
		{o365, config.Side{Type: config.SideServer, Addressbook: "office365"}, "", "Office 365", "Office 365", "Office 365 book"},
		{config.Side{Type: config.SideServer, Addressbook: "o"}, o365, "office 365", "", "office 365 book", "Office 365"},
		{config.Side{Type: config.SideServer, Addressbook: "o"}, config.Side{Type: config.SideVdir, Path: "/p"}, "Office 365", "", "Office 365", "folder p"},
		{config.Side{Type: config.SideServer, User: "a", Addressbook: "c"}, config.Side{Type: config.SideServer, User: "b", Addressbook: "c"}, "Contacts", "Contacts", "Contacts book (A)", "Contacts book (B)"},
		{config.Side{Type: config.SideServer, Addressbook: "c"}, config.Side{Type: config.SideCardDAV, URL: "not a url"}, " ", "", "address book c", "CardDAV server"},
	} {
		a, b := SideNames(tc.a, tc.b, tc.titleA, tc.titleB)
		if a != tc.wantA || b != tc.wantB {
			t.Errorf("SideNames(%+v, %+v) = %q, %q; want %q, %q", tc.a, tc.b, a, b, tc.wantA, tc.wantB)
		}
	}
}
