// Command campaign runs the crash and fault campaigns of
// docs/robustness.md against a built cardbridge binary (bench/crash-campaign.sh
// and bench/fault-campaign.sh build it and call this).
//
//	campaign -binary ./cardbridge -mode crash -scenario o365|server -contacts 5000 -rounds 50 [-seed N]
//	campaign -binary ./cardbridge -mode fault -scenario o365-chaos|o365-412|o365-generations|o365-504|radicale-restart|disk-full ...
//
// It prints a summary per scenario and exits 1 when any round failed to
// converge (the summary names the seed and the diff), 2 on a setup error.
package main

import (
	"context"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/bench/crash"
)

func main() {
	binary := flag.String("binary", "", "the cardbridge binary (required)")
	mode := flag.String("mode", "crash", "crash (kill -9 at random moments) or fault (injected faults)")
	scenario := flag.String("scenario", "", "crash: o365 or server; fault: o365-chaos, o365-412, o365-generations, o365-504, radicale-restart or disk-full")
	contacts := flag.Int("contacts", 5000, "contacts to start with")
	rounds := flag.Int("rounds", 50, "disturbed rounds")
	seed := flag.Uint64("seed", 0, "seed of every random choice (0 picks one, printed)")
	edits := flag.Int("edits", 0, "edits per side per round (default contacts/100, at least 3)")
	creates := flag.Int("creates", 0, "creates per side per round (default contacts/200, at least 2)")
	deletes := flag.Int("deletes", 0, "deletes per side per round (default contacts/1000, at least 1)")
	latency := flag.Duration("latency", 20*time.Millisecond, "graphsim latency")
	dir := flag.String("dir", "", "work folder (default a new temporary one, removed after a success)")
	fsSize := flag.String("fs-size", "8m", "disk-full: size of the vCard folder's tmpfs")
	flag.Parse()
	if *binary == "" || *scenario == "" {
		fmt.Fprintln(os.Stderr, "campaign: -binary and -scenario are required")
		os.Exit(2)
	}
	if *seed == 0 {
		*seed = mrand.Uint64() >> 12
	}
	w := crash.Work{Edits: max(*edits, *contacts/100, 3), Creates: max(*creates, *contacts/200, 2), Deletes: max(*deletes, *contacts/1000, 1)}
	if *edits > 0 {
		w.Edits = *edits
	}
	if *creates > 0 {
		w.Creates = *creates
	}
	if *deletes > 0 {
		w.Deletes = *deletes
	}
	work := *dir
	if work == "" {
		d, err := os.MkdirTemp("", "cardbridge-campaign-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "campaign:", err)
			os.Exit(2)
		}
		work = d
	} else if err := os.MkdirAll(work, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "campaign:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Printf("campaign: mode %s, scenario %s, %d contacts, %d rounds, work %+v per side per round, seed %d, folder %s\n",
		*mode, *scenario, *contacts, *rounds, w, *seed, work)
	opts := crash.Options{Rounds: *rounds, Seed: *seed, Work: w}
	var sum crash.Summary
	var err error
	start := time.Now()
	switch *mode + "/" + *scenario {
	case "crash/o365":
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.O365Vdir(ctx, *binary, work, *contacts, "", "--latency", latency.String(), "--seed", fmt.Sprint(*seed))
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			return sc.Pair.Campaign(ctx, "crash o365 ⇄ vdir", *contacts, opts, crash.KillAtRandom())
		})
	case "crash/server":
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.ServerRadicale(ctx, *binary, radicale(), work, *contacts, int64(*seed), *contacts > 1000)
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			return sc.Pair.Campaign(ctx, "crash server ⇄ radicale", *contacts, opts, crash.KillAtRandom())
		})
	case "fault/o365-chaos":
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.O365Vdir(ctx, *binary, work, *contacts, "", crash.ChaosFlags(*latency, *seed, *contacts)...)
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			opts.Reruns = 3
			sum, err := sc.Pair.Campaign(ctx, "fault o365 (429/503/reset/stall/410) ⇄ vdir", *contacts, opts, crash.Disturb{})
			fmt.Println(sc.Graphsim.FaultsLine())
			return sum, err
		})
	case "fault/o365-412", "fault/o365-generations", "fault/o365-504":
		kind := strings.TrimPrefix(*scenario, "o365-")
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.O365Vdir(ctx, *binary, work, *contacts, "", crash.ExchangeFlags(kind, *latency, *seed)...)
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			opts.Reruns = 3
			sum, err := sc.Pair.Campaign(ctx, "fault o365 ("+kind+") ⇄ vdir", *contacts, opts, crash.Disturb{})
			fmt.Println(sc.Graphsim.FaultsLine())
			return sum, err
		})
	case "fault/radicale-restart":
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.ServerRadicale(ctx, *binary, radicale(), work, *contacts, int64(*seed), *contacts > 1000)
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			opts.Reruns = 2
			return sc.Pair.Campaign(ctx, "fault server ⇄ radicale restarted mid-run", *contacts, opts, crash.RestartRadicale(sc.Radicale))
		})
	case "fault/disk-full":
		var rep crash.DiskFullReport
		rep, err = crash.DiskFull(ctx, *binary, work, *contacts, *fsSize, *latency, os.Stdout)
		fmt.Println(rep)
		if err == nil && len(rep.Failures) > 0 {
			sum.Failures = rep.Failures
		}
	default:
		fmt.Fprintf(os.Stderr, "campaign: unknown -mode %s with -scenario %s\n", *mode, *scenario)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "campaign: %v (seed %d, folder %s)\n", err, *seed, work)
		os.Exit(2)
	}
	if *mode != "fault" || *scenario != "disk-full" {
		fmt.Print(sum)
	}
	fmt.Printf("campaign: took %s\n", time.Since(start).Round(time.Second))
	if len(sum.Failures) > 0 {
		fmt.Printf("campaign: FAILED (seed %d; re-run with -seed %d; folder kept: %s)\n", *seed, *seed, work)
		os.Exit(1)
	}
	if *dir == "" {
		os.RemoveAll(work)
	}
}

func withScenario(ctx context.Context, setup func() (*crash.Scenario, error), run func(*crash.Scenario) (crash.Summary, error)) (crash.Summary, error) {
	sc, err := setup()
	if err != nil {
		return crash.Summary{}, err
	}
	defer sc.Close()
	sc.Pair.Log = os.Stdout
	return run(sc)
}

func radicale() string {
	p, err := exec.LookPath("radicale")
	if err != nil {
		fmt.Fprintln(os.Stderr, "campaign: radicale is not installed (apt-get install radicale)")
		os.Exit(2)
	}
	return strings.TrimSpace(p)
}
