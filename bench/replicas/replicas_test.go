package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestReplicasShort is the CI version of the multi-replica test: 3
// replicas over one fresh PostgreSQL database, 10 clients for 15 s, one
// replica killed with SIGKILL halfway and restarted. Each check is its
// own subtest, so that one can be run alone:
//
//	go test ./bench/replicas -run 'TestReplicasShort/schedule-once-per-period'
//
// (the schedule check needs the pair leases of issue 17; the run happens
// whichever subtests are selected). It also checks that the run did what
// it checks: writes acknowledged, 412s, a kill and a restart, phone edits.
func TestReplicasShort(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the multi-replica run takes a minute")
	}
	stateURL := pgtest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cfg := defaultConfig()
	cfg.Clients, cfg.Duration, cfg.StateURL = 10, 15*time.Second, stateURL
	cfg.Binary = os.Getenv("CARDBRIDGE_BIN")
	var log bytes.Buffer
	rep, err := Run(ctx, cfg, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	t.Log("\n" + text.String())
	t.Run("exercised", func(t *testing.T) {
		for what, n := range map[string]int{"acknowledged write": rep.AckedWrites, "412": rep.Conflicts412, "phone edit": rep.PhoneEdits} {
			if n == 0 {
				t.Errorf("no %s happened: the run did not exercise it", what)
			}
		}
		if rep.KilledReplica < 0 || rep.RecoverS <= 0 {
			t.Errorf("no replica was killed and restarted (%d, %.2f s)", rep.KilledReplica, rep.RecoverS)
		}
		for _, f := range rep.PerReplica {
			if f.Requests == 0 {
				t.Errorf("replica %d answered no request", f.Replica)
			}
		}
	})
	for _, c := range rep.Checks {
		t.Run(c.Name, func(t *testing.T) {
			if !c.OK {
				t.Errorf("%d violations:\n%s", len(c.Violations), strings.Join(c.Violations, "\n"))
			}
		})
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"per_replica"`, `"acked_writes"`, `"recover_s"`, `"checks"`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
}

// base is the history of a good run: card a.vcf seeded at e0, written by
// client 1 (e1) then client 2 (e2); b.vcf created (b1) and deleted; the
// phone's edit of p; two client streams; the sched pair run once a minute.
func base() *History {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	return &History{
		Writes: []Write{
			{Client: 1, Href: "a.vcf", Op: "put", IfMatch: "e0", ETag: "e1", Marker: "c1-1", Acked: true},
			{Client: 2, Href: "a.vcf", Op: "put", IfMatch: "e1", ETag: "e2", Marker: "c2-1", Acked: true},
			{Client: 3, Href: "a.vcf", Op: "put", IfMatch: "e1", Marker: "c3-1"}, // in doubt
			{Client: 1, Href: "b.vcf", Op: "create", ETag: "b1", Marker: "created-b", Acked: true},
			{Client: 1, Href: "b.vcf", Op: "delete", IfMatch: "b1", Acked: true},
		},
		Book:  []Card{{Href: "a.vcf", UID: "a", ETag: "e2", Marker: "c2-1"}, {Href: "p.vcf", UID: "p", ETag: "p2", Marker: "phone-2"}},
		Dir:   map[string]string{"a": "c2-1", "p": "phone-2"},
		Phone: map[string]string{"p": "phone-2"},
		Streams: []Stream{
			{Client: 1, Syncs: 3, Deltas: []Delta{{Href: "a.vcf", ETag: "e0"}, {Href: "p.vcf", ETag: "p1"}, {Href: "b.vcf", ETag: "b1"},
				{Href: "a.vcf", ETag: "e2"}, {Href: "b.vcf", Deleted: true}, {Href: "p.vcf", ETag: "p2"}}},
			{Client: 2, Syncs: 2, Deltas: []Delta{{Href: "a.vcf", ETag: "e2"}, {Href: "p.vcf", ETag: "p2"}}},
		},
		Runs: []RunRecord{
			{Pair: "sched", Started: t0.Add(time.Second), Finished: t0.Add(2 * time.Second), OK: true},
			{Pair: "sched", Started: t0.Add(61 * time.Second), Finished: t0.Add(62 * time.Second), OK: true},
			{Pair: "book", Started: t0.Add(3 * time.Second), Finished: t0.Add(4 * time.Second), OK: true},
			{Pair: "book", Started: t0.Add(5 * time.Second), Finished: t0.Add(6 * time.Second), OK: true},
		},
		Scheduled:   map[string]time.Duration{"sched": time.Minute},
		WindowStart: t0, WindowEnd: t0.Add(90 * time.Second), Grace: 40 * time.Second,
	}
}

// TestCheckFindsEachViolation feeds the checker the good history, then
// each broken one, and wants exactly the check named to fail.
func TestCheckFindsEachViolation(t *testing.T) {
	if v := Check(base()); v.Count() != 0 {
		t.Fatalf("the good history has violations: %v", v)
	}
	for _, tc := range []struct {
		name  string
		check string
		want  string
		edit  func(h *History)
	}{
		{"lost write: the card holds an older version", checkLostWrites, `client 2's acknowledged put "c2-1" (ETag e2) was lost`, func(h *History) {
			h.Book[0] = Card{Href: "a.vcf", UID: "a", ETag: "e1", Marker: "c1-1"}
			h.Dir["a"] = "c1-1"
			h.Streams[0].Deltas[3].ETag, h.Streams[1].Deltas[0].ETag = "e1", "e1"
		}},
		{"lost write: two acknowledged against one ETag", checkLostWrites, "were both acknowledged against e1", func(h *History) {
			h.Writes[2].Acked, h.Writes[2].ETag = true, "e3"
			h.Writes = append(h.Writes, Write{Client: 1, Href: "a.vcf", Op: "put", IfMatch: "e3", Marker: "c1-2"})
		}},
		{"lost write: a created card is gone", checkLostWrites, `client 1's acknowledged create "created-b" (ETag b1) was lost: the card is gone`, func(h *History) {
			h.Writes = h.Writes[:4]
		}},
		{"lost write: a deleted card is back", checkLostWrites, "acknowledged DELETE (against b1) but the card is there", func(h *History) {
			h.Writes[3].ETag = "b0"
			h.Book = append(h.Book, Card{Href: "b.vcf", UID: "b", ETag: "b1", Marker: "created-b"})
			h.Dir["b"] = "created-b"
			h.Streams[0].Deltas = append(h.Streams[0].Deltas[:4:4], h.Streams[0].Deltas[5])
			h.Streams[1].Deltas = append(h.Streams[1].Deltas, Delta{Href: "b.vcf", ETag: "b1"})
		}},
		{"lost write: the phone's edit did not reach the book", checkLostWrites, `the phone's edit "phone-3" of p`, func(h *History) {
			h.Phone["p"] = "phone-3"
		}},
		{"duplicate UID in the book", checkDuplicateUID, "UID a at 2 hrefs: a.vcf, a2.vcf", func(h *History) {
			h.Book = append(h.Book, Card{Href: "a2.vcf", UID: "a", ETag: "x", Marker: "c2-1"})
			for i := range h.Streams {
				h.Streams[i].Deltas = append(h.Streams[i].Deltas, Delta{Href: "a2.vcf", ETag: "x"})
			}
		}},
		{"duplicate UID in another book", checkDuplicateUID, "/addressbooks/sched/contacts/: UID s at 2 hrefs", func(h *History) {
			h.OtherBooks = map[string][]Card{"/addressbooks/sched/contacts/": {{Href: "s1.vcf", UID: "s"}, {Href: "s2.vcf", UID: "s"}}}
		}},
		{"duplicate UID in the directory", checkDuplicateUID, "the directory: UID a in two files", func(h *History) {
			h.DirDupUIDs = []string{"a"}
		}},
		{"stream gap: a change never delivered", checkStreams, "client 2: its deltas replayed differ from the final listing: p.vcf missing", func(h *History) {
			h.Streams[1].Deltas = h.Streams[1].Deltas[:1]
		}},
		{"stream gap: a deletion never delivered", checkStreams, "client 1: its deltas replayed differ from the final listing: b.vcf is gone from the book", func(h *History) {
			h.Streams[0].Deltas = append(h.Streams[0].Deltas[:4], h.Streams[0].Deltas[5])
		}},
		{"stream: stale ETag", checkStreams, "a.vcf at e0, the book has e2", func(h *History) {
			h.Streams[1].Deltas[0].ETag = "e0"
		}},
		{"stream: a token refused", checkStreams, "client 2: 1 sync tokens refused", func(h *History) {
			h.Streams[1].Resets = 1
		}},
		{"stream: no last sync", checkStreams, "client 2: 1 sync-collection answers", func(h *History) {
			h.Streams[1].Syncs = 1
		}},
		{"not converged", checkConverged, `a: book "c2-1", directory "c1-1"`, func(h *History) {
			h.Dir["a"] = "c1-1"
		}},
		{"a 5xx", checkStatuses, "status 500", func(h *History) {
			h.StatusProblems = []string{"replica 1: 1 put answers with status 500"}
		}},
		{"overlapping runs", checkPairOverlap, "pair book: a run started at 12:00:05.000 while the one of 12:00:03.000 ran until 12:00:05.500", func(h *History) {
			h.Runs[2].Finished = h.Runs[2].Started.Add(2500 * time.Millisecond)
		}},
		{"two scheduled runs in one period", checkSchedule, "two runs in one period", func(h *History) {
			h.Runs = append(h.Runs, RunRecord{Pair: "sched", Started: h.WindowStart.Add(3 * time.Second), Finished: h.WindowStart.Add(4 * time.Second)})
		}},
		{"a period without a run", checkSchedule, "no run for 2m0s", func(h *History) {
			h.Runs[1].Started, h.Runs[1].Finished = h.Runs[0].Started.Add(2*time.Minute), h.Runs[0].Started.Add(2*time.Minute+time.Second)
			h.WindowEnd = h.Runs[1].Started.Add(time.Second)
		}},
		{"no run at the end", checkSchedule, "no run in the last", func(h *History) {
			h.WindowEnd = h.Runs[1].Started.Add(2 * time.Minute)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := base()
			tc.edit(h)
			v := Check(h)
			got := strings.Join(v[tc.check], "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("check %s says %q, want %q (all: %v)", tc.check, got, tc.want, v)
			}
			for name, l := range v {
				if name != tc.check {
					t.Errorf("check %s failed too: %v", name, l)
				}
			}
			rep := &Report{}
			rep.judge(v)
			if rep.OK || rep.Violations == 0 {
				t.Errorf("the report is OK with violations %v", v)
			}
		})
	}
}

// TestConfigRefusesBadInput: the flags' values are checked, each error
// naming the flag.
func TestConfigRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Replicas = 0 }, "-replicas 0"},
		{func(c *Config) { c.Clients = 0 }, "-clients 0"},
		{func(c *Config) { c.Duration = 0 }, "-duration 0s"},
		{func(c *Config) { c.Shared = 0 }, "-shared 0"},
		{func(c *Config) { c.Every = 30 * time.Second }, "-every 30s: the configuration takes at least 1m"},
	} {
		c := defaultConfig()
		tc.edit(&c)
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("validate: %v, want %q", err, tc.want)
		}
	}
	if _, _, err := createDatabase(context.Background(), "", false); err == nil || !strings.Contains(err.Error(), "no PostgreSQL") {
		t.Errorf("createDatabase without a URL: %v", err)
	}
	if _, _, err := createDatabase(context.Background(), "mysql://x", false); err == nil || !strings.Contains(err.Error(), "not a postgres:// URL") {
		t.Errorf("createDatabase of mysql://: %v", err)
	}
}
