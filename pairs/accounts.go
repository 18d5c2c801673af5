package pairs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/state"
)

// AccountInfo is one Office 365 account as the configuration and the
// state know it (a row of `cardbridge accounts`).
type AccountInfo struct {
	// Account is the configured account, or for one only the state knows
	// its name, and its tenant and flow as its tokens were stored.
	Account config.Account
	// Configured is set for an account of the configuration.
	Configured bool
	// Token is what the state holds of the account (user, expiry, last
	// sync; never the tokens themselves); HasToken says whether it holds
	// anything.
	Token    state.AccountToken
	HasToken bool
	// Owner is the server user who connected the account on serve's web
	// page ("" for none).
	Owner string
}

// Accounts lists the configured accounts (in the configuration's order),
// then, by name, those only the state knows: connected on serve's web
// page, or left by an account since removed from the configuration.
func (r *Runner) Accounts(ctx context.Context) ([]AccountInfo, error) {
	cfg := r.o.Config
	stored, err := r.o.DB.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	owners, err := r.o.DB.WebAccounts(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]state.AccountToken{}
	for _, t := range stored {
		byName[t.Name] = t
	}
	names := cfg.AccountNames()
	configured := len(names)
	for _, t := range stored {
		if _, ok := cfg.Account(t.Name); !ok {
			names = append(names, t.Name)
		}
	}
	for n := range owners {
		if _, ok := byName[n]; !ok {
			if _, ok := cfg.Account(n); !ok {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names[configured:])
	out := make([]AccountInfo, 0, len(names))
	for _, n := range names {
		acc, isConfigured := cfg.Account(n)
		t, ok := byName[n]
		if !isConfigured {
			acc = config.Account{Name: n, Tenant: t.Tenant, Flow: t.Flow}
		}
		out = append(out, AccountInfo{Account: acc, Configured: isConfigured, Token: t, HasToken: ok, Owner: owners[n]})
	}
	return out, nil
}

// StoredAccount reports whether the state knows account name (tokens or
// a last sync, or a connection on the web page) and who connected it on
// the web page ("" for nobody).
func (r *Runner) StoredAccount(ctx context.Context, name string) (owner string, stored bool, err error) {
	accs, err := r.o.DB.Accounts(ctx)
	if err != nil {
		return "", false, err
	}
	for _, t := range accs {
		if t.Name == name {
			stored = true
		}
	}
	owner, err = r.o.DB.WebAccountOwner(ctx, name)
	return owner, stored || owner != "", err
}

// ErrNoAccount is wrapped by the errors about an account neither the
// configuration nor the state knows.
var ErrNoAccount = errors.New("no such account")

// LogoutTarget names the account `logout` signs out of for name: a
// configured account by its configured name, else one only the state
// knows, with who connected it on the web page (owner, "" for nobody). An
// error wraps ErrNoAccount when name is neither.
func (r *Runner) LogoutTarget(ctx context.Context, name string) (account, owner string, err error) {
	if acc, ok := r.o.Config.Account(name); ok {
		return acc.Name, "", nil
	}
	owner, stored, err := r.StoredAccount(ctx, name)
	if err != nil {
		return "", "", err
	}
	if !stored {
		return "", "", fmt.Errorf("account %s: %w", name, ErrNoAccount)
	}
	return name, owner, nil
}

// Login signs in to acc (a delegated flow) and stores its tokens: in a
// browser (authorization code with PKCE) when browser is set or the
// account's flow is browser, else with a device code; out shows the code
// or the URL.
func (r *Runner) Login(ctx context.Context, acc config.Account, browser bool, out io.Writer) (*auth.Identity, error) {
	login := auth.LoginDevice
	if browser || acc.Flow == auth.FlowBrowser {
		login = auth.LoginBrowser
	}
	return login(ctx, acc, auth.StateStore{DB: r.o.DB}, auth.LoginOptions{Out: out})
}

// Logout deletes the tokens of account name.
func (r *Runner) Logout(ctx context.Context, name string) error {
	return auth.Logout(ctx, name, auth.StateStore{DB: r.o.DB})
}

// Folders lists the names of acc's contact folders (for a pair's
// folder:), the default folder, Contacts, not among them.
func (r *Runner) Folders(ctx context.Context, acc config.Account) ([]string, error) {
	c, err := r.GraphClient(ctx, acc)
	if err != nil {
		return nil, err
	}
	fs, err := c.Folders(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.DisplayName)
	}
	return out, nil
}
