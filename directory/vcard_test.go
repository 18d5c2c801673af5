package directory

import (
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/vcard"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestCardGolden: a full directory user and sparse ones render as the
// vCards in testdata, which parse back.
func TestCardGolden(t *testing.T) {
	rev := time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	cases := map[string]state.DirectoryUser{
		"full": {TenantID: "t", ObjectID: "C0000000-0000-4000-8000-000000000003", UPN: "carol@contoso.example",
			DisplayName: "Chef, Carol", GivenName: "Carol", Surname: "Chef", Mail: "carol@contoso.example",
			OtherMails: []string{"Carol@Contoso.example", "carol@home.example"}, BusinessPhones: []string{"+1 555 0100", "+1 555 0102"},
			MobilePhone: "+1 555 0101", JobTitle: "CTO; acting CEO", Department: "R&D", Office: "Building 1, Room 2", Company: "Contoso",
			ManagerID: "m1", ManagerName: "Mallory; Boss", Enabled: true, UserType: "Member", Updated: rev,
			Photo: []byte("\xff\xd8\xff\xe0 a tiny jpeg")},
		"sparse":  {ObjectID: "b0000000-0000-4000-8000-000000000002", GivenName: "Bob", Surname: "Baker", Department: "Sales"},
		"no-name": {ObjectID: "d0000000-0000-4000-8000-000000000004", UPN: "dave@contoso.example"},
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			got := Card(u).Encode()
			testutil.Golden(t, filepath.Join("testdata", name+".vcf"), got, *update, "go test ./directory -update")
			back, err := vcard.Parse(got)
			if err != nil {
				t.Fatalf("rendered card does not parse: %v", err)
			}
			if back.UID() != UID(u) || back.FN() == "" {
				t.Fatalf("parsed back UID %q FN %q", back.UID(), back.FN())
			}
		})
	}
}

// TestCardOffice: the office is one extended-address item of ADR even with
// a comma in it, and the manager's name is a text RELATED.
func TestCardOffice(t *testing.T) {
	c, err := vcard.Parse(Card(state.DirectoryUser{ObjectID: "x", DisplayName: "X", Office: "Building 1, Room 2", ManagerName: "M, N"}).Encode())
	if err != nil {
		t.Fatal(err)
	}
	adr, ok := c.Get("ADR")
	if !ok {
		t.Fatal("no ADR")
	}
	comps := adr.Components()
	if len(comps) != 7 || len(comps[1]) != 1 || comps[1][0] != "Building 1, Room 2" {
		t.Fatalf("ADR components %q", comps)
	}
	rel, ok := c.Get("RELATED")
	if !ok || rel.Text() != "M, N" {
		t.Fatalf("RELATED %+v", rel)
	}
}
