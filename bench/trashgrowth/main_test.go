package main

import (
	"context"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/state"
)

// A small run of the benchmark: 500 cards, 1% edited per run, 60 runs
// of 10 a day (6 days), a retention of 2 days. Once the retention is
// reached (day 3: entries of days 0..2 are kept, "older than" is strict)
// the trash and the database stop growing; without the purge they grow
// all along.
func TestTrashGrowthPlateaus(t *testing.T) {
	for _, tt := range []struct {
		name   string
		limits state.TrashLimits
		purged bool
	}{
		{"retention 2 days", state.TrashLimits{Retention: 48 * time.Hour}, true},
		{"cap 300 kB", state.TrashLimits{MaxBytes: 300_000}, true},
		{"no purge (the old behaviour)", state.TrashLimits{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := params{Cards: 500, Runs: 60, RunsPerDay: 10, Change: 0.01, Photos: 0.5, PhotoBytes: 4000,
				EveryDays: 1, Limits: tt.limits, Dir: t.TempDir(), Seed: 7}
			rows, err := simulate(context.Background(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 7 {
				t.Fatalf("%d rows, want days 0..6", len(rows))
			}
			reached, end := rows[3], rows[6]
			t.Logf("day 3: %d entries, %d bytes of trash, database %d bytes; day 6: %d entries, %d bytes, database %d bytes",
				reached.Entries, reached.TrashBytes, reached.DBSize, end.Entries, end.TrashBytes, end.DBSize)
			plateau := float64(end.DBSize) <= float64(reached.DBSize)*1.1 && end.TrashBytes <= reached.TrashBytes*11/10
			if tt.purged && !plateau {
				t.Errorf("the state kept growing past the limit: database %d -> %d bytes, trash %d -> %d bytes (want at most +10%%)",
					reached.DBSize, end.DBSize, reached.TrashBytes, end.TrashBytes)
			}
			if !tt.purged && (plateau || end.Entries != 6*10*5) {
				t.Errorf("without a purge the state should grow: database %d -> %d bytes, %d entries (want %d)",
					reached.DBSize, end.DBSize, end.Entries, 6*10*5)
			}
			if tt.purged && tt.limits.Retention > 0 && end.Entries != 3*10*5 {
				t.Errorf("%d entries at day 6, want 3 days of 50", end.Entries)
			}
			if tt.limits.MaxBytes > 0 && end.TrashBytes > tt.limits.MaxBytes {
				t.Errorf("trash %d bytes, over the cap %d", end.TrashBytes, tt.limits.MaxBytes)
			}
		})
	}
}
