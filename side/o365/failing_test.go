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
	res, err := engine.New(e.db, nil).Run(context.Background(), pair, engine.Options{Now: func() time.Time { return now }})
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
