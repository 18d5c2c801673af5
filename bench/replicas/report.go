package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/bench/davclient"
)

// ReplicaFigures are the answers one replica gave the clients.
type ReplicaFigures struct {
	Replica         int            `json:"replica"`
	Requests        int            `json:"requests"`
	MeanMs          float64        `json:"mean_ms"`
	Statuses        map[string]int `json:"statuses"`
	TransportErrors int            `json:"transport_errors"`
}

// CheckResult is one check's outcome.
type CheckResult struct {
	Name       string   `json:"name"`
	OK         bool     `json:"ok"`
	Violations []string `json:"violations"`
}

// Report is the result of a run; its JSON form is what -json prints.
type Report struct {
	Replicas  int     `json:"replicas"`
	Clients   int     `json:"clients"`
	DurationS float64 `json:"duration_s"`
	Cards     int     `json:"cards"`
	Every     string  `json:"every"`

	Requests      int              `json:"requests"`
	ThroughputRPS float64          `json:"throughput_rps"`
	PerReplica    []ReplicaFigures `json:"per_replica"`

	AckedWrites   int `json:"acked_writes"`    // 2xx PUT/DELETE
	InDoubtWrites int `json:"in_doubt_writes"` // no answer (the killed replica) or a 5xx
	Conflicts412  int `json:"conflicts_412"`
	PhoneEdits    int `json:"phone_edits"`
	FinalCards    int `json:"final_cards"`

	KilledReplica int     `json:"killed_replica"`
	KillAtS       float64 `json:"kill_at_s"`
	RecoverS      float64 `json:"recover_s"` // kill -9 until the restarted replica answered /healthz
	ConvergeS     float64 `json:"converge_s"`

	Runs map[string]int `json:"runs"` // pair -> finished runs

	Checks     []CheckResult `json:"checks"`
	Violations int           `json:"violations"`
	OK         bool          `json:"ok"`
}

// fill takes the figures from the replicas' stats and the history.
func (rep *Report) fill(st []*stats, elapsed time.Duration, h *History, ph *davclient.PhoneEditor) {
	for i, s := range st {
		s.mu.Lock()
		f := ReplicaFigures{Replica: i, Statuses: map[string]int{}}
		for kind, by := range s.statuses {
			if kind == davclient.KindSeed || kind == davclient.KindQuery {
				continue
			}
			for code, n := range by {
				f.Statuses[fmt.Sprint(code)] += n
				f.Requests += n
			}
		}
		for _, n := range s.transport {
			f.TransportErrors += n
		}
		if s.answered > 0 {
			f.MeanMs = float64(s.latency.Microseconds()) / 1000 / float64(s.answered)
		}
		s.mu.Unlock()
		rep.PerReplica = append(rep.PerReplica, f)
		rep.Requests += f.Requests
	}
	rep.ThroughputRPS = float64(rep.Requests) / elapsed.Seconds()
	for _, w := range h.Writes {
		if w.Acked {
			rep.AckedWrites++
		} else {
			rep.InDoubtWrites++
		}
	}
	rep.PhoneEdits = ph.Edits
	rep.FinalCards = len(h.Book)
	rep.Runs = map[string]int{}
	for _, r := range h.Runs {
		rep.Runs[r.Pair]++
	}
}

// judge records the checks' outcome.
func (rep *Report) judge(v Violations) {
	for _, name := range allChecks {
		rep.Checks = append(rep.Checks, CheckResult{Name: name, OK: len(v[name]) == 0, Violations: append([]string{}, v[name]...)})
	}
	rep.Violations = v.Count()
	rep.OK = rep.Violations == 0
}

// unexpectedStatuses lists, per replica and kind, the answers no client
// should get (any 5xx among them).
func unexpectedStatuses(st []*stats) []string {
	var out []string
	for i, s := range st {
		s.mu.Lock()
		for _, kind := range sortedKeys(s.statuses) {
			codes := s.statuses[kind]
			keys := make([]int, 0, len(codes))
			for c := range codes {
				keys = append(keys, c)
			}
			sort.Ints(keys)
			for _, code := range keys {
				if !expectedStatus(kind, code) {
					out = append(out, fmt.Sprintf("replica %d: %d %s answers with status %d", i, codes[code], kind, code))
				}
			}
		}
		s.mu.Unlock()
	}
	return out
}

// expectedStatus says which statuses each kind may get.
func expectedStatus(kind string, code int) bool {
	// 429 is not expected: every client has the right password, and a
	// replica's burst of first logins with it is one check (authguard),
	// not a run of guesses to throttle.
	switch kind {
	case davclient.KindSync, davclient.KindMultiget, davclient.KindQuery:
		return code == 207
	case davclient.KindGet:
		return code == 200
	case davclient.KindPut, davclient.KindDelete:
		return code == 204 || code == 200 || code == 412
	case davclient.KindCreate, davclient.KindSeed:
		return code == 201
	}
	return false
}

// Passed says every check passed.
func (rep *Report) Passed() bool { return rep.OK }

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "multi-replica test: %d replicas, %d clients, %.0f s, %d cards, pairs every %s\n", rep.Replicas, rep.Clients, rep.DurationS, rep.Cards, rep.Every)
	fmt.Fprintf(w, "requests: %d (%.0f/s)\n", rep.Requests, rep.ThroughputRPS)
	for _, f := range rep.PerReplica {
		var st []string
		for _, k := range sortedKeys(f.Statuses) {
			st = append(st, fmt.Sprintf("%s×%d", k, f.Statuses[k]))
		}
		fmt.Fprintf(w, "  replica %d: %d requests, mean %.1f ms, %d transport errors; %s\n", f.Replica, f.Requests, f.MeanMs, f.TransportErrors, strings.Join(st, " "))
	}
	fmt.Fprintf(w, "writes: %d acknowledged, %d in doubt, %d answered 412; %d phone edits; %d cards at the end\n",
		rep.AckedWrites, rep.InDoubtWrites, rep.Conflicts412, rep.PhoneEdits, rep.FinalCards)
	if rep.KilledReplica >= 0 {
		fmt.Fprintf(w, "kill -9 of replica %d at %.1f s: answering again after %.2f s\n", rep.KilledReplica, rep.KillAtS, rep.RecoverS)
	}
	fmt.Fprintf(w, "converged %.1f s after the clients stopped; runs: %v\n", rep.ConvergeS, rep.Runs)
	for _, c := range rep.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %s", mark, c.Name)
		if !c.OK {
			fmt.Fprintf(w, " (%d)", len(c.Violations))
		}
		fmt.Fprintln(w)
		for i, v := range c.Violations {
			if i == 10 {
				fmt.Fprintf(w, "     … %d more\n", len(c.Violations)-10)
				break
			}
			fmt.Fprintf(w, "     %s\n", v)
		}
	}
	fmt.Fprintf(w, "violations: %d\n", rep.Violations)
}
