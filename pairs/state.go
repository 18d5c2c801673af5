package pairs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
)

// StateOptions configure OpenState.
type StateOptions struct {
	// ReadOnly opens the database read-only, or an empty in-memory one
	// when the file does not exist yet, so that nothing is written
	// anywhere (no key file either). A PostgreSQL state (cfg.State a URL)
	// is opened read-only as it is: an unmigrated database is an error.
	ReadOnly bool
	// Env is the process environment, where CARDBRIDGE_SECRET_KEY and the
	// systemd credential are looked up.
	Env []string
	// Logger receives the warnings about the token key; nil discards.
	Logger *slog.Logger
}

// OpenState opens the state database of cfg with the key that seals its
// Office 365 tokens (state.LoadTokenKey: CARDBRIDGE_SECRET_KEY, the
// systemd credential, or cfg.SecretKeyFile, which a writable open creates
// when there is no key yet). A key file that cannot be created leaves the
// database open without a key (a warning says why; the errors of token
// operations say it again); a key that is there but unreadable or
// malformed is an error. Tokens the key does not open are reported once
// as a warning.
func OpenState(ctx context.Context, cfg *config.Config, o StateOptions) (*state.DB, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path, memory, readOnly := cfg.State, false, o.ReadOnly
	if readOnly && !config.IsStateURL(path) {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			path, memory, readOnly = "", true, false
		}
	}
	// A PostgreSQL state is shared by replicas, which must all hold the
	// one key: none makes a key file of its own (each would make another).
	shared := config.IsStateURL(cfg.State)
	src := state.KeySource{Env: o.Env, File: cfg.SecretKeyFile, Create: !readOnly && !memory && !shared}
	key, from, err := state.LoadTokenKey(src)
	if errors.Is(err, state.ErrKeyFileNotCreated) {
		log.Warn("no key to seal the Office 365 tokens: they can be neither stored nor read", "err", err)
		key, from, err = nil, "no key: "+err.Error(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("the key that seals the Office 365 tokens: %w", err)
	}
	if key == nil && shared && !readOnly {
		from += "; " + SharedKeyHint(cfg.SecretKeyFile)
		log.Warn("no key to seal the Office 365 tokens: " + SharedKeyHint(cfg.SecretKeyFile))
	}
	log.Debug("state: token key", "from", from)
	db, err := state.Open(ctx, path, state.Options{ReadOnly: readOnly, Logger: log, TokenKey: key, TokenKeySource: from})
	if err != nil {
		return nil, err
	}
	// Tokens that do not open: a key file lost (and just made anew), or
	// another key given. They stay; say so once, loudly.
	if bad, err := db.SealedAccounts(ctx); err == nil && len(bad) > 0 {
		log.Warn(fmt.Sprintf("the Office 365 tokens of %s do not open with %s: restore the key they were sealed with, or sign those accounts in again (cardbridge logout, then login)",
			strings.Join(bad, ", "), from))
	}
	return db, nil
}

// SharedKeyHint says why a PostgreSQL state has no token key and how to
// give it one: cardbridge makes no key file for a state that replicas
// share, since each replica would make its own and none would open the
// tokens another sealed.
func SharedKeyHint(file string) string {
	return "a PostgreSQL state is shared by every replica, so cardbridge makes no key file for it (each replica would make a different one): make one key once, e.g. head -c 32 /dev/urandom | base64 > " + file +
		" (mode 0600), and give the same file (secret_key_file), " + state.EnvSecretKey + " or systemd credential to every replica"
}

// DryRunWritesState reports whether a dry run of the pairs names of cfg
// opens the state writable. A dry run writes nothing, except an Office 365
// account's rotated refresh token: Microsoft may refuse the old one once a
// new one is issued, and losing it would cost a new sign-in. So the state
// is writable for a pair with an o365 side, once the state file exists (a
// dry run creates none; a PostgreSQL state is taken to exist).
func DryRunWritesState(cfg *config.Config, names []string) bool {
	if !config.IsStateURL(cfg.State) {
		if _, err := os.Stat(cfg.State); err != nil {
			return false
		}
	}
	for _, n := range names {
		if p, ok := cfg.Pair(n); ok && (p.A.Type == config.SideO365 || p.B.Type == config.SideO365) {
			return true
		}
	}
	return false
}

// Open opens the state of o.Config (OpenState: read-only when readOnly,
// with o's Env and Logger) and the application layer over it (New, with
// o.DB that database). The caller closes the database.
func Open(ctx context.Context, o Options, readOnly bool) (*Runner, *state.DB, error) {
	db, err := OpenState(ctx, o.Config, StateOptions{ReadOnly: readOnly, Env: o.Env, Logger: o.Logger})
	if err != nil {
		return nil, nil, err
	}
	o.DB = db
	r, err := New(o)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return r, db, nil
}
