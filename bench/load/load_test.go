package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/bench/davclient"
)

// TestLoadSmall is the CI version of the load run: 10 clients for 5 s
// against a 500-card book with its pair running, with every check of the
// full run (no 5xx or unexpected status, no lost update, every 412 real,
// the directory and the book converged after a final sync). It asserts no
// latency; it does check that the run really exercised what it checks
// (conflicts, creates, deletes, phone edits), so that it cannot pass by
// doing nothing.
func TestLoadSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cfg := defaultConfig()
	cfg.Clients, cfg.Duration, cfg.Cards = 10, 5*time.Second, 500
	var log bytes.Buffer
	rep, err := Run(ctx, cfg, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var table bytes.Buffer
	rep.WriteText(&table)
	t.Log("\n" + table.String())
	if !rep.OK {
		t.Fatalf("the load run failed its checks:\n%s", strings.Join(rep.Failures, "\n"))
	}
	for what, n := range map[string]int{
		"sync-collection": rep.Kinds[davclient.KindSync].Count, "multiget": rep.Kinds[davclient.KindMultiget].Count,
		"GET": rep.Kinds[davclient.KindGet].Count, "PUT": rep.Kinds[davclient.KindPut].Count,
		"412": rep.Conflicts412, "create": rep.CreatesAcked, "delete": rep.DeletesAcked, "phone edit": rep.PhoneEdits,
	} {
		if n == 0 {
			t.Errorf("no %s happened: the run did not exercise it", what)
		}
	}
	if rep.FinalCards != cfg.Cards+rep.CreatesAcked-rep.DeletesAcked {
		t.Errorf("%d cards at the end, want %d + %d created - %d deleted", rep.FinalCards, cfg.Cards, rep.CreatesAcked, rep.DeletesAcked)
	}
	// The JSON bench/run reads has the figures.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"p99_ms"`, `"throughput_rps"`, `"lost_updates":0`, `"ok":true`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
}

// TestLoadChecksCatchLostUpdates feeds checkUpdates a ledger with the
// lost updates it must find: two PUTs acknowledged against one ETag, an
// owned card that lost its last acknowledged PUT, a phone edit that never
// reached the server, and a shared card left at an older version.
func TestLoadChecksCatchLostUpdates(t *testing.T) {
	c := &client{id: 1, lastAck: map[string]string{"load-00050.vcf": "c1-9"}}
	led := &ledger{shared: map[string][]ack{
		"load-00000.vcf": {{client: 1, ifMatch: `"s0"`, etag: `"e1"`, marker: "c1-1"}, {client: 2, ifMatch: `"s0"`, etag: `"e2"`, marker: "c2-1"}},
		"load-00001.vcf": {{client: 1, ifMatch: `"t0"`, etag: `"f1"`, marker: "c1-2"}, {client: 2, ifMatch: `"f1"`, etag: `"f2"`, marker: "c2-2"}},
	}}
	ph := &davclient.PhoneEditor{Last: map[string]string{"load-00030": "phone-3"}}
	seed := map[string]string{"load-00000.vcf": `"s0"`, "load-00001.vcf": `"t0"`}
	srv := map[string]string{"load-00050": "c1-8", "load-00030": "phone-2", "load-00000": "c2-1", "load-00001": "c1-2"}
	dir := map[string]string{"load-00050": "c1-9", "load-00030": "phone-2", "load-00000": "c2-1", "load-00001": "c1-2"}
	rep := &Report{}
	rep.checkUpdates([]*client{c}, led, ph, seed, srv, dir)
	want := []string{"load-00050.vcf holds \"c1-8\" on the server", "both had a PUT acknowledged against ETag \"s0\"",
		"phone's edit \"phone-3\"", "load-00001.vcf holds \"c1-2\" but the last acknowledged PUT of its chain wrote \"c2-2\""}
	all := strings.Join(rep.Failures, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no failure says %q:\n%s", w, all)
		}
	}
	if rep.LostUpdates != len(want) {
		t.Errorf("%d lost updates counted, want %d:\n%s", rep.LostUpdates, len(want), all)
	}
	// The same ledger with a consistent end state finds nothing.
	led.shared["load-00000.vcf"] = led.shared["load-00000.vcf"][:1]
	srv = map[string]string{"load-00050": "c1-9", "load-00030": "phone-3", "load-00000": "c1-1", "load-00001": "c2-2"}
	dir = map[string]string{"load-00050": "c1-9", "load-00030": "phone-3", "load-00000": "c1-1", "load-00001": "c2-2"}
	rep = &Report{}
	rep.checkUpdates([]*client{c}, led, ph, seed, srv, dir)
	if rep.LostUpdates != 0 || len(rep.Failures) != 0 {
		t.Errorf("a consistent end state reported: %v", rep.Failures)
	}
}
