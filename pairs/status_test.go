package pairs

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
)

// TestStatus: a pair's status counts its contacts and open conflicts,
// gives its last run and its failed items (times in UTC), and is empty
// but for the sides before any run.
func TestStatus(t *testing.T) {
	ctx := t.Context()
	f, r, a, b, _ := conflictFixture(t)
	p, _ := f.cfg.Pair("p")
	st, err := r.Status(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pair != "p" || st.A != "vdir "+a.Path || st.B != "vdir "+b.Path || st.Items != 1 || st.Conflicts != 1 || st.LastRun == nil || !st.LastOK || len(st.Summary) == 0 || len(st.Failed) != 0 {
		t.Fatalf("status %+v", st)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	if err := f.db.Update(ctx, func(tx *state.Tx) error {
		return tx.RecordFailure("p", state.Failure{Side: "b", SideID: "u1.vcf", UID: "u1", Reason: "disk full"}, at)
	}); err != nil {
		t.Fatal(err)
	}
	if st, err = r.Status(ctx, p); err != nil || len(st.Failed) != 1 {
		t.Fatalf("status %+v, %v: want one failed item", st, err)
	}
	if fi := st.Failed[0]; fi.Side != "b" || fi.ID != "u1.vcf" || fi.UID != "u1" || fi.Reason != "disk full" || fi.Attempts != 1 ||
		!fi.FirstFailed.Equal(at) || fi.FirstFailed.Location() != time.UTC || fi.NextRetry.Location() != time.UTC {
		t.Errorf("failed item %+v", fi)
	}
	f.pair("new", f.vdirSide("x"), config.Side{Type: config.SideO365, Account: "work"}, "merge")
	q, _ := f.cfg.Pair("new")
	st, err = r.Status(ctx, q)
	if err != nil || st.A != "vdir "+q.A.Path || st.B != "o365" || st.Items != 0 || st.LastRun != nil || st.Failed == nil {
		t.Fatalf("a pair never run: %+v, %v", st, err)
	}
	// The JSON contract: the failed items are a list even when empty, no
	// last run when there was none.
	line, _ := json.Marshal(st)
	if want := `{"pair":"new","a":"vdir ` + q.A.Path + `","b":"o365","items":0,"open_conflicts":0,"last_run_ok":false,"failed_items":[]}`; string(line) != want {
		t.Errorf("JSON %s, want %s", line, want)
	}
}

// TestSelect: no name is every pair (an error when there is none), and
// each name must be a pair.
func TestSelect(t *testing.T) {
	cfg := &config.Config{File: "/etc/cb.yaml", Pairs: map[string]config.Pair{"b": {Name: "b"}, "a": {Name: "a"}}}
	cases := []struct {
		cfg   *config.Config
		names []string
		want  string // the names, or the error
	}{
		{cfg, nil, "a,b"},
		{cfg, []string{"b"}, "b"},
		{cfg, []string{"a", "zz"}, `no pair "zz" in the configuration (pairs: a, b)`},
		{&config.Config{File: "/etc/cb.yaml"}, nil, "no pairs configured in /etc/cb.yaml: see `cardbridge demo`"},
	}
	for _, tc := range cases {
		got, err := Select(tc.cfg, tc.names)
		if err != nil {
			if !errors.Is(err, ErrNoPair) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Select(%v): %v, want %q and ErrNoPair", tc.names, err, tc.want)
			}
			continue
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("Select(%v) = %v, want %s", tc.names, got, tc.want)
		}
	}
}

// TestWithWebPairs: the web page's pairs are added from the state file;
// without a state file the configuration is returned as it is.
func TestWithWebPairs(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	f.cfg.Server.Connect = config.Connect{ClientID: simClient, Tenant: "contoso.example", Cloud: "global",
		LoginURL: "http://127.0.0.1:1", GraphURL: "http://127.0.0.1:1/v1.0"}
	name, err := f.db.CreateWebPair(ctx, state.WebPair{Name: "web-carol:work", User: "carol", Account: "web-carol", Addressbook: "work"}, "Work")
	if err != nil {
		t.Fatal(err)
	}
	got := WithWebPairs(ctx, f.cfg, nil)
	if p, ok := got.Pair(name); !ok || p.A.Account != "web-carol" {
		t.Errorf("web pair %s: %+v (found %v)", name, p, ok)
	}
	if _, ok := f.cfg.Pair(name); ok {
		t.Error("WithWebPairs changed its argument")
	}
	none := *f.cfg
	none.State = filepath.Join(t.TempDir(), "missing.db")
	if got := WithWebPairs(ctx, &none, nil); got != &none {
		t.Error("without a state file the configuration is not returned as it is")
	}
	if _, err := os.Stat(none.State); err == nil {
		t.Error("WithWebPairs created the state file")
	}
}

// TestDryRunWritesState: only a pair with an o365 side, and only once the
// state file exists, makes a dry run open the state writable.
func TestDryRunWritesState(t *testing.T) {
	dir := t.TempDir()
	vd := config.Side{Type: config.SideVdir, Path: dir}
	cfg := &config.Config{State: filepath.Join(dir, "state.db"), Pairs: map[string]config.Pair{
		"files": {Name: "files", A: vd, B: vd},
		"o365":  {Name: "o365", A: vd, B: config.Side{Type: config.SideO365, Account: "work"}},
	}}
	check := func(when string, names []string, want bool) {
		t.Helper()
		if got := DryRunWritesState(cfg, names); got != want {
			t.Errorf("%s, pairs %v: %v, want %v", when, names, got, want)
		}
	}
	check("no state file", []string{"o365"}, false)
	if err := os.WriteFile(cfg.State, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	check("state file", []string{"files"}, false)
	check("state file", []string{"files", "o365"}, true)
	check("state file", []string{"O365"}, true)
	check("state file", nil, false)
}
