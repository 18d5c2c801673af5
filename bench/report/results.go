package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Env is the machine and the peers' versions, as bench/run recorded them in
// env.json.
type Env struct {
	Date     string            `json:"date"`
	Mode     string            `json:"mode"`
	CPU      string            `json:"cpu"`
	Cores    int               `json:"cores"`
	RAMGiB   float64           `json:"ram_gib"`
	Kernel   string            `json:"kernel"`
	Go       string            `json:"go"`
	Commit   string            `json:"commit"`
	Peers    map[string]string `json:"peers"`
	Deadline string            `json:"deadline"`
	Resumed  []string          `json:"resumed"` // when bench/run --resume continued the run
	Load     []float64         `json:"load_start"`
	Sizes    struct {
		Scaling   string `json:"scaling"` // "size:runs ..."
		DAV       string `json:"dav"`
		O365Count int    `json:"o365_count"`
	} `json:"sizes"`
}

// End is what bench/run recorded when the last step had finished.
type End struct {
	Load  []float64 `json:"load_end"`
	Ended string    `json:"ended"`
}

// Step is one step of bench/run: a command with its own timeout.
type Step struct {
	Section   string    `json:"section"`
	Step      string    `json:"step"`
	Status    string    `json:"status"` // ok, failed, timeout, not-run
	Reason    string    `json:"reason"`
	Exit      int       `json:"exit"`
	TimeoutS  int       `json:"timeout_s"`
	WallS     float64   `json:"wall_s"`
	LoadStart []float64 `json:"load_start"`
	LoadEnd   []float64 `json:"load_end"`
}

// VdirRun is one measured sync of bench/vdir-sync.sh --json.
type VdirRun struct {
	N        int     `json:"n"`
	Run      int     `json:"run"`
	Step     string  `json:"step"` // first, nochange, changed, same
	Status   string  `json:"status"`
	WallS    float64 `json:"wall_s"`
	RSSKB    float64 `json:"rss_kb"`
	TimeoutS int     `json:"timeout_s"`
}

// DAVStep is one vdirsyncer run of bench/carddav-servers.sh --json.
type DAVStep struct {
	N      int     `json:"n"`
	Server string  `json:"server"`
	Step   string  `json:"step"` // upload, nochange, changed, download
	Status string  `json:"status"`
	WallS  float64 `json:"wall_s"`
	Files  *int    `json:"files"`
	// Uploaded is how many cards the book held when an upload timed out.
	Uploaded *int `json:"uploaded"`
}

// EngineRow is one row of bench/carddav-client.sh: one tool doing the four
// jobs against one server.
type EngineRow struct {
	N         int     `json:"n"`
	Server    string  `json:"server"`
	Tool      string  `json:"tool"`
	UploadS   float64 `json:"upload_s"`
	NochangeS float64 `json:"nochange_s"`
	ChangedS  float64 `json:"changed_s"`
	DownloadS float64 `json:"download_s"`
}

// GoBench is one result line of `go test -bench`.
type GoBench struct {
	Pkg        string             `json:"pkg"`
	Name       string             `json:"name"`
	Procs      int                `json:"procs"`
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
	Units      []string           `json:"units"` // the metrics in the order printed
}

// Results is everything one bench/run wrote.
type Results struct {
	Dir     string
	Env     Env
	End     End
	Steps   []Step
	Vdir    []VdirRun
	DAV     []DAVStep
	Engine  []EngineRow
	Micro   []GoBench
	O365    []GoBench
	Server  []GoBench
	Load    []map[string]any
	HasLoad bool
	// Builds maps a section-1 step (engine-N-SERVER) to the commit its
	// script built cardbridge from, when the script printed it: the engine
	// steps build the tree as it is when they start.
	Builds map[string]string
}

// Load reads a results folder written by bench/run. Missing files are
// allowed (a section not run); a file that is there but unreadable or holds
// a line that is not JSON is an error naming the file and line.
func Load(dir string) (*Results, error) {
	r := &Results{Dir: dir}
	if err := readJSON(filepath.Join(dir, "env.json"), &r.Env); err != nil {
		return nil, fmt.Errorf("load results: %w", err)
	}
	if err := readJSON(filepath.Join(dir, "end.json"), &r.End); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load results: %w", err)
	}
	files := []struct {
		name string
		add  func(dec func(any) error) error
	}{
		{"steps.jsonl", into(&r.Steps)},
		{"scaling.jsonl", into(&r.Vdir)},
		{"servers.jsonl", into(&r.DAV)},
		{"engine.jsonl", into(&r.Engine)},
		{"micro.jsonl", into(&r.Micro)},
		{"o365.jsonl", into(&r.O365)},
		{"server-go.jsonl", into(&r.Server)},
	}
	for _, f := range files {
		if err := readLines(filepath.Join(dir, f.name), f.add); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("load results: %w", err)
		}
	}
	if err := r.readLoad(filepath.Join(dir, "load.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load results: %w", err)
	}
	if err := r.readBuilds(dir); err != nil {
		return nil, fmt.Errorf("load results: %w", err)
	}
	return r, nil
}

// buildLine is how bench/carddav-client.sh names the commit it built.
const buildLine = "# cardbridge built from commit "

// readBuilds reads the commit each engine-*.txt was built from.
func (r *Results) readBuilds(dir string) error {
	paths, err := filepath.Glob(filepath.Join(dir, "engine-*.txt"))
	if err != nil {
		return err
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if c, ok := strings.CutPrefix(strings.TrimSpace(l), buildLine); ok && c != "" {
				if r.Builds == nil {
					r.Builds = map[string]string{}
				}
				r.Builds[strings.TrimSuffix(filepath.Base(p), ".txt")] = c
			}
		}
	}
	return nil
}

// readLoad reads bench/load's output: JSON objects, one after another,
// however they are indented.
func (r *Results) readLoad(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for {
		var v map[string]any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: not bench/load's JSON: %w", path, err)
		}
		r.Load = append(r.Load, v)
		r.HasLoad = true
	}
}

// into returns a reader of one JSON line that appends it to dst.
func into[T any](dst *[]T) func(dec func(any) error) error {
	return func(dec func(any) error) error {
		var v T
		if err := dec(&v); err != nil {
			return err
		}
		*dst = append(*dst, v)
		return nil
	}
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: not the JSON bench/run writes: %w", path, err)
	}
	return nil
}

// readLines calls add for every non-blank line of a JSON-lines file. Lines
// that do not start with '{' are skipped (a tool's stray output), so a step
// that printed a warning on stdout does not lose the rest.
func readLines(path string, add func(dec func(any) error) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		if err := add(func(v any) error { return json.Unmarshal([]byte(line), v) }); err != nil {
			return fmt.Errorf("read %s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// ParseGoBench reads `go test -bench` output and returns its result lines,
// each with the package named by the last "pkg:" line before it.
func ParseGoBench(r io.Reader) ([]GoBench, error) {
	var out []GoBench
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark's own log line, or a name without results
		}
		iters, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		b := GoBench{Pkg: pkg, Name: strings.TrimPrefix(f[0], "Benchmark"), Iterations: iters, Metrics: map[string]float64{}}
		if i := strings.LastIndexByte(b.Name, '-'); i > 0 {
			if p, err := strconv.Atoi(b.Name[i+1:]); err == nil {
				b.Name, b.Procs = b.Name[:i], p
			}
		}
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			b.Metrics[f[i+1]] = v
			b.Units = append(b.Units, f[i+1])
		}
		if ok {
			out = append(out, b)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse benchmark output: %w", err)
	}
	return out, nil
}

// Summary is the median and range of several values.
type Summary struct {
	N             int
	Med, Min, Max float64
}

// Summarize returns the median (the lower middle for an even count), the
// minimum and the maximum of vs; N is 0 when vs is empty.
func Summarize(vs []float64) Summary {
	if len(vs) == 0 {
		return Summary{}
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	return Summary{N: len(s), Med: s[(len(s)-1)/2], Min: s[0], Max: s[len(s)-1]}
}

// benchMetric gathers one metric of every result line named name (several
// with -count) in pkg (empty: any package).
func benchMetric(bs []GoBench, pkg, name, unit string) Summary {
	var vs []float64
	for _, b := range bs {
		if b.Name == name && (pkg == "" || strings.HasSuffix(b.Pkg, pkg)) {
			if v, ok := b.Metrics[unit]; ok {
				vs = append(vs, v)
			}
		}
	}
	return Summarize(vs)
}
