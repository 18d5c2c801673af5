package state

import (
	"context"
	"testing"
	"time"
)

// TestFailedItems: a failure is recorded with one attempt and the first
// back-off, a second failure keeps the first time and doubles the wait,
// ClearFailure forgets it, ResetSide forgets the side's failures, and a
// bad side is refused.
func TestFailedItems(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		t0 := time.Unix(1_800_000_000, 0)
		rec := func(f Failure, at time.Time) error {
			return db.Update(ctx, func(tx *Tx) error { return tx.RecordFailure("p", f, at) })
		}
		steps := []struct {
			name    string
			do      func() error
			wantErr bool
			want    []FailedItem
		}{
			{"first failure", func() error { return rec(Failure{Side: "a", SideID: "x", UID: "u1", Reason: "r1"}, t0) }, false,
				[]FailedItem{{Pair: "p", Side: "a", SideID: "x", UID: "u1", Reason: "r1", Attempts: 1, FirstFailed: t0, LastFailed: t0, NextRetry: t0}}},
			{"second failure", func() error { return rec(Failure{Side: "a", SideID: "x", Reason: "r2"}, t0.Add(time.Hour)) }, false,
				[]FailedItem{{Pair: "p", Side: "a", SideID: "x", UID: "u1", Reason: "r2", Attempts: 2, FirstFailed: t0, LastFailed: t0.Add(time.Hour), NextRetry: t0.Add(time.Hour + 5*time.Minute)}}},
			{"other side", func() error { return rec(Failure{Side: "b", SideID: "y", Reason: "r3"}, t0) }, false,
				[]FailedItem{
					{Pair: "p", Side: "a", SideID: "x", UID: "u1", Reason: "r2", Attempts: 2, FirstFailed: t0, LastFailed: t0.Add(time.Hour), NextRetry: t0.Add(time.Hour + 5*time.Minute)},
					{Pair: "p", Side: "b", SideID: "y", Reason: "r3", Attempts: 1, FirstFailed: t0, LastFailed: t0, NextRetry: t0}}},
			{"bad side", func() error { return rec(Failure{Side: "c", SideID: "z", Reason: "r"}, t0) }, true, nil},
			{"empty id", func() error { return rec(Failure{Side: "a", Reason: "r"}, t0) }, true, nil},
			{"clear", func() error {
				return db.Update(ctx, func(tx *Tx) error { return tx.ClearFailure("p", "a", "x") })
			}, false, []FailedItem{{Pair: "p", Side: "b", SideID: "y", Reason: "r3", Attempts: 1, FirstFailed: t0, LastFailed: t0, NextRetry: t0}}},
			{"reset side b", func() error { _, err := db.ResetSide(ctx, "p", "b", false); return err }, false, nil},
		}
		for _, s := range steps {
			err := s.do()
			if (err != nil) != s.wantErr {
				t.Fatalf("%s: err = %v, want error %v", s.name, err, s.wantErr)
			}
			if s.wantErr {
				continue
			}
			got, err := db.FailedItems(ctx, "p")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(s.want) {
				t.Fatalf("%s: got %+v, want %+v", s.name, got, s.want)
			}
			for i := range got {
				g, w := got[i], s.want[i]
				if g.Side != w.Side || g.SideID != w.SideID || g.UID != w.UID || g.Reason != w.Reason || g.Attempts != w.Attempts ||
					!g.FirstFailed.Equal(w.FirstFailed) || !g.LastFailed.Equal(w.LastFailed) || !g.NextRetry.Equal(w.NextRetry) {
					t.Errorf("%s: row %d = %+v, want %+v", s.name, i, g, w)
				}
			}
		}
	})
}

// TestRetryDelay: the next run after a first failure, then exponential
// from 5 minutes, capped at a day.
func TestRetryDelay(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		for _, c := range []struct {
			n    int
			want time.Duration
		}{{1, 0}, {2, 5 * time.Minute}, {3, 10 * time.Minute}, {4, 20 * time.Minute}, {11, 24 * time.Hour}, {100, 24 * time.Hour}} {
			if got := RetryDelay(c.n); got != c.want {
				t.Errorf("RetryDelay(%d) = %v, want %v", c.n, got, c.want)
			}
		}
	})
}
