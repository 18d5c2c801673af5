// Command report turns the raw results of one bench/run into
// docs/benchmarks.md and its plots.
//
//	go run ./bench/report -results bench/results/2026-11-29-full -doc docs/benchmarks.md
//	go run ./bench/report gobench < go-test-bench-output.txt > results.jsonl
//
// The document comes from template.md (kept next to this file): the prose
// explains each section, and the tables, verdicts against the issues'
// targets and plots are computed from the results, never typed in.
package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

//go:embed template.md
var templateText string

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "gobench" {
		return gobench(stdin, stdout)
	}
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	results := fs.String("results", "", "folder of raw results written by bench/run (required)")
	doc := fs.String("doc", "docs/benchmarks.md", "document to write; plots go to a bench/ folder next to it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *results == "" {
		return errors.New("-results is required: the folder bench/run wrote (bench/results/DATE)")
	}
	r, err := Load(*results)
	if err != nil {
		return err
	}
	out, err := Render(r, *doc)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*doc, out, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *doc, err)
	}
	return nil
}

// gobench converts `go test -bench` output to one JSON object per result.
func gobench(in io.Reader, out io.Writer) error {
	bs, err := ParseGoBench(in)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	for _, b := range bs {
		if err := enc.Encode(b); err != nil {
			return fmt.Errorf("write benchmark results: %w", err)
		}
	}
	return nil
}

// buildsNote names the commits section 1's steps built cardbridge from
// when any differs from the run's: "" when all are the run's own.
func buildsNote(r *Results) string {
	differs := false
	steps := make([]string, 0, len(r.Builds))
	for step, c := range r.Builds {
		steps = append(steps, step)
		differs = differs || c != r.Env.Commit
	}
	if !differs {
		return ""
	}
	sort.Strings(steps)
	parts := make([]string, len(steps))
	for i, step := range steps {
		parts[i] = step + ": commit " + r.Builds[step]
	}
	return strings.Join(parts, "; ") + " (each engine step builds the tree as it is when it starts)"
}

// runLine says what kind of run it was, its deadline and its resumptions.
func runLine(e Env) string {
	s := e.Mode
	if e.Deadline != "" {
		s += ", with a deadline of " + e.Deadline + " UTC"
	}
	for _, t := range e.Resumed {
		s += "; stopped and resumed with `bench/run --resume` (finished steps kept, the binary rebuilt from the tree of that moment) at " + t
	}
	return s
}

// Render builds the document for results r that will be written at
// docPath, and writes its plots next to it.
func Render(r *Results, docPath string) ([]byte, error) {
	dir := filepath.Dir(docPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	d := Doc{
		Env:        r.Env,
		End:        r.End,
		ResultsDir: r.Dir,
		Engine:     r.EngineSection(),
		Servers:    r.ServersSection(),
		O365:       r.O365Section(),
		Scaling:    r.ScalingSection(),
		LoadTest:   r.LoadSection(),
		HasLoad:    r.HasLoad,
		Micro:      r.MicroSection(),
		Steps:      r.StepsTable(),
	}
	if wd, err := os.Getwd(); err == nil {
		if abs, err := filepath.Abs(r.Dir); err == nil {
			if rel, err := filepath.Rel(wd, abs); err == nil && filepath.IsLocal(rel) {
				d.ResultsDir = rel
			}
		}
	}
	d.Machine = Table{Head: []string{"", ""}, Rows: [][]string{
		{"date (UTC)", r.Env.Date},
		{"run", runLine(r.Env)},
		{"CPU", fmt.Sprintf("%s, %d cores", r.Env.CPU, r.Env.Cores)},
		{"RAM", fmt.Sprintf("%.1f GiB", r.Env.RAMGiB)},
		{"kernel", r.Env.Kernel},
		{"Go", r.Env.Go},
		{"cardbridge", "commit " + r.Env.Commit},
	}}
	if b := buildsNote(r); b != "" {
		d.Machine.Rows = append(d.Machine.Rows, []string{"cardbridge in section 1", b})
	}
	for _, p := range []string{"vdirsyncer", "radicale", "xandikos", "python3"} {
		if v, ok := r.Env.Peers[p]; ok {
			d.Machine.Rows = append(d.Machine.Rows, []string{p, v})
		}
	}
	if len(r.Env.Load) > 0 {
		end := "—"
		if len(r.End.Load) > 0 {
			end = fmtLoad(r.End.Load)
		}
		d.Machine.Rows = append(d.Machine.Rows, []string{"load average (1/5/15 min)", fmt.Sprintf("%s at the start, %s at the end (%s)", fmtLoad(r.Env.Load), end, r.End.Ended)})
	}
	d.Busy = r.busyNote()
	var all []Target
	for _, s := range []Section{d.Engine, d.Servers, d.O365, d.Scaling, d.LoadTest} {
		all = append(all, s.Targets...)
	}
	d.Summary = targetTable(all)
	if err := r.writePlots(dir, &d); err != nil {
		return nil, err
	}
	t, err := template.New("benchmarks").Parse(templateText)
	if err != nil {
		return nil, fmt.Errorf("render: parse template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return b.Bytes(), nil
}
