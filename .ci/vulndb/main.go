// Command vulndb turns the OSV files of the Go vulnerability database, as
// the golang.org/x/vulndb module carries them in data/osv/, into the
// database layout govulncheck reads with -db file:///DIR (the v1 API of
// https://go.dev/security/vuln/database: index/db.json, index/modules.json,
// index/vulns.json and ID/<id>.json), so that .ci/run can check for
// vulnerabilities with nothing but the Go module proxy.
//
//	go run ./.ci/vulndb -osv $(go env GOMODCACHE)/golang.org/x/vulndb@VERSION/data/osv -out DIR -modified 2026-11-05T23:49:57Z
//
// The committed OSV files carry a zero "modified" time (the published
// database sets it from the repository's history); -modified, the
// module version's commit time, stands in for it, so that the database's
// age shows.
//
//	go run ./.ci/vulndb -check FINDINGS.json [-allow GO-2026-1,GO-2026-2]
//
// reads the output of `govulncheck -format json` and exits 1 when a
// vulnerability is reachable from our code (a finding whose trace reaches
// a function), naming each one with a trace; -allow lists reachable
// vulnerabilities that are reported but do not fail (for the standard
// library's, which only a newer Go toolchain fixes).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// osvEntry is the part of an OSV entry the index needs.
type osvEntry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced string `json:"introduced"`
				Fixed      string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type moduleIndex struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vulnIndex struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

func main() {
	osvDir := flag.String("osv", "", "folder of OSV JSON files (data/osv of golang.org/x/vulndb)")
	out := flag.String("out", "", "folder to write the database to (created)")
	modified := flag.String("modified", "", "RFC 3339 time for entries whose modified time is zero")
	check := flag.String("check", "", "a `govulncheck -format json` output to check instead")
	allow := flag.String("allow", "", "with -check: comma-separated vulnerability IDs reported without failing")
	flag.Parse()
	if *check != "" {
		n, err := checkFindings(*check, *allow, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vulndb:", err)
			os.Exit(2)
		}
		if n > 0 {
			fmt.Printf("govulncheck: %d vulnerabilities reachable from our code\n", n)
			os.Exit(1)
		}
		return
	}
	if err := run(*osvDir, *out, *modified); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func run(osvDir, out, modified string) error {
	if osvDir == "" || out == "" {
		return fmt.Errorf("-osv and -out are required")
	}
	var stamp time.Time
	if modified != "" {
		t, err := time.Parse(time.RFC3339, modified)
		if err != nil {
			return fmt.Errorf("-modified %q: %w", modified, err)
		}
		stamp = t.UTC()
	}
	files, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no OSV files in %s", osvDir)
	}
	if err := os.MkdirAll(filepath.Join(out, "ID"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "index"), 0o755); err != nil {
		return err
	}
	modules := map[string][]moduleVuln{}
	var vulns []vulnIndex
	var newest time.Time
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e osvEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if e.ID == "" || e.ID+".json" != filepath.Base(f) {
			return fmt.Errorf("%s: id %q does not match the file name", f, e.ID)
		}
		if e.Modified.IsZero() && !stamp.IsZero() {
			e.Modified = stamp
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			m["modified"] = stamp.Format(time.RFC3339)
			if raw, err = json.Marshal(m); err != nil {
				return err
			}
		}
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return err
		}
		vulns = append(vulns, vulnIndex{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		for _, a := range e.Affected {
			mv := moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: latestFixed(a.Ranges)}
			modules[a.Package.Name] = append(modules[a.Package.Name], mv)
		}
	}
	var mods []moduleIndex
	for p, vs := range modules {
		sort.Slice(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
		mods = append(mods, moduleIndex{Path: p, Vulns: vs})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	sort.Slice(vulns, func(i, j int) bool { return vulns[i].ID < vulns[j].ID })
	for name, v := range map[string]any{
		"db.json":      map[string]time.Time{"modified": newest},
		"modules.json": mods,
		"vulns.json":   vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "index", name), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("vulndb: %d entries, %d modules, newest %s -> %s\n", len(vulns), len(mods), newest.Format(time.DateOnly), out)
	return nil
}

// latestFixed is the highest "fixed" version of the SEMVER ranges ("" when
// none is fixed), the index's hint; govulncheck reads the entry itself for
// the exact ranges.
func latestFixed(ranges []struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced"`
		Fixed      string `json:"fixed"`
	} `json:"events"`
}) string {
	best := ""
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, ev := range r.Events {
			if ev.Fixed != "" && semverLess(best, ev.Fixed) {
				best = ev.Fixed
			}
		}
	}
	return best
}

// semverLess compares two versions without the "v" (the OSV form),
// numerically by major.minor.patch, a pre-release below its release.
func semverLess(a, b string) bool {
	if a == "" {
		return b != ""
	}
	pa, prea, _ := strings.Cut(a, "-")
	pb, preb, _ := strings.Cut(b, "-")
	na, nb := strings.Split(pa, "."), strings.Split(pb, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(na) {
			fmt.Sscan(na[i], &x)
		}
		if i < len(nb) {
			fmt.Sscan(nb[i], &y)
		}
		if x != y {
			return x < y
		}
	}
	switch {
	case prea == "" || preb == "":
		return prea != "" && preb == ""
	}
	return prea < preb
}

// frame and finding are the parts of govulncheck's JSON messages read.
type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
	} `json:"position"`
}

type message struct {
	Finding *struct {
		OSV          string   `json:"osv"`
		FixedVersion string   `json:"fixed_version"`
		Trace        []*frame `json:"trace"`
	} `json:"finding"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
}

// checkFindings reports the vulnerabilities reachable from our code (a
// finding whose first frame is a function) and returns how many are not
// in allow.
func checkFindings(path, allow string, w *os.File) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	allowed := map[string]bool{}
	for _, id := range strings.Split(allow, ",") {
		if id = strings.TrimSpace(id); id != "" {
			allowed[id] = true
		}
	}
	summaries := map[string]string{}
	type reach struct{ module, found, fixed, where string }
	reached := map[string]reach{}
	dec := json.NewDecoder(f)
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			if err.Error() == "EOF" {
				break
			}
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		if m.OSV != nil {
			summaries[m.OSV.ID] = m.OSV.Summary
		}
		if m.Finding == nil || len(m.Finding.Trace) == 0 || m.Finding.Trace[0].Function == "" {
			continue // module or package level: not called
		}
		if _, seen := reached[m.Finding.OSV]; seen {
			continue
		}
		t0, last := m.Finding.Trace[0], m.Finding.Trace[len(m.Finding.Trace)-1]
		where := last.Package + "." + last.Function
		if last.Position != nil {
			where = fmt.Sprintf("%s:%d %s", last.Position.Filename, last.Position.Line, where)
		}
		reached[m.Finding.OSV] = reach{module: t0.Module, found: t0.Version, fixed: m.Finding.FixedVersion, where: where}
	}
	ids := make([]string, 0, len(reached))
	for id := range reached {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	failing := 0
	for _, id := range ids {
		r := reached[id]
		tag := "VULNERABLE"
		if allowed[id] {
			tag = "allowed"
		} else {
			failing++
		}
		fmt.Fprintf(w, "govulncheck: %s %s (%s): %s %s, fixed in %s; reached from %s\n", tag, id, summaries[id], r.module, r.found, r.fixed, r.where)
	}
	for id := range allowed {
		if _, ok := reached[id]; !ok {
			fmt.Fprintf(w, "govulncheck: %s is allowed but no longer found: take it off the list\n", id)
		}
	}
	fmt.Fprintf(w, "govulncheck: %d vulnerabilities reachable, %d of them allowed\n", len(ids), len(ids)-failing)
	return failing, nil
}
