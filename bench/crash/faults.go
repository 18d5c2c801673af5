package crash

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"time"
)

// ChaosFlags are the graphsim flags of the fault campaign: 20 ms latency,
// 10% 429, 5% 503, 2% connection resets, 2% stalls of 2 s, pages of 100
// (so a full round has several) and one expiry of every delta link after
// a third of the first full round's pages (a 410 mid-round).
func ChaosFlags(latency time.Duration, seed uint64, contacts int) []string {
	pages := max(contacts/100, 1)
	return []string{"--latency", latency.String(), "--seed", fmt.Sprint(seed), "--max-page-size", "100",
		"--fault-429", "0.10", "--fault-503", "0.05", "--fault-reset", "0.02", "--fault-stall", "0.02", "--stall", "2s",
		"--expire-delta-after", fmt.Sprint(max(pages/3, 1))}
}

// ExchangeFlags are graphsim's flags for one of the faults Exchange itself
// gives (issue 14): "412" transient 412s on 10% of plain GETs; "generations"
// the folder's sync state advanced past the 3 generations kept before two
// incremental rounds (their deltaLink answers 410 SyncStateNotFound);
// "504" half the delta pages of more than 3 items (full rounds' pages of
// 100 and incremental rounds' of a few changes) answer 504.
func ExchangeFlags(kind string, latency time.Duration, seed uint64) []string {
	f := []string{"--latency", latency.String(), "--seed", fmt.Sprint(seed)}
	switch kind {
	case "412":
		f = append(f, "--transient-412", "0.10")
	case "generations":
		f = append(f, "--advance-generations", "2")
	case "504":
		f = append(f, "--max-page-size", "100", "--fault-504", "0.5", "--large-page", "3")
	}
	return f
}

// RestartRadicale kills Radicale at a moment uniform over the first 10%
// to 60% of the expected run (so that most restarts land while the sync
// talks to it) and starts it again on the same port and folder.
func RestartRadicale(r *Radicale) Disturb {
	return Disturb{At: func(rng *mrand.Rand, expected time.Duration) func(*os.Process, <-chan struct{}) bool {
		at := time.Duration((0.1 + 0.5*rng.Float64()) * float64(expected))
		return func(_ *os.Process, ended <-chan struct{}) bool {
			if !waitFor(at, ended) {
				return false
			}
			r.Kill()
			if err := r.Start(context.Background()); err != nil {
				// The re-run will fail and name it; nothing else to do here.
				fmt.Fprintln(os.Stderr, "campaign: restarting radicale:", err)
			}
			return true
		}
	}}
}
