package main

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const benchOutput = `goos: linux
goarch: amd64
pkg: github.com/cardbridge/cardbridge/o365
cpu: Intel(R) Xeon(R) Processor
BenchmarkImport10k-2   	       1	5123456789 ns/op	      4480 import-ms	         0 import-429s	        20 import-requests	         0 import-subrequests	        95.00 nochange-ms	         1.000 nochange-requests
    bench_test.go:90: a log line that is not a result
BenchmarkExport2k-2    	       1	13000000000 ns/op	     13000 export-ms	         3 export-429s	      2114 export-requests
BenchmarkExport2k-2    	       1	12800000000 ns/op	     12800 export-ms	         0 export-429s	      2114 export-requests	     11800 export-tmin-ms	         1.083 export-xlimit
BenchmarkFailing1pct-2 	       1	15000000000 ns/op	       939.0 run1min-ms	       107.0 run1min-requests	       103.0 run1min-subrequests	         0 run1min-429s	        77.00 run2min-ms	         1.000 run2min-requests	         0 run2min-subrequests	         0 run2min-429s
PASS
pkg: github.com/cardbridge/cardbridge/carddav/server
BenchmarkSyncCollection10Changes-2   	    2000	    520000 ns/op	   12000 B/op	     150 allocs/op
BenchmarkPutInto100-2                	    5000	    210000 ns/op
BenchmarkPutInto10k-2                	    5000	    400000 ns/op
ok  	github.com/cardbridge/cardbridge/carddav/server	3.2s
`

func TestParseGoBench(t *testing.T) {
	bs, err := ParseGoBench(strings.NewReader(benchOutput))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 7 {
		t.Fatalf("got %d results, want 7: %+v", len(bs), bs)
	}
	b := bs[0]
	if b.Name != "Import10k" || b.Procs != 2 || b.Iterations != 1 || !strings.HasSuffix(b.Pkg, "/o365") {
		t.Errorf("first result: %+v", b)
	}
	if b.Metrics["import-ms"] != 4480 || b.Metrics["nochange-requests"] != 1 || b.Metrics["ns/op"] != 5123456789 {
		t.Errorf("metrics: %v", b.Metrics)
	}
	if !strings.HasSuffix(bs[4].Pkg, "/carddav/server") || bs[4].Metrics["allocs/op"] != 150 {
		t.Errorf("package switch or allocs: %+v", bs[4])
	}
	// Two -count runs: the median is the lower middle, the range both.
	s := benchMetric(bs, "o365", "Export2k", "export-ms")
	if s.N != 2 || s.Med != 12800 || s.Min != 12800 || s.Max != 13000 {
		t.Errorf("export-ms summary: %+v", s)
	}
}

func TestSummarizeAndFit(t *testing.T) {
	if s := Summarize([]float64{3, 1, 2}); s.Med != 2 || s.Min != 1 || s.Max != 3 || s.N != 3 {
		t.Errorf("summary: %+v", s)
	}
	if s := Summarize(nil); s.N != 0 {
		t.Errorf("empty summary: %+v", s)
	}
	ns := []float64{1000, 5000, 10000, 50000}
	for _, want := range []float64{1, 0.5, 2} {
		var ts []float64
		for _, n := range ns {
			ts = append(ts, 3e-4*math.Pow(n, want))
		}
		k, ok := fitExponent(ns, ts)
		if !ok || math.Abs(k-want) > 1e-9 {
			t.Errorf("fit of n^%v: got %v (%v)", want, k, ok)
		}
	}
	a, b, ok := fitLinear([]float64{1000, 2000, 4000}, []float64{0.3 + 1000*2e-4, 0.3 + 2000*2e-4, 0.3 + 4000*2e-4})
	if !ok || math.Abs(a-0.3) > 1e-9 || math.Abs(b-2e-4) > 1e-12 {
		t.Errorf("linear fit: %v + %v·n (%v), want 0.3 + 0.0002·n", a, b, ok)
	}
	if _, ok := fitExponent([]float64{1000}, []float64{1}); ok {
		t.Error("a fit from one size must not be reported")
	}
}

func TestRatiosWithTimeouts(t *testing.T) {
	// Radicale timed out after 900 s, Xandikos took 450 s: the better of
	// the two is Xandikos, exactly.
	b := best(bound(900), exact(450))
	if b.Bound || b.S != 450 {
		t.Errorf("best: %+v", b)
	}
	// Both timed out: only a lower bound is known.
	b = best(bound(900), bound(600))
	if !b.Bound || b.S != 600 {
		t.Errorf("best of bounds: %+v", b)
	}
	r := speedup(b, exact(20))
	if !r.Bound || r.X != 30 || r.String() != "≥ 30.0×" {
		t.Errorf("speedup: %+v %s", r, r)
	}
	if atLeast(r, 20) != Met {
		t.Error("a lower bound above the target meets it")
	}
	if atLeast(speedup(bound(100), exact(20)), 20) != NotMeasured {
		t.Error("a lower bound below the target decides nothing")
	}
	if atLeast(speedup(exact(100), exact(20)), 20) != NotMet {
		t.Error("5× is not 20×")
	}
	if speedup(exact(10), bound(5)).OK {
		t.Error("a speed-up over a timed-out cardbridge must not be computed")
	}
}

// writeFixture writes a results folder like bench/run's, with a timed-out
// Radicale upload, a failed step and the other sections filled in.
func writeFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"env.json": `{"date":"2026-11-29T14:00:00Z","mode":"full","cpu":"Test CPU","cores":2,"ram_gib":23.5,"kernel":"Linux 6.1","go":"go version go1.26.8 linux/amd64","commit":"abc1234",
			"peers":{"vdirsyncer":"vdirsyncer, version 0.19.0","radicale":"3.1.8","xandikos":"/usr/bin/xandikos 0.2.8","python3":"Python 3.11.7"},
			"sizes":{"scaling":"1000:2 10000:2","dav":"1000","o365_count":2},"load_start":[0.5,0.6,0.7]}`,
		"end.json":                 `{"load_end":[1.5,1.2,1.0],"ended":"2026-11-29T15:00:00Z"}`,
		"engine-1000-radicale.txt": "# cardbridge built from commit def5678\nserver tool ...\n",
		"steps.jsonl": `{"section":"scaling","step":"scaling-1000","status":"ok","exit":0,"timeout_s":100,"wall_s":3,"load_start":[0.5,0.6,0.7],"load_end":[0.9,0.6,0.7]}
{"section":"scaling","step":"scaling-10000","status":"ok","exit":0,"timeout_s":100,"wall_s":30,"load_start":[0.9,0.6,0.7],"load_end":[1.9,0.6,0.7]}
{"section":"servers","step":"servers-1000-cardbridge","status":"ok","exit":0,"timeout_s":600,"wall_s":5,"load_start":[1,1,1],"load_end":[1,1,1]}
{"section":"servers","step":"servers-1000-radicale","status":"ok","exit":0,"timeout_s":600,"wall_s":600,"load_start":[1,1,1],"load_end":[1,1,1]}
{"section":"servers","step":"servers-1000-xandikos","status":"ok","exit":0,"timeout_s":600,"wall_s":100,"load_start":[1,1,1],"load_end":[1,1,1]}
{"section":"engine","step":"engine-1000-radicale","status":"ok","exit":0,"timeout_s":600,"wall_s":100,"load_start":[1,1,1],"load_end":[1,1,1]}
{"section":"engine","step":"engine-1000-cardbridge","status":"failed","exit":1,"timeout_s":600,"wall_s":10,"load_start":[1,1,1],"load_end":[1,1,1]}
{"section":"engine","step":"engine-1000-xandikos","status":"not-run","reason":"deadline","timeout_s":600,"wall_s":0,"load_start":[1,1,1],"load_end":[1,1,1]}
{"section":"load","step":"load","status":"not-run","reason":"bench/load does not exist","timeout_s":0,"wall_s":0,"load_start":[1,1,1],"load_end":[1,1,1]}
`,
		"scaling.jsonl": `{"bench":"vdir-sync","n":1000,"run":1,"step":"first","status":"ok","wall_s":0.30,"rss_kb":30000}
{"bench":"vdir-sync","n":1000,"run":2,"step":"first","status":"ok","wall_s":0.20,"rss_kb":31000}
{"bench":"vdir-sync","n":1000,"run":1,"step":"nochange","status":"ok","wall_s":0.02,"rss_kb":20000}
{"bench":"vdir-sync","n":10000,"run":1,"step":"first","status":"ok","wall_s":2.5,"rss_kb":80000}
{"bench":"vdir-sync","n":10000,"run":2,"step":"first","status":"ok","wall_s":2.0,"rss_kb":79000}
{"bench":"vdir-sync","n":10000,"run":1,"step":"nochange","status":"ok","wall_s":0.2,"rss_kb":40000}
`,
		"servers.jsonl": `{"bench":"carddav-servers","n":1000,"server":"cardbridge","tool":"vdirsyncer","step":"upload","status":"ok","wall_s":2.0}
{"bench":"carddav-servers","n":1000,"server":"cardbridge","tool":"vdirsyncer","step":"nochange","status":"ok","wall_s":0.4}
{"bench":"carddav-servers","n":1000,"server":"cardbridge","tool":"vdirsyncer","step":"changed","status":"ok","wall_s":0.6}
{"bench":"carddav-servers","n":1000,"server":"cardbridge","tool":"vdirsyncer","step":"download","status":"ok","wall_s":1.2,"files":1000}
{"bench":"carddav-servers","n":1000,"server":"radicale","tool":"vdirsyncer","step":"upload","status":"timeout","wall_s":600,"uploaded":400}
{"bench":"carddav-servers","n":1000,"server":"radicale","tool":"vdirsyncer","step":"nochange","status":"skipped","wall_s":0}
{"bench":"carddav-servers","n":1000,"server":"xandikos","tool":"vdirsyncer","step":"upload","status":"ok","wall_s":47}
{"bench":"carddav-servers","n":1000,"server":"xandikos","tool":"vdirsyncer","step":"download","status":"ok","wall_s":3.0,"files":1000}
`,
		"engine.jsonl": `{"bench":"carddav-client","n":1000,"server":"radicale","tool":"vdirsyncer","status":"ok","upload_s":41.79,"nochange_s":1.88,"changed_s":1.56,"download_s":2.43}
{"bench":"carddav-client","n":1000,"server":"radicale","tool":"cardbridge","status":"ok","upload_s":38.86,"nochange_s":0.37,"changed_s":0.39,"download_s":0.80}
`,
		"micro.jsonl": `{"pkg":"github.com/cardbridge/cardbridge/sync","name":"Plan10k","procs":2,"iterations":200,"metrics":{"ns/op":5700000,"B/op":6100000,"allocs/op":20000},"units":["ns/op","B/op","allocs/op"]}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := gobench(strings.NewReader(benchOutput), &out); err != nil {
		t.Fatal(err)
	}
	// The same converted output stands in for o365 and the server benchmarks.
	for _, name := range []string{"o365.jsonl", "server-go.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, name), out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRender(t *testing.T) {
	res, err := Load(writeFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	docPath := filepath.Join(t.TempDir(), "docs", "benchmarks.md")
	out, err := Render(res, docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(out)
	line := func(prefix string) string {
		for _, l := range strings.Split(doc, "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Errorf("no line starting %q in:\n%s", prefix, doc)
		return ""
	}
	// A section-1 step built from another commit is named.
	if !strings.Contains(doc, "| cardbridge in section 1 | engine-1000-radicale: commit def5678") {
		t.Error("document lacks the engine step's build commit")
	}
	// Versions of every peer and the machine.
	for _, want := range []string{"vdirsyncer, version 0.19.0", "Radicale 3.1.8", "Xandikos 0.2.8", "Test CPU, 2 cores", "commit abc1234", "Python 3.11.7"} {
		if !strings.Contains(doc, want) {
			t.Errorf("document lacks %q", want)
		}
	}
	// Servers at 1,000: Radicale timed out, so its row says so and the
	// rest is skipped; the better peer is Xandikos (47 s vs cardbridge's 2 s:
	// 23.5×, met); download 3.0/1.2 = 2.5×, not met.
	if l := line("| Radicale 3.1.8 | > 600 s (timed out; 400 of 1,000 cards uploaded by then) |"); l != "" && (!strings.Contains(l, "upload did not finish") || !strings.HasSuffix(l, "| 1.50 s (over the first 400) |")) {
		t.Errorf("Radicale row: %s", l)
	}
	// Each row: the line starting with prefix holds every contains and
	// ends with suffix.
	for _, r := range []struct {
		what, prefix string
		contains     []string
		suffix       string
	}{
		{"upload target", "| issue 4 | initial upload, 1,000 contacts", []string{"23.5×"}, "**met** |"},
		{"download target", "| issue 4 | initial download, 1,000 contacts", []string{"2.5×"}, "**not met** |"},
		// Server-side benchmarks: 0.52 ms ≤ 20 ms; 400 vs 210 µs is growth.
		{"sync-collection target", "| issue 4 | sync-collection REPORT", []string{"520 µs"}, "**met** |"},
		{"per-PUT target", "| issue 4 | per-PUT cost", []string{"1.90×"}, "**not met** |"},
		// Engine: the failed and not-run steps are named, the measured server
		// gets ratios: 1.88/0.37 = 5.1×, 1.56/0.39 = 4.0×.
		{"failed engine step", "| cardbridge serve | vdirsyncer |", []string{"failed (exit 1"}, ""},
		{"not-run engine step", "| Xandikos 0.2.8 | cardbridge |", []string{"no time left before the deadline"}, ""},
		{"engine target", "| issue 5 | Radicale 3.1.8, 1,000 contacts: no-change", []string{"5.1× and 4.0×"}, "**met** |"},
		// O365: two export runs, median 12.8 s, 1.28× the 10 s floor: not met.
		{"export target", "| issue 14 | export of 2,000: time", []string{"12.80 s", "1.28×"}, "**not met** |"},
		// Export against its own T_min (one run reports it: 1.08×, met).
		{"export T_min target", "| issue 14 | export of 2,000: time against T_min", []string{"1.08×", "T_min 11.80 s"}, "**met** |"},
		// 1% failing: a run with the retries due costs 107 requests, one without 1.
		{"failing row", "| re-run of 10,000 with 100 failing every run", []string{"| 107 | 103 | 0 |"}, ""},
		{"failing row, no retry due", "| re-run of 10,000 with 100 failing, no retry due", []string{"| 1 | 0 | 0 |"}, ""},
		{"export row", "| first export of 2,000", []string{"12.80 s (12.80 s – 13.00 s)", "0 (0 – 3)"}, ""},
		// Scaling at 10,000: median of 2.0 and 2.5 is 2.0 s (met), no-change
		// 200 ms (not met); growth 1,000 → 10,000 of 0.2 → 2.0 s is linear.
		{"scaling row for 10,000", "| 10,000 (2 runs) | 2.00 s (2.00 s – 2.50 s) | 200 µs |", nil, ""},
		{"first sync target", "| issue 2 | first sync of 10,000: wall time", nil, "**met** |"},
		{"no-change target", "| issue 2 | no-change re-run with 10,000", nil, "**not met** |"},
		{"growth target", "| issue 7 | first sync: growth of wall time", []string{"n^1.00"}, "**met** |"},
	} {
		l := line(r.prefix)
		ok := strings.HasSuffix(l, r.suffix)
		for _, c := range r.contains {
			ok = ok && strings.Contains(l, c)
		}
		if !ok {
			t.Errorf("%s: %s", r.what, l)
		}
	}
	// Load: the placeholder says why and how to run it.
	if !strings.Contains(doc, "bench/load does not exist") || !strings.Contains(doc, "go run ./bench/load -clients 50 -duration 60s") {
		t.Error("load placeholder missing")
	}
	// The fixture's load stayed between 0.5 and 1.9 on 2 cores: not busy.
	if strings.Contains(doc, "busy machine") {
		t.Error("a quiet run reported as busy")
	}
	// Load averages are printed per section.
	if !strings.Contains(doc, "0.50 / 0.60 / 0.70 at the start of this section") {
		t.Error("section load average missing")
	}
	// The plots exist, are PNGs and are linked.
	for _, p := range []string{"scaling-time.png", "scaling-rss.png", "servers-1000.png", "engine-1000.png"} {
		f, err := os.Open(filepath.Join(filepath.Dir(docPath), "bench", p))
		if err != nil {
			t.Errorf("plot %s: %v", p, err)
			continue
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 300 {
			t.Errorf("plot %s: not a readable PNG: %v", p, err)
		}
		if !strings.Contains(doc, "(bench/"+p+")") {
			t.Errorf("plot %s not linked", p)
		}
	}
}

func TestLoadRejectsBrokenResults(t *testing.T) {
	dir := writeFixture(t)
	if err := os.WriteFile(filepath.Join(dir, "scaling.jsonl"), []byte("{\"n\": 1000, \"wall_s\": \"fast\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "scaling.jsonl line 1") {
		t.Errorf("want an error naming the file and line, got %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "env.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "env.json") {
		t.Errorf("want an error naming env.json, got %v", err)
	}
}

func TestLoadSectionFlattensJSON(t *testing.T) {
	dir := writeFixture(t)
	body := "{\n  \"clients\": 50,\n  \"errors\": 0,\n  \"lost_updates\": 0,\n  \"latency_ms\": {\"p50\": 3.5, \"p99\": 41.25}\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "load.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(res, filepath.Join(t.TempDir(), "b.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| `latency_ms.p99` | 41.25 |", "| `clients` | 50 |", "| `lost_updates` | 0 |"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("load table lacks %q", want)
		}
	}
	if strings.Contains(string(out), "Not measured in this run") {
		t.Error("placeholder printed although load results exist")
	}
}
