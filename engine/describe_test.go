package engine

import (
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/vcard"
)

// TestActionWhoAndOps: a dry run's listing names the contact by its new
// base, else by the version replaced or deleted, else by UID, and says
// each side's write (with the id it targets) and what the state records.
func TestActionWhoAndOps(t *testing.T) {
	card := func(fn string) *vcard.Card {
		c := vcard.New(vcard.V30)
		c.SetFN(fn)
		return c
	}
	cases := []struct {
		name     string
		act      Action
		who, ops string
	}{
		{"create on b", Action{Kind: ActWrite, UID: "u1", Base: card("Ann"), B: Write{Op: OpCreate, Card: card("Ann")}},
			`"Ann" <u1>`, "create b"},
		{"update both", Action{Kind: ActWrite, UID: "u2", Base: card("Bob"), A: Write{Op: OpUpdate, Ref: Ref{ID: "x.vcf"}}, B: Write{Op: OpUpdate, Ref: Ref{ID: "AAMk"}}},
			`"Bob" <u2>`, "update a (x.vcf), update b (AAMk)"},
		{"delete on a", Action{Kind: ActWrite, UID: "u3", A: Write{Op: OpDelete, Ref: Ref{ID: "c.vcf"}, Old: card("Cy")}},
			`"Cy" <u3>`, "delete a (c.vcf)"},
		{"delete on b", Action{Kind: ActWrite, UID: "u4", B: Write{Op: OpDelete, Old: card("Di")}},
			`"Di" <u4>`, "delete b"},
		{"base without a name", Action{Kind: ActWrite, UID: "u5", Base: card(""), A: Write{Op: OpUpdate, Old: card("Eve")}},
			`"Eve" <u5>`, "update a"},
		{"link", Action{Kind: ActLink, UID: "u6"}, "u6", "link in state"},
		{"forget", Action{Kind: ActForget, UID: "u7"}, "u7", "forget in state"},
		{"conflict", Action{Kind: ActConflict, UID: "u8"}, "u8", "record conflict"},
	}
	for _, tc := range cases {
		if got := tc.act.Who(); got != tc.who {
			t.Errorf("%s: Who() = %q, want %q", tc.name, got, tc.who)
		}
		if got := strings.Join(tc.act.Ops(), ", "); got != tc.ops {
			t.Errorf("%s: Ops() = %q, want %q", tc.name, got, tc.ops)
		}
	}
}
