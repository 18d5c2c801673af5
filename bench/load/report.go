package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// recorder collects latencies and statuses from every client.
type recorder struct {
	mu        sync.Mutex
	latencies map[string][]time.Duration
	statuses  map[string]map[int]int // kind -> status -> count
	transport map[string]int         // kind -> transport errors
	firstErrs []string
}

func newRecorder() *recorder {
	return &recorder{latencies: map[string][]time.Duration{}, statuses: map[string]map[int]int{}, transport: map[string]int{}}
}

func (r *recorder) Observe(kind string, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies[kind] = append(r.latencies[kind], d)
	if r.statuses[kind] == nil {
		r.statuses[kind] = map[int]int{}
	}
	r.statuses[kind][status]++
}

func (r *recorder) TransportError(kind string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.transport[kind]++
	if len(r.firstErrs) < 10 {
		r.firstErrs = append(r.firstErrs, kind+": "+err.Error())
	}
}

// KindStats are the figures of one request kind.
type KindStats struct {
	Count    int            `json:"count"`
	P50ms    float64        `json:"p50_ms"`
	P90ms    float64        `json:"p90_ms"`
	P99ms    float64        `json:"p99_ms"`
	MaxMs    float64        `json:"max_ms"`
	Statuses map[string]int `json:"statuses"`
}

// Report is the result of a run; its JSON form is what -json prints.
type Report struct {
	Clients    int     `json:"clients"`
	DurationS  float64 `json:"duration_s"`
	Cards      int     `json:"cards"`
	SharedCard int     `json:"shared_cards"`
	Debounce   string  `json:"debounce"`
	GOMAXPROCS int     `json:"gomaxprocs"`

	Requests      int                  `json:"requests"`
	ThroughputRPS float64              `json:"throughput_rps"`
	Kinds         map[string]KindStats `json:"kinds"`

	Conflicts412       int      `json:"conflicts_412"`     // 412s answered to PUT/DELETE
	Retries            int      `json:"retries_after_412"` // re-read and retried
	GaveUp             int      `json:"gave_up_after_412"` // shared edits abandoned after 5 tries
	OwnedChangedBySync int      `json:"owned_412_by_sync"` // 412s on owned cards (someone else, the pair, wrote them)
	PhoneEdits         int      `json:"phone_edits"`       // edits made in the vCard directory
	CreatesAcked       int      `json:"creates"`           // 201s
	DeletesAcked       int      `json:"deletes"`           // 204s of DELETE
	TokenResets        int      `json:"sync_token_resets"` // valid-sync-token refusals
	ServerErrors       int      `json:"server_errors_5xx"` // must be 0
	Unexpected         int      `json:"unexpected_status"` // must be 0
	TransportErrors    int      `json:"transport_errors"`  // must be 0
	Bogus412           int      `json:"bogus_412"`         // 412 to an unchanged ETag: must be 0
	LostUpdates        int      `json:"lost_updates"`      // must be 0
	PairRuns           int      `json:"pair_runs"`         // runs of the pair during the load
	PairRunErrors      int      `json:"pair_run_errors"`   // must be 0 at the end
	InitialSyncS       float64  `json:"initial_sync_s"`    // seed done -> the directory has every card
	ConvergeS          float64  `json:"converge_s"`        // clients stopped -> directory == book
	FinalSyncWrites    int      `json:"final_sync_writes"` // what the final `cardbridge sync` still wrote
	FinalCards         int      `json:"final_cards"`
	OK                 bool     `json:"ok"`
	Failures           []string `json:"failures"`
}

func (rep *Report) fail(format string, args ...any) {
	if len(rep.Failures) < 50 {
		rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...))
	} else if len(rep.Failures) == 50 {
		rep.Failures = append(rep.Failures, "… (more failures left out)")
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	i = max(0, min(len(sorted)-1, i))
	return sorted[i]
}

// fill computes the latency figures of the kinds the clients timed.
func (rep *Report) fill(r *recorder, elapsed time.Duration, kinds []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep.Kinds = map[string]KindStats{}
	for _, k := range kinds {
		lat := slices.Clone(r.latencies[k])
		slices.Sort(lat)
		ks := KindStats{Count: len(lat), Statuses: map[string]int{}}
		if len(lat) > 0 {
			ks.P50ms, ks.P90ms, ks.P99ms, ks.MaxMs = ms(percentile(lat, .50)), ms(percentile(lat, .90)), ms(percentile(lat, .99)), ms(lat[len(lat)-1])
		}
		for st, n := range r.statuses[k] {
			ks.Statuses[strconv.Itoa(st)] = n
		}
		rep.Kinds[k] = ks
		rep.Requests += len(lat)
	}
	for _, n := range r.transport {
		rep.TransportErrors += n
	}
	for _, e := range r.firstErrs {
		rep.fail("transport error: %s", e)
	}
	if elapsed > 0 {
		rep.ThroughputRPS = float64(rep.Requests) / elapsed.Seconds()
	}
}

// Passed says every check passed.
func (rep *Report) Passed() bool { return rep.OK }

// WriteText prints the report for people: a table.
func (rep *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "cardbridge serve under load: %d clients for %.0fs, %d cards (%d shared), pair debounce %s, GOMAXPROCS %d\n\n",
		rep.Clients, rep.DurationS, rep.Cards, rep.SharedCard, rep.Debounce, rep.GOMAXPROCS)
	fmt.Fprintf(w, "%-16s %8s %9s %9s %9s %9s  %s\n", "request", "count", "p50 ms", "p90 ms", "p99 ms", "max ms", "statuses")
	var kinds []string
	for k := range rep.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		ks := rep.Kinds[k]
		var sts []string
		for st := range ks.Statuses {
			sts = append(sts, st)
		}
		sort.Strings(sts)
		s := ""
		for _, st := range sts {
			s += fmt.Sprintf("%s×%d ", st, ks.Statuses[st])
		}
		fmt.Fprintf(w, "%-16s %8d %9.1f %9.1f %9.1f %9.1f  %s\n", k, ks.Count, ks.P50ms, ks.P90ms, ks.P99ms, ks.MaxMs, s)
	}
	fmt.Fprintf(w, "\n%d requests, %.0f requests/s\n", rep.Requests, rep.ThroughputRPS)
	fmt.Fprintf(w, "412s: %d (retried %d, gave up %d; on owned cards, written by the pair: %d); creates %d, deletes %d; phone edits %d; sync-token resets %d\n",
		rep.Conflicts412, rep.Retries, rep.GaveUp, rep.OwnedChangedBySync, rep.CreatesAcked, rep.DeletesAcked, rep.PhoneEdits, rep.TokenResets)
	fmt.Fprintf(w, "pair runs during the load: %d (failed at the end: %d); initial sync %.1fs; converged %.1fs after the clients stopped; final sync wrote %d; %d cards at the end\n",
		rep.PairRuns, rep.PairRunErrors, rep.InitialSyncS, rep.ConvergeS, rep.FinalSyncWrites, rep.FinalCards)
	fmt.Fprintf(w, "errors: 5xx %d, unexpected status %d, transport %d, bogus 412 %d, lost updates %d\n",
		rep.ServerErrors, rep.Unexpected, rep.TransportErrors, rep.Bogus412, rep.LostUpdates)
	if rep.OK {
		fmt.Fprintln(w, "result: OK")
		return
	}
	fmt.Fprintln(w, "result: FAILED")
	for _, f := range rep.Failures {
		fmt.Fprintln(w, "  -", f)
	}
}
