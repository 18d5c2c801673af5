package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
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

func ref(side string, v int) engine.Ref { return engine.Ref{ID: side + "-1", Version: fmt.Sprint(v)} }

func unchanged(side string) engine.Observed {
	return engine.Observed{Status: engine.Unchanged, Ref: ref(side, 1)}
}
func changed(side string, c *vcard.Card) engine.Observed {
	return engine.Observed{Status: engine.Changed, Ref: ref(side, 2), Card: c}
}
func deleted(side string) engine.Observed {
	return engine.Observed{Status: engine.Deleted, Ref: ref(side, 1)}
}
func added(id string, c *vcard.Card) engine.Observed {
	return engine.Observed{Status: engine.Added, Ref: engine.Ref{ID: id, Version: "1"}, Card: c}
}

func known(a, b engine.Observed) engine.PlanInput {
	return engine.PlanInput{Entries: []engine.Entry{{StateID: 7, UID: "u1", Base: base, A: a, B: b}}}
}

type want struct {
	kind   engine.ActionKind // 0: no action at all
	a, b   engine.Op
	result *vcard.Card // content written / new base (compared by hash), when set
	check  func(t *testing.T, p engine.Plan)
}

func newUID(seed string) string { return "gen-" + fmt.Sprintf("%x", len(seed)) }

func runPlan(t *testing.T, in engine.PlanInput, opts engine.PlanOptions) engine.Plan {
	t.Helper()
	opts.NewUID = newUID
	return engine.MakePlan(in, opts)
}

func TestDecisionTable(t *testing.T) {
	tests := []struct {
		name string
		in   engine.PlanInput
		opts engine.PlanOptions
		want want
	}{
		// With a base: every status on A against every status on B.
		{"unchanged/unchanged", known(unchanged("a"), unchanged("b")), engine.PlanOptions{}, want{}},
		{"unchanged/changed", known(unchanged("a"), changed("b", editB)), engine.PlanOptions{}, want{kind: engine.ActWrite, a: engine.OpUpdate, result: editB}},
		{"unchanged/deleted", known(unchanged("a"), deleted("b")), engine.PlanOptions{}, want{kind: engine.ActWrite, a: engine.OpDelete}},
		{"changed/unchanged", known(changed("a", editA), unchanged("b")), engine.PlanOptions{}, want{kind: engine.ActWrite, b: engine.OpUpdate, result: editA}},
		{"changed/changed merges by property", known(changed("a", editA), changed("b", editB)), engine.PlanOptions{}, want{kind: engine.ActWrite, a: engine.OpUpdate, b: engine.OpUpdate, result: editBoth}},
		{"changed/changed identical", known(changed("a", editA), changed("b", editA)), engine.PlanOptions{}, want{kind: engine.ActLink, result: editA}},
		{"changed/deleted recreates on b", known(changed("a", editA), deleted("b")), engine.PlanOptions{}, want{kind: engine.ActWrite, b: engine.OpCreate, result: editA}},
		{"deleted/unchanged", known(deleted("a"), unchanged("b")), engine.PlanOptions{}, want{kind: engine.ActWrite, b: engine.OpDelete}},
		{"deleted/changed recreates on a", known(deleted("a"), changed("b", editB)), engine.PlanOptions{}, want{kind: engine.ActWrite, a: engine.OpCreate, result: editB}},
		{"deleted/deleted forgets", known(deleted("a"), deleted("b")), engine.PlanOptions{}, want{kind: engine.ActForget}},
		{"etag bump with identical content is no change", known(changed("a", bumped), unchanged("b")), engine.PlanOptions{}, want{kind: engine.ActLink}},
		{"etag bump on both", known(changed("a", bumped), changed("b", bumped)), engine.PlanOptions{}, want{kind: engine.ActLink}},
		{"etag bump/deleted deletes", known(changed("a", bumped), deleted("b")), engine.PlanOptions{}, want{kind: engine.ActWrite, a: engine.OpDelete}},
		{"etag bump/changed", known(changed("a", bumped), changed("b", editB)), engine.PlanOptions{}, want{kind: engine.ActWrite, a: engine.OpUpdate, result: editB}},

		// Without a base.
		{"new on a", engine.PlanInput{NewA: []engine.Observed{added("a1", editA)}}, engine.PlanOptions{}, want{kind: engine.ActWrite, b: engine.OpCreate, result: editA}},
		{"new on b", engine.PlanInput{NewB: []engine.Observed{added("b1", editB)}}, engine.PlanOptions{}, want{kind: engine.ActWrite, a: engine.OpCreate, result: editB}},
		{"new on both, identical: linked, no write", engine.PlanInput{NewA: []engine.Observed{added("a1", editA)}, NewB: []engine.Observed{added("b1", bumpedOf(editA))}}, engine.PlanOptions{}, want{kind: engine.ActLink}},
		{"new on both, different: union", engine.PlanInput{NewA: []engine.Observed{added("a1", editA)}, NewB: []engine.Observed{added("b1", editB)}}, engine.PlanOptions{}, want{kind: engine.ActWrite, a: engine.OpUpdate, b: engine.OpUpdate, result: editBoth}},
		{"new without UID gets one on both sides", engine.PlanInput{NewA: []engine.Observed{added("a1", card("", "FN:No Uid", "EMAIL:n@example.com"))}}, engine.PlanOptions{},
			want{kind: engine.ActWrite, a: engine.OpUpdate, b: engine.OpCreate, check: func(t *testing.T, p engine.Plan) {
				a := p.Actions[0]
				if a.A.Card.UID() == "" || a.A.Card.UID() != a.B.Card.UID() || a.UID != a.A.Card.UID() {
					t.Errorf("UIDs: item %q a %q b %q", a.UID, a.A.Card.UID(), a.B.Card.UID())
				}
			}}},
		{"state item without base reads as new on both", engine.PlanInput{Entries: []engine.Entry{{StateID: 3, UID: "u1", A: changed("a", editA), B: changed("b", editA)}}}, engine.PlanOptions{}, want{kind: engine.ActLink}},

		// Policies on a clash (FN changed on both; TEL only on a, NOTE only on b).
		{"merge: clash to the newer REV, other edits kept", known(changed("a", fnOldA), changed("b", fnNewB)), engine.PlanOptions{Policy: engine.PolicyMerge},
			want{kind: engine.ActWrite, a: engine.OpUpdate, b: engine.OpUpdate, check: func(t *testing.T, p engine.Plan) {
				c := p.Actions[0].Base
				if c.FN() != "Countess Lovelace" || len(c.All("TEL")) != 1 || len(c.All("NOTE")) != 1 {
					t.Errorf("merged = %s", c.Encode())
				}
				if got := p.Actions[0].Clashes; len(got) != 1 || got[0] != "FN" {
					t.Errorf("clashes = %v", got)
				}
			}}},
		{"newest: the newer version whole", known(changed("a", fnOldA), changed("b", fnNewB)), engine.PlanOptions{Policy: engine.PolicyNewest}, want{kind: engine.ActWrite, a: engine.OpUpdate, result: fnNewB}},
		{"a-wins", known(changed("a", fnOldA), changed("b", fnNewB)), engine.PlanOptions{Policy: engine.PolicyAWins}, want{kind: engine.ActWrite, b: engine.OpUpdate, result: fnOldA}},
		{"b-wins", known(changed("a", fnOldA), changed("b", fnNewB)), engine.PlanOptions{Policy: engine.PolicyBWins}, want{kind: engine.ActWrite, a: engine.OpUpdate, result: fnNewB}},
		{"keep-both: loser becomes a copy on both sides", known(changed("a", fnOldA), changed("b", fnNewB)), engine.PlanOptions{Policy: engine.PolicyKeepBoth},
			want{kind: engine.ActWrite, a: engine.OpUpdate, result: fnNewB, check: func(t *testing.T, p engine.Plan) {
				if len(p.Actions) != 2 {
					t.Fatalf("%d actions, want 2", len(p.Actions))
				}
				cp := p.Actions[1]
				if cp.A.Op != engine.OpCreate || cp.B.Op != engine.OpCreate || cp.A.Card.FN() != "Ada King (conflict copy)" || cp.UID == "u1" || cp.A.Card.UID() != cp.UID {
					t.Errorf("copy = %+v %s", cp, cp.A.Card.Encode())
				}
			}}},
		{"manual: nothing written, conflict recorded", known(changed("a", fnOldA), changed("b", fnNewB)), engine.PlanOptions{Policy: engine.PolicyManual}, want{kind: engine.ActConflict}},
		{"manual: both changed without a clash is still left to the user", known(changed("a", editA), changed("b", editB)), engine.PlanOptions{Policy: engine.PolicyManual}, want{kind: engine.ActConflict}},

		// Directions.
		{"a-to-b reverts b's edit", known(unchanged("a"), changed("b", editB)), engine.PlanOptions{Direction: engine.AToB}, want{kind: engine.ActWrite, b: engine.OpUpdate, result: base}},
		{"a-to-b deletion on a mirrored", known(deleted("a"), changed("b", editB)), engine.PlanOptions{Direction: engine.AToB}, want{kind: engine.ActWrite, b: engine.OpDelete}},
		{"a-to-b deleted on b recreated", known(unchanged("a"), deleted("b")), engine.PlanOptions{Direction: engine.AToB}, want{kind: engine.ActWrite, b: engine.OpCreate, result: base}},
		{"a-to-b removes b-only items", engine.PlanInput{NewB: []engine.Observed{added("b1", editB)}}, engine.PlanOptions{Direction: engine.AToB}, want{kind: engine.ActWrite, b: engine.OpDelete}},
		{"a-to-b both changed: a wins", known(changed("a", editA), changed("b", editB)), engine.PlanOptions{Direction: engine.AToB}, want{kind: engine.ActWrite, b: engine.OpUpdate, result: editA}},
		{"b-to-a copies b's edit", known(unchanged("a"), changed("b", editB)), engine.PlanOptions{Direction: engine.BToA}, want{kind: engine.ActWrite, a: engine.OpUpdate, result: editB}},
		{"b-to-a reverts a's edit", known(changed("a", editA), unchanged("b")), engine.PlanOptions{Direction: engine.BToA}, want{kind: engine.ActWrite, a: engine.OpUpdate, result: base}},
		{"b-to-a removes a-only items", engine.PlanInput{NewA: []engine.Observed{added("a1", editA)}}, engine.PlanOptions{Direction: engine.BToA}, want{kind: engine.ActWrite, a: engine.OpDelete}},

		// Unreadable items are skipped and never cause deletions.
		{"unreadable on a with base", known(engine.Observed{Status: engine.Unreadable, Ref: ref("a", 2), Err: errors.New("bad")}, deleted("b")), engine.PlanOptions{},
			want{check: func(t *testing.T, p engine.Plan) {
				if len(p.Skipped) != 1 || !strings.Contains(p.Skipped[0].Reason, "bad") {
					t.Errorf("skipped = %v", p.Skipped)
				}
			}}},
		{"unreadable new item", engine.PlanInput{NewA: []engine.Observed{{Status: engine.Unreadable, Ref: engine.Ref{ID: "x.vcf"}, Err: errors.New("missing END:VCARD")}}}, engine.PlanOptions{},
			want{check: func(t *testing.T, p engine.Plan) {
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
					for _, w := range []*engine.Write{&a.A, &a.B} {
						if (w.Op == engine.OpCreate || w.Op == engine.OpUpdate) && w.Card.Hash() != tc.want.result.Hash() {
							t.Errorf("%v writes:\n%s", w.Op, w.Card.Encode())
						}
					}
				}
				for _, w := range []*engine.Write{&a.A, &a.B} {
					if (w.Op == engine.OpUpdate || w.Op == engine.OpDelete) && w.Old == nil {
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
	in := engine.PlanInput{
		NewA: []engine.Observed{added("d1", card("dup", "FN:One")), added("d2", card("dup", "FN:Two")), added("ok", card("fine", "FN:Fine"))},
	}
	p := runPlan(t, in, engine.PlanOptions{})
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
	in := engine.PlanInput{FirstSync: true, NewA: []engine.Observed{added("a1", a)}, NewB: []engine.Observed{added("b1", b)}}
	p := runPlan(t, in, engine.PlanOptions{})
	if len(p.Actions) != 1 {
		t.Fatalf("actions = %+v, skipped %v", p.Actions, p.Skipped)
	}
	act := p.Actions[0]
	if act.UID != "b-uid" || act.A.Op != engine.OpUpdate || act.B.Op != engine.OpUpdate && act.B.Op != engine.OpNone {
		t.Fatalf("action = %+v", act)
	}
	// Not on later syncs: then they are two new contacts.
	in.FirstSync = false
	if p := runPlan(t, in, engine.PlanOptions{}); len(p.Actions) != 2 {
		t.Fatalf("later sync: %d actions, want 2", len(p.Actions))
	}
}

func TestAmbiguousMatchReported(t *testing.T) {
	a := card("", "FN:Sam Lee", "EMAIL:sam@example.com")
	b1 := card("", "FN:Sam Lee", "EMAIL:sam@example.com", "TEL:+1 555 0101")
	b2 := card("", "FN:Sam Lee", "EMAIL:sam@example.com", "TEL:+1 555 0102")
	in := engine.PlanInput{FirstSync: true, NewA: []engine.Observed{added("a1", a)}, NewB: []engine.Observed{added("b1", b1), added("b2", b2)}}
	p := runPlan(t, in, engine.PlanOptions{})
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
	m := engine.Merge3(b, a, bb, engine.SideA)
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
	m := engine.Merge3(nil, a, b, engine.SideA)
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
