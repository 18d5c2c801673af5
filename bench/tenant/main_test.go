package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A small run: 4 mailboxes × 10 contacts in a 10-person directory. The
// first sync fills every book with 3 requests per mailbox (its
// contacts delta, the listing, one $batch of photos) plus the directory's
// two (users delta, one $batch of the 10 people's photos: not one request
// each), its floor is its requests over the 4 × mailbox_concurrency slots,
// and a round with nothing changed costs one request per mailbox (its
// contacts delta) plus the directory's one.
func TestTenantBenchSmall(t *testing.T) {
	p := params{Mailboxes: 4, Contacts: 10, Directory: 10, Latency: time.Millisecond, Concurrency: 2, Dir: t.TempDir(),
		Transient412: -1} // no transient 412s: exact request counts
	// graphsim in this process: the test binary is not the command
	// (TestTenantBenchSimProcess builds it and runs it with -sim-process).
	res, err := run(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rounds) != 3 || res.Cards != 40 {
		t.Fatalf("rounds %+v, %d cards, want 3 rounds and 40 cards", res.Rounds, res.Cards)
	}
	for _, r := range res.Rounds {
		if r.Failed != 0 {
			t.Errorf("%s: %d mailboxes failed", r.Name, r.Failed)
		}
	}
	first := res.Rounds[0]
	if first.PerMbox > 3.5 { // 6 when each person's photo took a request
		t.Errorf("first sync: %.2f requests per mailbox, want at most 3.5", first.PerMbox)
	}
	// Each mailbox's $batch of 10 photos is 10 slot uses, as is the
	// directory's of 10 photos: the slot uses exceed the requests by 9 each.
	if first.SlotUses < first.Requests+9*int64(p.Mailboxes+1) {
		t.Errorf("first sync: %d slot uses for %d requests, want at least %d (each of the %d photo batches is 10 slot uses)",
			first.SlotUses, first.Requests, first.Requests+9*int64(p.Mailboxes+1), p.Mailboxes+1)
	}
	slots := int64(4 * p.Concurrency)
	if want := time.Duration((first.SlotUses+slots-1)/slots) * p.Latency; first.FloorWall != want || want == 0 {
		t.Errorf("first sync's floor %s for %d slot uses over %d slots of %s, want %s", first.FloorWall, first.SlotUses, slots, p.Latency, want)
	}
	if nc := res.Rounds[2]; nc.PerMbox != 1.25 || nc.Tokens != 0 {
		t.Errorf("no-change round: %.2f requests per mailbox, %d token requests; want 1.25 (a delta each plus the directory's) and none", nc.PerMbox, nc.Tokens)
	}
	var out bytes.Buffer
	report(&out, p, res)
	for _, want := range []string{"| first sync |", "| no change |", "peak RSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestTenantBenchSimProcess builds the command and runs it as users do,
// graphsim in a process of its own: the report gives cardbridge's peak
// RSS and graphsim's apart, and the child process is gone afterwards.
func TestTenantBenchSimProcess(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "tenant")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, "-mailboxes", "3", "-contacts", "5", "-directory", "6", "-latency", "1ms",
		"-concurrency", "2", "-transient412", "-1").CombinedOutput()
	if err != nil {
		t.Fatalf("tenant: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`cards in the books: 15; peak RSS of cardbridge \(graphsim in a process of its own\): ([0-9.]+) MB; graphsim's: ([0-9.]+) MB`)
	m := re.FindStringSubmatch(string(out))
	if m == nil || m[1] == "0.0" || m[2] == "0.0" {
		t.Fatalf("report lacks both peak RSS figures:\n%s", out)
	}
	if !strings.Contains(string(out), "| no change | ") {
		t.Fatalf("report lacks the rounds:\n%s", out)
	}
}
