package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

// The end of a run purges the pair's trash to Pair.Trash: entries past
// the retention by the state's clock, and beyond the size cap the oldest;
// a dry run and a pair without limits purge nothing.
func TestRunPurgesTrash(t *testing.T) {
	const day = 24 * time.Hour
	ctx := context.Background()
	clock := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	db := statetest.Open(t, filepath.Join(t.TempDir(), "state.db"), state.Options{Now: func() time.Time { return clock }})
	defer db.Close()
	a, b := mem.New("a"), mem.New("b")
	const n = 10
	for i := 0; i < n; i++ {
		a.Put(fmt.Sprintf("a%d.vcf", i), person(i).Encode())
	}
	limits := state.TrashLimits{Retention: 3 * day}
	run := func(dry bool, lim state.TrashLimits) *engine.Result {
		t.Helper()
		p := engine.Pair{Name: "p", A: a, B: b, Direction: engine.TwoWay, Policy: engine.PolicyMerge, Trash: lim}
		res, err := engine.New(db, nil).Run(ctx, p, engine.Options{DryRun: dry})
		if err != nil || len(res.Errors) > 0 {
			t.Fatalf("run: %v %v", err, res.Errors)
		}
		return res
	}
	trash := func() int {
		es, err := db.ListTrash(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	edit := func(day int) { // each day every contact is edited on a
		for i := 0; i < n; i++ {
			c := card(fmt.Sprintf("uid-%03d", i), fmt.Sprintf("FN:Person %03d", i), fmt.Sprintf("NOTE:day %d", day))
			a.Put(fmt.Sprintf("a%d.vcf", i), c.Encode())
		}
	}
	run(false, limits)
	for d := 1; d <= 6; d++ {
		clock = clock.Add(day)
		edit(d)
		res := run(false, limits)
		if res.B.Updated != n {
			t.Fatalf("day %d: %d updates on b, want %d", d, res.B.Updated, n)
		}
		// The run's own entries are new; those older than the retention
		// are gone (those exactly 3 days old are not older: 4 days kept).
		want := n * min(d, 4)
		if got := trash(); got != want {
			t.Errorf("day %d: %d entries in the trash, want %d (4 days of %d)", d, got, want, n)
		}
		if d > 4 && (res.TrashPurged.Entries != n || res.TrashPurged.ByAge != n) {
			t.Errorf("day %d: TrashPurged = %+v, want %d by age", d, res.TrashPurged, n)
		}
	}
	// The cap keeps the newest: the last run's entries only.
	size := int64(0)
	if es, _ := db.ListTrash(ctx, "p"); len(es) > 0 {
		for _, e := range es[:n] {
			size += int64(len(e.Card))
		}
	}
	clock = clock.Add(time.Hour)
	before := trash()
	run(true, state.TrashLimits{MaxBytes: size}) // a dry run purges nothing
	if got := trash(); got != before {
		t.Errorf("a dry run purged the trash: %d -> %d", before, got)
	}
	run(false, state.TrashLimits{}) // nor a pair without limits
	if got := trash(); got != before {
		t.Errorf("a run without limits purged the trash: %d -> %d", before, got)
	}
	res := run(false, state.TrashLimits{MaxBytes: size})
	if got := trash(); got != n || res.TrashPurged.BySize != before-n || res.TrashPurged.KeptBytes != size {
		t.Errorf("with a cap of the newest run's %d bytes: %d entries kept, purge %+v; want %d", size, got, res.TrashPurged, n)
	}
}
