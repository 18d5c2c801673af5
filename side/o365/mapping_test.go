package o365

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/vcard"

	"github.com/cardbridge/cardbridge/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// corpus is the shared corpus's good cards by file name.
func corpus(t *testing.T) map[string]*vcard.Card { return sidetest.GoodCorpus(t) }

func sortedNames(m map[string]*vcard.Card) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// fill is the engine's fill (engine/merge.go): card completed with the
// properties of base that project(base) does not hold.
func fill(card, base *vcard.Card, project func(*vcard.Card) *vcard.Card) *vcard.Card {
	skip := map[string]bool{"UID": true, "VERSION": true, "REV": true, "PRODID": true}
	held := make(map[string]bool)
	for _, p := range project(base).Props {
		held[p.Key()] = true
	}
	src := base
	if src.Version != card.Version {
		src = base.ConvertTo(card.Version)
	}
	out := card.Clone()
	for _, p := range src.Props {
		if skip[p.Name] || held[p.Key()] {
			continue
		}
		out.Props = append(out.Props, p)
	}
	return out
}

// viaGraph sends a card through what Office 365 stores: FromVCard, the
// POST/PATCH JSON, the contact decoded from it, and ToVCard of that
// contact, encoded and parsed again as a vCard side would store it.
func viaGraph(t *testing.T, c *vcard.Card) *vcard.Card {
	t.Helper()
	contact, photo := FromVCard(c)
	raw, err := ContactJSON(contact)
	if err != nil {
		t.Fatal(err)
	}
	var stored api.Contact
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatalf("ContactJSON gave bad JSON: %v\n%s", err, raw)
	}
	back := ToVCard(stored, photo)
	parsed, err := vcard.Parse(back.Encode())
	if err != nil {
		t.Fatalf("ToVCard gave an unreadable card: %v\n%s", err, back.Encode())
	}
	if parsed.Hash() != back.Hash() {
		t.Fatalf("ToVCard's card changes when encoded and parsed:\n%s", back.Encode())
	}
	return parsed
}

func diffCards(a, b *vcard.Card) string {
	keys := func(c *vcard.Card) map[string]int {
		m := map[string]int{}
		for _, p := range c.Props {
			switch p.Name {
			case "REV", "PRODID":
				continue
			}
			if strings.Trim(p.Value, "; ,") == "" {
				continue
			}
			m[p.Key()]++
		}
		return m
	}
	ka, kb := keys(a), keys(b)
	var out []string
	for k, n := range ka {
		if kb[k] < n {
			out = append(out, "- "+k)
		}
	}
	for k, n := range kb {
		if ka[k] < n {
			out = append(out, "+ "+k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestCorpusRoundTrip: every good corpus card → Graph → back, merged over
// the original as the engine does, is the original.
func TestCorpusRoundTrip(t *testing.T) {
	for _, name := range sortedNames(corpus(t)) {
		c := corpus(t)[name]
		t.Run(name, func(t *testing.T) {
			if IsGroup(c) {
				t.Skip("a group: refused by the o365 side")
			}
			back := viaGraph(t, c)
			proj := Project(c)
			if back.Hash() != proj.Hash() {
				t.Fatalf("ToVCard(FromVCard(c)) differs from Project(c):\n%s", diffCards(proj, back))
			}
			// Every property of c not held by Project(c) is what fill adds
			// back, and nothing else: the merge is c.
			merged := fill(back, c, Project)
			if merged.Hash() != c.Hash() {
				t.Fatalf("merged over the original differs from it:\n%s", diffCards(c, merged))
			}
			// Project keeps the card's own properties only.
			own := map[string]int{}
			for _, p := range c.Props {
				own[p.Key()]++
			}
			for _, p := range proj.Props {
				if own[p.Key()] == 0 && p.Name != "FN" {
					t.Errorf("Project made up %s", p.Key())
				}
				own[p.Key()]--
			}
			if proj.Version != c.Version {
				t.Errorf("Project version %s, card %s", proj.Version, c.Version)
			}
			if h := Project(proj).Hash(); h != proj.Hash() {
				t.Errorf("Project is not idempotent:\n%s", diffCards(proj, Project(proj)))
			}
			if h := Project(back).Hash(); h != back.Hash() {
				t.Errorf("Project(ToVCard(x)) != ToVCard(x):\n%s", diffCards(back, Project(back)))
			}
		})
	}
}

// TestOutlookEditKeepsVCardOnly: Office 365 changes one field; what it
// cannot hold (a 4th e-mail, a 3rd business phone, fax, pager, X-, Apple
// labels) stays on the vCard side, and the properties it holds keep their
// vCard spelling (TYPE, groups).
func TestOutlookEditKeepsVCardOnly(t *testing.T) {
	cards := corpus(t)
	for _, name := range []string{"more-than-office365-holds.vcf", "apple-30-labels-photo.vcf", "v4-full.vcf", "escapes-and-structure.vcf", "google-export.vcf"} {
		base := cards[name]
		t.Run(name, func(t *testing.T) {
			contact, photo := FromVCard(base)
			job := "Chief Tester"
			contact.JobTitle = &job
			got := fill(ToVCard(contact, photo), base, Project)
			want := base.Clone()
			want.Remove("TITLE")
			want.Add(vcard.NewText("TITLE", job))
			if got.Hash() != want.Hash() {
				t.Fatalf("after an Outlook edit of jobTitle:\n%s", diffCards(want, got))
			}
		})
	}
}

func TestMoreThanOffice365Holds(t *testing.T) {
	c := corpus(t)["more-than-office365-holds.vcf"]
	contact, _ := FromVCard(c)
	var emails []string
	for _, e := range contact.EmailAddresses {
		emails = append(emails, e.Address)
	}
	if want := []string{"pat@work.example", "pat@home.example", "pat@other.example"}; !reflect.DeepEqual(emails, want) {
		t.Errorf("emails %v, want %v", emails, want)
	}
	if want := []string{"+1 206 555 0101", "+1 206 555 0102"}; !reflect.DeepEqual(contact.BusinessPhones, want) {
		t.Errorf("businessPhones %v, want %v", contact.BusinessPhones, want)
	}
	if want := []string{"+1 206 555 0201", "+1 206 555 0202"}; !reflect.DeepEqual(contact.HomePhones, want) {
		t.Errorf("homePhones %v, want %v", contact.HomePhones, want)
	}
	if got := deref(contact.MobilePhone); got != "+1 206 555 0301" {
		t.Errorf("mobilePhone %q", got)
	}
	if got := contact.OtherAddress; got.Street != "PO Box 3" || got.PostalCode != "98103" {
		t.Errorf("otherAddress %+v", got)
	}
	if deref(contact.SpouseName) != "Sam Many" || deref(contact.Manager) != "Lee Boss" || deref(contact.AssistantName) != "Kim Help" {
		t.Errorf("relations %q %q %q", deref(contact.SpouseName), deref(contact.Manager), deref(contact.AssistantName))
	}
	raw, _ := ContactJSON(contact)
	proj := Project(c).Encode()
	for _, gone := range []string{"pat@fourth.example", "pat@fifth.example", "0103", "0203", "0401", "0501", "4 Fourth St"} {
		if bytes.Contains(raw, []byte(gone)) {
			t.Errorf("%s went to Office 365: %s", gone, raw)
		}
		if bytes.Contains(proj, []byte(gone)) {
			t.Errorf("%s in Project:\n%s", gone, proj)
		}
	}
}

func TestAppleLabelsStayVCardSide(t *testing.T) {
	c := corpus(t)["apple-30-labels-photo.vcf"]
	proj := Project(c)
	for _, p := range proj.Props {
		switch p.Name {
		case "X-ABLABEL", "X-ABADR", "X-SOCIALPROFILE":
			t.Errorf("Project holds %s", p.Key())
		case "TEL":
			if p.Group == "item2" {
				t.Errorf("a custom-labelled phone (%s) went to Office 365", p.Key())
			}
		}
	}
	contact, photo := FromVCard(c)
	if len(photo) == 0 {
		t.Error("no photo")
	}
	if got := deref(contact.MobilePhone); got != "+1 408 555 0199" {
		t.Errorf("mobile %q", got)
	}
	if len(contact.BusinessPhones) != 0 {
		t.Errorf("businessPhones %v", contact.BusinessPhones)
	}
	if contact.HomeAddress.Street != "1 Infinite Loop" || contact.HomeAddress.CountryOrRegion != "United States" {
		t.Errorf("home %+v", contact.HomeAddress)
	}
	if deref(contact.BusinessHomePage) != "https://orchard.example/johnny" {
		t.Errorf("page %q", deref(contact.BusinessHomePage))
	}
}

// TestEmptyFamilyName: DavMail turned an empty family name into "mr. mr.".
func TestEmptyFamilyName(t *testing.T) {
	c := corpus(t)["company-only.vcf"]
	contact, _ := FromVCard(c)
	if deref(contact.Surname) != "" || deref(contact.GivenName) != "" || deref(contact.Title) != "" {
		t.Errorf("name parts %q %q %q", deref(contact.Surname), deref(contact.GivenName), deref(contact.Title))
	}
	if deref(contact.DisplayName) != "Northwind Traders" || deref(contact.CompanyName) != "Northwind Traders" {
		t.Errorf("displayName %q company %q", deref(contact.DisplayName), deref(contact.CompanyName))
	}
	back := ToVCard(contact, nil)
	if back.FN() != "Northwind Traders" {
		t.Errorf("FN %q", back.FN())
	}
	if n, _ := back.Get("N"); strings.Trim(n.Value, ";") != "" {
		t.Errorf("N %q", n.Value)
	}
	if strings.Contains(strings.ToLower(string(back.Encode())), "mr") {
		t.Errorf("something invented:\n%s", back.Encode())
	}
	if got := fill(back, c, Project); got.Hash() != c.Hash() {
		t.Errorf("not the same card back:\n%s", diffCards(c, got))
	}
	// MAIN stays vCard-only.
	if len(contact.BusinessPhones)+len(contact.HomePhones) != 0 || deref(contact.MobilePhone) != "" {
		t.Errorf("TEL;TYPE=MAIN went to Office 365")
	}
}

func mustParse(t *testing.T, lines ...string) *vcard.Card {
	t.Helper()
	c, err := vcard.Parse([]byte("BEGIN:VCARD\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustJSON(t *testing.T, c api.Contact) map[string]any {
	t.Helper()
	raw, err := ContactJSON(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return m
}

// TestFromVCardFields: one vCard property each, to the Graph JSON field.
func TestFromVCardFields(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		field string
		want  string // JSON of the field
	}{
		{"FN", []string{"FN:Ada Lovelace"}, "displayName", `"Ada Lovelace"`},
		{"FN composed", []string{"N:Lovelace;Ada;King;Countess;"}, "displayName", `"Countess Ada King Lovelace"`},
		{"FN from ORG", []string{"N:;;;;", "ORG:Contoso"}, "displayName", `"Contoso"`},
		{"N surname", []string{"N:O'Brien\\;Smith;Seán;Pádraig,Liam;;Jr."}, "surname", `"O'Brien;Smith"`},
		{"N middle list", []string{"N:O'Brien;Seán;Pádraig,Liam;;Jr."}, "middleName", `"Pádraig,Liam"`},
		{"N prefix", []string{"N:Curie;Marie;;Dr.;"}, "title", `"Dr."`},
		{"N suffix", []string{"N:Doe;John;;;Jr."}, "generation", `"Jr."`},
		{"N empty", []string{"N:;;;;", "FN:X"}, "surname", `null`},
		{"NICKNAME", []string{"NICKNAME:Bob,Rob"}, "nickName", `"Bob, Rob"`},
		{"ORG company", []string{"ORG:Smith\\, Jones;Legal\\; Tax"}, "companyName", `"Smith, Jones"`},
		{"ORG department", []string{"ORG:Smith\\, Jones;Legal\\; Tax"}, "department", `"Legal; Tax"`},
		{"TITLE", []string{"TITLE:Professor"}, "jobTitle", `"Professor"`},
		{"ROLE", []string{"ROLE:Researcher"}, "profession", `"Researcher"`},
		{"EMAIL pref first", []string{"EMAIL:a@x", "EMAIL;TYPE=pref:b@x"}, "emailAddresses", `[{"address":"b@x"},{"address":"a@x"}]`},
		{"EMAIL 4.0 PREF", []string{"VERSION:4.0", "EMAIL;PREF=2:a@x", "EMAIL;PREF=1:b@x", "EMAIL:c@x", "EMAIL:d@x"}, "emailAddresses", `[{"address":"b@x"},{"address":"a@x"},{"address":"c@x"}]`},
		{"EMAIL name", []string{"EMAIL;X-NAME=\"Doe, John\":j@x"}, "emailAddresses", `[{"address":"j@x","name":"Doe, John"}]`},
		{"EMAIL none", []string{"FN:X"}, "emailAddresses", `[]`},
		{"TEL cell", []string{"TEL;TYPE=CELL,VOICE:+48 600 100 200"}, "mobilePhone", `"+48 600 100 200"`},
		{"TEL iphone", []string{"TEL;TYPE=IPHONE:+1 555"}, "mobilePhone", `"+1 555"`},
		{"TEL work ext", []string{"TEL;TYPE=WORK,VOICE:+353 1 555 0000 ext. 42"}, "businessPhones", `["+353 1 555 0000 ext. 42"]`},
		{"TEL x123", []string{"TEL;TYPE=HOME:+1 (425) 555-0100 x123"}, "homePhones", `["+1 (425) 555-0100 x123"]`},
		{"TEL 2.1", []string{"VERSION:2.1", "TEL;WORK;VOICE:+48 22 555 01 23"}, "businessPhones", `["+48 22 555 01 23"]`},
		{"TEL tel: URI", []string{"VERSION:4.0", "TEL;VALUE=uri;TYPE=work:tel:+33-1-55-55-02-02;ext=123"}, "businessPhones", `["+33-1-55-55-02-02;ext=123"]`},
		{"TEL untyped business then home", []string{"TEL:1", "TEL;TYPE=VOICE:2", "TEL:3", "TEL:4", "TEL:5"}, "homePhones", `["3","4"]`},
		{"TEL typed before untyped", []string{"TEL:1", "TEL;TYPE=WORK:2", "TEL;TYPE=WORK:3"}, "businessPhones", `["2","3"]`},
		{"TEL untyped to home when business full", []string{"TEL:1", "TEL;TYPE=WORK:2", "TEL;TYPE=WORK:3"}, "homePhones", `["1"]`},
		{"TEL fax", []string{"TEL;TYPE=WORK,FAX:1"}, "businessPhones", `[]`},
		{"TEL pager", []string{"TEL;TYPE=PAGER:1"}, "mobilePhone", `null`},
		{"TEL main", []string{"TEL;TYPE=MAIN:1"}, "businessPhones", `[]`},
		{"TEL Apple mobile label", []string{"item1.TEL:1", "item1.X-ABLabel:_$!<Mobile>!$_"}, "mobilePhone", `"1"`},
		{"TEL Apple custom label", []string{"item1.TEL:1", "item1.X-ABLabel:Sat phone"}, "businessPhones", `[]`},
		{"ADR work", []string{"ADR;TYPE=WORK:PO Box 7;Suite 5;1 Main St\\, Floor 2;Dublin;;D02;Ireland"}, "businessAddress",
			`{"city":"Dublin","countryOrRegion":"Ireland","postalCode":"D02","state":null,"street":"PO Box 7\nSuite 5\n1 Main St, Floor 2"}`},
		{"ADR home", []string{"ADR;TYPE=HOME:;;1 Home Rd;Seattle;WA;98101;USA"}, "homeAddress",
			`{"city":"Seattle","countryOrRegion":"USA","postalCode":"98101","state":"WA","street":"1 Home Rd"}`},
		{"ADR postal is other", []string{"ADR;TYPE=POSTAL:;;PO Box 3;Seattle;WA;98103;USA"}, "otherAddress",
			`{"city":"Seattle","countryOrRegion":"USA","postalCode":"98103","state":"WA","street":"PO Box 3"}`},
		{"ADR none clears", []string{"FN:X"}, "homeAddress", `{"city":null,"countryOrRegion":null,"postalCode":null,"state":null,"street":null}`},
		{"URL pref", []string{"URL:https://a.example/", "URL;TYPE=pref:https://b.example/"}, "businessHomePage", `"https://b.example/"`},
		{"IMPP", []string{"IMPP;PREF=1:xmpp:maria@sorbonne.example"}, "imAddresses", `["xmpp:maria@sorbonne.example"]`},
		{"BDAY dashes", []string{"BDAY;VALUE=date:1975-02-24"}, "birthday", `"1975-02-24T12:00:00Z"`},
		{"BDAY basic", []string{"VERSION:4.0", "BDAY:18671107"}, "birthday", `"1867-11-07T12:00:00Z"`},
		{"BDAY with time", []string{"BDAY:1975-02-24T00:00:00Z"}, "birthday", `"1975-02-24T12:00:00Z"`},
		{"BDAY year-less", []string{"VERSION:4.0", "BDAY:--0412"}, "birthday", `null`},
		{"BDAY text", []string{"VERSION:4.0", "BDAY;VALUE=text:circa 1800"}, "birthday", `null`},
		{"CATEGORIES", []string{"CATEGORIES:Science,Nobel\\, twice", "CATEGORIES:Family"}, "categories", `["Science","Nobel, twice","Family"]`},
		{"NOTE", []string{"NOTE:Line one\\nLine two\\, a\\; b \\\\ end"}, "personalNotes", `"Line one\nLine two, a; b \\ end"`},
		{"X-SPOUSE", []string{"X-SPOUSE:Sam"}, "spouseName", `"Sam"`},
		{"Evolution spouse", []string{"X-EVOLUTION-SPOUSE:Sam"}, "spouseName", `"Sam"`},
		{"RELATED spouse", []string{"VERSION:4.0", "RELATED;TYPE=spouse;VALUE=text:Pierre"}, "spouseName", `"Pierre"`},
		{"RELATED spouse URI", []string{"VERSION:4.0", "RELATED;TYPE=spouse:urn:uuid:1"}, "spouseName", `null`},
		{"Apple spouse", []string{"item5.X-ABRELATEDNAMES:Jane", "item5.X-ABLabel:_$!<Spouse>!$_"}, "spouseName", `"Jane"`},
		{"Apple friend", []string{"item5.X-ABRELATEDNAMES:Jane", "item5.X-ABLabel:_$!<Friend>!$_"}, "spouseName", `null`},
		{"X-MANAGER", []string{"X-MANAGER:Lee"}, "manager", `"Lee"`},
		{"Apple manager", []string{"item1.X-ABRELATEDNAMES:Lee", "item1.X-ABLabel:_$!<Manager>!$_"}, "manager", `"Lee"`},
		{"X-ASSISTANT", []string{"X-ASSISTANT:Kim"}, "assistantName", `"Kim"`},
		{"children", []string{"X-CHILD:Ann", "VERSION:4.0", "RELATED;TYPE=child;VALUE=text:Bo", "item1.X-ABRELATEDNAMES:Cy", "item1.X-ABLabel:_$!<Child>!$_"}, "children", `["Ann","Bo","Cy"]`},
		{"yomi given", []string{"X-PHONETIC-FIRST-NAME:タロウ"}, "yomiGivenName", `"タロウ"`},
		{"yomi surname", []string{"X-PHONETIC-LAST-NAME:ヤマダ"}, "yomiSurname", `"ヤマダ"`},
		{"yomi company", []string{"X-PHONETIC-ORG:ソニー"}, "yomiCompanyName", `"ソニー"`},
		{"file as", []string{"X-MS-FILE-AS:Doe, John"}, "fileAs", `"Doe, John"`},
		{"Evolution file as", []string{"X-EVOLUTION-FILE-AS:Doe\\, John"}, "fileAs", `"Doe, John"`},
		{"initials", []string{"X-MS-INITIALS:J.D."}, "initials", `"J.D."`},
		{"office", []string{"X-MS-OFFICE-LOCATION:B42/1021"}, "officeLocation", `"B42/1021"`},
		{"UID", []string{"UID:abc-1"}, "singleValueExtendedProperties", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := tt.lines
			if !strings.HasPrefix(lines[0], "VERSION:") {
				lines = append([]string{"VERSION:3.0"}, lines...)
			} else if len(lines) > 1 && strings.HasPrefix(lines[1], "VERSION:") {
				lines = lines[1:]
			}
			// keep a single VERSION line, first.
			var v []string
			var rest []string
			for _, l := range lines {
				if strings.HasPrefix(l, "VERSION:") {
					if v == nil {
						v = []string{l}
					}
					continue
				}
				rest = append(rest, l)
			}
			c := mustParse(t, append(v, rest...)...)
			contact, _ := FromVCard(c)
			m := mustJSON(t, contact)
			if tt.field == "singleValueExtendedProperties" {
				if extProp(contact, api.UIDPropertyID) != "abc-1" {
					t.Errorf("UID not kept: %+v", contact.SingleValueExtendedProperties)
				}
				return
			}
			got, _ := json.Marshal(m[tt.field])
			if _, ok := m[tt.field]; !ok {
				got = []byte("<absent>")
			}
			if string(got) != tt.want {
				t.Errorf("%s = %s, want %s", tt.field, got, tt.want)
			}
			if _, ok := m["displayName"]; !ok {
				t.Errorf("no displayName")
			}
			// Whatever went to Office 365 comes back as it was (plus the FN
			// composed for a card without one).
			back := fill(ToVCard(contact, nil), c, Project)
			want := c
			if c.FN() == "" {
				want = c.Clone()
				want.SetFN(deref(contact.DisplayName))
			}
			if back.Hash() != want.Hash() {
				t.Errorf("round trip:\n%s", diffCards(c, back))
			}
		})
	}
}

func str(s string) *string { return &s }

// TestToVCardFields: one Graph field each, to the vCard property.
func TestToVCardFields(t *testing.T) {
	tests := []struct {
		name string
		c    api.Contact
		want []string // content lines expected in the card
	}{
		{"names", api.Contact{DisplayName: str("Dr. Jo Doe"), Surname: str("Doe, Sr"), GivenName: str("Jo"), Title: str("Dr.")},
			[]string{"FN:Dr. Jo Doe", "N:Doe\\, Sr;Jo;;Dr.;"}},
		{"empty displayName composed", api.Contact{Surname: str("Doe"), GivenName: str("Jo")}, []string{"FN:Jo Doe"}},
		{"org", api.Contact{CompanyName: str("A;B"), Department: str("Sales")}, []string{"ORG:A\\;B;Sales"}},
		{"email", api.Contact{EmailAddresses: []api.EmailAddress{{Address: "a@x", Name: "a@x"}, {Address: "b@x", Name: "Bee"}}},
			[]string{"EMAIL:a@x", "EMAIL;X-NAME=Bee:b@x"}},
		{"phones", api.Contact{MobilePhone: str("+1 555 0100"), BusinessPhones: []string{"+1 555 0101 ext. 42"}, HomePhones: []string{"+44 20 x123"}},
			[]string{"TEL;TYPE=CELL:+1 555 0100", "TEL;TYPE=WORK:+1 555 0101 ext. 42", "TEL;TYPE=HOME:+44 20 x123"}},
		{"address", api.Contact{BusinessAddress: &api.PhysicalAddress{Street: "1 Main St\nFloor 2", City: "Dublin", CountryOrRegion: "Ireland"}},
			[]string{"ADR;TYPE=WORK:;;1 Main St\\nFloor 2;Dublin;;;Ireland"}},
		{"other address", api.Contact{OtherAddress: &api.PhysicalAddress{City: "Tacoma"}}, []string{"ADR:;;;Tacoma;;;"}},
		{"empty address", api.Contact{HomeAddress: &api.PhysicalAddress{}}, nil},
		{"birthday date", api.Contact{Birthday: str("1974-07-22")}, []string{"BDAY:1974-07-22"}},
		{"birthday midnight", api.Contact{Birthday: str("1974-07-22T00:00:00Z")}, []string{"BDAY:1974-07-22"}},
		{"birthday sample", api.Contact{Birthday: str("2016-10-19T10:37:00Z")}, []string{"BDAY:2016-10-19"}},
		{"categories", api.Contact{Categories: []string{"Red category", "A, B"}}, []string{"CATEGORIES:Red category,A\\, B"}},
		{"notes", api.Contact{PersonalNotes: str("one\ntwo; three")}, []string{"NOTE:one\\ntwo\\; three"}},
		{"relations", api.Contact{SpouseName: str("Sam"), Manager: str("Lee"), AssistantName: str("Kim"), Children: []string{"Ann", "Bo"}},
			[]string{"X-SPOUSE:Sam", "X-MANAGER:Lee", "X-ASSISTANT:Kim", "X-CHILD:Ann", "X-CHILD:Bo"}},
		{"yomi", api.Contact{YomiGivenName: str("タロウ"), YomiSurname: str("ヤマダ"), YomiCompanyName: str("ソニー")},
			[]string{"X-PHONETIC-FIRST-NAME:タロウ", "X-PHONETIC-LAST-NAME:ヤマダ", "X-PHONETIC-ORG:ソニー"}},
		{"outlook fields", api.Contact{FileAs: str("Doe, Jo"), Initials: str("J.D."), OfficeLocation: str("B42"), NickName: str("Jojo")},
			[]string{"X-MS-FILE-AS:Doe\\, Jo", "X-MS-INITIALS:J.D.", "X-MS-OFFICE-LOCATION:B42", "NICKNAME:Jojo"}},
		{"web, im, job", api.Contact{BusinessHomePage: str("https://x.example/"), ImAddresses: []string{"sip:jo@x.example"}, JobTitle: str("CTO"), Profession: str("Engineer")},
			[]string{"URL:https://x.example/", "IMPP:sip:jo@x.example", "TITLE:CTO", "ROLE:Engineer"}},
		{"uid and rev", api.Contact{LastModifiedDateTime: "2026-10-02T08:16:00Z", SingleValueExtendedProperties: []api.ExtendedProperty{{ID: api.UIDPropertyID, Value: "uid-1"}}},
			[]string{"UID:uid-1", "REV:20261002T081600Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := ToVCard(tt.c, nil)
			enc := string(card.Encode())
			for _, w := range tt.want {
				if !strings.Contains(enc, "\r\n"+w+"\r\n") {
					t.Errorf("no %q in\n%s", w, enc)
				}
			}
			if tt.name == "empty address" && strings.Contains(enc, "ADR") {
				t.Errorf("empty address written:\n%s", enc)
			}
			if card.Version != vcard.V30 {
				t.Errorf("version %s", card.Version)
			}
		})
	}
}

func TestPhoto(t *testing.T) {
	jpeg := []byte("\xff\xd8\xff\xe0fake jpeg")
	b64 := base64.StdEncoding.EncodeToString(jpeg)
	for _, tt := range []struct {
		name  string
		lines []string
		want  []byte
	}{
		{"3.0 ENCODING=b", []string{"VERSION:3.0", "PHOTO;ENCODING=b;TYPE=JPEG:" + b64}, jpeg},
		{"4.0 data URI", []string{"VERSION:4.0", "PHOTO:data:image/jpeg;base64," + b64}, jpeg},
		{"URL not fetched", []string{"VERSION:3.0", "PHOTO;VALUE=uri:https://lh3.example.com/a.jpg"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.lines...)
			_, photo := FromVCard(c)
			if !bytes.Equal(photo, tt.want) {
				t.Errorf("photo %q, want %q", photo, tt.want)
			}
			_, held := Project(c).Get("PHOTO")
			if held != (tt.want != nil) {
				t.Errorf("Project holds PHOTO: %v", held)
			}
			if tt.want != nil {
				back := ToVCard(api.Contact{}, photo)
				if p, _ := back.Get("PHOTO"); p.Key() != c.Props[0].Key() {
					t.Errorf("PHOTO back %s, want %s", p.Key(), c.Props[0].Key())
				}
			}
		})
	}
	big := make([]byte, MaxPhotoBytes+1)
	copy(big, jpeg)
	c := vcard.New(vcard.V30)
	c.Add(vcard.Property{Name: "PHOTO", Params: []vcard.Param{{Name: "ENCODING", Values: []string{"b"}}}, Value: base64.StdEncoding.EncodeToString(big)})
	if _, photo := FromVCard(c); photo != nil {
		t.Error("a photo over 4 MB went to Office 365")
	}
	if _, ok := Project(c).Get("PHOTO"); ok {
		t.Error("Project holds a photo over 4 MB")
	}
}

func TestIsGroup(t *testing.T) {
	cards := corpus(t)
	for name, c := range cards {
		want := name == "apple-30-group.vcf" || name == "v4-group.vcf"
		if IsGroup(c) != want {
			t.Errorf("%s: IsGroup = %v", name, !want)
		}
	}
}

func TestContactJSONClears(t *testing.T) {
	c, _ := FromVCard(mustParse(t, "VERSION:3.0", "FN:Only A Name", "UID:u1"))
	raw, err := ContactJSON(c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{`"displayName":"Only A Name"`, `"surname":null`, `"jobTitle":null`, `"birthday":null`,
		`"emailAddresses":[]`, `"businessPhones":[]`, `"categories":[]`, `"children":[]`,
		`"homeAddress":{"street":null,"city":null,"state":null,"countryOrRegion":null,"postalCode":null}`,
		`"id":"` + api.UIDPropertyID + `","value":"u1"`} {
		if !strings.Contains(s, want) {
			t.Errorf("no %s in %s", want, s)
		}
	}
	for _, never := range []string{`"id":""`, "changeKey", "parentFolderId", "createdDateTime", "lastModifiedDateTime", "@odata"} {
		if strings.Contains(s, never) {
			t.Errorf("%s in %s", never, s)
		}
	}
	// A nil field is left out of a PATCH.
	raw, _ = ContactJSON(api.Contact{DisplayName: str("X"), ID: "id1", ChangeKey: "ck"})
	if string(raw) != `{"displayName":"X"}` {
		t.Errorf("got %s", raw)
	}
}

func TestExpandExtendedProperties(t *testing.T) {
	want := "singleValueExtendedProperties($filter=id eq '" + api.UIDPropertyID + "' or id eq '" + FormatPropertyID + "')"
	if got := ExpandExtendedProperties(); got != want {
		t.Errorf("got %s", got)
	}
}

// ---------------------------------------------------------------------
// Random Graph contacts

// randContact returns a contact with every writable field, within Graph's
// limits, filled at random (or left unset).
func randContact(r *rand.Rand) api.Contact {
	pieces := []string{"Ann", "O'Brien", "Zoë", "李明", "🎉", "a,b", "x;y", `back\slash`, "+1 (425) 555-0100", "ext. 42", "x123", "Jr.", "Dr.", "mr.", "  spaced ", "colon:here", "ü"}
	word := func() string {
		n := 1 + r.Intn(3)
		var parts []string
		for range n {
			parts = append(parts, pieces[r.Intn(len(pieces))])
		}
		s := strings.Join(parts, " ")
		if strings.TrimSpace(s) == "" {
			s = "z"
		}
		return s
	}
	opt := func() *string {
		if r.Intn(3) == 0 {
			return nil
		}
		s := word()
		return &s
	}
	list := func(max int) []string {
		n := r.Intn(max + 1)
		var out []string
		for range n {
			out = append(out, word())
		}
		return out
	}
	phone := func() string {
		return []string{"+1 206 555 0101", "+353 1 555 0000 ext. 42", "(650) 555-0111 x123", "+48 600 100 200", "0800-FLOWERS"}[r.Intn(5)]
	}
	c := api.Contact{
		DisplayName: str(word()), GivenName: opt(), Surname: opt(), MiddleName: opt(), Title: opt(), Generation: opt(),
		Initials: opt(), NickName: opt(), FileAs: opt(), YomiGivenName: opt(), YomiSurname: opt(), YomiCompanyName: opt(),
		CompanyName: opt(), Department: opt(), JobTitle: opt(), Profession: opt(), OfficeLocation: opt(),
		Manager: opt(), AssistantName: opt(), SpouseName: opt(), PersonalNotes: opt(),
		Children: list(3), Categories: list(4),
	}
	if c.PersonalNotes != nil && r.Intn(2) == 0 {
		*c.PersonalNotes += "\nsecond line\n\nthird"
	}
	if r.Intn(2) == 0 {
		c.Birthday = str(fmt.Sprintf("%04d-%02d-%02d", 1601+r.Intn(2899), 1+r.Intn(12), 1+r.Intn(28)) + BirthdayTime)
	}
	for range r.Intn(MaxEmails + 1) {
		e := api.EmailAddress{Address: fmt.Sprintf("u%d@example.com", r.Intn(1000))}
		if r.Intn(2) == 0 {
			e.Name = word()
		}
		c.EmailAddresses = append(c.EmailAddresses, e)
	}
	if r.Intn(2) == 0 {
		c.MobilePhone = str(phone())
	}
	for range r.Intn(MaxBusinessPhones + 1) {
		c.BusinessPhones = append(c.BusinessPhones, phone())
	}
	for range r.Intn(MaxHomePhones + 1) {
		c.HomePhones = append(c.HomePhones, phone())
	}
	for range r.Intn(MaxIMAddresses + 1) {
		c.ImAddresses = append(c.ImAddresses, fmt.Sprintf("sip:u%d@example.com", r.Intn(100)))
	}
	if r.Intn(2) == 0 {
		c.BusinessHomePage = str(fmt.Sprintf("https://example.com/%d?a=b&c=d", r.Intn(100)))
	}
	addr := func() *api.PhysicalAddress {
		if r.Intn(3) == 0 {
			return nil
		}
		a := &api.PhysicalAddress{}
		for _, f := range []*string{&a.Street, &a.City, &a.State, &a.PostalCode, &a.CountryOrRegion} {
			if r.Intn(3) > 0 {
				*f = word()
			}
		}
		if a.Street != "" && r.Intn(2) == 0 {
			a.Street += "\nSuite 5"
		}
		return a
	}
	c.HomeAddress, c.BusinessAddress, c.OtherAddress = addr(), addr(), addr()
	if r.Intn(2) == 0 {
		c.SingleValueExtendedProperties = []api.ExtendedProperty{{ID: api.UIDPropertyID, Value: fmt.Sprintf("uid-%d", r.Int63())}}
	}
	return c
}

// canonicalJSON is ContactJSON with nulls, empty arrays, empty addresses
// and an empty format property left out: two contacts that Graph stores
// the same way give the same bytes.
func canonicalJSON(t *testing.T, c api.Contact) string {
	t.Helper()
	m := mustJSON(t, c)
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case []any:
			if len(v) == 0 {
				delete(m, k)
			}
			if k == "singleValueExtendedProperties" {
				var keep []any
				for _, e := range v {
					e := e.(map[string]any)
					if e["id"] == FormatPropertyID && e["value"] == `{"v":1}` {
						continue
					}
					keep = append(keep, e)
				}
				if len(keep) == 0 {
					delete(m, k)
				} else {
					m[k] = keep
				}
			}
		case map[string]any:
			empty := true
			for _, f := range v {
				if f != nil {
					empty = false
				}
			}
			if empty {
				delete(m, k)
			}
		}
	}
	out, _ := json.MarshalIndent(m, "", " ")
	return string(out)
}

// TestRandomContactsRoundTrip: random Graph contacts → vCard (encoded and
// parsed, as a vCard side stores it) → Graph give the same JSON.
func TestRandomContactsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(20261103))
	for i := range 2000 {
		x := randContact(r)
		photo := []byte(nil)
		if i%7 == 0 {
			photo = []byte(fmt.Sprintf("\xff\xd8\xff\xe0photo %d", i))
		}
		card := ToVCard(x, photo)
		parsed, err := vcard.Parse(card.Encode())
		if err != nil {
			t.Fatalf("contact %d: %v\n%s", i, err, card.Encode())
		}
		y, photo2 := FromVCard(parsed)
		if a, b := canonicalJSON(t, x), canonicalJSON(t, y); a != b {
			t.Fatalf("contact %d changed on the way:\nvCard:\n%s\nbefore: %s\nafter:  %s", i, card.Encode(), a, b)
		}
		if !bytes.Equal(photo, photo2) {
			t.Fatalf("contact %d: photo changed", i)
		}
		if h := Project(card).Hash(); h != card.Hash() {
			t.Fatalf("contact %d: Project(ToVCard(x)) != ToVCard(x):\n%s", i, diffCards(card, Project(card)))
		}
		if p := Project(parsed); Project(p).Hash() != p.Hash() {
			t.Fatalf("contact %d: Project not idempotent", i)
		}
	}
}

// TestRandomCardsProject: Project is idempotent and agrees with
// ToVCard(FromVCard(c)) on cards made of random mixtures of the corpus's
// properties (over the limits, with labels, duplicates and odd types).
func TestRandomCardsProject(t *testing.T) {
	var pool []vcard.Property
	for _, c := range corpus(t) {
		if IsGroup(c) {
			continue
		}
		c = c.ConvertTo(vcard.V30)
		for _, p := range c.Props {
			switch p.Name {
			case "UID", "REV", "PRODID":
				continue
			}
			pool = append(pool, p)
		}
	}
	extra := mustParse(t, "VERSION:3.0",
		"item7.TEL:+1 555 0107", "item7.X-ABLabel:_$!<Mobile>!$_",
		"item8.X-ABRELATEDNAMES:Jane", "item8.X-ABLabel:_$!<Spouse>!$_",
		"TEL;TYPE=HOME:+1 555 0201", "TEL;TYPE=HOME:+1 555 0202", "TEL:+1 555 0300",
		"BDAY:--0412", "EMAIL;TYPE=pref:p@x", "X-CHILD:Ann", "URL;TYPE=pref:https://p.example/")
	pool = append(pool, extra.Props...)
	r := rand.New(rand.NewSource(7))
	for i := range 1000 {
		// Exact duplicates are left out: the engine's fill works on a set
		// of keys, so a second identical line is not kept apart anyway.
		c := vcard.New(vcard.V30)
		seen := map[string]bool{}
		for range 3 + r.Intn(25) {
			p := pool[r.Intn(len(pool))]
			if !seen[p.Key()] {
				seen[p.Key()] = true
				c.Props = append(c.Props, p)
			}
		}
		c.SetUID(fmt.Sprintf("rand-%d", i))
		proj := Project(c)
		if Project(proj).Hash() != proj.Hash() {
			t.Fatalf("card %d: Project not idempotent:\n%s\n%s", i, c.Encode(), diffCards(proj, Project(proj)))
		}
		contact, photo := FromVCard(c)
		back := ToVCard(contact, photo)
		if back.Hash() != proj.Hash() {
			t.Fatalf("card %d: ToVCard(FromVCard(c)) != Project(c):\n%s\n%s", i, c.Encode(), diffCards(proj, back))
		}
		if c.FN() != "" {
			if m := fill(back, c, Project); m.Hash() != c.Hash() {
				t.Fatalf("card %d: merged != original:\n%s\n%s", i, c.Encode(), diffCards(c, m))
			}
		}
		raw, _ := ContactJSON(contact)
		var chk api.Contact
		if err := json.Unmarshal(raw, &chk); err != nil {
			t.Fatal(err)
		}
		if len(chk.EmailAddresses) > MaxEmails || len(chk.BusinessPhones) > MaxBusinessPhones || len(chk.HomePhones) > MaxHomePhones {
			t.Fatalf("card %d: over Graph's limits: %s", i, raw)
		}
	}
}

// TestGolden: the Graph JSON of a few corpus cards (go test -update
// rewrites testdata/*.json).
func TestGolden(t *testing.T) {
	cards := corpus(t)
	for _, name := range []string{"more-than-office365-holds.vcf", "v4-full.vcf", "escapes-and-structure.vcf", "company-only.vcf", "outlook-21-quoted-printable.vcf", "apple-30-labels-photo.vcf"} {
		t.Run(name, func(t *testing.T) {
			contact, _ := FromVCard(cards[name])
			raw, err := ContactJSON(contact)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			buf.WriteByte('\n')
			path := filepath.Join("testdata", strings.TrimSuffix(name, ".vcf")+".json")
			testutil.Golden(t, path, buf.Bytes(), *update, "go test ./side/o365 -update")
		})
	}
}

// TestWithoutFormatProperty: a contact read without FormatPropertyID (a
// reader that did not expand it, a contact edited by another tool) maps
// to plain spelling; merged over the base, the card has the same values
// and no duplicates: only the spelling (TYPE, groups) of the properties
// Office 365 holds is lost.
func TestWithoutFormatProperty(t *testing.T) {
	for _, name := range sortedNames(corpus(t)) {
		base := corpus(t)[name]
		if IsGroup(base) {
			continue
		}
		contact, photo := FromVCard(base)
		var keep []api.ExtendedProperty
		for _, e := range contact.SingleValueExtendedProperties {
			if e.ID != FormatPropertyID {
				keep = append(keep, e)
			}
		}
		contact.SingleValueExtendedProperties = keep
		merged := fill(ToVCard(contact, photo), base, Project)
		count := func(c *vcard.Card) map[string]int {
			m := map[string]int{}
			for _, p := range c.Props {
				if strings.Trim(p.Value, "; ,") != "" && p.Name != "REV" && p.Name != "PRODID" {
					m[p.Name]++
				}
			}
			return m
		}
		if a, b := count(base), count(merged); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: property counts %v, want %v", name, b, a)
		}
		again, _ := FromVCard(merged)
		if x, y := canonicalJSON(t, stripFormat(contact)), canonicalJSON(t, stripFormat(again)); x != y {
			t.Errorf("%s: values changed:\n%s\n%s", name, x, y)
		}
	}
}

func stripFormat(c api.Contact) api.Contact {
	var keep []api.ExtendedProperty
	for _, e := range c.SingleValueExtendedProperties {
		if e.ID != FormatPropertyID {
			keep = append(keep, e)
		}
	}
	c.SingleValueExtendedProperties = keep
	return c
}

// TestCreateJSONLeavesOutOnlyClears: for every corpus card, the POST body
// holds exactly the values of the PATCH body that set something, and
// nothing that clears (null, [], an address of nulls).
func TestCreateJSONLeavesOutOnlyClears(t *testing.T) {
	clears := func(v any) bool {
		switch x := v.(type) {
		case nil:
			return true
		case []any:
			return len(x) == 0
		case map[string]any:
			for _, f := range x {
				if f != nil {
					return false
				}
			}
			return true
		}
		return false
	}
	decode := func(t *testing.T, raw []byte) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		return m
	}
	cards := corpus(t)
	for _, name := range sortedNames(cards) {
		c, _ := FromVCard(cards[name])
		patch, err := ContactJSON(c)
		if err != nil {
			t.Fatal(err)
		}
		post, err := CreateJSON(c)
		if err != nil {
			t.Fatal(err)
		}
		want := decode(t, patch)
		for k, v := range want {
			if clears(v) {
				delete(want, k)
			}
		}
		got := decode(t, post)
		for k, v := range got {
			if clears(v) {
				t.Errorf("%s: the POST body clears %s (%v)", name, k, v)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: POST body\n%s\nwant the PATCH body's values\n%s", name, post, patch)
		}
		if len(post) > len(patch) {
			t.Errorf("%s: POST body %d bytes, PATCH body %d", name, len(post), len(patch))
		}
	}
}
