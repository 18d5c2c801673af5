package serve

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
)

// TestMailboxJob: serve's mailbox job with the real scheduler and a
// graphsim tenant: after one tick every mailbox has a book with its
// contacts; a person who joins has a pair and a book after the next tick;
// one removed is paused (unscheduled) with their book and Office 365
// contacts kept; one without an Exchange licence fails alone; all share
// one app-only token.
func TestMailboxJob(t *testing.T) {
	ctx := t.Context()
	var tokens atomic.Int64
	org := newOrgTenant(t, nil, func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			tokens.Add(1)
		}
	})
	sim := org.sim
	people := map[string]*graphsim.Mailbox{}
	add := func(name string, n int, noMailbox bool) {
		upn := name + "@contoso.example"
		u := graphsim.User{UPN: upn, DisplayName: name, Password: "pw", NoMailbox: noMailbox}
		if noMailbox {
			u.Mail = upn
		}
		m := sim.AddUser(u)
		if n > 0 {
			m.Seed(m.DefaultFolderID(), n, int64(len(name)))
		}
		people[name] = m
	}
	add("alice", 4, false)
	add("bob", 3, false)
	add("dave", 2, false)
	add("nolicence", 0, true)

	db, runner := org.runner(t, func(a *config.Account) {
		a.Mailboxes = &config.Mailboxes{Keep: time.Hour, Concurrency: 2, Every: time.Hour}
	})
	sched := daemon.NewScheduler(daemon.SchedulerOptions{Run: func(ctx context.Context, pair string) error {
		return runPair(ctx, runner, slog.New(slog.DiscardHandler), pair, nil)
	}})
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sched.Run(sctx) }()
	t.Cleanup(func() { stop(); <-done })

	job := newMailboxJob("org", runner, sched, nil, slog.New(slog.DiscardHandler))
	waitRuns := func(want map[string]bool) map[string]daemon.PairStatus {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := map[string]daemon.PairStatus{}
			ok := true
			for _, st := range sched.Status() {
				got[st.Pair] = st
			}
			for p, run := range want {
				if _, known := got[p]; !known || (run && (got[p].Runs == 0 || got[p].Running)) {
					ok = false
				}
			}
			if ok {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("scheduler %v, want runs of %v", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	cards := func(user string) int {
		t.Helper()
		b, err := db.AddressBook(ctx, user, pairs.MailboxBook)
		if err != nil {
			t.Fatalf("book of %s: %v", user, err)
		}
		cs, _ := db.CardRefs(ctx, b.ID)
		return len(cs)
	}

	job.tick(ctx)
	st := waitRuns(map[string]bool{"org-alice": true, "org-bob": true, "org-dave": true, "org-nolicence": true})
	for user, n := range map[string]int{"alice": 4, "bob": 3, "dave": 2} {
		if got := cards(user); got != n {
			t.Errorf("%s's book has %d cards, want %d", user, got, n)
		}
		if !st["org-"+user].OK {
			t.Errorf("%s's run failed: %s", user, st["org-"+user].Error)
		}
	}
	if s := st["org-nolicence"]; s.OK || !strings.Contains(s.Error, "MailboxNotEnabledForRESTAPI") {
		t.Errorf("unlicensed mailbox: %+v, want it failed with MailboxNotEnabledForRESTAPI", s)
	}
	if n := tokens.Load(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}

	// Erin joins; Bob is removed from the tenant.
	add("erin", 2, false)
	if err := sim.RemoveUser("bob@contoso.example", false); err != nil {
		t.Fatal(err)
	}
	job.tick(ctx)
	st = waitRuns(map[string]bool{"org-erin": true})
	if cards("erin") != 2 {
		t.Errorf("erin's book has %d cards, want 2", cards("erin"))
	}
	if _, still := st["org-bob"]; still {
		t.Error("bob's paused pair is still scheduled")
	}
	if cards("bob") != 3 || people["bob"].Count(people["bob"].DefaultFolderID()) != 3 {
		t.Error("bob's book or Office 365 contacts changed after he left")
	}
	ms, _ := db.Mailboxes(ctx, "org")
	var paused []string
	for _, m := range ms {
		if m.State == state.MailboxPaused {
			paused = append(paused, m.Pair)
		}
	}
	if !slices.Equal(paused, []string{"org-bob"}) {
		t.Errorf("paused %v, want org-bob", paused)
	}
}
