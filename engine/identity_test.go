package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/side/mem"
)

// plain hides a side's Identifier capability: a side as it was before
// identities (or one that states none).
type plain struct{ engine.Side }

// moved returns a side named name holding copies of s's contacts under
// other ids: the same cards in another folder.
func moved(s *mem.Side, name string) *mem.Side {
	m := mem.New(name)
	for id, raw := range s.Snapshot() {
		m.Put("moved-"+id, raw)
	}
	return m
}

// TestSideIdentity: a pair whose side now points elsewhere is refused with
// an *IdentityError naming the pair, the side, what it was and what it is;
// state from before identities adopts the current one; a reset side is
// linked again by UID with no duplicate and no deletion.
func TestSideIdentity(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"same identity runs", func(t *testing.T, f *fixture) {
			f.mustRun()
		}},
		{"changed identity is refused and writes nothing", func(t *testing.T, f *fixture) {
			nb := moved(f.b, "elsewhere")
			nb.Put("extra.vcf", person(99).Encode())
			before := len(nb.Snapshot())
			_, err := f.run(engine.Options{}, func(p *engine.Pair) { p.B = nb })
			var ie *engine.IdentityError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an *IdentityError", err)
			}
			if ie.Pair != "p" || ie.Side != engine.SideB || ie.Was != "mem b" || ie.Now != "mem elsewhere" {
				t.Fatalf("identity error %+v", ie)
			}
			for _, want := range []string{"pair p", "side b", `"mem b"`, `"mem elsewhere"`, "cardbridge reset p --side b", "undo the configuration change"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message lacks %q: %s", want, err)
				}
			}
			if len(nb.Snapshot()) != before || len(f.a.Snapshot()) != 10 {
				t.Fatalf("a refused run wrote: b %d a %d", len(nb.Snapshot()), len(f.a.Snapshot()))
			}
			// A dry run is refused too, and so is the next run: nothing was recorded.
			if _, err := f.run(engine.Options{DryRun: true}, func(p *engine.Pair) { p.B = nb }); !errors.As(err, &ie) {
				t.Fatalf("dry run: err = %v", err)
			}
		}},
		{"state without identity adopts the current one", func(t *testing.T, f *fixture) {
			for _, w := range []string{"a", "b"} {
				if _, err := f.db.ResetSide(ctx, "p", w, false); err != nil {
					t.Fatal(err)
				}
			}
			// A run by a side that states no identity records none.
			nb := moved(f.b, "old-version")
			res, err := f.run(engine.Options{}, func(p *engine.Pair) { p.A, p.B = plain{f.a}, plain{nb} })
			if err != nil || writes(res) != 0 {
				t.Fatalf("plain run: %v %+v", err, res)
			}
			if id, _ := f.db.SideIdentity(ctx, "p", "b"); id != "" {
				t.Fatalf("identity %q recorded for a side without one", id)
			}
			// The first run with identities adopts them, and holds them after.
			if res, err := f.run(engine.Options{}, func(p *engine.Pair) { p.B = nb }); err != nil || writes(res) != 0 {
				t.Fatalf("upgrade run: %v %+v", err, res)
			}
			if id, _ := f.db.SideIdentity(ctx, "p", "b"); id != "mem old-version" {
				t.Fatalf("adopted identity %q", id)
			}
			if _, err := f.run(engine.Options{}); !errors.As(err, new(*engine.IdentityError)) {
				t.Fatalf("back to the first b: err = %v", err)
			}
		}},
		{"a dry run records nothing", func(t *testing.T, f *fixture) {
			if _, err := f.db.ResetSide(ctx, "p", "b", false); err != nil {
				t.Fatal(err)
			}
			if _, err := f.run(engine.Options{DryRun: true}); err != nil {
				t.Fatal(err)
			}
			if id, _ := f.db.SideIdentity(ctx, "p", "b"); id != "" {
				t.Fatalf("dry run recorded %q", id)
			}
		}},
		{"reset side links by UID: no duplicate, no deletion", func(t *testing.T, f *fixture) {
			nb := moved(f.b, "elsewhere")
			nb.Remove("moved-" + findID(f.b, "uid-003")) // not in the new folder: copied to it
			c := card("uid-004", "FN:Person 004", "N:004;Person;;;", "EMAIL:p004@example.com", "TEL:+48 600 000 004",
				"NOTE:edited in the new folder")
			nb.Put("moved-"+findID(f.b, "uid-004"), c.Encode())
			r, err := f.db.ResetSide(ctx, "p", "b", false)
			if err != nil || r.Items != 10 || r.Identity != "mem b" {
				t.Fatalf("reset: %+v %v", r, err)
			}
			res, err := f.run(engine.Options{}, func(p *engine.Pair) { p.B = nb })
			if err != nil || len(res.Errors) > 0 {
				t.Fatalf("run after reset: %v %+v", err, res)
			}
			if res.A.Deleted+res.B.Deleted != 0 || res.A.Created != 0 || res.B.Created != 1 || res.A.Updated != 1 || res.B.Updated != 0 {
				t.Fatalf("after reset: a %+v b %+v, want 1 created on b (uid-003), 1 update on a (uid-004)", res.A, res.B)
			}
			got := converged(t, f.a, nb)
			if len(got) != 10 || len(nb.Snapshot()) != 10 {
				t.Fatalf("a holds %d UIDs, b %d items", len(got), len(nb.Snapshot()))
			}
			if res := f.mustRun(func(p *engine.Pair) { p.B = nb }); writes(res) != 0 {
				t.Fatalf("second run wrote %+v", res)
			}
			if _, err := f.run(engine.Options{}); !errors.As(err, new(*engine.IdentityError)) {
				t.Fatalf("the old b after the reset: err = %v", err)
			}
		}},
		{"both sides reset: linked by UID against their bases", func(t *testing.T, f *fixture) {
			na, nb := moved(f.a, "a2"), moved(f.b, "b2")
			// A field edited on each side of one contact merges against the
			// kept base (without it the two versions would clash).
			na.Put("moved-"+findID(f.a, "uid-005"), card("uid-005", "FN:Person 005", "N:005;Person;;;", "EMAIL:p005@example.com",
				"TEL:+48 600 000 005", "NOTE:from a").Encode())
			nb.Put("moved-"+findID(f.b, "uid-005"), card("uid-005", "FN:Person 005", "N:005;Person;;;", "EMAIL:p005@example.com",
				"TEL:+48 600 000 005", "TITLE:from b").Encode())
			for _, w := range []string{"a", "b"} {
				if _, err := f.db.ResetSide(ctx, "p", w, false); err != nil {
					t.Fatal(err)
				}
			}
			res, err := f.run(engine.Options{}, func(p *engine.Pair) { p.A, p.B = na, nb })
			if err != nil || len(res.Errors) > 0 || res.Conflicts != 0 {
				t.Fatalf("run after reset: %v %+v", err, res)
			}
			if res.A.Created+res.B.Created+res.A.Deleted+res.B.Deleted != 0 || res.A.Updated != 1 || res.B.Updated != 1 {
				t.Fatalf("after reset of both: a %+v b %+v, want the one merge written to each side", res.A, res.B)
			}
			converged(t, na, nb)
			raw, _ := na.Raw("moved-" + findID(f.a, "uid-005"))
			if !strings.Contains(string(raw), "NOTE:from a") || !strings.Contains(string(raw), "TITLE:from b") {
				t.Fatalf("not merged against the base:\n%s", raw)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.putPeople(10)
			f.mustRun()
			tc.run(t, f)
		})
	}
}
