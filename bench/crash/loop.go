package crash

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"
)

// Options size a campaign.
type Options struct {
	// Rounds after the measured one.
	Rounds int
	// Seed of the harness's choices (changes, kill moments).
	Seed uint64
	// Work is each round's changes per side.
	Work Work
	// Reruns is how many runs after a disturbed one may be needed to
	// converge (default 1: the first re-run must converge).
	Reruns int
}

// Summary is what a campaign found.
type Summary struct {
	Scenario string
	Contacts int
	Seed     uint64
	Rounds   int
	// Expected is the measured duration of an undisturbed run.
	Expected time.Duration
	// For crash campaigns: where the kills landed. BeforeWrites: nothing of
	// the round had reached the other side yet; MidWrite: part of it had;
	// AfterWrites: all of it had, the process was still committing;
	// Finished: the run ended before the kill.
	BeforeWrites, MidWrite, AfterWrites, Finished int
	// For fault campaigns: disturbed runs that still ended with exit 0,
	// those that failed with an error (and the errors' first lines).
	CleanRuns, FailedRuns int
	Errors                []string
	// Landed counts the runs a disturbance other than a kill (a peer's
	// restart) hit while they ran.
	Landed int
	// Reruns is the number of re-runs needed in all; MaxRerun the longest.
	Reruns   int
	MaxRerun time.Duration
	// Failures are the rounds that did not converge, with the diff.
	Failures []string
}

// String formats the summary for a terminal.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d contacts, seed %d, %d rounds", s.Scenario, s.Contacts, s.Seed, s.Rounds)
	if s.Expected > 0 {
		fmt.Fprintf(&b, ", undisturbed run %s", s.Expected.Round(time.Millisecond))
	}
	b.WriteString("\n")
	if s.BeforeWrites+s.MidWrite+s.AfterWrites+s.Finished > 0 {
		fmt.Fprintf(&b, "  kills: %d mid-write, %d before the first write, %d after the last write, %d runs finished before the kill\n", s.MidWrite, s.BeforeWrites, s.AfterWrites, s.Finished)
	}
	if s.CleanRuns+s.FailedRuns > 0 {
		fmt.Fprintf(&b, "  runs: %d ended with exit 0, %d failed with an error", s.CleanRuns, s.FailedRuns)
		if s.Landed > 0 {
			fmt.Fprintf(&b, "; %d were hit mid-run by the disturbance", s.Landed)
		}
		b.WriteString("\n")
		for _, e := range s.Errors {
			fmt.Fprintf(&b, "    error: %s\n", e)
		}
	}
	fmt.Fprintf(&b, "  re-runs: %d, longest %s\n", s.Reruns, s.MaxRerun.Round(time.Millisecond))
	fmt.Fprintf(&b, "  failures: %d\n", len(s.Failures))
	for _, f := range s.Failures {
		fmt.Fprintf(&b, "  FAILURE (seed %d): %s\n", s.Seed, f)
	}
	return b.String()
}

// firstLines keeps the first n lines of problems, saying how many more.
// runError is what a failed run said: the errors of its --json summary,
// else the first error line of its standard error.
func runError(r Run) string {
	var errs []string
	for _, line := range strings.Split(r.Stdout, "\n") {
		var v struct {
			Errors []string `json:"errors"`
		}
		if json.Unmarshal([]byte(line), &v) == nil {
			errs = append(errs, v.Errors...)
		}
	}
	if len(errs) > 0 {
		return strings.Join(errs, "; ")
	}
	return firstErrorLine(r.Stderr)
}

// runSkipped is the number of items run r's --json summaries say were
// skipped.
func runSkipped(r Run) int {
	n := 0
	for _, line := range strings.Split(r.Stdout, "\n") {
		var v struct {
			Skipped int `json:"skipped"`
		}
		if json.Unmarshal([]byte(line), &v) == nil {
			n += v.Skipped
		}
	}
	return n
}

func firstErrorLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" && (strings.Contains(strings.ToLower(l), "error") || strings.Contains(l, "failed")) {
			return l
		}
	}
	return strings.TrimSpace(stderr)
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func firstLines(probs []string, n int) string {
	if len(probs) <= n {
		return strings.Join(probs, "\n")
	}
	return strings.Join(probs[:n], "\n") + fmt.Sprintf("\n… and %d more", len(probs)-n)
}

// Disturb is what happens to each round's run after the measured one.
type Disturb struct {
	// Kills says that At kills the run (a crash campaign).
	Kills bool
	// At returns the during func of Pair.Sync for one round, given the
	// measured duration of an undisturbed run; nil At leaves runs alone
	// (the faults come from elsewhere, e.g. the simulator).
	At func(rng *mrand.Rand, expected time.Duration) func(*os.Process, <-chan struct{}) bool
}

// KillAtRandom kills each run with SIGKILL at a moment uniform over the
// expected duration.
func KillAtRandom() Disturb {
	return Disturb{Kills: true, At: func(rng *mrand.Rand, expected time.Duration) func(*os.Process, <-chan struct{}) bool {
		return KillAfter(time.Duration(rng.Float64() * float64(expected)))
	}}
}

// Campaign runs the first sync, three measured undisturbed rounds (none
// when disturb.At is nil: the faults then come from elsewhere), then
// opts.Rounds disturbed rounds, each followed by re-runs and a check. It
// stops at the first round that does not converge.
func (p *Pair) Campaign(ctx context.Context, scenario string, contacts int, opts Options, disturb Disturb) (Summary, error) {
	if opts.Reruns <= 0 {
		opts.Reruns = 1
	}
	c := &campaign{p: p, scenario: scenario, opts: opts, disturb: disturb,
		sum: Summary{Scenario: scenario, Contacts: contacts, Seed: opts.Seed}}
	rng := mrand.New(mrand.NewPCG(opts.Seed, opts.Seed^0xc0ffee))
	if err := c.firstSync(ctx); err != nil {
		return c.sum, err
	}
	// Three undisturbed rounds (-2, -1, 0) measure a run: the median.
	// Without At every run is disturbed alike: no measure is needed.
	from := -2
	if disturb.At == nil {
		from = 1
	}
	for round := from; round <= opts.Rounds; round++ {
		stop, err := c.round(ctx, rng, round)
		if err != nil || stop {
			return c.sum, err
		}
	}
	return c.sum, nil
}

// campaign is one Campaign's state: its pair and settings, the model of
// what both sides must hold, the last snapshot of the sides, the measured
// undisturbed runs and the summary so far.
type campaign struct {
	p        *Pair
	scenario string
	opts     Options
	disturb  Disturb
	sum      Summary
	model    Model
	snap     Snapshot
	measured []time.Duration
}

// firstSync runs the first sync (with its re-runs where the faults come
// from elsewhere) and takes the model from the sides it leaves.
func (c *campaign) firstSync(ctx context.Context) error {
	p, scenario := c.p, c.scenario
	p.logf("%s: first sync (seed %d)", scenario, c.opts.Seed)
	// Where faults come from elsewhere (the simulator), the first sync may
	// need its re-runs too.
	firstTries := 1
	if c.disturb.At == nil {
		firstTries += c.opts.Reruns
	}
	var r Run
	var err error
	var took time.Duration // all the first sync's runs
	for try := 0; try < firstTries; try++ {
		if r, err = p.Sync(ctx, nil); err != nil {
			return err
		}
		took += r.Took
		if r.Code == 0 && runSkipped(r) == 0 {
			break
		}
		if r.Code == 0 {
			// An item the faults left unreadable is skipped and read
			// again on the next run, which the model must wait for.
			p.logf("%s: first sync, run %d: %d skipped", scenario, try+1, runSkipped(r))
			continue
		}
		p.logf("%s: first sync, run %d: exit %d: %s", scenario, try+1, r.Code, runError(r))
	}
	if r.Code != 0 {
		return fmt.Errorf("%s: the first sync failed (exit %d): %s", scenario, r.Code, runError(r))
	}
	if c.snap, err = p.Snapshot(ctx); err != nil {
		return err
	}
	if c.model, err = p.NewModel(c.snap); err != nil {
		return fmt.Errorf("%s: %w", scenario, err)
	}
	p.logf("%s: first sync took %s, %d contacts on both sides", scenario, took.Round(time.Millisecond), len(c.model))
	return nil
}

// round changes the sides, runs the sync (disturbed when round > 0) and
// checks the outcome; stop is true when the round did not converge.
func (c *campaign) round(ctx context.Context, rng *mrand.Rand, round int) (stop bool, err error) {
	changes, err := c.p.Mutate(ctx, rng, round, c.model, c.snap, c.opts.Work)
	if err != nil {
		return false, fmt.Errorf("%s round %d: change the sides: %w", c.scenario, round, err)
	}
	var d func(*os.Process, <-chan struct{}) bool
	if round > 0 && c.disturb.At != nil {
		d = c.disturb.At(rng, c.sum.Expected)
	}
	r, err := c.p.Sync(ctx, d)
	if err != nil {
		return false, fmt.Errorf("%s round %d: %w", c.scenario, round, err)
	}
	if round <= 0 {
		return c.measuredRound(ctx, round, r, changes)
	}
	return c.disturbedRound(ctx, round, r, changes)
}

// measuredRound records an undisturbed run's duration (the median so far
// becomes sum.Expected) and checks the sides against the model; stop is
// true when they differ.
func (c *campaign) measuredRound(ctx context.Context, round int, r Run, changes []change) (stop bool, err error) {
	if r.Code != 0 {
		return false, fmt.Errorf("%s: the measured run failed (exit %d): %s", c.scenario, r.Code, r.Stderr)
	}
	c.measured = append(c.measured, r.Took)
	slices.Sort(c.measured)
	c.sum.Expected = c.measured[len(c.measured)/2]
	c.p.logf("%s: measured run: %s for %d changes", c.scenario, r.Took.Round(time.Millisecond), len(changes))
	if c.snap, err = c.p.Snapshot(ctx); err != nil {
		return false, err
	}
	if probs := c.p.Check(c.model, c.snap); len(probs) > 0 {
		c.sum.Failures = append(c.sum.Failures, fmt.Sprintf("measured round %d: %s", round, firstLines(probs, 30)))
		return true, nil
	}
	return false, nil
}

// disturbedRound counts where the disturbance of run r landed, then
// re-runs until the sides match the model; stop is true (and the round a
// failure) when they still do not after opts.Reruns re-runs.
func (c *campaign) disturbedRound(ctx context.Context, round int, r Run, changes []change) (stop bool, err error) {
	c.sum.Rounds++
	note, err := c.classify(ctx, round, r, changes)
	if err != nil {
		return false, err
	}
	converged, diff, err := c.rerun(ctx, round)
	if err != nil {
		return false, err
	}
	if !converged {
		c.sum.Failures = append(c.sum.Failures, fmt.Sprintf("round %d (%s): %s", round, note, diff))
		c.p.logf("%s round %d: %s; NOT CONVERGED:\n%s", c.scenario, round, note, diff)
		return true, nil
	}
	c.p.logf("%s round %d: run %s, %s; converged", c.scenario, round, r.Took.Round(time.Millisecond), note)
	return false, nil
}

// classify counts in the summary where the disturbance of run r landed
// (for a kill: how many of the round's changes had got through) and
// returns a note that says so.
func (c *campaign) classify(ctx context.Context, round int, r Run, changes []change) (string, error) {
	sum := &c.sum
	note := ""
	switch {
	case c.disturb.Kills && r.Disturbed:
		after, err := c.p.Snapshot(ctx)
		if err != nil {
			return "", fmt.Errorf("%s round %d: after the kill: %w", c.scenario, round, err)
		}
		switch n := propagated(changes, after); {
		case n == 0:
			sum.BeforeWrites++
			note = "killed before the first write"
		case n < len(changes):
			sum.MidWrite++
			note = fmt.Sprintf("killed mid-write (%d of %d changes through)", n, len(changes))
		default:
			sum.AfterWrites++
			note = "killed after the last write"
		}
	case c.disturb.Kills && r.Code == 0:
		sum.Finished++
		note = "finished before the kill"
	default:
		if r.Disturbed {
			sum.Landed++
			note = "disturbed mid-run, "
		} else if c.disturb.At != nil {
			note = "ended before the disturbance, "
		}
		if r.Code == 0 {
			sum.CleanRuns++
			note += "ended with exit 0"
		} else {
			sum.FailedRuns++
			line := runError(r)
			if len(sum.Errors) < 10 {
				sum.Errors = appendUnique(sum.Errors, line)
			}
			note += fmt.Sprintf("failed (exit %d): %s", r.Code, line)
		}
	}
	return note, nil
}

// rerun runs undisturbed syncs, up to opts.Reruns, until the sides match
// the model; when they never do, diff is the last re-run's error or the
// first lines of the last check's problems.
func (c *campaign) rerun(ctx context.Context, round int) (converged bool, diff string, err error) {
	var lastProbs []string
	var rerunErr string
	for k := 0; k < c.opts.Reruns && !converged; k++ {
		rr, err := c.p.Sync(ctx, nil)
		if err != nil {
			return false, "", fmt.Errorf("%s round %d: re-run: %w", c.scenario, round, err)
		}
		c.sum.Reruns++
		c.sum.MaxRerun = max(c.sum.MaxRerun, rr.Took)
		if rr.Code != 0 {
			rerunErr = fmt.Sprintf("re-run %d exit %d: %s", k+1, rr.Code, runError(rr))
			continue
		}
		rerunErr = ""
		if c.snap, err = c.p.Snapshot(ctx); err != nil {
			return false, "", fmt.Errorf("%s round %d: after the re-run: %w", c.scenario, round, err)
		}
		lastProbs = c.p.Check(c.model, c.snap)
		converged = len(lastProbs) == 0
	}
	if converged {
		return true, "", nil
	}
	diff = rerunErr
	if diff == "" {
		diff = firstLines(lastProbs, 30)
	}
	return false, diff, nil
}
