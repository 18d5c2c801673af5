package sync_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/sync"
	"github.com/cardbridge/cardbridge/vcard"
)

// card builds a 3.0 card from "NAME:value" lines.
func card(uid string, lines ...string) *vcard.Card {
	raw := "BEGIN:VCARD\r\nVERSION:3.0\r\n"
	if uid != "" {
		raw += "UID:" + uid + "\r\n"
	}
	raw += strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n"
	c, err := vcard.Parse([]byte(raw))
	if err != nil {
		panic(err)
	}
	return c
}

var (
	base     = card("u1", "FN:Ada Lovelace", "N:Lovelace;Ada;;;", "EMAIL:ada@example.com")
	editA    = card("u1", "FN:Ada Lovelace", "N:Lovelace;Ada;;;", "EMAIL:ada@example.com", "TEL:+44 20 5555 0101")
	editB    = card("u1", "FN:Ada Lovelace", "N:Lovelace;Ada;;;", "EMAIL:ada@example.com", "NOTE:mathematician")
	editBoth = card("u1", "FN:Ada Lovelace", "N:Lovelace;Ada;;;", "EMAIL:ada@example.com", "TEL:+44 20 5555 0101", "NOTE:mathematician")
	bumped   = card("u1", "EMAIL:ada@example.com", "N:Lovelace;Ada;;;", "FN:Ada Lovelace", "REV:2026-11-01T00:00:00Z") // same content, other order and REV
	fnOldA   = card("u1", "FN:Ada King", "N:Lovelace;Ada;;;", "EMAIL:ada@example.com", "REV:2026-01-01T00:00:00Z", "TEL:+1 555 0100")
	fnNewB   = card("u1", "FN:Countess Lovelace", "N:Lovelace;Ada;;;", "EMAIL:ada@example.com", "REV:2026-02-01T00:00:00Z", "NOTE:b-note")
)

func ref(side string, v int) sync.Ref { return sync.Ref{ID: side + "-1", Version: fmt.Sprint(v)} }

func unchanged(side string) sync.Observed {
	return sync.Observed{Status: sync.Unchanged, Ref: ref(side, 1)}
}
func changed(side string, c *vcard.Card) sync.Observed {
	return sync.Observed{Status: sync.Changed, Ref: ref(side, 2), Card: c}
}
func deleted(side string) sync.Observed {
	return sync.Observed{Status: sync.Deleted, Ref: ref(side, 1)}
}
func added(id string, c *vcard.Card) sync.Observed {
	return sync.Observed{Status: sync.Added, Ref: sync.Ref{ID: id, Version: "1"}, Card: c}
}

func known(a, b sync.Observed) sync.PlanInput {
	return sync.PlanInput{Entries: []sync.Entry{{StateID: 7, UID: "u1", Base: base, A: a, B: b}}}
}

type want struct {
	kind   sync.ActionKind // 0: no action at all
	a, b   sync.Op
	result *vcard.Card // content written / new base (compared by hash), when set
	check  func(t *testing.T, p sync.Plan)
}

func newUID(seed string) string { return "gen-" + fmt.Sprintf("%x", len(seed)) }

func runPlan(t *testing.T, in sync.PlanInput, opts sync.PlanOptions) sync.Plan {
	t.Helper()
	opts.NewUID = newUID
	return sync.MakePlan(in, opts)
}

func TestDecisionTable(t *testing.T) {
	tests := []struct {
		name string
		in   sync.PlanInput
		opts sync.PlanOptions
		want want
	}{
		// With a base: every status on A against every status on B.
		{"unchanged/unchanged", known(unchanged("a"), unchanged("b")), sync.PlanOptions{}, want{}},
		{"unchanged/changed", known(unchanged("a"), changed("b", editB)), sync.PlanOptions{}, want{kind: sync.ActWrite, a: sync.OpUpdate, result: editB}},
		{"unchanged/deleted", known(unchanged("a"), deleted("b")), sync.PlanOptions{}, want{kind: sync.ActWrite, a: sync.OpDelete}},
		{"changed/unchanged", known(changed("a", editA), unchanged("b")), sync.PlanOptions{}, want{kind: sync.ActWrite, b: sync.OpUpdate, result: editA}},
		{"changed/changed merges by property", known(changed("a", editA), changed("b", editB)), sync.PlanOptions{}, want{kind: sync.ActWrite, a: sync.OpUpdate, b: sync.OpUpdate, result: editBoth}},
		{"changed/changed identical", known(changed("a", editA), changed("b", editA)), sync.PlanOptions{}, want{kind: sync.ActLink, result: editA}},
		{"changed/deleted recreates on b", known(changed("a", editA), deleted("b")), sync.PlanOptions{}, want{kind: sync.ActWrite, b: sync.OpCreate, result: editA}},
		{"deleted/unchanged", known(deleted("a"), unchanged("b")), sync.PlanOptions{}, want{kind: sync.ActWrite, b: sync.OpDelete}},
		{"deleted/changed recreates on a", known(deleted("a"), changed("b", editB)), sync.PlanOptions{}, want{kind: sync.ActWrite, a: sync.OpCreate, result: editB}},
		{"deleted/deleted forgets", known(deleted("a"), deleted("b")), sync.PlanOptions{}, want{kind: sync.ActForget}},
		{"etag bump with identical content is no change", known(changed("a", bumped), unchanged("b")), sync.PlanOptions{}, want{kind: sync.ActLink}},
		{"etag bump on both", known(changed("a", bumped), changed("b", bumped)), sync.PlanOptions{}, want{kind: sync.ActLink}},
		{"etag bump/deleted deletes", known(changed("a", bumped), deleted("b")), sync.PlanOptions{}, want{kind: sync.ActWrite, a: sync.OpDelete}},
		{"etag bump/changed", known(changed("a", bumped), changed("b", editB)), sync.PlanOptions{}, want{kind: sync.ActWrite, a: sync.OpUpdate, result: editB}},

		// Without a base.
		{"new on a", sync.PlanInput{NewA: []sync.Observed{added("a1", editA)}}, sync.PlanOptions{}, want{kind: sync.ActWrite, b: sync.OpCreate, result: editA}},
		{"new on b", sync.PlanInput{NewB: []sync.Observed{added("b1", editB)}}, sync.PlanOptions{}, want{kind: sync.ActWrite, a: sync.OpCreate, result: editB}},
		{"new on both, identical: linked, no write", sync.PlanInput{NewA: []sync.Observed{added("a1", editA)}, NewB: []sync.Observed{added("b1", bumpedOf(editA))}}, sync.PlanOptions{}, want{kind: sync.ActLink}},
		{"new on both, different: union", sync.PlanInput{NewA: []sync.Observed{added("a1", editA)}, NewB: []sync.Observed{added("b1", editB)}}, sync.PlanOptions{}, want{kind: sync.ActWrite, a: sync.OpUpdate, b: sync.OpUpdate, result: editBoth}},
		{"new without UID gets one on both sides", sync.PlanInput{NewA: []sync.Observed{added("a1", card("", "FN:No Uid", "EMAIL:n@example.com"))}}, sync.PlanOptions{},
			want{kind: sync.ActWrite, a: sync.OpUpdate, b: sync.OpCreate, check: func(t *testing.T, p sync.Plan) {
				a := p.Actions[0]
				if a.A.Card.UID() == "" || a.A.Card.UID() != a.B.Card.UID() || a.UID != a.A.Card.UID() {
					t.Errorf("UIDs: item %q a %q b %q", a.UID, a.A.Card.UID(), a.B.Card.UID())
				}
			}}},
		{"state item without base reads as new on both", sync.PlanInput{Entries: []sync.Entry{{StateID: 3, UID: "u1", A: changed("a", editA), B: changed("b", editA)}}}, sync.PlanOptions{}, want{kind: sync.ActLink}},

		// Policies on a clash (FN changed on both; TEL only on a, NOTE only on b).
		{"merge: clash to the newer REV, other edits kept", known(changed("a", fnOldA), changed("b", fnNewB)), sync.PlanOptions{Policy: sync.PolicyMerge},
			want{kind: sync.ActWrite, a: sync.OpUpdate, b: sync.OpUpdate, check: func(t *testing.T, p sync.Plan) {
				c := p.Actions[0].Base
				if c.FN() != "Countess Lovelace" || len(c.All("TEL")) != 1 || len(c.All("NOTE")) != 1 {
					t.Errorf("merged = %s", c.Encode())
				}
				if got := p.Actions[0].Clashes; len(got) != 1 || got[0] != "FN" {
					t.Errorf("clashes = %v", got)
				}
			}}},
		{"newest: the newer version whole", known(changed("a", fnOldA), changed("b", fnNewB)), sync.PlanOptions{Policy: sync.PolicyNewest}, want{kind: sync.ActWrite, a: sync.OpUpdate, result: fnNewB}},
		{"a-wins", known(changed("a", fnOldA), changed("b", fnNewB)), sync.PlanOptions{Policy: sync.PolicyAWins}, want{kind: sync.ActWrite, b: sync.OpUpdate, result: fnOldA}},
		{"b-wins", known(changed("a", fnOldA), changed("b", fnNewB)), sync.PlanOptions{Policy: sync.PolicyBWins}, want{kind: sync.ActWrite, a: sync.OpUpdate, result: fnNewB}},
		{"keep-both: loser becomes a copy on both sides", known(changed("a", fnOldA), changed("b", fnNewB)), sync.PlanOptions{Policy: sync.PolicyKeepBoth},
			want{kind: sync.ActWrite, a: sync.OpUpdate, result: fnNewB, check: func(t *testing.T, p sync.Plan) {
				if len(p.Actions) != 2 {
					t.Fatalf("%d actions, want 2", len(p.Actions))
				}
				cp := p.Actions[1]
				if cp.A.Op != sync.OpCreate || cp.B.Op != sync.OpCreate || cp.A.Card.FN() != "Ada King (conflict copy)" || cp.UID == "u1" || cp.A.Card.UID() != cp.UID {
					t.Errorf("copy = %+v %s", cp, cp.A.Card.Encode())
				}
			}}},
		{"manual: nothing written, conflict recorded", known(changed("a", fnOldA), changed("b", fnNewB)), sync.PlanOptions{Policy: sync.PolicyManual}, want{kind: sync.ActConflict}},
		{"manual: both changed without a clash is still left to the user", known(changed("a", editA), changed("b", editB)), sync.PlanOptions{Policy: sync.PolicyManual}, want{kind: sync.ActConflict}},

		// Directions.
		{"a-to-b reverts b's edit", known(unchanged("a"), changed("b", editB)), sync.PlanOptions{Direction: sync.AToB}, want{kind: sync.ActWrite, b: sync.OpUpdate, result: base}},
		{"a-to-b deletion on a mirrored", known(deleted("a"), changed("b", editB)), sync.PlanOptions{Direction: sync.AToB}, want{kind: sync.ActWrite, b: sync.OpDelete}},
		{"a-to-b deleted on b recreated", known(unchanged("a"), deleted("b")), sync.PlanOptions{Direction: sync.AToB}, want{kind: sync.ActWrite, b: sync.OpCreate, result: base}},
		{"a-to-b removes b-only items", sync.PlanInput{NewB: []sync.Observed{added("b1", editB)}}, sync.PlanOptions{Direction: sync.AToB}, want{kind: sync.ActWrite, b: sync.OpDelete}},
		{"a-to-b both changed: a wins", known(changed("a", editA), changed("b", editB)), sync.PlanOptions{Direction: sync.AToB}, want{kind: sync.ActWrite, b: sync.OpUpdate, result: editA}},
		{"b-to-a copies b's edit", known(unchanged("a"), changed("b", editB)), sync.PlanOptions{Direction: sync.BToA}, want{kind: sync.ActWrite, a: sync.OpUpdate, result: editB}},
		{"b-to-a reverts a's edit", known(changed("a", editA), unchanged("b")), sync.PlanOptions{Direction: sync.BToA}, want{kind: sync.ActWrite, a: sync.OpUpdate, result: base}},
		{"b-to-a removes a-only items", sync.PlanInput{NewA: []sync.Observed{added("a1", editA)}}, sync.PlanOptions{Direction: sync.BToA}, want{kind: sync.ActWrite, a: sync.OpDelete}},

		// Unreadable items are skipped and never cause deletions.
		{"unreadable on a with base", known(sync.Observed{Status: sync.Unreadable, Ref: ref("a", 2), Err: errors.New("bad")}, deleted("b")), sync.PlanOptions{},
			want{check: func(t *testing.T, p sync.Plan) {
				if len(p.Skipped) != 1 || !strings.Contains(p.Skipped[0].Reason, "bad") {
					t.Errorf("skipped = %v", p.Skipped)
				}
			}}},
		{"unreadable new item", sync.PlanInput{NewA: []sync.Observed{{Status: sync.Unreadable, Ref: sync.Ref{ID: "x.vcf"}, Err: errors.New("missing END:VCARD")}}}, sync.PlanOptions{},
			want{check: func(t *testing.T, p sync.Plan) {
				if len(p.Skipped) != 1 || p.Skipped[0].ID != "x.vcf" {
					t.Errorf("skipped = %v", p.Skipped)
				}
			}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := runPlan(t, tc.in, tc.opts)
			if tc.want.kind == 0 {
				if len(p.Actions) != 0 {
					t.Fatalf("want no action, got %+v", p.Actions)
				}
			} else {
				if len(p.Actions) == 0 {
					t.Fatalf("want %v, got no action (skipped %v)", tc.want.kind, p.Skipped)
				}
				a := p.Actions[0]
				if a.Kind != tc.want.kind || a.A.Op != tc.want.a || a.B.Op != tc.want.b {
					t.Fatalf("got kind %v a=%v b=%v (%s); want kind %v a=%v b=%v", a.Kind, a.A.Op, a.B.Op, a.Why, tc.want.kind, tc.want.a, tc.want.b)
				}
				if tc.want.result != nil {
					if a.Base == nil || a.Base.Hash() != tc.want.result.Hash() {
						t.Errorf("result:\n%s\nwant:\n%s", enc(a.Base), tc.want.result.Encode())
					}
					for _, w := range []*sync.Write{&a.A, &a.B} {
						if (w.Op == sync.OpCreate || w.Op == sync.OpUpdate) && w.Card.Hash() != tc.want.result.Hash() {
							t.Errorf("%v writes:\n%s", w.Op, w.Card.Encode())
						}
					}
				}
				for _, w := range []*sync.Write{&a.A, &a.B} {
					if (w.Op == sync.OpUpdate || w.Op == sync.OpDelete) && w.Old == nil {
						t.Errorf("%v without the old version for the trash", w.Op)
					}
				}
			}
			if tc.want.check != nil {
				tc.want.check(t, p)
			}
		})
	}
}

func enc(c *vcard.Card) string {
	if c == nil {
		return "<nil>"
	}
	return string(c.Encode())
}

func bumpedOf(c *vcard.Card) *vcard.Card {
	d := c.Clone()
	d.Set(vcard.NewText("REV", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Format("20060102T150405Z")))
	d.Set(vcard.NewText("PRODID", "-//other//EN"))
	return d
}

func TestDuplicateUIDsSkipped(t *testing.T) {
	in := sync.PlanInput{
		NewA: []sync.Observed{added("d1", card("dup", "FN:One")), added("d2", card("dup", "FN:Two")), added("ok", card("fine", "FN:Fine"))},
	}
	p := runPlan(t, in, sync.PlanOptions{})
	if len(p.Actions) != 1 || p.Actions[0].UID != "fine" {
		t.Fatalf("actions = %+v", p.Actions)
	}
	if len(p.Skipped) != 2 || !strings.Contains(p.Skipped[0].Reason, `duplicate UID "dup"`) {
		t.Fatalf("skipped = %v", p.Skipped)
	}
}

func TestFirstSyncMatchesByStrongKeys(t *testing.T) {
	a := card("", "FN:Grace Hopper", "EMAIL:grace@navy.example")
	b := card("b-uid", "FN:grace  hopper", "EMAIL:GRACE@navy.example", "NOTE:admiral")
	in := sync.PlanInput{FirstSync: true, NewA: []sync.Observed{added("a1", a)}, NewB: []sync.Observed{added("b1", b)}}
	p := runPlan(t, in, sync.PlanOptions{})
	if len(p.Actions) != 1 {
		t.Fatalf("actions = %+v, skipped %v", p.Actions, p.Skipped)
	}
	act := p.Actions[0]
	if act.UID != "b-uid" || act.A.Op != sync.OpUpdate || act.B.Op != sync.OpUpdate && act.B.Op != sync.OpNone {
		t.Fatalf("action = %+v", act)
	}
	// Not on later syncs: then they are two new contacts.
	in.FirstSync = false
	if p := runPlan(t, in, sync.PlanOptions{}); len(p.Actions) != 2 {
		t.Fatalf("later sync: %d actions, want 2", len(p.Actions))
	}
}

func TestAmbiguousMatchReported(t *testing.T) {
	a := card("", "FN:Sam Lee", "EMAIL:sam@example.com")
	b1 := card("", "FN:Sam Lee", "EMAIL:sam@example.com", "TEL:+1 555 0101")
	b2 := card("", "FN:Sam Lee", "EMAIL:sam@example.com", "TEL:+1 555 0102")
	in := sync.PlanInput{FirstSync: true, NewA: []sync.Observed{added("a1", a)}, NewB: []sync.Observed{added("b1", b1), added("b2", b2)}}
	p := runPlan(t, in, sync.PlanOptions{})
	if len(p.Actions) != 0 {
		t.Fatalf("ambiguous match made actions: %+v", p.Actions)
	}
	if len(p.Skipped) != 3 || !strings.Contains(p.Skipped[0].Reason, "ambiguous") {
		t.Fatalf("skipped = %v", p.Skipped)
	}
}

func TestMerge3(t *testing.T) {
	b := card("u", "FN:X", "EMAIL:one@x", "EMAIL:two@x", "CATEGORIES:a,b")
	a := card("u", "FN:X", "EMAIL:one@x", "EMAIL:three@x", "CATEGORIES:a,b")            // removed two, added three
	bb := card("u", "FN:X", "EMAIL:one@x", "EMAIL:two@x", "EMAIL:four@x", "TITLE:Boss") // added four and a title
	m := sync.Merge3(b, a, bb, sync.SideA)
	var got []string
	for _, p := range m.Card.All("EMAIL") {
		got = append(got, p.Text())
	}
	if strings.Join(got, " ") != "one@x three@x four@x" {
		t.Errorf("emails = %v", got)
	}
	if tt, ok := m.Card.Get("TITLE"); !ok || tt.Text() != "Boss" {
		t.Errorf("title lost: %s", m.Card.Encode())
	}
	if len(m.Clashes) != 0 {
		t.Errorf("clashes = %v", m.Clashes)
	}
}

func TestMerge3SameValueOtherSpelling(t *testing.T) {
	a := card("u", "FN:X", "EMAIL:x@example.com", "TEL:+1 555 0100")
	b := card("u", "FN:X", "EMAIL;TYPE=WORK:x@example.com", "TEL;TYPE=CELL:+1 555 0100", "NOTE:b")
	m := sync.Merge3(nil, a, b, sync.SideA)
	if n := len(m.Card.All("EMAIL")); n != 1 {
		t.Fatalf("%d e-mails: %s", n, m.Card.Encode())
	}
	if e, _ := m.Card.Get("EMAIL"); len(e.Param("TYPE")) == 0 {
		t.Errorf("the typed spelling was not kept: %s", m.Card.Encode())
	}
	if n := len(m.Card.All("TEL")); n != 1 {
		t.Fatalf("%d phones: %s", n, m.Card.Encode())
	}
}
