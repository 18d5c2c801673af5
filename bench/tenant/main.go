// Command tenant measures every mailbox of a tenant (issue 18, item 4):
// an app-only account with mailboxes: all over a graphsim tenant of
// -mailboxes people with -contacts contacts each, in a directory of
// -directory people (the rest without a mailbox), Graph answering after
// -latency.
//
//	go run ./bench/tenant [-mailboxes 50] [-contacts 200] [-directory 250]
//	    [-latency 20ms] [-concurrency 4] [-transient412 0] [-sim-process=true]
//	    [-cpuprofile FILE] [-memprofile FILE]
//
// It runs three rounds, each a provisioning round
// (pairs.Runner.ProvisionMailboxes: users delta, users, books, pairs)
// followed by every mailbox pair at once (the Runner keeps them to
// -concurrency, each mailbox to 4 requests in flight): the first sync,
// a second round (which may read the echo of the first sync's writes),
// then a round with nothing changed. graphsim runs in a process of its
// own (this command started again; -sim-process=false keeps it in this
// one), so the peak RSS (VmHWM) printed for cardbridge is its own, and
// graphsim's is printed apart. -cpuprofile writes a CPU profile of the
// first sync to FILE, -memprofile a heap profile after the rounds (go
// tool pprof). For each round it prints the wall time, the Graph requests
// (without token requests) per mailbox, counted as they leave cardbridge,
// and for the first sync the floor that Graph's limits allow: every
// request, and every $batch sub-request, holds one of its mailbox's 4
// slots for one -latency (graphsim runs at most 4 of a batch at once, as
// Outlook does), and -concurrency mailboxes run at once, so the floor is
// the slot uses over concurrency × 4 slots of -latency each.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
)

// params are one benchmark's settings.
type params struct {
	Mailboxes, Contacts, Directory int
	Latency                        time.Duration
	Concurrency                    int
	Dir                            string
	// Transient412 is graphsim's Options.Transient412Rate: 0 its default
	// (Exchange's 3.5% of plain GETs answer a transient 412, retried),
	// negative none (exact request counts).
	Transient412 float64
	// CPUProfile, when set, receives a CPU profile of the first sync.
	CPUProfile io.Writer
	// MemProfile, when set, receives a heap profile taken after the rounds.
	MemProfile io.Writer
	// SimProcess runs graphsim in a process of its own (this command,
	// started again), so that PeakRSS is cardbridge's alone.
	SimProcess bool
}

// roundResult is one measured round.
type roundResult struct {
	Name     string
	Wall     time.Duration
	Requests int64 // Graph requests, token requests left out
	Tokens   int64 // token requests
	Failed   int   // mailbox pairs whose run failed
	PerMbox  float64
	// SlotUses counts the requests as Graph's limits do: a $batch as its
	// sub-requests, each one slot for one latency (batchSlots).
	SlotUses  int64
	FloorWall time.Duration // the first sync's floor under Graph's limits: all concurrency × 4 slots busy
}

// result is what the benchmark measured.
type result struct {
	Rounds  []roundResult
	Cards   int   // cards in the books after the rounds
	PeakRSS int64 // bytes, 0 when unknown: this process's
	// SimPeakRSS is graphsim's process's when it runs apart (-sim-process),
	// 0 otherwise (then PeakRSS includes it).
	SimPeakRSS int64
}

func main() {
	var p params
	flag.IntVar(&p.Mailboxes, "mailboxes", 50, "people with a mailbox")
	flag.IntVar(&p.Contacts, "contacts", 200, "contacts in each mailbox")
	flag.IntVar(&p.Directory, "directory", 250, "people in the directory (those beyond -mailboxes have no mailbox)")
	flag.DurationVar(&p.Latency, "latency", 20*time.Millisecond, "latency of every Graph request")
	flag.IntVar(&p.Concurrency, "concurrency", 4, "mailbox_concurrency")
	flag.Float64Var(&p.Transient412, "transient412", 0, "share of plain GETs graphsim answers a transient 412 (0: Exchange's 3.5%, negative: none)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the first sync to this file")
	memprofile := flag.String("memprofile", "", "write a heap profile taken after the rounds to this file")
	flag.BoolVar(&p.SimProcess, "sim-process", true, "run graphsim in a process of its own (peak RSS is then cardbridge's alone)")
	flag.Parse()
	if os.Getenv(simEnv) == "1" {
		if err := serveSim(p); err != nil {
			fmt.Fprintln(os.Stderr, "tenant: graphsim:", err)
			os.Exit(1)
		}
		return
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tenant:", err)
			os.Exit(1)
		}
		defer f.Close()
		p.MemProfile = f
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tenant:", err)
			os.Exit(1)
		}
		defer f.Close()
		p.CPUProfile = f
	}
	dir, err := os.MkdirTemp("", "bench-tenant-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	p.Dir = dir
	res, err := run(context.Background(), p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tenant:", err)
		os.Exit(1)
	}
	report(os.Stdout, p, res)
}

// run sets the tenant up and measures the two rounds.
func run(ctx context.Context, p params) (result, error) {
	var res result
	if p.Mailboxes < 1 || p.Contacts < 0 || p.Concurrency < 1 {
		return res, fmt.Errorf("-mailboxes and -concurrency must be at least 1, -contacts at least 0")
	}
	var requests, tokens, slotUses atomic.Int64
	sim, err := startSim(ctx, p)
	if err != nil {
		return res, err
	}
	defer sim.Stop()
	os.Setenv("BENCH_TENANT_SECRET", benchSecret)

	db, err := state.Open(ctx, filepath.Join(p.Dir, "state.db"), state.Options{TokenKey: make([]byte, state.TokenKeySize)})
	if err != nil {
		return res, err
	}
	defer db.Close()
	cfg := &config.Config{State: db.Path(), Pairs: map[string]config.Pair{},
		Accounts: map[string]config.Account{"org": {Name: "org", Tenant: sim.Tenant, ClientID: benchClient, Flow: "client-secret",
			ClientSecretEnv: "BENCH_TENANT_SECRET", LoginURL: sim.URL, GraphURL: sim.URL + "/v1.0",
			Mailboxes: &config.Mailboxes{Keep: config.DefaultMailboxKeep, Concurrency: p.Concurrency, Every: config.DefaultMailboxEvery}}}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4 * p.Concurrency
	counted := &countingTransport{base: tr, requests: &requests, tokens: &tokens, slotUses: &slotUses}
	runner, err := pairs.New(pairs.Options{DB: db, Config: cfg, HTTPClient: &http.Client{Transport: counted, Timeout: 2 * time.Minute},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return res, err
	}
	for _, name := range []string{"first sync", "second round", "no change"} {
		r0, t0, s0 := requests.Load(), tokens.Load(), slotUses.Load()
		profiling := name == "first sync" && p.CPUProfile != nil
		if profiling {
			if err := pprof.StartCPUProfile(p.CPUProfile); err != nil {
				return res, fmt.Errorf("-cpuprofile: %w", err)
			}
		}
		start := time.Now()
		failed, err := oneRound(ctx, runner)
		if profiling {
			pprof.StopCPUProfile()
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
		rr := roundResult{Name: name, Wall: time.Since(start), Requests: requests.Load() - r0, Tokens: tokens.Load() - t0, Failed: failed}
		rr.PerMbox = float64(rr.Requests) / float64(p.Mailboxes)
		if name == "first sync" {
			rr.SlotUses = slotUses.Load() - s0
			rr.FloorWall = slotFloor(rr.SlotUses, p.Concurrency, p.Latency)
		}
		res.Rounds = append(res.Rounds, rr)
	}
	ms, err := db.Mailboxes(ctx, "org")
	if err != nil {
		return res, err
	}
	for _, m := range ms {
		b, err := db.AddressBook(ctx, m.User, pairs.MailboxBook)
		if err != nil {
			return res, err
		}
		cs, err := db.CardRefs(ctx, b.ID)
		if err != nil {
			return res, err
		}
		res.Cards += len(cs)
	}
	res.PeakRSS = peakRSS("self")
	if sim.Cmd != nil {
		res.SimPeakRSS = peakRSS(fmt.Sprint(sim.Cmd.Process.Pid))
	}
	if p.MemProfile != nil {
		runtime.GC()
		if err := pprof.WriteHeapProfile(p.MemProfile); err != nil {
			return res, fmt.Errorf("-memprofile: %w", err)
		}
	}
	return res, nil
}

// oneRound provisions and runs every mailbox pair at once (the Runner
// keeps them to mailbox_concurrency); it returns how many failed.
func oneRound(ctx context.Context, r *pairs.Runner) (int, error) {
	if _, err := r.ProvisionMailboxes(ctx, "org", nil); err != nil {
		return 0, err
	}
	ps, err := r.MailboxPairs(ctx, "org")
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for name := range ps {
		wg.Go(func() {
			res, err := r.Run(ctx, name, pairs.RunOptions{})
			if err != nil || !res.OK() {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	return int(failed.Load()), nil
}

// batchSlots is how many slot uses (one slot for one latency) a $batch
// body costs: one per sub-request, each holding a slot of its mailbox for
// one latency (graphsim's SubRequestLatency, as Outlook runs at most 4 of a
// batch at once); 1 when the body is unreadable: graphsim then refuses it.
func batchSlots(body []byte) int64 {
	var b struct {
		Requests []json.RawMessage `json:"requests"`
	}
	if json.Unmarshal(body, &b) != nil || len(b.Requests) == 0 {
		return 1
	}
	return int64(len(b.Requests))
}

// slotFloor is the least wall time of uses slot-uses of -latency each
// over concurrency mailboxes × 4 slots.
func slotFloor(uses int64, concurrency int, latency time.Duration) time.Duration {
	slots := int64(concurrency * 4)
	return time.Duration((uses+slots-1)/slots) * latency
}

// peakRSS is process pid's ("self" for this one) VmHWM in bytes (Linux),
// 0 when unknown.
func peakRSS(pid string) int64 {
	raw, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb * 1024
		}
	}
	return 0
}

// report prints res as a Markdown table.
func report(w io.Writer, p params, res result) {
	fmt.Fprintf(w, "tenant: %d mailboxes × %d contacts, %d-person directory, latency %s, mailbox_concurrency %d\n\n",
		p.Mailboxes, p.Contacts, max(p.Directory, p.Mailboxes), p.Latency, p.Concurrency)
	fmt.Fprintln(w, "| round | wall | Graph requests | per mailbox | token requests | failed | slot uses (a $batch: its sub-requests) | floor: all slots busy | wall / floor |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range res.Rounds {
		floor, ratio, uses := "-", "-", "-"
		if r.SlotUses > 0 {
			uses = fmt.Sprint(r.SlotUses)
		}
		if r.FloorWall > 0 {
			floor, ratio = r.FloorWall.Round(time.Millisecond).String(), fmt.Sprintf("%.2f", float64(r.Wall)/float64(r.FloorWall))
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.2f | %d | %d | %s | %s | %s |\n", r.Name, r.Wall.Round(time.Millisecond), r.Requests, r.PerMbox, r.Tokens, r.Failed, uses, floor, ratio)
	}
	if res.SimPeakRSS > 0 {
		fmt.Fprintf(w, "\ncards in the books: %d; peak RSS of cardbridge (graphsim in a process of its own): %.1f MB; graphsim's: %.1f MB\n",
			res.Cards, float64(res.PeakRSS)/1e6, float64(res.SimPeakRSS)/1e6)
		return
	}
	fmt.Fprintf(w, "\ncards in the books: %d; peak RSS (whole process, graphsim included): %.1f MB\n", res.Cards, float64(res.PeakRSS)/1e6)
}
