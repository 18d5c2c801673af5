package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Titled is a table with a caption.
type Titled struct {
	Title string
	Table Table
}

// Section is what the template prints for one section: its tables, its
// targets, its plots, computed remarks and the machine's load meanwhile.
type Section struct {
	Tables  []Titled
	Targets []Target
	Plots   []Plot
	Notes   []string
	Load    string
	Details []Titled // printed folded away (<details>)
}

// TargetTable renders the section's targets.
func (s Section) TargetTable() Table { return targetTable(s.Targets) }

// Plot is a PNG written next to the document.
type Plot struct {
	Title string
	File  string // relative to the document
}

// Doc is the data of the template.
type Doc struct {
	Env        Env
	End        End
	ResultsDir string
	Machine    Table
	Summary    Table
	Engine     Section
	Servers    Section
	O365       Section
	Scaling    Section
	LoadTest   Section
	HasLoad    bool
	Micro      Section
	Steps      Table
	Busy       string // a warning when the machine was loaded, or ""
}

// busyNote warns when the load average was above twice the number of cores
// at some point: other work ran during the measurements.
func (r *Results) busyNote() string {
	lo, hi := math.Inf(1), 0.0
	over, n := 0, 0
	for _, s := range r.Steps {
		if s.Status == "not-run" || len(s.LoadStart) == 0 {
			continue
		}
		l := s.LoadStart[0]
		lo, hi, n = math.Min(lo, l), math.Max(hi, l), n+1
		if l > float64(r.Env.Cores) {
			over++
		}
	}
	if r.Env.Cores == 0 || n == 0 || hi <= 2*float64(r.Env.Cores) {
		return ""
	}
	return fmt.Sprintf("**This run was measured on a busy machine.** The 1-minute load average at the start of a step ranged from %.1f to %.1f "+
		"on %d cores, and was above %d before %d of the %d steps: other work (other engineers' builds, tests and fuzzing) competed "+
		"for the CPU and the disk. Absolute times are therefore slower than on a quiet machine (the prose quotes earlier "+
		"quiet-machine figures), every process measured — cardbridge and its peers alike — was slowed, and ratios between runs "+
		"made minutes apart are less reliable than usual: read each table with the load printed under it.",
		lo, hi, r.Env.Cores, r.Env.Cores, over, n)
}

// sectionLoad summarises the load average over a section's steps.
func (r *Results) sectionLoad(section string) string {
	var first, last []float64
	peak := 0.0
	for _, s := range r.Steps {
		if s.Section != section || s.Status == "not-run" {
			continue
		}
		if first == nil {
			first = s.LoadStart
		}
		last = s.LoadEnd
		for _, l := range [][]float64{s.LoadStart, s.LoadEnd} {
			if len(l) > 0 && l[0] > peak {
				peak = l[0]
			}
		}
	}
	if len(first) == 0 || len(last) == 0 {
		return ""
	}
	return fmt.Sprintf("Load average (1/5/15 min) on the %d-core machine: %s at the start of this section, %s at its end; the highest 1-minute figure seen between steps was %.2f.",
		r.Env.Cores, fmtLoad(first), fmtLoad(last), peak)
}

func fmtLoad(l []float64) string {
	var p []string
	for _, x := range l {
		p = append(p, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(p, " / ")
}

// serverName is how the document names a server.
func (r *Results) serverName(s string) string {
	switch s {
	case "cardbridge":
		return "cardbridge serve"
	case "radicale":
		return "Radicale " + version(r.Env.Peers["radicale"])
	case "xandikos":
		return "Xandikos " + version(r.Env.Peers["xandikos"])
	}
	return s
}

// version picks the version number out of a tool's --version line.
func version(line string) string {
	for _, f := range strings.Fields(line) {
		f = strings.TrimPrefix(strings.TrimSuffix(f, ","), "v")
		if len(f) > 0 && f[0] >= '0' && f[0] <= '9' && strings.Contains(f, ".") {
			return f
		}
	}
	return ""
}

// keyLabel is a step's key in the results and its name in the document.
type keyLabel struct{ key, label string }

// davSteps are the four vdirsyncer runs of section 2, in order.
func davSteps() []keyLabel {
	return []keyLabel{{"upload", "initial upload"}, {"nochange", "no-change sync"}, {"changed", "1%-changed sync"}, {"download", "initial download"}}
}

// davValue is a server's figure for one step at n contacts (the last
// record of it: a resumed run may have measured a step again).
func (r *Results) davValue(n int, server, step string) Value {
	for i := len(r.DAV) - 1; i >= 0; i-- {
		if d := r.DAV[i]; d.N == n && d.Server == server && d.Step == step {
			switch d.Status {
			case "ok":
				return exact(d.WallS)
			case "timeout":
				v := bound(d.WallS)
				if d.Uploaded != nil {
					v.Note = fmt.Sprintf("%s of %s cards uploaded by then", thousands(*d.Uploaded), thousands(n))
				}
				return v
			case "skipped":
				return missing("— (upload did not finish)")
			default:
				return missing("failed")
			}
		}
	}
	return missing(r.stepNote(fmt.Sprintf("servers-%d-%s", n, server)))
}

// uploadedBy is how many cards a timed-out upload had stored (0: unknown).
func (r *Results) uploadedBy(n int, server string) int {
	for _, d := range r.DAV {
		if d.N == n && d.Server == server && d.Step == "upload" && d.Uploaded != nil {
			return *d.Uploaded
		}
	}
	return 0
}

// ServersSection is section 2: the same client against three servers.
func (r *Results) ServersSection() Section {
	sec := Section{Load: r.sectionLoad("servers")}
	var ns []int
	for _, d := range r.DAV {
		ns = append(ns, d.N)
	}
	for _, s := range r.Steps {
		var n int
		var srv string
		if _, err := fmt.Sscanf(strings.ReplaceAll(s.Step, "-", " "), "servers %d %s", &n, &srv); err == nil {
			ns = append(ns, n)
		}
	}
	servers := []string{"cardbridge", "radicale", "xandikos"}
	perContact := Table{Head: []string{"server"}}
	for _, n := range sizes(ns) {
		perContact.Head = append(perContact.Head, thousands(n)+" contacts")
	}
	perRows := map[string][]string{}
	for _, n := range sizes(ns) {
		t := Table{Head: []string{"server", "initial upload", "no-change sync", "1%-changed sync", "initial download", "upload per contact"}}
		for _, srv := range servers {
			row := []string{r.serverName(srv)}
			for _, st := range davSteps() {
				row = append(row, r.davValue(n, srv, st.key).String())
			}
			up := r.davValue(n, srv, "upload")
			pc := "—"
			switch k := r.uploadedBy(n, srv); {
			case up.OK && !up.Bound:
				pc = fmtSec(up.S / float64(n))
			case up.Bound && k > 0:
				pc = fmtSec(up.S/float64(k)) + " (over the first " + thousands(k) + ")"
			case up.Bound:
				pc = "> " + fmtSec(up.S/float64(n))
			}
			row = append(row, pc)
			perRows[srv] = append(perRows[srv], pc)
			t.Rows = append(t.Rows, row)
		}
		cb := func(st string) Value { return r.davValue(n, "cardbridge", st) }
		peer := func(st string) Value { return best(r.davValue(n, "radicale", st), r.davValue(n, "xandikos", st)) }
		ratios := []string{"cardbridge vs the better of the two"}
		for _, st := range davSteps() {
			ratios = append(ratios, speedup(peer(st.key), cb(st.key)).String())
		}
		t.Rows = append(t.Rows, append(ratios, ""))
		sec.Tables = append(sec.Tables, Titled{Title: fmt.Sprintf("%s contacts, vdirsyncer %s as the client", thousands(n), version(r.Env.Peers["vdirsyncer"])), Table: t})
		up, down := speedup(peer("upload"), cb("upload")), speedup(peer("download"), cb("download"))
		sec.Targets = append(sec.Targets,
			Target{"issue 4", fmt.Sprintf("initial upload, %s contacts: cardbridge vs the better of Radicale/Xandikos", thousands(n)), "≥ 20× faster", up.String(), atLeast(up, 20)},
			Target{"issue 4", fmt.Sprintf("initial download, %s contacts", thousands(n)), "≥ 3× faster", down.String(), atLeast(down, 3)},
		)
		sec.Plots = append(sec.Plots, Plot{Title: fmt.Sprintf("servers, %s contacts", thousands(n)), File: fmt.Sprintf("bench/servers-%d.png", n)})
	}
	for _, srv := range servers {
		if len(perRows[srv]) > 0 {
			perContact.Rows = append(perContact.Rows, append([]string{r.serverName(srv)}, perRows[srv]...))
		}
	}
	if len(perContact.Head) > 2 {
		sec.Tables = append(sec.Tables, Titled{Title: "upload time per contact (vdirsyncer's whole run divided by the book's size)", Table: perContact})
	}

	// The server's own Go benchmarks.
	sc := benchMetric(r.Server, "carddav/server", "SyncCollection10Changes", "ns/op")
	p100 := benchMetric(r.Server, "carddav/server", "PutInto100", "ns/op")
	p10k := benchMetric(r.Server, "carddav/server", "PutInto10k", "ns/op")
	gt := Table{Head: []string{"benchmark (in process, no network)", "time/op"}}
	if sc.N > 0 {
		gt.Rows = append(gt.Rows, []string{"incremental sync-collection REPORT for 10 changes in a 10,000-card book", fmtRange(sc, fmtNs)})
	}
	if p100.N > 0 {
		gt.Rows = append(gt.Rows, []string{"PUT of a new card into a book of 100 cards", fmtRange(p100, fmtNs)})
	}
	if p10k.N > 0 {
		gt.Rows = append(gt.Rows, []string{"PUT of a new card into a book of 10,000 cards", fmtRange(p10k, fmtNs)})
	}
	sec.Tables = append(sec.Tables, Titled{Title: "server side, `go test -run '^$' -bench 'SyncCollection10Changes|PutInto' -benchmem ./carddav/server/`", Table: gt})
	t := Target{"issue 4", "sync-collection REPORT, 10 changes in a 10,000-card book, server side", "≤ 20 ms", "—", NotMeasured}
	if sc.N > 0 {
		t.Got, t.Verdict = fmtNs(sc.Med), verdict(sc.Med <= 20e6)
	}
	sec.Targets = append(sec.Targets, t)
	t = Target{"issue 4", "per-PUT cost, book of 10,000 vs book of 100", "no growth (≤ 1.25×, the run-to-run noise)", "—", NotMeasured}
	if p100.N > 0 && p10k.N > 0 {
		g := p10k.Med / p100.Med
		t.Got, t.Verdict = fmt.Sprintf("%s vs %s (%.2f×)", fmtNs(p10k.Med), fmtNs(p100.Med), g), verdict(g <= 1.25)
	}
	sec.Targets = append(sec.Targets, t)
	return sec
}

// engineCols are the four jobs of section 1, in the order of EngineRow.values.
func engineCols() []string {
	return []string{"first sync (upload)", "no-change sync", "1%-changed sync", "initial download"}
}

func (e EngineRow) values() []Value {
	return []Value{exact(e.UploadS), exact(e.NochangeS), exact(e.ChangedS), exact(e.DownloadS)}
}

// EngineSection is section 1: cardbridge's sync engine against vdirsyncer on
// the same jobs.
func (r *Results) EngineSection() Section {
	sec := Section{Load: r.sectionLoad("engine")}
	var ns []int
	type key struct {
		n   int
		srv string
	}
	got := map[key]map[string]EngineRow{}
	for _, e := range r.Engine {
		ns = append(ns, e.N)
		k := key{e.N, e.Server}
		if got[k] == nil {
			got[k] = map[string]EngineRow{}
		}
		got[k][e.Tool] = e
	}
	ran := map[key]bool{}
	for _, s := range r.Steps {
		var n int
		var srv string
		if _, err := fmt.Sscanf(strings.ReplaceAll(s.Step, "-", " "), "engine %d %s", &n, &srv); err == nil {
			ns = append(ns, n)
			ran[key{n, srv}] = true
		}
	}
	for _, n := range sizes(ns) {
		t := Table{Head: []string{"server", "tool", "first sync (upload)", "no-change sync", "1%-changed sync", "initial download"}}
		for _, srv := range []string{"cardbridge", "radicale", "xandikos"} {
			k := key{n, srv}
			if !ran[k] && got[k] == nil {
				continue
			}
			vds, okV := got[k]["vdirsyncer"]
			cb, okC := got[k]["cardbridge"]
			note := r.stepNote(fmt.Sprintf("engine-%d-%s", n, srv))
			for _, tool := range []string{"vdirsyncer", "cardbridge"} {
				row := []string{r.serverName(srv), tool}
				e, ok := got[k][tool]
				for i := range engineCols() {
					switch {
					case !ok && i == 0:
						row = append(row, note)
					case !ok:
						row = append(row, "")
					case tool == "cardbridge" && okV:
						row = append(row, fmt.Sprintf("%s (%s)", e.values()[i], speedup(vds.values()[i], e.values()[i])))
					default:
						row = append(row, e.values()[i].String())
					}
				}
				t.Rows = append(t.Rows, row)
			}
			tg1 := Target{"issue 5", fmt.Sprintf("%s, %s contacts: cardbridge no slower than vdirsyncer on any row", r.serverName(srv), thousands(n)), "every row ≤ vdirsyncer's", note, NotMeasured}
			tg2 := Target{"issue 5", fmt.Sprintf("%s, %s contacts: no-change and 1%%-changed", r.serverName(srv), thousands(n)), "≥ 3× faster", note, NotMeasured}
			if okV && okC {
				slowest, worst := 0.0, ""
				for i, c := range engineCols() {
					s := speedup(vds.values()[i], cb.values()[i])
					if worst == "" || s.X < slowest {
						slowest, worst = s.X, c
					}
				}
				tg1.Got, tg1.Verdict = fmt.Sprintf("lowest ratio %.2f× (%s)", slowest, worst), verdict(slowest >= 1)
				a, b := speedup(vds.values()[1], cb.values()[1]), speedup(vds.values()[2], cb.values()[2])
				tg2.Got, tg2.Verdict = fmt.Sprintf("%s and %s", a, b), verdict(a.X >= 3 && b.X >= 3)
			}
			sec.Targets = append(sec.Targets, tg1, tg2)
		}
		sec.Tables = append(sec.Tables, Titled{Title: fmt.Sprintf("%s contacts (in brackets: how many times faster than vdirsyncer)", thousands(n)), Table: t})
		sec.Plots = append(sec.Plots, Plot{Title: fmt.Sprintf("cardbridge vs vdirsyncer, %s contacts", thousands(n)), File: fmt.Sprintf("bench/engine-%d.png", n)})
	}
	return sec
}

// o365Row is one row of section 3: a labelled run of an o365 benchmark.
type o365Row struct {
	bench, label, what string
}

// o365Rows are section 3's rows.
func o365Rows() []o365Row {
	return []o365Row{
		{"Import10k", "import", "first import of 10,000 contacts into an empty vdir (`photos: false`)"},
		{"Import10k", "nochange", "no-change re-run"},
		{"Import10k", "changed1pct", "re-run after 1% (100) changed in Outlook"},
		{"Export2k", "export", "first export of 2,000 local contacts to an empty mailbox"},
		{"Failing1pct", "run1min", "re-run of 10,000 with 100 failing every run, their retries due"},
		{"Failing1pct", "run2min", "re-run of 10,000 with 100 failing, no retry due"},
	}
}

// O365Section is section 3: Office 365 against graphsim.
func (r *Results) O365Section() Section {
	sec := Section{Load: r.sectionLoad("o365")}
	t := Table{Head: []string{"run", "wall", "Graph requests", "sub-requests in `$batch`", "429s (retried)"}}
	m := func(row o365Row, what string) Summary {
		return benchMetric(r.O365, "o365", row.bench, row.label+"-"+what)
	}
	count := func(s Summary) string {
		if s.N == 0 {
			return "—"
		}
		return fmtRange(s, func(v float64) string { return thousands(int(v)) })
	}
	ms := func(v float64) string { return fmtSec(v / 1000) }
	for _, row := range o365Rows() {
		w := m(row, "ms")
		if w.N == 0 {
			t.Rows = append(t.Rows, []string{row.what, r.stepNote("o365-go"), "", "", ""})
			continue
		}
		t.Rows = append(t.Rows, []string{row.what, fmtRange(w, ms), count(m(row, "requests")), count(m(row, "subrequests")), count(m(row, "429s"))})
	}
	sec.Tables = append(sec.Tables, Titled{Title: fmt.Sprintf("graphsim with 20 ms per request (%s)", runs(r.Env.Sizes.O365Count)), Table: t})
	rows := o365Rows()
	imp, nc, ncReq := m(rows[0], "ms"), m(rows[1], "ms"), m(rows[1], "requests")
	exp, exp429 := m(rows[3], "ms"), m(rows[3], "429s")
	add := func(what, want string, s Summary, got string, ok bool) {
		tg := Target{"issue 14", what, want, "—", NotMeasured}
		if s.N > 0 {
			tg.Got, tg.Verdict = got, verdict(ok)
		}
		sec.Targets = append(sec.Targets, tg)
	}
	add("first import of 10,000 (delta pages of 200)", "≤ 6 s", imp, ms(imp.Med), imp.Med <= 6000)
	add("no-change re-run: time", "≤ 150 ms", nc, ms(nc.Med), nc.Med <= 150)
	add("no-change re-run: requests (one folder)", "1", ncReq, count(ncReq), ncReq.Max <= 1)
	// 2,000 creates, each sub-request holding one of the mailbox's 4
	// slots for 20 ms (Outlook runs 4 of a $batch at once; graphsim does
	// since 2026-12-08, before which a batch took one latency and the
	// floor was 100 round trips, 2,000 ms): 500 × 20 ms.
	const floor = 2000.0 / 4 * 20
	add("export of 2,000: time", fmt.Sprintf("within 1.25× of what the limits allow (2,000 sub-requests over the mailbox's 4 slots × 20 ms = %s → ≤ %s)", ms(floor), ms(floor*1.25)), exp, fmt.Sprintf("%s (%.2f× the floor)", ms(exp.Med), exp.Med/floor), exp.Med <= floor*1.25)
	// BenchmarkExport2k's own T_min: the same export's local work (at 0
	// latency) plus the floor; export-xlimit is measured / T_min.
	if xl := m(rows[3], "xlimit"); xl.N > 0 {
		tmin := m(rows[3], "tmin-ms")
		add("export of 2,000: time against T_min (local work at 0 latency + the floor; for information)", fmt.Sprintf("≤ 1.25× (T_min %s)", ms(tmin.Med)), xl, fmt.Sprintf("%.2f×", xl.Med), xl.Med <= 1.25)
	}
	add("export of 2,000: 429s reaching the user", "none (a 429 inside the run is retried; an error would fail the benchmark)", exp, fmt.Sprintf("none; %s received and retried", count(exp429)), true)
	return sec
}

// scalingSteps are bench/vdir-sync.sh's four measured syncs, in order.
func scalingSteps() []keyLabel {
	return []keyLabel{{"first", "first sync (a → empty b)"}, {"nochange", "no-change re-run"}, {"changed", "1% changed (a) + 0.5% (b)"}, {"same", "first sync, both sides identical"}}
}

// scalingPoint is the median of one step at one size.
type scalingPoint struct {
	n         int
	wall, rss Summary
	timedOut  bool
}

// scalingData gathers section 4's medians by step, ascending by size.
func (r *Results) scalingData() map[string][]scalingPoint {
	by := map[string]map[int]*struct {
		w, m []float64
		to   bool
	}{}
	for _, v := range r.Vdir {
		if by[v.Step] == nil {
			by[v.Step] = map[int]*struct {
				w, m []float64
				to   bool
			}{}
		}
		e := by[v.Step][v.N]
		if e == nil {
			e = &struct {
				w, m []float64
				to   bool
			}{}
			by[v.Step][v.N] = e
		}
		if v.Status == "timeout" {
			e.to = true
			continue
		}
		e.w = append(e.w, v.WallS)
		e.m = append(e.m, v.RSSKB*1024)
	}
	out := map[string][]scalingPoint{}
	for step, m := range by {
		for n, e := range m {
			out[step] = append(out[step], scalingPoint{n: n, wall: Summarize(e.w), rss: Summarize(e.m), timedOut: e.to && len(e.w) == 0})
		}
		sort.Slice(out[step], func(i, j int) bool { return out[step][i].n < out[step][j].n })
	}
	return out
}

// ScalingSection is section 4: vdir ⇄ vdir from 1,000 to 50,000 contacts.
func (r *Results) ScalingSection() Section {
	sec := Section{Load: r.sectionLoad("scaling")}
	data := r.scalingData()
	var ns []int
	for _, v := range r.Vdir {
		ns = append(ns, v.N)
	}
	wall := Table{Head: []string{"contacts"}}
	rss := Table{Head: []string{"contacts"}}
	for _, st := range scalingSteps() {
		wall.Head = append(wall.Head, st.label, "per contact")
		rss.Head = append(rss.Head, st.label)
	}
	find := func(step string, n int) (scalingPoint, bool) {
		for _, p := range data[step] {
			if p.n == n {
				return p, true
			}
		}
		return scalingPoint{}, false
	}
	for _, n := range sizes(ns) {
		label := thousands(n)
		if p, ok := find("first", n); ok && p.wall.N > 0 {
			label += fmt.Sprintf(" (%s)", plural(p.wall.N, "run"))
		}
		wr, rr := []string{label}, []string{label}
		for _, st := range scalingSteps() {
			p, ok := find(st.key, n)
			switch {
			case !ok:
				wr, rr = append(wr, "—", ""), append(rr, "—")
			case p.timedOut:
				wr, rr = append(wr, "timed out", ""), append(rr, "—")
			default:
				wr = append(wr, fmtRange(p.wall, fmtSec), fmtSec(p.wall.Med/float64(n)))
				rr = append(rr, fmtRange(p.rss, fmtBytes))
			}
		}
		wall.Rows, rss.Rows = append(wall.Rows, wr), append(rss.Rows, rr)
	}
	sec.Tables = append(sec.Tables,
		Titled{Title: "wall time (the median of the runs, their range in brackets) and time per contact", Table: wall},
		Titled{Title: "peak RSS of the whole process (median, range in brackets)", Table: rss})
	for _, st := range scalingSteps() {
		var xs, ts, ms []float64
		spread := 1.0
		for _, p := range data[st.key] {
			if p.wall.N > 0 {
				xs, ts, ms = append(xs, float64(p.n)), append(ts, p.wall.Med), append(ms, p.rss.Med)
			}
			if p.wall.N > 1 && p.wall.Min > 0 {
				spread = math.Max(spread, p.wall.Max/p.wall.Min)
			}
		}
		kt, ok := fitExponent(xs, ts)
		km, _ := fitExponent(xs, ms)
		if !ok {
			continue
		}
		note := fmt.Sprintf("%s: time grows as n^%.2f and peak RSS as n^%.2f from %s to %s contacts (%s)",
			st.label, kt, km, thousands(int(xs[0])), thousands(int(xs[len(xs)-1])), growthWord(kt))
		if a, b, ok := fitLinear(xs, ts); ok {
			note += fmt.Sprintf("; as a straight line: %s fixed + %s per contact", fmtSec(a), fmtSec(b))
		}
		if spread > 1.5 {
			note += fmt.Sprintf(" — but runs at the same size differed by up to %.1f× in this run, so read the time fit as rough (the RSS fit is steadier)", spread)
		}
		sec.Notes = append(sec.Notes, note+".")
		if st.key == "first" {
			sec.Targets = append(sec.Targets,
				Target{"issue 7", "first sync: growth of wall time with the number of contacts", "linear or better (fitted exponent ≤ 1.1)", fmt.Sprintf("n^%.2f", kt), verdict(kt <= 1.1)},
				Target{"issue 7", "first sync: growth of peak RSS", "linear or better (fitted exponent ≤ 1.1)", fmt.Sprintf("n^%.2f", km), verdict(km <= 1.1)})
		}
	}
	p, ok := find("first", 10000)
	t1 := Target{"issue 2", "first sync of 10,000: wall time", "≤ 3 s", "—", NotMeasured}
	t2 := Target{"issue 2", "first sync of 10,000: peak RSS", "≤ 150 MB", "—", NotMeasured}
	if ok && p.wall.N > 0 {
		t1.Got, t1.Verdict = fmtRange(p.wall, fmtSec), verdict(p.wall.Med <= 3)
		t2.Got, t2.Verdict = fmtRange(p.rss, fmtBytes), verdict(p.rss.Med <= 150e6)
	}
	t3 := Target{"issue 2", "no-change re-run with 10,000: wall time", "≤ 150 ms", "—", NotMeasured}
	if p, ok := find("nochange", 10000); ok && p.wall.N > 0 {
		t3.Got, t3.Verdict = fmtRange(p.wall, fmtSec), verdict(p.wall.Med <= 0.150)
	}
	sec.Targets = append([]Target{t1, t2, t3}, sec.Targets...)
	sec.Plots = []Plot{{"wall time against contacts (log–log)", "bench/scaling-time.png"}, {"peak RSS against contacts", "bench/scaling-rss.png"}}
	return sec
}

func growthWord(k float64) string {
	switch {
	case k < 0.9:
		return "below linear: fixed costs weigh at the small sizes, or the small sizes were slowed more"
	case k <= 1.1:
		return "linear"
	}
	return "faster than linear"
}

// LoadSection is section 5: bench/load's JSON — its headline figures, the
// latency per kind of request, issue 7's targets, and every figure it
// printed (folded away).
func (r *Results) LoadSection() Section {
	sec := Section{Load: r.sectionLoad("load")}
	if len(r.Load) == 0 {
		sec.Notes = append(sec.Notes, r.stepNote("load"))
		return sec
	}
	obj := r.Load[len(r.Load)-1]
	flat := map[string]string{}
	flatten("", obj, flat)
	num := func(k string) (float64, bool) {
		v, ok := obj[k].(float64)
		return v, ok
	}
	head := Table{Head: []string{"figure", "value"}}
	for _, k := range []string{"clients", "duration_s", "cards", "requests", "throughput_rps", "conflicts_412", "retries_after_412", "gave_up_after_412", "bogus_412", "server_errors_5xx", "transport_errors", "unexpected_status", "pair_runs", "pair_run_errors", "lost_updates", "converge_s", "final_sync_writes", "ok"} {
		if v, ok := flat[k]; ok {
			head.Rows = append(head.Rows, []string{"`" + k + "`", v})
		}
	}
	sec.Tables = append(sec.Tables, Titled{Title: "headline figures", Table: head})
	if kinds, ok := obj["kinds"].(map[string]any); ok {
		lat := Table{Head: []string{"request", "count", "p50", "p90", "p99", "max", "statuses"}}
		var names []string
		for k := range kinds {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			g := func(f string) string {
				if v, ok := flat["kinds."+k+"."+f]; ok {
					if strings.HasSuffix(f, "_ms") {
						return v + " ms"
					}
					return v
				}
				return "—"
			}
			var st []string
			if m, ok := kinds[k].(map[string]any)["statuses"].(map[string]any); ok {
				var codes []string
				for c := range m {
					codes = append(codes, c)
				}
				sort.Strings(codes)
				for _, c := range codes {
					st = append(st, fmt.Sprintf("%s × %s", c, flat["kinds."+k+".statuses."+c]))
				}
			}
			lat.Rows = append(lat.Rows, []string{k, g("count"), g("p50_ms"), g("p90_ms"), g("p99_ms"), g("max_ms"), strings.Join(st, ", ")})
		}
		sec.Tables = append(sec.Tables, Titled{Title: "latency per kind of request", Table: lat})
	}
	errs, seen := 0.0, false
	var which []string
	// A client giving up a shared card after several 412s is contention
	// the generator reports, not an error.
	for _, k := range []string{"server_errors_5xx", "transport_errors", "unexpected_status", "pair_run_errors", "bogus_412"} {
		if v, ok := num(k); ok {
			errs, seen = errs+v, true
			which = append(which, k)
		}
	}
	t := Target{"issue 7", "load: errors (" + strings.Join(which, " + ") + ")", "none", "—", NotMeasured}
	if seen {
		t.Got, t.Verdict = fmt.Sprintf("%.0f", errs), verdict(errs == 0)
	}
	sec.Targets = append(sec.Targets, t)
	t = Target{"issue 7", "load: lost updates (a write that If-Match should have refused)", "none", "—", NotMeasured}
	if v, ok := num("lost_updates"); ok {
		t.Got, t.Verdict = fmt.Sprintf("%.0f", v), verdict(v == 0)
	}
	sec.Targets = append(sec.Targets, t)
	var keys []string
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	all := Table{Head: []string{"figure", "value"}}
	for _, k := range keys {
		all.Rows = append(all.Rows, []string{"`" + k + "`", flat[k]})
	}
	sec.Details = append(sec.Details, Titled{Title: "everything bench/load printed", Table: all})
	return sec
}

func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			out[prefix] = fmt.Sprintf("%.0f", x)
		} else {
			out[prefix] = fmt.Sprintf("%.4g", x)
		}
	default:
		out[prefix] = fmt.Sprint(x)
	}
}

// benchWhat says what a micro-benchmark measures.
func benchWhat(pkg, name string) string {
	if base, sub, ok := strings.Cut(name, "/"); ok {
		if w := benchWhat(pkg, base); w != "" {
			return w + " (" + strings.ReplaceAll(sub, "/", ", ") + ")"
		}
		return ""
	}
	switch name {
	case "Plan10k":
		return "planning 10,000 linked items with 1% changed on each side, 0.5% deleted on each, 1% new on each"
	case "Plan50k":
		return "the same with 50,000 items"
	case "PlanFirstSync10k":
		return "first sync: 10,000 new items on each side, matched by UID and linked"
	case "Parse":
		return "parsing 10,000 generated cards"
	case "Hash":
		return "normalised hash of 10,000 cards"
	case "Encode":
		return "encoding 10,000 cards, folded"
	case "ParseHash":
		return "parse and hash of 10,000 cards"
	case "Convert":
		return "3.0 ⇄ 4.0 conversion of 10,000 cards"
	case "Items10k":
		return "loading 10,000 items (no bases)"
	case "Bases10k":
		return "loading 10,000 bases"
	case "Update200Inserts":
		return "one transaction inserting 200 items with 1 KB bases"
	case "PutItem", "PutItemNewIDs", "PutItemNoBase", "PutItemInsert":
		return "one item written in its own transaction"
	case "PutCard":
		return "a card stored in a server book, with its change-log entry"
	case "SyncCollection10Changes":
		return "incremental sync-collection REPORT, 10 changes in a 10,000-card book"
	case "PutInto100", "PutInto10k":
		return "PUT of a new card through the CardDAV handler"
	case "CardChanges":
		return "reading a book's change log since a sync token"
	case "List10k":
		return "listing a folder of 10,000 cards (stat only)"
	case "Get10k":
		return "reading 10,000 cards"
	case "Create", "CreateParallel":
		return "an atomic, fsync'd create of one card"
	case "Update":
		return "an atomic, fsync'd update of one card"
	case "Copy10k":
		return "copying 10,000 cards into an empty folder"
	}
	return ""
}

// MicroSection is section 6: the Go micro-benchmarks.
func (r *Results) MicroSection() Section {
	sec := Section{Load: r.sectionLoad("micro")}
	type k struct{ pkg, name string }
	var order []k
	seen := map[k]bool{}
	for _, b := range r.Micro {
		if key := (k{b.Pkg, b.Name}); !seen[key] {
			seen[key] = true
			order = append(order, key)
		}
	}
	t := Table{Head: []string{"package", "benchmark", "time/op", "memory/op", "allocs/op", "what"}}
	for _, key := range order {
		pkg := key.pkg[strings.LastIndexByte(key.pkg, '/')+1:]
		ns := benchMetric(r.Micro, key.pkg, key.name, "ns/op")
		bo := benchMetric(r.Micro, key.pkg, key.name, "B/op")
		al := benchMetric(r.Micro, key.pkg, key.name, "allocs/op")
		row := []string{"`" + pkg + "`", key.name, fmtRange(ns, fmtNs), "—", "—", benchWhat(pkg, key.name)}
		if bo.N > 0 {
			row[3] = fmtBytes(bo.Med)
		}
		if al.N > 0 {
			row[4] = thousands(int(al.Med))
		}
		t.Rows = append(t.Rows, row)
	}
	if len(order) == 0 {
		sec.Notes = append(sec.Notes, r.stepNote("micro-go"))
	}
	sec.Tables = append(sec.Tables, Titled{Title: "`go test -run '^$' -bench . -benchmem ./engine/ ./vcard/ ./state/ ./side/vdir/`", Table: t})
	return sec
}

// StepsTable lists every step bench/run ran, with its outcome and the load.
func (r *Results) StepsTable() Table {
	t := Table{Head: []string{"section", "step", "outcome", "wall", "timeout", "load (1 min) before → after"}}
	for _, s := range r.Steps {
		out := s.Status
		if s.Status == "failed" {
			out = fmt.Sprintf("failed (exit %d)", s.Exit)
		}
		if s.Reason != "" {
			out += ": " + s.Reason
		}
		l := "—"
		if len(s.LoadStart) > 0 && len(s.LoadEnd) > 0 {
			l = fmt.Sprintf("%.2f → %.2f", s.LoadStart[0], s.LoadEnd[0])
		}
		to := "—"
		if s.TimeoutS > 0 {
			to = fmtLimit(s.TimeoutS)
		}
		t.Rows = append(t.Rows, []string{s.Section, s.Step, out, fmtSec(s.WallS), to, l})
	}
	return t
}
