package pairs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
)

// Bounds of AdminView.
const (
	// DefaultAdminUsers is the size of a page of users when
	// AdminOptions.Limit is not set.
	DefaultAdminUsers = 100
	// MaxAdminErrors is the most failed runs and the most pairs with
	// failed items listed; the rest are counted.
	MaxAdminErrors = 200
	// maxRunErrors is the most errors of one failed run shown, and
	// maxErrorText the longest error text (longer ones are cut).
	maxRunErrors = 3
	maxErrorText = 500
)

// AdminOptions choose the users of AdminView: those whose name holds Match
// (case-insensitive, "" for all), from Offset on, Limit of them (default
// DefaultAdminUsers, at most state.MaxAdminUsers).
type AdminOptions struct {
	Match         string
	Offset, Limit int
}

// AdminView is what the web page's administrator view shows: a page of
// users with their pairs and app passwords, the directory copy of each
// tenant, and the pairs in trouble.
type AdminView struct {
	Users []AdminUserView
	// TotalUsers is how many users match in all; Offset and Limit the
	// page shown.
	TotalUsers, Offset, Limit int
	Directory                 []state.DirectorySummary
	// FailedRuns are the pairs whose last finished run failed, the latest
	// first, at most MaxAdminErrors; MoreFailedRuns counts the others.
	FailedRuns     []FailedRunView
	MoreFailedRuns int
	// FailedItems are the pairs with failed items, the most first, at most
	// MaxAdminErrors; MoreFailedItems counts the others.
	FailedItems     []FailedItemsView
	MoreFailedItems int
}

// AdminUserView is one user of AdminView.
type AdminUserView struct {
	state.AdminUser
	// Pairs names the pairs that use the user's books (configured and
	// made on the web page), by name.
	Pairs []string
	// AppPasswords are the user's app passwords, by name.
	AppPasswords []state.AppPassword
}

// FailedRunView is a pair whose last finished run failed.
type FailedRunView struct {
	Pair string
	// Users are the server users whose books the pair uses.
	Users []string
	When  time.Time
	// Errors are the run's first errors (cut to a readable length);
	// MoreErrors counts the others.
	Errors     []string
	MoreErrors int
}

// FailedItemsView is a pair with items that failed to sync.
type FailedItemsView struct {
	Pair  string
	Users []string
	Count int
}

// AdminView reads the administrator view (see AdminView) with the users
// o chooses.
func (r *Runner) AdminView(ctx context.Context, o AdminOptions) (AdminView, error) {
	db := r.o.DB
	if o.Limit <= 0 {
		o.Limit = DefaultAdminUsers
	}
	o.Limit = min(o.Limit, state.MaxAdminUsers)
	o.Offset = max(o.Offset, 0)
	v := AdminView{Offset: o.Offset, Limit: o.Limit}
	users, total, err := db.AdminUsers(ctx, o.Match, o.Offset, o.Limit)
	if err != nil {
		return v, err
	}
	v.TotalUsers = total
	owners, userPairs, known, err := r.pairOwners(ctx)
	if err != nil {
		return v, err
	}
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Name
	}
	pws, err := db.AppPasswordsOf(ctx, names)
	if err != nil {
		return v, err
	}
	for _, u := range users {
		v.Users = append(v.Users, AdminUserView{AdminUser: u, Pairs: userPairs[u.Name], AppPasswords: pws[u.Name]})
	}
	if v.Directory, err = db.DirectorySummaries(ctx); err != nil {
		return v, err
	}
	if err := r.servedByOptions(ctx, v.Directory); err != nil {
		return v, err
	}
	runs, err := db.LastFailedRuns(ctx)
	if err != nil {
		return v, err
	}
	for _, run := range runs {
		if !known[run.Pair] { // a pair removed since (its runs stay)
			continue
		}
		if len(v.FailedRuns) == MaxAdminErrors {
			v.MoreFailedRuns++
			continue
		}
		errs, more := runErrors(run.Summary)
		v.FailedRuns = append(v.FailedRuns, FailedRunView{Pair: run.Pair, Users: owners[run.Pair], When: run.Finished, Errors: errs, MoreErrors: more})
	}
	counts, err := db.FailedItemCounts(ctx)
	if err != nil {
		return v, err
	}
	var items []FailedItemsView
	for p, n := range counts {
		if known[p] {
			items = append(items, FailedItemsView{Pair: p, Users: owners[p], Count: n})
		}
	}
	slices.SortFunc(items, func(a, b FailedItemsView) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Pair, b.Pair)
	})
	if len(items) > MaxAdminErrors {
		v.MoreFailedItems = len(items) - MaxAdminErrors
		items = items[:MaxAdminErrors]
	}
	v.FailedItems = items
	return v, nil
}

// servedByOptions sets, in each summary of a tenant with a configured
// directory account, Served to the people its Directory book lists with
// that account's options (guests, disabled, group) and Options to them;
// the others keep the default rule's count. Of several accounts of one
// tenant, the last by name counts, as in the server's book
// (directory.NewBooks keeps the last).
func (r *Runner) servedByOptions(ctx context.Context, sums []state.DirectorySummary) error {
	byTenant := map[string]state.DirectoryOptions{}
	for _, name := range r.o.Config.AccountNames() {
		if acc, _ := r.o.Config.Account(name); acc.Directory != nil {
			byTenant[strings.ToLower(acc.Tenant)] = DirectoryOptions(acc)
		}
	}
	for i := range sums {
		opts, ok := byTenant[strings.ToLower(sums[i].TenantID)]
		if !ok {
			continue
		}
		n, err := r.o.DB.DirectoryServed(ctx, sums[i].TenantID, opts)
		if err != nil {
			return err
		}
		sums[i].Served, sums[i].Options, sums[i].Configured = n, opts, true
	}
	return nil
}

// pairOwners maps every pair (configured, merged with the web page's,
// and every web pair even when Merge leaves it out) to the server users
// whose books it uses, and each user to their pairs, by name; known holds
// every pair name.
func (r *Runner) pairOwners(ctx context.Context) (owners, userPairs map[string][]string, known map[string]bool, err error) {
	cfg, _, err := r.Pairs(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	all := map[string]config.Pair{}
	for _, n := range cfg.PairNames() {
		p, _ := cfg.Pair(n)
		all[p.Name] = p
	}
	wps, err := r.o.DB.WebPairs(ctx, "")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("web pairs: %w", err)
	}
	for _, wp := range wps {
		if _, ok := all[wp.Name]; !ok {
			all[wp.Name] = WebPairConfig(wp)
		}
	}
	owners, userPairs, known = map[string][]string{}, map[string][]string{}, map[string]bool{}
	for name, p := range all {
		known[name] = true
		for _, s := range []config.Side{p.A, p.B} {
			if s.Type == config.SideServer && s.User != "" && !slices.Contains(owners[name], s.User) {
				owners[name] = append(owners[name], s.User)
				userPairs[s.User] = append(userPairs[s.User], name)
			}
		}
	}
	for _, ps := range userPairs {
		slices.Sort(ps)
	}
	for _, us := range owners {
		slices.Sort(us)
	}
	return owners, userPairs, known, nil
}

// runErrors reads the first maxRunErrors errors of a run's summary (each
// cut to maxErrorText bytes) and how many more it has.
func runErrors(summary []byte) ([]string, int) {
	var s struct {
		Errors []string `json:"errors"`
	}
	if len(summary) == 0 || json.Unmarshal(summary, &s) != nil {
		return nil, 0
	}
	more := max(len(s.Errors)-maxRunErrors, 0)
	errs := s.Errors[:min(len(s.Errors), maxRunErrors)]
	for i, e := range errs {
		if len(e) > maxErrorText {
			cut := maxErrorText
			for cut > 0 && !utf8Start(e[cut]) {
				cut--
			}
			errs[i] = e[:cut] + "…"
		}
	}
	return errs, more
}

// utf8Start reports whether b starts a UTF-8 sequence (is not a
// continuation byte).
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
