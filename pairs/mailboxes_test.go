package pairs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

func TestDecideMailboxes(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	keep := 720 * time.Hour
	person := func(id string, mod func(*state.DirectoryUser)) state.DirectoryUser {
		p := state.DirectoryUser{ObjectID: id, UPN: id + "@contoso.example", Mail: id + "@contoso.example", Enabled: true, UserType: "Member"}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	active := func(id string) state.Mailbox {
		return state.Mailbox{ObjectID: id, Pair: "org-" + id, User: id, UPN: id + "@contoso.example", State: state.MailboxActive}
	}
	paused := func(id string, ago time.Duration) state.Mailbox {
		m := active(id)
		m.State, m.LeftAt = state.MailboxPaused, now.Add(-ago)
		return m
	}
	tests := []struct {
		name    string
		have    []state.Mailbox
		people  []state.DirectoryUser
		members map[string]bool
		want    []string // "action id"
	}{
		{"join", nil, []state.DirectoryUser{person("a", nil)}, nil, []string{"add a"}},
		{"already there", []state.Mailbox{active("a")}, []state.DirectoryUser{person("a", nil)}, nil, nil},
		{"no mailbox (no mail)", nil, []state.DirectoryUser{person("a", func(p *state.DirectoryUser) { p.Mail = "" })}, nil, nil},
		{"guest", nil, []state.DirectoryUser{person("a", func(p *state.DirectoryUser) { p.UserType = "Guest" })}, nil, nil},
		{"leave", []state.Mailbox{active("a")}, nil, nil, []string{"pause a"}},
		{"disable", []state.Mailbox{active("a")}, []state.DirectoryUser{person("a", func(p *state.DirectoryUser) { p.Enabled = false })}, nil, []string{"pause a"}},
		{"group out", []state.Mailbox{active("a"), active("b")}, []state.DirectoryUser{person("a", nil), person("b", nil)}, map[string]bool{"b": true}, []string{"pause a"}},
		{"group in only", nil, []state.DirectoryUser{person("a", nil), person("b", nil)}, map[string]bool{"b": true}, []string{"add b"}},
		{"return within keep", []state.Mailbox{paused("a", keep-time.Hour)}, []state.DirectoryUser{person("a", nil)}, nil, []string{"resume a"}},
		{"away within keep", []state.Mailbox{paused("a", keep-time.Hour)}, nil, nil, nil},
		{"keep expired", []state.Mailbox{paused("a", keep)}, nil, nil, []string{"remove a"}},
		{"return after keep, not yet removed", []state.Mailbox{paused("a", keep+time.Hour)}, []state.DirectoryUser{person("a", nil)}, nil, []string{"resume a"}},
		{"person listed twice", nil, []state.DirectoryUser{person("a", nil), person("A", nil)}, nil, []string{"add a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range DecideMailboxes(now, keep, tt.have, tt.people, tt.members) {
				got = append(got, string(d.Action)+" "+d.ObjectID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("decisions %v, want %v", got, tt.want)
			}
		})
	}
}

// tenantFixture is a graphsim tenant and a Runner whose account "org" has
// mailboxes: all.
type tenantFixture struct {
	t      *testing.T
	sim    *graphsim.Server
	db     *state.DB
	cfg    *config.Config
	r      *Runner
	tokens atomic.Int64 // token requests
	tenant string

	mu       sync.Mutex
	inflight map[string]int // requests in flight by mailbox (/users/{id}/...)
	maxBoxes int            // most mailboxes with requests in flight at once
}

func newTenantFixture(t *testing.T, group string, latency time.Duration) *tenantFixture {
	return newTenantFixtureOn(t, group, latency, false)
}

// newTenantFixtureOn is newTenantFixture with the state on PostgreSQL when pg.
func newTenantFixtureOn(t *testing.T, group string, latency time.Duration, pg bool) *tenantFixture {
	t.Helper()
	f := &tenantFixture{t: t, inflight: map[string]int{}}
	f.sim = graphsim.New(graphsim.Options{Latency: latency})
	f.tenant = f.sim.Tenants()[0]
	f.sim.AddApp(graphsim.App{ClientID: simClient, Secret: simSecret, Roles: []string{"Contacts.ReadWrite", "User.Read.All", "GroupMember.Read.All"}})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			f.tokens.Add(1)
		}
		if segs := strings.Split(r.URL.Path, "/"); len(segs) > 4 && segs[2] == "users" && segs[4] != "" {
			f.mu.Lock()
			f.inflight[segs[3]]++
			f.maxBoxes = max(f.maxBoxes, len(f.inflight))
			f.mu.Unlock()
			defer func() {
				f.mu.Lock()
				if f.inflight[segs[3]]--; f.inflight[segs[3]] == 0 {
					delete(f.inflight, segs[3])
				}
				f.mu.Unlock()
			}()
		}
		f.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Setenv("SIM_SECRET", simSecret)
	loc := filepath.Join(t.TempDir(), "state.db")
	if pg {
		loc = pgtest.Database(t)
	}
	f.db = openDB(t, loc)
	mb := &config.Mailboxes{Group: group, Keep: time.Hour, Concurrency: 2, Every: time.Hour}
	f.cfg = &config.Config{State: f.db.Path(),
		Accounts: map[string]config.Account{"org": {Name: "org", Tenant: f.tenant, ClientID: simClient, Flow: "client-secret",
			ClientSecretEnv: "SIM_SECRET", LoginURL: ts.URL, GraphURL: ts.URL + "/v1.0", Mailboxes: mb}},
		Pairs: map[string]config.Pair{}}
	r, err := New(Options{DB: f.db, Config: f.cfg})
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	return f
}

// person adds a user with a mailbox of n contacts.
func (f *tenantFixture) person(upn string, n int, mod func(*graphsim.User)) *graphsim.Mailbox {
	u := graphsim.User{UPN: upn, DisplayName: upn, Password: "pw"}
	if mod != nil {
		mod(&u)
	}
	m := f.sim.AddUser(u)
	if n > 0 {
		m.Seed(m.DefaultFolderID(), n, int64(len(upn)))
	}
	return m
}

// round provisions and runs every active mailbox pair, returning the round
// and each run's error by pair.
func (f *tenantFixture) round(ctx context.Context) (MailboxRound, map[string]error) {
	f.t.Helper()
	round, err := f.r.ProvisionMailboxes(ctx, "org", nil)
	if err != nil {
		f.t.Fatal(err)
	}
	cfg, _, err := f.r.Pairs(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	errs := map[string]error{}
	for _, n := range cfg.PairNames() {
		_, err := f.r.Run(ctx, n, RunOptions{})
		errs[n] = err
	}
	return round, errs
}

func (f *tenantFixture) cards(ctx context.Context, user string) int {
	f.t.Helper()
	b, err := f.db.AddressBook(ctx, user, MailboxBook)
	if err != nil {
		f.t.Fatalf("book of %s: %v", user, err)
	}
	cs, err := f.db.CardRefs(ctx, b.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(cs)
}

// TestProvisionMailboxes: every person with a mailbox gets a user, a book
// with their contacts and a pair; a namesake of an existing local user
// gets another name; one without an Exchange licence fails alone; one app
// token serves all; a person who joins gets a pair in the next round; one
// who is removed is paused with book and Office 365 contacts kept, comes
// back to the same pair, and after mailbox_keep loses pair and user.
func TestProvisionMailboxes(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) { testProvisionMailboxes(t, pg) })
	}
}

func testProvisionMailboxes(t *testing.T, pg bool) {
	ctx := t.Context()
	f := newTenantFixtureOn(t, "", 0, pg)
	if err := f.db.AddUser(ctx, "bob", "$2a$x"); err != nil { // a local bob, another person
		t.Fatal(err)
	}
	alice := f.person("alice@contoso.example", 5, nil)
	f.person("bob@contoso.example", 3, nil)
	f.person("nolicence@contoso.example", 0, func(u *graphsim.User) { u.NoMailbox = true; u.Mail = "nolicence@contoso.example" })
	f.person("guest@contoso.example", 2, func(u *graphsim.User) { u.Guest = true })

	round, errs := f.round(ctx)
	slices.Sort(round.Added)
	if want := []string{"org-alice", "org-bob-2", "org-nolicence"}; !slices.Equal(round.Added, want) {
		t.Fatalf("added %v, want %v", round.Added, want)
	}
	if errs["org-alice"] != nil || errs["org-bob-2"] != nil {
		t.Fatalf("runs: %v", errs)
	}
	if errs["org-nolicence"] == nil || !strings.Contains(errs["org-nolicence"].Error(), "MailboxNotEnabledForRESTAPI") {
		t.Fatalf("run of the unlicensed mailbox: %v, want MailboxNotEnabledForRESTAPI", errs["org-nolicence"])
	}
	if n := f.cards(ctx, "alice"); n != 5 {
		t.Errorf("alice's book has %d cards, want 5", n)
	}
	if n := f.cards(ctx, "bob-2"); n != 3 {
		t.Errorf("bob-2's book has %d cards, want 3 (local bob is another person)", n)
	}
	if n := f.cards(ctx, "bob"); n != 0 {
		t.Errorf("the local bob's book got %d cards", n)
	}
	if n := f.tokens.Load(); n != 1 {
		t.Errorf("%d token requests, want 1 for all the mailboxes", n)
	}
	if ups, err := f.r.UserPairs(ctx, "alice"); err != nil || len(ups) != 1 || ups[0].Name != "org-alice" || !ups[0].Mailbox {
		t.Errorf("alice's pairs %+v %v, want her mailbox's", ups, err)
	}
	// `accounts` lists the configured account, not one per mailbox.
	infos, err := f.r.Accounts(ctx)
	if err != nil || len(infos) != 1 || infos[0].Account.Name != "org" {
		t.Errorf("accounts %+v %v, want org alone", infos, err)
	}
	ms, _ := f.db.Mailboxes(ctx, "org")
	for _, m := range ms {
		switch m.Pair {
		case "org-alice":
			if m.LastRun.IsZero() || m.BChanges != 5 || m.LastError != "" {
				t.Errorf("alice's mailbox %+v, want a run with 5 changes to the book", m)
			}
		case "org-nolicence":
			if !strings.Contains(m.LastError, "MailboxNotEnabledForRESTAPI") {
				t.Errorf("unlicensed mailbox's error %q", m.LastError)
			}
		}
	}

	// A person joins: their pair and book come in the next round.
	f.person("carol@contoso.example", 2, nil)
	round, errs = f.round(ctx)
	if !slices.Equal(round.Added, []string{"org-carol"}) || errs["org-carol"] != nil || f.cards(ctx, "carol") != 2 {
		t.Fatalf("after carol joined: added %v, run %v", round.Added, errs["org-carol"])
	}

	// Alice leaves: paused, nothing deleted (book, Office 365 contacts).
	if err := f.sim.RemoveUser("alice@contoso.example", false); err != nil {
		t.Fatal(err)
	}
	round, errs = f.round(ctx)
	if !slices.Equal(round.Paused, []string{"org-alice"}) {
		t.Fatalf("paused %v, want org-alice", round.Paused)
	}
	if _, ran := errs["org-alice"]; ran {
		t.Error("a paused pair ran")
	}
	if n := f.cards(ctx, "alice"); n != 5 {
		t.Errorf("alice's book has %d cards after she left, want 5", n)
	}
	if n := alice.Count(alice.DefaultFolderID()); n != 5 {
		t.Errorf("alice's mailbox has %d contacts, want 5", n)
	}

	// Carol is disabled, then enabled again within mailbox_keep: the same
	// pair resumes, nothing is written again.
	if err := f.sim.DisableUser("carol@contoso.example"); err != nil {
		t.Fatal(err)
	}
	if round, _ = f.round(ctx); !slices.Equal(round.Paused, []string{"org-carol"}) {
		t.Fatalf("paused %v, want org-carol", round.Paused)
	}
	if err := f.sim.UpdateUser("carol@contoso.example", func(u *graphsim.User) { u.Disabled = false }); err != nil {
		t.Fatal(err)
	}
	round, errs = f.round(ctx)
	if !slices.Equal(round.Resumed, []string{"org-carol"}) || len(round.Added) != 0 || errs["org-carol"] != nil {
		t.Fatalf("after carol came back: resumed %v, added %v, run %v", round.Resumed, round.Added, errs["org-carol"])
	}
	if m, _ := f.db.MailboxOfPair(ctx, "org-carol"); m.AChanges != 0 || m.BChanges != 0 || m.User != "carol" {
		t.Errorf("carol's resumed mailbox %+v, want no changes", m)
	}

	// Alice stays away past mailbox_keep: her pair and user go, Office 365 is untouched.
	f.r.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if round, _ = f.round(ctx); !slices.Equal(round.Removed, []string{"org-alice"}) {
		t.Fatalf("removed %v, want org-alice", round.Removed)
	}
	if _, err := f.db.UserPasswordHash(ctx, "alice"); err == nil {
		t.Error("alice's user survived mailbox_keep")
	}
	if _, err := f.db.MicrosoftUser(ctx, f.tenant, alice.User().ID); err == nil {
		t.Error("alice's identity survived mailbox_keep")
	}
	if cfg, _, _ := f.r.Pairs(ctx); cfg.Pairs["org-alice"].Name != "" {
		t.Error("alice's pair survived mailbox_keep")
	}
	if n := alice.Count(alice.DefaultFolderID()); n != 5 {
		t.Errorf("alice's mailbox has %d contacts after her removal, want 5", n)
	}
}

// TestProvisionMailboxesGroup: with mailboxes: {group}, only the group's
// members get pairs (read from /groups/{id}/members); leaving the group
// pauses the pair.
func TestProvisionMailboxesGroup(t *testing.T) {
	ctx := t.Context()
	const group = "0f3c1111-2222-4333-8444-555555555555"
	f := newTenantFixture(t, group, 0)
	f.person("alice@contoso.example", 1, nil)
	f.person("bob@contoso.example", 1, nil)
	if err := f.sim.AddGroup(graphsim.Group{ID: group, DisplayName: "Sales", Members: []string{"bob@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	round, errs := f.round(ctx)
	if !slices.Equal(round.Added, []string{"org-bob"}) || errs["org-bob"] != nil {
		t.Fatalf("added %v (runs %v), want org-bob only", round.Added, errs)
	}
	if err := f.sim.RemoveGroupMember(group, "bob@contoso.example"); err != nil {
		t.Fatal(err)
	}
	if round, _ = f.round(ctx); !slices.Equal(round.Paused, []string{"org-bob"}) {
		t.Fatalf("paused %v, want org-bob", round.Paused)
	}
}

// TestMailboxConcurrency: mailbox pairs started all at once run at most
// mailbox_concurrency (2) at a time, and share one app-only token.
func TestMailboxConcurrency(t *testing.T) {
	ctx := t.Context()
	f := newTenantFixture(t, "", 5*time.Millisecond)
	for i := range 6 {
		f.person(fmt.Sprintf("p%d@contoso.example", i), 3, nil)
	}
	if _, err := f.r.ProvisionMailboxes(ctx, "org", nil); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := f.r.Pairs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(cfg.Pairs))
	for _, n := range cfg.PairNames() {
		wg.Go(func() {
			if _, err := f.r.Run(ctx, n, RunOptions{}); err != nil {
				errs <- fmt.Errorf("%s: %w", n, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(cfg.Pairs) != 6 {
		t.Fatalf("%d pairs, want 6", len(cfg.Pairs))
	}
	if f.maxBoxes > 2 || f.maxBoxes == 0 {
		t.Errorf("%d mailboxes had requests in flight at once, want at most mailbox_concurrency 2", f.maxBoxes)
	}
	if n := f.tokens.Load(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// TestMailboxAccessPolicy: an Exchange application access policy limiting
// the app to a group makes the other mailboxes fail, each recorded on its
// own, while the allowed one syncs; a round while another replica holds
// the provisioning lease is skipped.
func TestMailboxAccessPolicy(t *testing.T) {
	ctx := t.Context()
	const allowed = "0f3c1111-2222-4333-8444-555555555555"
	f := newTenantFixture(t, "", 0)
	f.sim.AddApp(graphsim.App{ClientID: simClient, Secret: simSecret, AccessPolicyGroup: allowed})
	f.person("alice@contoso.example", 2, nil)
	f.person("bob@contoso.example", 2, nil)
	if err := f.sim.AddGroup(graphsim.Group{ID: allowed, DisplayName: "Allowed", Members: []string{"alice@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	_, errs := f.round(ctx)
	if errs["org-alice"] != nil || f.cards(ctx, "alice") != 2 {
		t.Fatalf("alice (allowed): %v, %d cards", errs["org-alice"], f.cards(ctx, "alice"))
	}
	if errs["org-bob"] == nil || !strings.Contains(errs["org-bob"].Error(), "ErrorAccessDenied") {
		t.Fatalf("bob (outside the policy): %v, want ErrorAccessDenied", errs["org-bob"])
	}
	m, _ := f.db.MailboxOfPair(ctx, "org-bob")
	if !strings.Contains(m.LastError, "ErrorAccessDenied") {
		t.Errorf("bob's recorded error %q", m.LastError)
	}
	if m, _ := f.db.MailboxOfPair(ctx, "org-alice"); m.LastError != "" {
		t.Errorf("alice's recorded error %q", m.LastError)
	}

	lease, err := f.db.AcquireLease(ctx, mailboxLeaseKey("org"), state.LeaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other := openDB(t, f.db.Path()) // another process's view of the state
	r2, err := New(Options{DB: other, Config: f.cfg})
	if err != nil {
		t.Fatal(err)
	}
	if round, err := r2.ProvisionMailboxes(ctx, "org", nil); err != nil || !round.Skipped {
		t.Errorf("round while another holds the lease: %+v %v, want skipped", round, err)
	}
	lease.Release()

	// The directory refresh alone, under the tenant's lease.
	f.person("carol@contoso.example", 0, nil)
	res, skipped, err := r2.RefreshDirectory(ctx, "org", nil)
	if err != nil || skipped || res.Full || res.Changes != 1 {
		t.Errorf("refresh after carol joined: %+v skipped %v, %v; want one change of a delta round", res, skipped, err)
	}
	dl, err := f.db.AcquireLease(ctx, directoryLeaseKey(f.tenant), state.LeaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, skipped, err := r2.RefreshDirectory(ctx, "org", nil); err != nil || !skipped {
		t.Errorf("refresh while another holds the tenant's lease: skipped %v, %v", skipped, err)
	}
	dl.Release()
}

// TestMailboxSlotHandedOn: a mailbox's run slot is for its traffic with
// Office 365. Once its plan writes nothing there, the run hands the slot
// to the next mailbox while it writes the book (a mailbox_concurrency of
// 1 lets another take it during the apply); a plan that writes to Office
// 365 keeps it to the end.
func TestMailboxSlotHandedOn(t *testing.T) {
	ctx := t.Context()
	f := newTenantFixture(t, "", 0)
	acc := f.cfg.Accounts["org"]
	acc.Mailboxes.Concurrency = 1
	f.person("alice@contoso.example", 3, nil)
	if _, err := f.r.ProvisionMailboxes(ctx, "org", nil); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := f.r.Pairs(ctx)
	if err != nil || len(cfg.Pairs) != 1 {
		t.Fatalf("pairs %v: %v", cfg.PairNames(), err)
	}
	name := cfg.PairNames()[0]
	// slotFree reports whether another run could take the slot now.
	slotFree := func(wait time.Duration) bool {
		c, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		free, err := f.r.mailboxSlot(c, acc)
		if err != nil {
			return false
		}
		free()
		return true
	}
	run := func(wait time.Duration) (applied int, freeDuring bool) {
		freeDuring = true
		res, err := f.r.Run(ctx, name, RunOptions{Progress: func(done, total int) {
			applied++
			freeDuring = freeDuring && slotFree(wait)
		}})
		if err != nil || !res.OK() {
			t.Fatalf("run: %v %+v", err, res)
		}
		return applied, freeDuring
	}
	// The first sync writes the book only: the slot is free while it does.
	if applied, free := run(5 * time.Second); applied != 3 || !free {
		t.Fatalf("first sync: %d applied, slot free during the apply: %v; want 3 and true", applied, free)
	}
	// A card made in the book goes to Office 365: the slot stays taken.
	b, err := f.db.AddressBook(ctx, "alice", MailboxBook)
	if err != nil {
		t.Fatal(err)
	}
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:slot-test\r\nFN:Slot Test\r\nN:Test;Slot;;;\r\nEND:VCARD\r\n"
	if _, _, err := f.db.PutCard(ctx, b.ID, "slot-test.vcf", "slot-test", []byte(card), state.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if applied, free := run(50 * time.Millisecond); applied != 1 || free {
		t.Fatalf("a card to Office 365: %d applied, slot free during the apply: %v; want 1 and false", applied, free)
	}
	if !slotFree(5 * time.Second) {
		t.Fatal("the slot is not given back after the run")
	}
}
