package state

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSideIdentityAndReset: identities are recorded per pair and side;
// ResetSide forgets one side's token, identity, ids and versions and keeps
// the UIDs, bases and the other side; it counts only in a dry run and
// refuses while the pair is locked.
func TestSideIdentityAndReset(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		setup := func(t *testing.T) *DB {
			db, _ := be.openTest(t)
			for _, it := range []*Item{
				{Pair: "p", UID: "u1", AID: "a1", AVersion: "va1", BID: "b1", BVersion: "vb1", BaseHash: "h1", Base: []byte("BEGIN:VCARD\r\nUID:u1\r\nEND:VCARD\r\n")},
				{Pair: "p", UID: "u2", AID: "a2", AVersion: "va2", BID: "b2", BVersion: "vb2", BaseHash: "h2", Base: []byte("BEGIN:VCARD\r\nUID:u2\r\nEND:VCARD\r\n")},
				{Pair: "q", UID: "u1", AID: "qa1", AVersion: "qva1", BID: "qb1", BVersion: "qvb1", BaseHash: "h1"},
			} {
				if err := db.PutItem(ctx, it); err != nil {
					t.Fatal(err)
				}
			}
			for _, pr := range []string{"p", "q"} {
				for _, s := range []string{"a", "b"} {
					if err := db.SetToken(ctx, pr, s, "tok-"+pr+s); err != nil {
						t.Fatal(err)
					}
					if err := db.SetSideIdentity(ctx, pr, s, "id-"+pr+s); err != nil {
						t.Fatal(err)
					}
				}
			}
			return db
		}
		for _, tc := range []struct {
			name   string
			side   string
			dryRun bool
			lock   bool
			err    string // a substring of the error; "" for none
			want   SideReset
		}{
			{name: "side b", side: "b", want: SideReset{Side: "b", Items: 2, Token: true, Identity: "id-pb"}},
			{name: "side a", side: "a", want: SideReset{Side: "a", Items: 2, Token: true, Identity: "id-pa"}},
			{name: "dry run counts only", side: "b", dryRun: true, want: SideReset{Side: "b", Items: 2, Token: true, Identity: "id-pb"}},
			{name: "locked pair", side: "b", lock: true, err: "is being synced by process"},
			{name: "bad side", side: "c", err: `side "c" is not "a" or "b"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				db := setup(t)
				if tc.lock {
					unlock, err := db.LockPair(ctx, "p")
					if err != nil {
						t.Fatal(err)
					}
					defer unlock()
				}
				got, err := db.ResetSide(ctx, "p", tc.side, tc.dryRun)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("err = %v, want %q", err, tc.err)
					}
					if tc.lock && !errors.Is(err, ErrLocked) {
						t.Fatalf("err = %v, want ErrLocked", err)
					}
				} else if err != nil || got != tc.want {
					t.Fatalf("ResetSide = %+v, %v; want %+v", got, err, tc.want)
				}
				reset := err == nil && !tc.dryRun
				items, err := db.Items(ctx, "p")
				if err != nil || len(items) != 2 {
					t.Fatalf("items: %v %d", err, len(items))
				}
				for _, it := range items {
					ids := map[string][2]string{"a": {it.AID, it.AVersion}, "b": {it.BID, it.BVersion}}
					for s, v := range ids {
						cleared := v == [2]string{"", ""}
						if cleared != (reset && s == tc.side) {
							t.Errorf("item %s side %s: id/version %q after reset=%v of side %s", it.UID, s, v, reset, tc.side)
						}
					}
					if it.UID == "" || it.BaseHash == "" {
						t.Errorf("item lost its UID or base hash: %+v", it)
					}
				}
				bases, _ := db.Bases(ctx, []int64{items[0].ID, items[1].ID})
				if len(bases) != 2 {
					t.Errorf("bases: %d, want 2 kept", len(bases))
				}
				for _, s := range []string{"a", "b"} {
					tok, _ := db.Token(ctx, "p", s)
					id, _ := db.SideIdentity(ctx, "p", s)
					gone := reset && s == tc.side
					if (tok == "") != gone || (id == "") != gone {
						t.Errorf("side %s: token %q identity %q after reset=%v of side %s", s, tok, id, reset, tc.side)
					}
				}
				// The other pair is untouched.
				q, _ := db.Items(ctx, "q")
				if len(q) != 1 || q[0].AID != "qa1" || q[0].BID != "qb1" {
					t.Errorf("pair q changed: %+v", q)
				}
				if id, _ := db.SideIdentity(ctx, "q", "b"); id != "id-qb" {
					t.Errorf("pair q's identity: %q", id)
				}
			})
		}
		t.Run("empty identity refused", func(t *testing.T) {
			db := setup(t)
			if err := db.SetSideIdentity(ctx, "p", "a", ""); err == nil {
				t.Fatal("empty identity accepted")
			}
		})
	})
}
