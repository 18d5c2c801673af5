package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Table is a Markdown table: a header row and rows of cells.
type Table struct {
	Head []string
	Rows [][]string
}

// Markdown renders t; an empty table renders as a note saying so.
func (t Table) Markdown() string {
	if len(t.Rows) == 0 {
		return "_(nothing measured in this run)_\n"
	}
	var b strings.Builder
	b.WriteString("| " + strings.Join(t.Head, " | ") + " |\n|")
	for range t.Head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// Verdict is the outcome of comparing a figure with its target.
type Verdict int

// The verdicts: not measured (the step did not run or did not finish without
// a bound), met, not met.
const (
	NotMeasured Verdict = iota
	Met
	NotMet
)

// String is the word the document prints.
func (v Verdict) String() string {
	switch v {
	case Met:
		return "**met**"
	case NotMet:
		return "**not met**"
	}
	return "not measured"
}

// Target is one target from an issue next to what this run measured.
type Target struct {
	Issue   string // "issue 4"
	What    string // the figure
	Want    string // the target, as the issue states it
	Got     string // the measured figure
	Verdict Verdict
}

func verdict(ok bool) Verdict {
	if ok {
		return Met
	}
	return NotMet
}

// targetTable renders targets as a table.
func targetTable(ts []Target) Table {
	t := Table{Head: []string{"issue", "figure", "target", "measured", "verdict"}}
	for _, x := range ts {
		t.Rows = append(t.Rows, []string{x.Issue, x.What, x.Want, x.Got, x.Verdict.String()})
	}
	return t
}

// Value is a measured time that may be only a lower bound (the step timed
// out after that long) or missing.
type Value struct {
	S     float64 // seconds
	Bound bool    // the real figure is more than S (timed out)
	OK    bool    // there is a figure (exact or bound)
	Note  string  // why there is none, when !OK; with a bound, what is known
}

func exact(s float64) Value  { return Value{S: s, OK: true} }
func bound(s float64) Value  { return Value{S: s, Bound: true, OK: true} }
func missing(n string) Value { return Value{Note: n} }

// String renders the value for a table cell.
func (v Value) String() string {
	switch {
	case !v.OK:
		if v.Note == "" {
			return "—"
		}
		return v.Note
	case v.Bound && v.Note != "":
		return "> " + fmtSec(v.S) + " (timed out; " + v.Note + ")"
	case v.Bound:
		return "> " + fmtSec(v.S) + " (timed out)"
	}
	return fmtSec(v.S)
}

// fmtSec formats seconds with a unit that keeps three significant digits.
func fmtSec(s float64) string {
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 0.01:
		return fmt.Sprintf("%.0f ms", s*1000)
	case s >= 0.001:
		return fmt.Sprintf("%.1f ms", s*1000)
	case s > 0:
		return fmt.Sprintf("%.0f µs", s*1e6)
	}
	return "0"
}

// fmtLimit formats a timeout given in whole seconds.
func fmtLimit(s int) string {
	if s >= 120 && s%60 == 0 {
		return fmt.Sprintf("%d min", s/60)
	}
	return fmt.Sprintf("%d s", s)
}

// fmtNs formats a Go benchmark's ns/op.
func fmtNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e7:
		return fmt.Sprintf("%.0f ms", ns/1e6)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// fmtBytes formats a byte count in MB (10^6) or KB.
func fmtBytes(b float64) string {
	switch {
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.0f KB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}

// fmtRange formats a summary of seconds: the median, and the range when
// there were several runs that differ.
func fmtRange(s Summary, f func(float64) string) string {
	if s.N == 0 {
		return "—"
	}
	if s.N == 1 || f(s.Min) == f(s.Max) {
		return f(s.Med)
	}
	return fmt.Sprintf("%s (%s – %s)", f(s.Med), f(s.Min), f(s.Max))
}

// ratio is a/b as "N×", "≥ N×" when a is a lower bound.
type ratio struct {
	X     float64
	Bound bool
	OK    bool
}

func (r ratio) String() string {
	if !r.OK {
		return "—"
	}
	if r.Bound {
		return fmt.Sprintf("≥ %.1f×", r.X)
	}
	return fmt.Sprintf("%.1f×", r.X)
}

// speedup is how many times faster fast is than slow.
func speedup(slow, fast Value) ratio {
	if !slow.OK || !fast.OK || fast.Bound || fast.S <= 0 {
		return ratio{}
	}
	return ratio{X: slow.S / fast.S, Bound: slow.Bound, OK: true}
}

// best is the smaller of the values that have a figure: exact when the
// smallest is exact (every bound above it is larger still), a bound
// otherwise.
func best(vs ...Value) Value {
	var b Value
	for _, v := range vs {
		if v.OK && (!b.OK || v.S < b.S) {
			b = v
		}
	}
	return b
}

// atLeast says whether r ≥ want, counting a bound as its lower end.
func atLeast(r ratio, want float64) Verdict {
	if !r.OK {
		return NotMeasured
	}
	if r.X >= want {
		return Met
	}
	if r.Bound {
		return NotMeasured // only a lower bound below the target: undecided
	}
	return NotMet
}

// stepStatus finds bench/run's record of a step.
func (r *Results) stepStatus(name string) (Step, bool) {
	for _, s := range r.Steps {
		if s.Step == name {
			return s, true
		}
	}
	return Step{}, false
}

// stepNote says why a step left no figure: timed out, failed, not run.
func (r *Results) stepNote(name string) string {
	s, ok := r.stepStatus(name)
	if !ok {
		return "not run"
	}
	switch s.Status {
	case "timeout":
		return fmt.Sprintf("timed out after %s", fmtSec(float64(s.TimeoutS)))
	case "failed":
		return fmt.Sprintf("failed (exit %d, see logs/%s.log)", s.Exit, name)
	case "not-run":
		if s.Reason == "deadline" {
			return "not run (no time left before the deadline)"
		}
		return "not run (" + s.Reason + ")"
	}
	return "no result"
}

// sizes returns the distinct n of a set of records, ascending.
func sizes(ns []int) []int {
	seen := map[int]bool{}
	var out []int
	for _, n := range ns {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

// fitExponent fits t = c·n^k by least squares on log t against log n and
// returns k (the slope of fitLinear on the logs); ok is false with fewer
// than two sizes.
func fitExponent(ns, ts []float64) (float64, bool) {
	var xs, ys []float64
	for i := range ns {
		if ns[i] > 0 && ts[i] > 0 {
			xs = append(xs, math.Log(ns[i]))
			ys = append(ys, math.Log(ts[i]))
		}
	}
	_, k, ok := fitLinear(xs, ys)
	return k, ok
}

// fitLinear fits t = a + b·n by least squares: a is the fixed cost, b the
// cost of each further contact; ok is false with fewer than two sizes.
func fitLinear(ns, ts []float64) (a, b float64, ok bool) {
	if len(ns) < 2 {
		return 0, 0, false
	}
	var mx, my float64
	for i := range ns {
		mx += ns[i]
		my += ts[i]
	}
	mx /= float64(len(ns))
	my /= float64(len(ns))
	var sxy, sxx float64
	for i := range ns {
		sxy += (ns[i] - mx) * (ts[i] - my)
		sxx += (ns[i] - mx) * (ns[i] - mx)
	}
	if sxx == 0 {
		return 0, 0, false
	}
	b = sxy / sxx
	return my - b*mx, b, true
}

// runs says how many runs a median is of.
func runs(n int) string {
	if n <= 1 {
		return "one run"
	}
	return fmt.Sprintf("median of %d runs, range in brackets", n)
}

// plural writes "1 run", "3 runs".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// thousands writes n with a comma every three digits.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
