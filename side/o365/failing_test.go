package o365_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
)

// failingRun is what one run with failing items cost.
type failingRun struct {
	res *engine.Result
	// requests are the Graph requests less the transient 412s retried
	// (graphsim answers 3.5% of plain GETs a 412 the client retries).
	requests, subrequests, throttled, deltaPages int64
}

// runAt syncs once at the clock reading now, tolerating item errors (the
// failing items: anything else fails the test).
func (e *benchEnv) runAt(b testing.TB, label string, now time.Time) failingRun {
	b.Helper()
	pair := e.open(b)
	defer pair.A.(interface{ Close() error }).Close()
	e.sim.ResetStats()
	e.deltaPages.Store(0)
	start := time.Now()
	res, err := engine.New(e.db, nil).Run(context.Background(), pair, engine.Options{Now: func() time.Time { return now }})
	el := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v", label, err)
	}
	for _, err := range res.Errors {
		if !strings.Contains(err.Error(), "NUL byte") {
			b.Fatalf("%s: unexpected error: %v", label, err)
		}
	}
	st := e.sim.Stats()
	r := failingRun{res: res, requests: int64(st.GraphRequests - st.Transient412), subrequests: int64(st.SubRequests),
		throttled: int64(st.Throttled429), deltaPages: e.deltaPages.Load()}
	if bb, ok := b.(*testing.B); ok {
		bb.ReportMetric(float64(el.Milliseconds()), label+"-ms")
		bb.ReportMetric(float64(r.requests), label+"-requests")
		bb.ReportMetric(float64(r.subrequests), label+"-subrequests")
		bb.ReportMetric(float64(r.throttled), label+"-429s")
		bb.ReportMetric(float64(len(res.Errors)), label+"-failed")
	}
	b.Logf("%s: %d requests (+%d transient 412s), %d sub-requests, %d 429s, %d delta pages, %d item errors",
		label, r.requests, st.Transient412, r.subrequests, r.throttled, r.deltaPages, len(res.Errors))
	return r
}

// breakContacts makes n of the mailbox's contacts ones the vdir side
// refuses on every run (a NUL byte, which vCard files cannot hold) and
// returns their ids.
func (e *benchEnv) breakContacts(n int) map[string]bool {
	mb := e.sim.Mailbox(testUser)
	ids := make(map[string]bool, n)
	for _, id := range mb.ContactIDs("")[:n] {
		mb.Put("", []byte(fmt.Sprintf(`{"id":%q,"jobTitle":"bad\u0000title"}`, id)))
		ids[id] = true
	}
	return ids
}

// retryCost is the Graph requests of reading n failed contacts again by
// id: one $batch per 20 plus its sub-requests (graphsim counts both).
func retryCost(n int) int64 {
	if n == 0 {
		return 0
	}
	return int64((n+19)/20 + n)
}

// TestFailingItemsCostOnlyTheirRetries: 1% of a 500-contact mailbox (5
// contacts) fails on every run. The delta token advances past them, so
// each later run costs exactly 1 delta request (1 page) plus the by-id
// retries due by the back-off schedule (state.RetryDelay: the next run
// after the first failure, then 5 min, 10 min, ...), never a full round;
// the 5 stay listed as failed with their reason and attempt count.
// Were the token held back, a run would read all 3 delta pages again
// (and Full rounds cost 3+ requests), which the delta page and request
// counts refuse.
func TestFailingItemsCostOnlyTheirRetries(t *testing.T) {
	// Exact counts: no random transient 412s (each would add a retried
	// request or sub-request); graphsim's other strict defaults hold.
	e := newBenchEnvWith(t, 500, graphsim.Options{Transient412Rate: -1})
	e.noPhotos = true
	bad := e.breakContacts(5)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	imp := e.runAt(t, "import", t0)
	if imp.res.B.Created != 495 || len(imp.res.Errors) != 5 {
		t.Fatalf("import: created %d, %d errors, want 495 and 5", imp.res.B.Created, len(imp.res.Errors))
	}
	// Run times in minutes after the import, and how many of the 5 are
	// due at each by the back-off: attempt 1 at 0 (retry at once), 2 at
	// 1 (retry 5 min later: 6), 3 at 6 (10 min: 16), 4 at 16 (20 min: 36).
	schedule := []struct {
		min      int
		due      int
		attempts int // attempts recorded after the run
	}{{1, 5, 2}, {2, 0, 2}, {5, 0, 2}, {6, 5, 3}, {7, 0, 3}, {15, 0, 3}, {16, 5, 4}, {17, 0, 4}}
	ctx := context.Background()
	for _, s := range schedule {
		now := t0.Add(time.Duration(s.min) * time.Minute)
		before, err := e.db.FailedItems(ctx, "bench")
		if err != nil {
			t.Fatal(err)
		}
		due := 0
		for _, f := range before {
			if !f.NextRetry.After(now) {
				due++
			}
		}
		if due != s.due {
			t.Fatalf("at +%d min: %d retries due by state, want %d by the schedule", s.min, due, s.due)
		}
		r := e.runAt(t, fmt.Sprintf("+%dmin", s.min), now)
		if want := 1 + retryCost(due); r.requests != want {
			t.Errorf("at +%d min: %d Graph requests, want %d (1 delta + retries of %d due)", s.min, r.requests, want, due)
		}
		if r.deltaPages != 1 || r.subrequests != int64(due) {
			t.Errorf("at +%d min: %d delta pages and %d sub-requests, want 1 and %d (token held back?)", s.min, r.deltaPages, r.subrequests, due)
		}
		if len(r.res.Errors) != due || r.res.B.Created+r.res.B.Updated+r.res.A.Updated != 0 {
			t.Errorf("at +%d min: %d item errors, counts %+v %+v, want %d errors and no writes", s.min, len(r.res.Errors), r.res.A, r.res.B, due)
		}
		after, err := e.db.FailedItems(ctx, "bench")
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != 5 {
			t.Fatalf("at +%d min: %d failed items, want 5", s.min, len(after))
		}
		for _, f := range after {
			if f.Side != "a" || !bad[f.SideID] || !strings.Contains(f.Reason, "NUL byte") || f.Attempts != s.attempts {
				t.Errorf("at +%d min: failed item %s/%s, %d attempts, reason %q; want one of the 5 on a, %d attempts, the NUL byte", s.min, f.Side, f.SideID, f.Attempts, f.Reason, s.attempts)
			}
			if want := f.LastFailed.Add(state.RetryDelay(f.Attempts)); !f.NextRetry.Equal(want) {
				t.Errorf("at +%d min: next retry %v, want %v", s.min, f.NextRetry, want)
			}
		}
	}
}

// BenchmarkFailing1pct: 10,000 contacts, 100 of them (1%) failing on every
// run (refused by the vdir side), graphsim's strict defaults and 20 ms
// latency. It reports per run (import, then runs 1, 2, 6 and 7 minutes
// later) the Graph requests (less transient 412s retried), sub-requests,
// 429s and failed items: a run with no retry due costs 1 request, a run
// with the 100 due 1 + 5 batches + 100 sub-requests = 106 (a few more:
// sub-requests answered a transient 412 are sent again in a batch), never
// a full round (the import reads 50 delta pages). Measured: import 70
// requests, the retry runs 107 (103-104 sub-requests), the others 1, 0
// 429s. Run with -benchtime=1x.
func BenchmarkFailing1pct(b *testing.B) {
	for b.Loop() {
		e := newBenchEnv(b, 10_000, benchLatency)
		e.noPhotos = true
		e.breakContacts(100)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if r := e.runAt(b, "import", t0); r.res.B.Created != 9_900 || len(r.res.Errors) != 100 {
			b.Fatalf("import: created %d, %d errors", r.res.B.Created, len(r.res.Errors))
		}
		for _, s := range []struct{ min, due int }{{1, 100}, {2, 0}, {6, 100}, {7, 0}} {
			r := e.runAt(b, fmt.Sprintf("run%dmin", s.min), t0.Add(time.Duration(s.min)*time.Minute))
			if r.deltaPages != 1 || r.subrequests < int64(s.due) || len(r.res.Errors) != s.due {
				b.Fatalf("+%d min: %d delta pages, %d sub-requests, %d errors; want 1, %d, %d", s.min, r.deltaPages, r.subrequests, len(r.res.Errors), s.due, s.due)
			}
			if r.throttled != 0 {
				b.Errorf("+%d min: %d 429s", s.min, r.throttled)
			}
		}
	}
}
