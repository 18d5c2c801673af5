package main

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/bench/crash"
)

// campaignSeed is CARDBRIDGE_CAMPAIGN_SEED, or def: a failing campaign
// prints its seed, and the variable repeats it.
func campaignSeed(t *testing.T, def uint64) uint64 {
	t.Helper()
	if v := os.Getenv("CARDBRIDGE_CAMPAIGN_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CARDBRIDGE_CAMPAIGN_SEED=%q: %v", v, err)
		}
		return s
	}
	return def
}

// testLog sends a campaign's progress to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// checkSummary fails the test on a round that did not converge, or when
// fewer rounds ran than asked.
func checkSummary(t *testing.T, sum crash.Summary, err error, rounds int) {
	t.Helper()
	if err != nil {
		t.Fatalf("campaign (seed %d): %v", sum.Seed, err)
	}
	t.Logf("\n%s", sum)
	if len(sum.Failures) > 0 {
		t.Fatalf("seed %d: %d round(s) did not converge:\n%v", sum.Seed, len(sum.Failures), sum.Failures)
	}
	if sum.Rounds != rounds {
		t.Fatalf("%d rounds ran, want %d", sum.Rounds, rounds)
	}
	if sum.Expected > 0 && sum.BeforeWrites+sum.MidWrite+sum.AfterWrites == 0 && sum.CleanRuns+sum.FailedRuns == 0 {
		t.Fatalf("no kill landed while a sync ran: %s", sum)
	}
}

// killCampaign runs the campaign name of opts.Rounds rounds on the
// scenario sc of n contacts (err: the error of making it, which fails the
// test), its sync killed with SIGKILL at a random moment each round, and
// checks the summary; sc is closed at the end.
func killCampaign(ctx context.Context, t *testing.T, sc *crash.Scenario, err error, name string, n int, opts crash.Options) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.Pair.Log = testLog{t}
	sum, err := sc.Pair.Campaign(ctx, name, n, opts, crash.KillAtRandom())
	checkSummary(t, sum, err, opts.Rounds)
}

// TestCrashO365Vdir: the small crash campaign of docs/robustness.md on a
// two-way Office 365 (graphsim as its own process, so it outlives the
// kills) ⇄ vdir pair: 300 contacts, changes on both sides before each
// round, `cardbridge sync` killed with SIGKILL at a random moment, then
// re-run: both sides must hold exactly the expected contacts (by UID and
// normalised content, latest edits), none twice, none lost.
func TestCrashO365Vdir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sc, err := crash.O365Vdir(ctx, binary, t.TempDir(), 300, "", "--latency", "5ms", "--seed", "3")
	opts := crash.Options{Rounds: 5, Seed: campaignSeed(t, 1129), Work: crash.Work{Edits: 10, Creates: 5, Deletes: 2}}
	killCampaign(ctx, t, sc, err, "crash o365 ⇄ vdir", 300, opts)
}

// TestCrashServerRadicale: the same campaign on the built-in server's
// store ⇄ a real Radicale on 127.0.0.1.
func TestCrashServerRadicale(t *testing.T) {
	bin := needPeer(t, "radicale")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sc, err := crash.ServerRadicale(ctx, binary, bin, t.TempDir(), 150, 5, false)
	opts := crash.Options{Rounds: 5, Seed: campaignSeed(t, 1130), Work: crash.Work{Edits: 8, Creates: 4, Deletes: 2}}
	killCampaign(ctx, t, sc, err, "crash server ⇄ radicale", 150, opts)
}
