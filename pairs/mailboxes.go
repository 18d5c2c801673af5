package pairs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/directory"
	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/state"
)

// MailboxBook is the address book of the built-in server a provisioned
// mailbox's contacts are kept in.
const MailboxBook = state.DefaultAddressBook

// MailboxGraph is what provisioning reads from Microsoft Graph with the
// account's app-only token: *graph.Client.
type MailboxGraph interface {
	directory.Source
	GroupMemberIDs(ctx context.Context, groupID string) ([]string, error)
}

// mailboxShared is what the mailbox pairs of one Runner share: one token
// source per mailboxes account (one app-only token for all its
// mailboxes) and one run slot pool per account (mailbox_concurrency).
type mailboxShared struct {
	mu      sync.Mutex
	sources map[string]*auth.Source
	slots   map[string]chan struct{}
}

// tokenSource is the account's shared token source (made on first use).
func (r *Runner) tokenSource(acc config.Account) (*auth.Source, error) {
	r.mbx.mu.Lock()
	defer r.mbx.mu.Unlock()
	if s := r.mbx.sources[acc.Name]; s != nil {
		return s, nil
	}
	s, err := auth.NewSource(acc, auth.StateStore{DB: r.o.DB}, r.o.HTTPClient, r.log)
	if err != nil {
		return nil, err
	}
	r.mbx.sources[acc.Name] = s
	return s, nil
}

// mailboxSlot takes one of the account's mailbox_concurrency run slots,
// waiting for one; the function returned gives it back.
func (r *Runner) mailboxSlot(ctx context.Context, acc config.Account) (func(), error) {
	r.mbx.mu.Lock()
	ch := r.mbx.slots[acc.Name]
	if ch == nil {
		ch = make(chan struct{}, max(1, acc.Mailboxes.Concurrency))
		r.mbx.slots[acc.Name] = ch
	}
	r.mbx.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// mailboxAccountOf returns the configured mailboxes account of pair p when
// p is a mailbox pair (its a side's account is named after the pair and
// made from a configured account with mailboxes).
func mailboxAccountOf(cfg *config.Config, p config.Pair) (config.Account, bool) {
	if p.A.Type != config.SideO365 || p.A.Account != p.Name {
		return config.Account{}, false
	}
	acc, ok := cfg.Account(p.A.Account)
	if !ok || acc.Mailboxes == nil {
		return config.Account{}, false
	}
	base, ok := cfg.Account(acc.Name)
	if !ok || base.Mailboxes == nil {
		return config.Account{}, false
	}
	return base, true
}

// MailboxPairConfig is the configuration of a mailbox's pair: the
// mailbox's default contact folder (a, through the account named after
// the pair) with the user's book (b), two-way, merge, 25% max_delete, run
// every mailbox_every.
func MailboxPairConfig(m state.Mailbox, mb config.Mailboxes) config.Pair {
	return config.Pair{
		Name:      m.Pair,
		A:         config.Side{Type: config.SideO365, Account: m.Pair},
		B:         config.Side{Type: config.SideServer, User: m.User, Addressbook: MailboxBook},
		Direction: "two-way",
		Conflict:  "merge",
		MaxDelete: config.DefaultLimit(),
		Every:     mb.Every,
	}
}

// mergeMailboxes adds to c (a copy Merge owns) the pairs of the active
// mailboxes of cfg's mailboxes accounts, each with its account (the
// configured one reading that mailbox, named after the pair). A mailbox
// whose pair or account name is taken by a configured one is skipped.
func mergeMailboxes(ctx context.Context, db *state.DB, cfg, c *config.Config, skipped []string) ([]string, error) {
	any := false
	for _, a := range cfg.Accounts {
		any = any || a.Mailboxes != nil
	}
	if !any {
		return skipped, nil
	}
	ms, err := db.Mailboxes(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("mailboxes: %w", err)
	}
	for _, m := range ms {
		if why := addMailboxPair(cfg, c, m); why != "" {
			skipped = append(skipped, why)
		}
	}
	return skipped, nil
}

// addMailboxPair adds to c (a copy of cfg its caller owns) mailbox m's
// pair and account when m is active and of a configured mailboxes account
// of its tenant. It returns why the pair is left out when its name or its
// account's is taken ("" otherwise, also when m is not for c).
func addMailboxPair(cfg, c *config.Config, m state.Mailbox) string {
	acc, ok := cfg.Account(m.Account)
	if m.State != state.MailboxActive || !ok || acc.Mailboxes == nil || !strings.EqualFold(acc.Tenant, m.TenantID) {
		return ""
	}
	if _, taken := c.Pairs[m.Pair]; taken {
		return fmt.Sprintf("mailbox pair %s: another pair has that name", m.Pair)
	}
	if _, taken := c.Accounts[m.Pair]; taken {
		return fmt.Sprintf("mailbox pair %s: an account is called %s", m.Pair, m.Pair)
	}
	c.Accounts[m.Pair] = acc.MailboxAccount(m.ObjectID)
	c.Pairs[m.Pair] = MailboxPairConfig(m, *acc.Mailboxes)
	return ""
}

// mailboxPairConfig is the configuration a run of mailbox pair name works
// with: the Runner's own with just that pair and its account added, from
// one row of the state (Pairs reads every web pair and every mailbox: each
// of a tenant's thousand mailbox runs would read them all, and hold the
// result while it waits for a run slot). ok is false when name is not an
// active mailbox's pair of a configured mailboxes account, or its name is
// taken. A web pair never has a mailbox pair's name: web pair names hold
// a ':' (web-USER:BOOK), which account and user names cannot.
func (r *Runner) mailboxPairConfig(ctx context.Context, name string) (cfg *config.Config, ok bool, err error) {
	if !r.HasMailboxes() {
		return nil, false, nil
	}
	if _, configured := r.o.Config.Pair(name); configured {
		return nil, false, nil
	}
	m, err := r.o.DB.MailboxOfPair(ctx, strings.ToLower(name))
	if errors.Is(err, state.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	c := *r.o.Config
	c.Pairs = maps.Clone(r.o.Config.Pairs)
	c.Accounts = maps.Clone(r.o.Config.Accounts)
	if c.Pairs == nil {
		c.Pairs = map[string]config.Pair{}
	}
	if c.Accounts == nil {
		c.Accounts = map[string]config.Account{}
	}
	if why := addMailboxPair(r.o.Config, &c, m); why != "" {
		return nil, false, nil
	}
	_, ok = c.Pair(name)
	return &c, ok, nil
}

// MailboxRound says what one ProvisionMailboxes did.
type MailboxRound struct {
	// Skipped is set when another replica provisions the account now.
	Skipped bool
	// Directory is the users delta round's outcome.
	Directory directory.Result
	// Added, Paused, Resumed and Removed are the pairs concerned.
	Added, Paused, Resumed, Removed []string
	// Errors are the people whose provisioning failed (the others went on).
	Errors []string
}

// Changed reports whether pairs came, went, paused or resumed.
func (m MailboxRound) Changed() bool {
	return len(m.Added)+len(m.Paused)+len(m.Resumed)+len(m.Removed) > 0
}

// mailboxLeaseKey is the lease of an account's provisioning.
func mailboxLeaseKey(account string) string { return "mailboxes:" + account }

// ProvisionMailboxes runs one provisioning round of account (one with
// mailboxes), under its lease so that replicas do it once: a users delta
// round into the tenant's directory copy (directory.Refresh), the group's
// members when mailboxes names a group, then the decisions of
// DecideMailboxes applied: a person with a mailbox gets a local user
// (their Microsoft identity's, made when new), a book MailboxBook and a
// pair; one who left has their pair paused; one back within mailbox_keep
// has it resumed; after mailbox_keep the pair, its state and the user go
// (state.DB.RemoveUser). Nothing is ever deleted in Office 365. g, when
// nil, is the account's Graph client.
func (r *Runner) ProvisionMailboxes(ctx context.Context, account string, g MailboxGraph) (MailboxRound, error) {
	var round MailboxRound
	acc, ok := r.o.Config.Account(account)
	if !ok || acc.Mailboxes == nil {
		return round, fmt.Errorf("mailboxes: account %s has no mailboxes configured", account)
	}
	lease, err := r.o.DB.AcquireLease(ctx, mailboxLeaseKey(acc.Name), state.LeaseOptions{})
	if errors.Is(err, state.ErrLocked) {
		round.Skipped = true
		return round, nil
	}
	if err != nil {
		return round, fmt.Errorf("mailboxes of %s: %w", acc.Name, err)
	}
	defer lease.Release()
	ctx = lease.Context()
	if g == nil {
		c, err := r.GraphClient(ctx, acc)
		if err != nil {
			return round, fmt.Errorf("mailboxes of %s: %w", acc.Name, err)
		}
		g = newPhotoPrefetch(c)
	}
	var dirMembers []string // the Directory book's group's, when read this round
	if round.Directory, dirMembers, _, err = r.refreshDirectory(ctx, acc, g); err != nil {
		return round, fmt.Errorf("mailboxes of %s: %w", acc.Name, err)
	}
	people, err := r.o.DB.DirectoryUsers(ctx, acc.Tenant, state.DirectoryOptions{})
	if err != nil {
		return round, fmt.Errorf("mailboxes of %s: %w", acc.Name, err)
	}
	var members map[string]bool
	if acc.Mailboxes.Group != "" {
		ids := dirMembers
		if dirMembers == nil || acc.Directory == nil || acc.Directory.Group != acc.Mailboxes.Group {
			if ids, err = g.GroupMemberIDs(ctx, acc.Mailboxes.Group); err != nil {
				return round, fmt.Errorf("mailboxes of %s: %w", acc.Name, err)
			}
		}
		members = map[string]bool{}
		for _, id := range ids {
			members[id] = true
		}
	}
	have, err := r.o.DB.Mailboxes(ctx, acc.Name)
	if err != nil {
		return round, fmt.Errorf("mailboxes of %s: %w", acc.Name, err)
	}
	for _, d := range DecideMailboxes(r.now(), acc.Mailboxes.Keep, have, people, members) {
		if err := r.applyMailbox(ctx, acc, d, &round); err != nil {
			r.log.Error("mailbox provisioning failed for one person", "account", acc.Name, "object_id", d.ObjectID, "upn", d.UPN, "action", d.Action, "err", err)
			round.Errors = append(round.Errors, fmt.Sprintf("%s (%s): %v", d.UPN, d.ObjectID, err))
		}
	}
	return round, nil
}

// MailboxAction is what DecideMailboxes asks for one person.
type MailboxAction string

// The actions of DecideMailboxes.
const (
	MailboxAdd    MailboxAction = "add"    // provision: user, book, pair
	MailboxPause  MailboxAction = "pause"  // left: pause the pair, keep everything
	MailboxResume MailboxAction = "resume" // back within mailbox_keep
	MailboxRemove MailboxAction = "remove" // gone longer than mailbox_keep: remove pair and user
)

// MailboxDecision is one action for one person.
type MailboxDecision struct {
	Action   MailboxAction
	ObjectID string
	UPN      string
	// Mailbox is the provisioned mailbox acted on (zero for MailboxAdd).
	Mailbox state.Mailbox
}

// DecideMailboxes compares the provisioned mailboxes have with the
// tenant's people (the directory copy's enabled members with a mailbox)
// and, when members is not nil, the group's members: who is to be
// provisioned, paused, resumed or (paused for longer than keep at now)
// removed. Someone already provisioned and still there, or paused and
// still away within keep, needs nothing.
func DecideMailboxes(now time.Time, keep time.Duration, have []state.Mailbox, people []state.DirectoryUser, members map[string]bool) []MailboxDecision {
	present := map[string]state.DirectoryUser{}
	for _, p := range people {
		id := strings.ToLower(p.ObjectID)
		if p.Mail == "" || !p.Enabled || strings.EqualFold(p.UserType, "Guest") {
			continue
		}
		if members != nil && !members[id] {
			continue
		}
		present[id] = p
	}
	var out []MailboxDecision
	known := map[string]bool{}
	for _, m := range have {
		known[m.ObjectID] = true
		p, here := present[m.ObjectID]
		switch {
		case here && m.State == state.MailboxPaused:
			out = append(out, MailboxDecision{Action: MailboxResume, ObjectID: m.ObjectID, UPN: p.UPN, Mailbox: m})
		case !here && m.State == state.MailboxActive:
			out = append(out, MailboxDecision{Action: MailboxPause, ObjectID: m.ObjectID, UPN: m.UPN, Mailbox: m})
		case !here && m.State == state.MailboxPaused && !now.Before(m.LeftAt.Add(keep)):
			out = append(out, MailboxDecision{Action: MailboxRemove, ObjectID: m.ObjectID, UPN: m.UPN, Mailbox: m})
		}
	}
	for _, p := range people {
		id := strings.ToLower(p.ObjectID)
		if _, here := present[id]; here && !known[id] {
			known[id] = true
			out = append(out, MailboxDecision{Action: MailboxAdd, ObjectID: id, UPN: p.UPN})
		}
	}
	return out
}

// applyMailbox carries out decision d for account acc.
func (r *Runner) applyMailbox(ctx context.Context, acc config.Account, d MailboxDecision, round *MailboxRound) error {
	db := r.o.DB
	switch d.Action {
	case MailboxPause:
		if err := db.PauseMailbox(ctx, acc.Name, d.ObjectID, r.now()); err != nil {
			return err
		}
		r.log.Info("mailbox paused: its owner left the tenant or the group, or was disabled; nothing is deleted", "account", acc.Name, "pair", d.Mailbox.Pair, "user", d.Mailbox.User, "upn", d.UPN)
		round.Paused = append(round.Paused, d.Mailbox.Pair)
	case MailboxResume:
		if err := db.ResumeMailbox(ctx, acc.Name, d.ObjectID, d.UPN); err != nil {
			return err
		}
		r.log.Info("mailbox resumed: its owner is back", "account", acc.Name, "pair", d.Mailbox.Pair, "user", d.Mailbox.User, "upn", d.UPN)
		round.Resumed = append(round.Resumed, d.Mailbox.Pair)
	case MailboxRemove:
		if err := r.RemoveUser(ctx, d.Mailbox.User); err != nil && !errors.Is(err, state.ErrNotFound) {
			return err
		}
		r.log.Info("mailbox removed after mailbox_keep: its pair, sync state and local user (books, app passwords, identities) are gone; Office 365 is untouched",
			"account", acc.Name, "pair", d.Mailbox.Pair, "user", d.Mailbox.User, "upn", d.UPN, "left_at", d.Mailbox.LeftAt)
		round.Removed = append(round.Removed, d.Mailbox.Pair)
	case MailboxAdd:
		m, err := r.provisionMailbox(ctx, acc, d)
		if err != nil {
			return err
		}
		r.log.Info("mailbox provisioned", "account", acc.Name, "pair", m.Pair, "user", m.User, "upn", m.UPN)
		round.Added = append(round.Added, m.Pair)
	}
	return nil
}

// provisionMailbox gives the person of d their local user (the one of
// their Microsoft identity, made when there is none: never another
// person's), the book MailboxBook and the mailbox's pair.
func (r *Runner) provisionMailbox(ctx context.Context, acc config.Account, d MailboxDecision) (state.Mailbox, error) {
	db := r.o.DB
	id, err := db.MicrosoftUser(ctx, acc.Tenant, d.ObjectID)
	if errors.Is(err, state.ErrNotFound) {
		id, err = db.AddMicrosoftUser(ctx, acc.Tenant, d.ObjectID, d.UPN, UserNameFromUPN(d.UPN, r.o.Config.Server.MicrosoftSignIn.UserNames))
		if errors.Is(err, state.ErrExists) { // a sign-in made it just now
			id, err = db.MicrosoftUser(ctx, acc.Tenant, d.ObjectID)
		}
	}
	if err != nil {
		return state.Mailbox{}, err
	}
	if _, err := db.AddressBook(ctx, id.User, MailboxBook); errors.Is(err, state.ErrNotFound) {
		if _, err := db.CreateAddressBook(ctx, id.User, MailboxBook, "Contacts", ""); err != nil && !errors.Is(err, state.ErrExists) {
			return state.Mailbox{}, err
		}
	} else if err != nil {
		return state.Mailbox{}, err
	}
	return db.AddMailbox(ctx, state.Mailbox{Account: acc.Name, TenantID: acc.Tenant, ObjectID: d.ObjectID, UPN: d.UPN, User: id.User}, r.o.Config.PairNames())
}

// UserNameFromUPN is the local user name a person is given: the local
// part of upn (mode "local-part" or "") or the whole UPN (mode "upn"),
// lower case, with only letters, digits and ._- (and @+ for a whole UPN)
// kept, at most 56 characters (room for a -N suffix); "user" when nothing
// is left. It is the rule of server.microsoft_sign_in.user_names.
func UserNameFromUPN(upn, mode string) string {
	if mode != "upn" {
		upn, _, _ = strings.Cut(upn, "@")
	}
	var b strings.Builder
	for _, r := range strings.ToLower(upn) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '_' || r == '-' || (mode == "upn" && (r == '@' || r == '+')) {
			b.WriteRune(r)
		}
	}
	n := strings.Trim(b.String(), ".")
	if len(n) > 56 {
		n = n[:56]
	}
	if n == "" {
		return "user"
	}
	return n
}

// recordMailboxRun records the outcome of a run of mailbox pair name for
// status; a failure to record is logged.
func (r *Runner) recordMailboxRun(ctx context.Context, name string, res *engine.Result, runErr error) {
	mr := state.MailboxRun{End: time.Now()}
	if res != nil {
		mr.AChanges = res.A.Created + res.A.Updated + res.A.Deleted
		mr.BChanges = res.B.Created + res.B.Updated + res.B.Deleted
		mr.ItemErrors = len(res.Errors)
		if !res.OK() && runErr == nil {
			mr.Error = fmt.Sprintf("%d errors: %s", len(res.Errors), strings.Join(res.ErrorStrings(), "; "))
		}
	}
	if runErr != nil {
		mr.Error = runErr.Error()
	}
	if err := r.o.DB.RecordMailboxRun(ctx, name, mr); err != nil {
		r.log.Warn("recording the run of a mailbox pair", "pair", name, "err", err)
	}
}

// MailboxPairs returns the pairs of account's active mailboxes as Pairs
// merges them (name to configuration).
func (r *Runner) MailboxPairs(ctx context.Context, account string) (map[string]config.Pair, error) {
	cfg, _, err := r.Pairs(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]config.Pair{}
	for name, p := range cfg.Pairs {
		if acc, ok := mailboxAccountOf(cfg, p); ok && acc.Name == account {
			out[name] = p
		}
	}
	return out, nil
}

// DirectoryOptions are the listing options of account acc's Directory
// book (directory.guests, disabled, group); the zero value (the default
// rule) when acc has no directory.
func DirectoryOptions(acc config.Account) state.DirectoryOptions {
	if acc.Directory == nil {
		return state.DirectoryOptions{}
	}
	return state.DirectoryOptions{IncludeGuests: acc.Directory.Guests, IncludeDisabled: acc.Directory.Disabled, Group: acc.Directory.Group}
}

// directoryLeaseKey is the lease of the refresh of a tenant's directory
// copy.
func directoryLeaseKey(tenant string) string { return "directory:" + strings.ToLower(tenant) }

// RefreshDirectory runs one users delta round (directory.Refresh) into the
// directory copy of account's tenant (an app-only account, User.Read.All)
// under the tenant's lease, so that of several replicas one does it:
// skipped is true when another holds it. g, when nil, is the account's
// Graph client. When the account's directory names a group, the group's
// direct members are read and kept too (see refreshDirectory). serve's
// job calls it each mailbox_every: through ProvisionMailboxes for an
// account with mailboxes, alone for one with only directory.
func (r *Runner) RefreshDirectory(ctx context.Context, account string, g directory.Source) (res directory.Result, skipped bool, err error) {
	acc, ok := r.o.Config.Account(account)
	if !ok || !AppOnly(acc) {
		return res, false, fmt.Errorf("directory: account %s is not a configured app-only account", account)
	}
	if g == nil {
		c, err := r.GraphClient(ctx, acc)
		if err != nil {
			return res, false, fmt.Errorf("directory of %s: %w", acc.Name, err)
		}
		g = newPhotoPrefetch(c)
	}
	res, _, skipped, err = r.refreshDirectory(ctx, acc, g)
	return res, skipped, err
}

// groupMembers reads a group's direct members: *graph.Client.
type groupMembers interface {
	GroupMemberIDs(ctx context.Context, groupID string) ([]string, error)
}

// refreshDirectory is RefreshDirectory with the account and source: the
// users delta round, then, when the account's directory names a group,
// the group's direct members (paged) kept in the state
// (state.DB.SetDirectoryGroupMembers), both under the tenant's lease;
// members are the ids read (nil when there is no group or the round was
// skipped), for ProvisionMailboxes to use when its group is the same.
func (r *Runner) refreshDirectory(ctx context.Context, acc config.Account, g directory.Source) (res directory.Result, members []string, skipped bool, err error) {
	lease, err := r.o.DB.AcquireLease(ctx, directoryLeaseKey(acc.Tenant), state.LeaseOptions{})
	if errors.Is(err, state.ErrLocked) {
		return directory.Result{}, nil, true, nil // another replica refreshes it now
	}
	if err != nil {
		return directory.Result{}, nil, false, err
	}
	defer lease.Release()
	ctx = lease.Context()
	res, err = directory.Refresh(ctx, g, r.o.DB, acc.Tenant)
	if err != nil || acc.Directory == nil || acc.Directory.Group == "" {
		return res, nil, false, err
	}
	gm, ok := g.(groupMembers)
	if !ok {
		return res, nil, false, fmt.Errorf("directory: group %s of account %s: the Graph client does not read group members", acc.Directory.Group, acc.Name)
	}
	ids, err := gm.GroupMemberIDs(ctx, acc.Directory.Group)
	if err != nil {
		return res, nil, false, fmt.Errorf("directory: group %s of account %s: %w", acc.Directory.Group, acc.Name, err)
	}
	joined, left, err := r.o.DB.SetDirectoryGroupMembers(ctx, acc.Tenant, acc.Directory.Group, ids)
	if err != nil {
		return res, nil, false, fmt.Errorf("directory: group %s of account %s: %w", acc.Directory.Group, acc.Name, err)
	}
	if joined+left > 0 {
		r.log.Info("directory group members changed", "account", acc.Name, "group", acc.Directory.Group, "members", len(ids), "joined", joined, "left", left)
	}
	if ids == nil {
		ids = []string{} // read: an empty group
	}
	return res, ids, false, nil
}
