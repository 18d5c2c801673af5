// Command campaign runs the crash and fault campaigns of
// docs/robustness.md against a built cardbridge binary (bench/crash-campaign.sh
// and bench/fault-campaign.sh build it and call this).
//
//	campaign -binary ./cardbridge -mode crash -scenario o365|server -contacts 5000 -rounds 50 [-seed N]
//	campaign -binary ./cardbridge -mode crash -scenario o365|server -postgres postgres://… (the state on PostgreSQL)
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

// flags are the command line's settings.
type flags struct {
	binary, mode, scenario, dir, fsSize string
	postgres                            string // a cluster to put the state on
	stateAt                             string // the state: "" for state.db in the work folder
	contacts, rounds                    int
	edits, creates, deletes             int
	seed                                uint64
	latency                             time.Duration
}

func main() {
	f := parseFlags()
	if f.binary == "" || f.scenario == "" {
		fmt.Fprintln(os.Stderr, "campaign: -binary and -scenario are required")
		os.Exit(2)
	}
	if f.seed == 0 {
		f.seed = mrand.Uint64() >> 12
	}
	w := f.work()
	work, err := workDir(f.dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "campaign:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	drop := func() {}
	if f.postgres != "" {
		if f.mode != "crash" {
			fmt.Fprintln(os.Stderr, "campaign: -postgres is for -mode crash")
			os.Exit(2)
		}
		if f.stateAt, drop, err = crash.CreateDatabase(ctx, f.postgres, "cardbridge_campaign"); err != nil {
			fmt.Fprintln(os.Stderr, "campaign: -postgres:", err)
			os.Exit(2)
		}
		fmt.Printf("campaign: the state on PostgreSQL: %s\n", f.stateAt)
	}
	fmt.Printf("campaign: mode %s, scenario %s, %d contacts, %d rounds, work %+v per side per round, seed %d, folder %s\n",
		f.mode, f.scenario, f.contacts, f.rounds, w, f.seed, work)
	opts := crash.Options{Rounds: f.rounds, Seed: f.seed, Work: w}
	start := time.Now()
	sum, known, err := f.run(ctx, work, opts)
	if !known {
		fmt.Fprintf(os.Stderr, "campaign: unknown -mode %s with -scenario %s\n", f.mode, f.scenario)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "campaign: %v (seed %d, folder %s)\n", err, f.seed, work)
		os.Exit(2)
	}
	if f.mode != "fault" || f.scenario != "disk-full" {
		fmt.Print(sum)
	}
	fmt.Printf("campaign: took %s\n", time.Since(start).Round(time.Second))
	if len(sum.Failures) > 0 {
		fmt.Printf("campaign: FAILED (seed %d; re-run with -seed %d; folder kept: %s)\n", f.seed, f.seed, work)
		os.Exit(1)
	}
	drop()
	if f.dir == "" {
		os.RemoveAll(work)
	}
}

// parseFlags defines and parses the command line's flags.
func parseFlags() flags {
	var f flags
	flag.StringVar(&f.binary, "binary", "", "the cardbridge binary (required)")
	flag.StringVar(&f.mode, "mode", "crash", "crash (kill -9 at random moments) or fault (injected faults)")
	flag.StringVar(&f.scenario, "scenario", "", "crash: o365 or server; fault: o365-chaos, o365-412, o365-generations, o365-504, radicale-restart or disk-full")
	flag.IntVar(&f.contacts, "contacts", 5000, "contacts to start with")
	flag.IntVar(&f.rounds, "rounds", 50, "disturbed rounds")
	flag.Uint64Var(&f.seed, "seed", 0, "seed of every random choice (0 picks one, printed)")
	flag.IntVar(&f.edits, "edits", 0, "edits per side per round (default contacts/100, at least 3)")
	flag.IntVar(&f.creates, "creates", 0, "creates per side per round (default contacts/200, at least 2)")
	flag.IntVar(&f.deletes, "deletes", 0, "deletes per side per round (default contacts/1000, at least 1)")
	flag.DurationVar(&f.latency, "latency", 20*time.Millisecond, "graphsim latency")
	flag.StringVar(&f.dir, "dir", "", "work folder (default a new temporary one, removed after a success)")
	flag.StringVar(&f.postgres, "postgres", "", "crash: put the state in a new database on this PostgreSQL cluster (a postgres:// URL whose user may create databases)")
	flag.StringVar(&f.fsSize, "fs-size", "8m", "disk-full: size of the vCard folder's tmpfs")
	flag.Parse()
	return f
}

// work is each round's changes per side: the flags where given, else
// defaults that grow with the number of contacts.
func (f flags) work() crash.Work {
	w := crash.Work{Edits: max(f.edits, f.contacts/100, 3), Creates: max(f.creates, f.contacts/200, 2), Deletes: max(f.deletes, f.contacts/1000, 1)}
	if f.edits > 0 {
		w.Edits = f.edits
	}
	if f.creates > 0 {
		w.Creates = f.creates
	}
	if f.deletes > 0 {
		w.Deletes = f.deletes
	}
	return w
}

// workDir is the work folder: dir (created if missing), or a new
// temporary one when dir is empty.
func workDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "cardbridge-campaign-")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// run sets up the scenario the mode and scenario flags name in work and
// runs its campaign; known is false for a combination that names none.
func (f flags) run(ctx context.Context, work string, opts crash.Options) (sum crash.Summary, known bool, err error) {
	switch f.mode + "/" + f.scenario {
	case "crash/o365":
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.O365VdirOn(ctx, f.binary, work, f.stateAt, f.contacts, "", "--latency", f.latency.String(), "--seed", fmt.Sprint(f.seed))
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			return sc.Pair.Campaign(ctx, "crash o365 ⇄ vdir", f.contacts, opts, crash.KillAtRandom())
		})
	case "crash/server":
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.ServerRadicaleOn(ctx, f.binary, radicale(), work, f.stateAt, f.contacts, int64(f.seed), f.contacts > 1000)
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			return sc.Pair.Campaign(ctx, "crash server ⇄ radicale", f.contacts, opts, crash.KillAtRandom())
		})
	case "fault/o365-chaos":
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.O365Vdir(ctx, f.binary, work, f.contacts, "", crash.ChaosFlags(f.latency, f.seed, f.contacts)...)
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			opts.Reruns = 3
			sum, err := sc.Pair.Campaign(ctx, "fault o365 (429/503/reset/stall/410) ⇄ vdir", f.contacts, opts, crash.Disturb{})
			fmt.Println(sc.Graphsim.FaultsLine())
			return sum, err
		})
	case "fault/o365-412", "fault/o365-generations", "fault/o365-504":
		kind := strings.TrimPrefix(f.scenario, "o365-")
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.O365Vdir(ctx, f.binary, work, f.contacts, "", crash.ExchangeFlags(kind, f.latency, f.seed)...)
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			opts.Reruns = 3
			sum, err := sc.Pair.Campaign(ctx, "fault o365 ("+kind+") ⇄ vdir", f.contacts, opts, crash.Disturb{})
			fmt.Println(sc.Graphsim.FaultsLine())
			return sum, err
		})
	case "fault/radicale-restart":
		sum, err = withScenario(ctx, func() (*crash.Scenario, error) {
			return crash.ServerRadicale(ctx, f.binary, radicale(), work, f.contacts, int64(f.seed), f.contacts > 1000)
		}, func(sc *crash.Scenario) (crash.Summary, error) {
			opts.Reruns = 2
			return sc.Pair.Campaign(ctx, "fault server ⇄ radicale restarted mid-run", f.contacts, opts, crash.RestartRadicale(sc.Radicale))
		})
	case "fault/disk-full":
		var rep crash.DiskFullReport
		rep, err = crash.DiskFull(ctx, f.binary, work, f.contacts, f.fsSize, f.latency, os.Stdout)
		fmt.Println(rep)
		if err == nil && len(rep.Failures) > 0 {
			sum.Failures = rep.Failures
		}
	default:
		return sum, false, nil
	}
	return sum, true, err
}

// withScenario sets a scenario up, runs run on it with the pair's log on
// standard output, and closes it.
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
