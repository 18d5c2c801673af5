package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A small run: 4 mailboxes × 10 contacts in a 10-person directory. The
// first sync fills every book, and a round with nothing changed costs
// one request per mailbox (its contacts delta) plus the directory's one.
func TestTenantBenchSmall(t *testing.T) {
	p := params{Mailboxes: 4, Contacts: 10, Directory: 10, Latency: time.Millisecond, Concurrency: 2, Dir: t.TempDir()}
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
