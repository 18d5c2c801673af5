package pairs

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
)

// Pairs returns the Runner's configuration with the pairs made on the web
// page (in the state) added; see Merge.
func (r *Runner) Pairs(ctx context.Context) (cfg *config.Config, skipped []string, err error) {
	if v, err := r.o.DB.SchemaVersion(ctx); err != nil || v < state.LatestSchemaVersion() {
		// A state from before the web page (opened read-only, so not
		// migrated) has no web pairs.
		return r.o.Config, nil, nil
	}
	return Merge(ctx, r.o.DB, r.o.Config)
}

// WithWebPairs returns cfg with the pairs made on serve's web page (kept
// in the state file cfg.State) added (see Merge), for sync and status.
// Without a state file, or when it cannot be read for them, cfg is
// returned as it is (the reason logged to log; nil discards).
func WithWebPairs(ctx context.Context, cfg *config.Config, log *slog.Logger) *config.Config {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !config.IsStateURL(cfg.State) {
		if _, err := os.Stat(cfg.State); err != nil {
			return cfg
		}
	}
	db, err := state.Open(ctx, cfg.State, state.Options{ReadOnly: true, Logger: log})
	if err != nil {
		log.Debug("web pairs: opening the state", "err", err)
		return cfg
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v < state.LatestSchemaVersion() {
		return cfg // a state from before the web page has no web pairs
	}
	out, skipped, err := Merge(ctx, db, cfg)
	if err != nil {
		log.Warn("the pairs made on the web page are left out", "err", err)
		return cfg
	}
	for _, msg := range skipped {
		log.Warn("a pair made on the web page is left out", "why", msg)
	}
	return out
}

// Merge returns cfg with the pairs made from the web page (in db) added,
// and the accounts they use (server.connect's app, or server.microsoft_sign_in's
// for tokens a sign-in with contacts stored, under the pair's account
// name), and the pairs of the active provisioned mailboxes of accounts
// with mailboxes (see MailboxPairConfig); cfg itself is not changed. A web
// pair whose name is taken
// by a configured pair, or whose account name is taken by a configured
// account, is left out and reported in skipped.
func Merge(ctx context.Context, db *state.DB, cfg *config.Config) (out *config.Config, skipped []string, err error) {
	wps, err := db.WebPairs(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("web pairs: %w", err)
	}
	stored, err := db.Accounts(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("web pairs: %w", err)
	}
	tokens := map[string]state.AccountToken{}
	for _, t := range stored {
		tokens[t.Name] = t
	}
	c := *cfg
	c.Pairs = maps.Clone(cfg.Pairs)
	c.Accounts = maps.Clone(cfg.Accounts)
	if c.Pairs == nil {
		c.Pairs = map[string]config.Pair{}
	}
	if c.Accounts == nil {
		c.Accounts = map[string]config.Account{}
	}
	for _, wp := range wps {
		if wp.Name != strings.ToLower(wp.Name) || wp.Account != strings.ToLower(wp.Account) {
			// Made by a cardbridge before issue 13 for a user with upper-case
			// letters: looked up case-insensitively, its account would be
			// another user's (web-Frank is web-frank).
			skipped = append(skipped, fmt.Sprintf("web pair %s: its name or its account %s has upper-case letters (made by an older cardbridge); its user should disconnect and connect Office 365 again on the web page", wp.Name, wp.Account))
			continue
		}
		if _, taken := cfg.Pairs[wp.Name]; taken {
			skipped = append(skipped, fmt.Sprintf("web pair %s: a configured pair has that name", wp.Name))
			continue
		}
		if _, taken := cfg.Accounts[wp.Account]; taken {
			skipped = append(skipped, fmt.Sprintf("web pair %s: a configured account is called %s", wp.Name, wp.Account))
			continue
		}
		acc, ok := webPairAccount(cfg, wp.Account, tokens[wp.Account])
		if !ok {
			skipped = append(skipped, fmt.Sprintf("web pair %s: server.connect is not configured (and its tokens are not the sign-in app's of server.microsoft_sign_in)", wp.Name))
			continue
		}
		c.Accounts[wp.Account] = acc
		c.Pairs[wp.Name] = WebPairConfig(wp)
	}
	if skipped, err = mergeMailboxes(ctx, db, cfg, &c, skipped); err != nil {
		return nil, nil, err
	}
	return &c, skipped, nil
}

// webPairAccount is the account a web pair's tokens (t, as state.Accounts
// lists them, without the tokens) are synced with: the sign-in app's
// (server.microsoft_sign_in, in the person's tenant) for tokens a sign-in
// with contacts stored, else server.connect's app; false when neither is
// configured.
func webPairAccount(cfg *config.Config, name string, t state.AccountToken) (config.Account, bool) {
	if ms := cfg.Server.MicrosoftSignIn; ms.Configured() && t.ClientID != "" && strings.EqualFold(t.ClientID, ms.ClientID) {
		return ms.Account(name, t.Tenant), true
	}
	if cfg.Server.Connect.Configured() {
		return cfg.Server.Connect.Account(name), true
	}
	return config.Account{}, false
}

// WebPairConfig is the configuration of a web-made pair: the account's
// folder (a) with the user's book (b), two-way, its conflict policy, 25%
// max_delete.
func WebPairConfig(wp state.WebPair) config.Pair {
	if wp.Conflict == "" {
		wp.Conflict = "merge"
	}
	return config.Pair{
		Name:      wp.Name,
		A:         config.Side{Type: config.SideO365, Account: wp.Account, Folder: wp.Folder},
		B:         config.Side{Type: config.SideServer, User: wp.User, Addressbook: wp.Addressbook},
		Direction: "two-way",
		Conflict:  wp.Conflict,
		MaxDelete: config.DefaultLimit(),
		Every:     wp.Every,
	}
}

// UserPair is a pair that involves a user's books of the built-in server.
type UserPair struct {
	config.Pair
	// Web is set for a pair made on the web page.
	Web bool
	// Mailbox is set for the pair of the user's mailbox, provisioned by a
	// configured account with mailboxes (not disconnected on the web page).
	Mailbox bool
}

// UserPairs lists the pairs that involve user's books: the configured
// pairs with a {type: server, user: user} side, then the user's web-made
// pairs whose name no configured pair takes, then the pair of their
// provisioned mailbox when active.
func (r *Runner) UserPairs(ctx context.Context, user string) ([]UserPair, error) {
	var out []UserPair
	cfg := r.o.Config
	for _, n := range cfg.PairNames() {
		p, _ := cfg.Pair(n)
		if (p.A.Type == config.SideServer && p.A.User == user) || (p.B.Type == config.SideServer && p.B.User == user) {
			out = append(out, UserPair{Pair: p})
		}
	}
	wps, err := r.o.DB.WebPairs(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("web pairs of %s: %w", user, err)
	}
	for _, wp := range wps {
		if _, taken := cfg.Pairs[wp.Name]; taken {
			continue
		}
		out = append(out, UserPair{Pair: WebPairConfig(wp), Web: true})
	}
	if r.HasMailboxes() {
		ms, err := r.o.DB.Mailboxes(ctx, "")
		if err != nil {
			return nil, fmt.Errorf("mailboxes of %s: %w", user, err)
		}
		for _, m := range ms {
			acc, ok := cfg.Account(m.Account)
			if _, taken := cfg.Pairs[m.Pair]; m.User != user || m.State != state.MailboxActive || !ok || acc.Mailboxes == nil || taken {
				continue
			}
			out = append(out, UserPair{Pair: MailboxPairConfig(m, *acc.Mailboxes), Mailbox: true})
		}
	}
	return out, nil
}
