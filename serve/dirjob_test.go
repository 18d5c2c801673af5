package serve

import (
	"bytes"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/directory"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
)

// TestDirectoryJob: serve's jobs refresh the directory of an account with
// only directory set (no mailboxes) every mailbox_every: a person added in
// graphsim is in the Directory book served to a user of the tenant after
// the next tick, and nothing is scheduled.
func TestDirectoryJob(t *testing.T) {
	ctx := t.Context()
	org := newOrgTenant(t, nil, nil)
	sim := org.sim
	sim.AddUser(graphsim.User{UPN: "alice@contoso.example", DisplayName: "Alice", Password: "pw"})
	tenant := sim.Tenants()[0]

	db, runner := org.runner(t, func(a *config.Account) { a.Directory = &config.DirectoryBook{Every: 50 * time.Millisecond} })
	cfg := runner.Config()
	if _, err := db.AddMicrosoftUser(ctx, tenant, "aaaaaaaa-1111-4000-8000-000000000001", "viewer@contoso.example", "viewer"); err != nil {
		t.Fatal(err)
	}
	store := davStore(cfg, db)
	names := func() map[string]bool {
		t.Helper()
		b, err := store.AddressBook(ctx, "viewer", directory.BookName)
		if err != nil {
			t.Fatalf("viewer's Directory book: %v", err)
		}
		got := map[string]bool{}
		if err := store.EachCard(ctx, b.ID, true, func(c state.Card) error {
			got[string(c.Data)] = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	has := func(name string) bool {
		for card := range names() {
			if bytes.Contains([]byte(card), []byte("FN:"+name)) {
				return true
			}
		}
		return false
	}
	wait := func(name string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !has(name) {
			if time.Now().After(deadline) {
				t.Fatalf("%s is not in the Directory book after 10 s (cards %v)", name, names())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	sched := &recordingScheduler{}
	stop, err := startMailboxJobs(ctx, cfg, runner, sched, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	wait("Alice")
	sim.AddUser(graphsim.User{UPN: "erin@contoso.example", DisplayName: "Erin", Password: "pw"})
	wait("Erin")
	stop()
	if got := sched.names(); len(got) != 0 {
		t.Errorf("a directory-only account scheduled %v", got)
	}
}

// TestDirectoryAndMailboxesOneRound: an account with both directory and
// mailboxes gets one job, whose tick reads the users delta once (the
// provisioning's round serves the Directory book too).
func TestDirectoryAndMailboxesOneRound(t *testing.T) {
	ctx := t.Context()
	var deltas atomic.Int64
	org := newOrgTenant(t, nil, func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/users/delta") {
			deltas.Add(1)
		}
	})
	sim := org.sim
	sim.AddUser(graphsim.User{UPN: "alice@contoso.example", DisplayName: "Alice", Password: "pw"})
	db, runner := org.runner(t, func(a *config.Account) {
		a.Mailboxes = &config.Mailboxes{Keep: time.Hour, Concurrency: 1, Every: time.Hour}
		a.Directory = &config.DirectoryBook{Every: time.Hour}
	})
	cfg := runner.Config()
	sched := &recordingScheduler{}
	stop, err := startMailboxJobs(ctx, cfg, runner, sched, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sched.names()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the mailbox job scheduled nothing in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a second job, were there one, would have read by now
	stop()
	if n := deltas.Load(); n != 1 {
		t.Errorf("%d users delta requests in one tick, want 1", n)
	}
	if us, err := db.DirectoryUsers(ctx, sim.Tenants()[0], state.DirectoryOptions{}); err != nil || len(us) != 1 {
		t.Errorf("directory copy %v %v, want Alice", us, err)
	}
}

// recordingScheduler is a pairScheduler that records what it is asked.
type recordingScheduler struct {
	mu             sync.Mutex
	added, removed []string
}

func (s *recordingScheduler) Add(name string, every time.Duration, books []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.added = append(s.added, name)
	return nil
}

func (s *recordingScheduler) Remove(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removed = append(s.removed, name)
	return true
}

func (s *recordingScheduler) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.added)
}
