package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/state"
	"github.com/spf13/cobra"
)

func (a *app) account(cfg *config.Config, name string) (config.Account, error) {
	acc, ok := cfg.Account(name)
	if !ok {
		return acc, withCode(exitUsage, fmt.Errorf("no account %q in the configuration (accounts: %v)", name, cfg.AccountNames()))
	}
	return acc, nil
}

func (a *app) loginCmd() *cobra.Command {
	var browser bool
	cmd := &cobra.Command{
		Use:   "login ACCOUNT",
		Short: "Sign in to an Office 365 account (device code, or --browser)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			acc, err := a.account(cfg, args[0])
			if err != nil {
				return err
			}
			if acc.Flow == "client-secret" || acc.Flow == "client-certificate" {
				return withCode(exitUsage, fmt.Errorf("account %s uses flow %s: it signs in by itself, no login needed", acc.Name, acc.Flow))
			}
			db, err := a.openState(cmd.Context(), cfg, false)
			if err != nil {
				return withCode(exitFailed, err)
			}
			defer db.Close()
			o := auth.LoginOptions{Out: a.stderr}
			var id *auth.Identity
			if browser || acc.Flow == "browser" {
				id, err = auth.LoginBrowser(cmd.Context(), acc, auth.StateStore{DB: db}, o)
			} else {
				id, err = auth.LoginDevice(cmd.Context(), acc, auth.StateStore{DB: db}, o)
			}
			if err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintf(a.stdout, "account %s: signed in as %s (tenant %s)\n", acc.Name, id.User, id.Tenant)
			return nil
		},
	}
	cmd.Flags().BoolVar(&browser, "browser", false, "sign in in a browser (authorization code with PKCE, loopback redirect)")
	return cmd
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout ACCOUNT",
		Short: "Forget an account's tokens (a configured one, or one connected on serve's web page)",
		Long: `Forget an account's tokens. ACCOUNT is a configured account, or one a user
connected on serve's web page (web-USER, listed by cardbridge accounts): its
pairs stay, and sync again once the user connects Office 365 again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			name := args[0]
			acc, configured := cfg.Account(name)
			db, err := a.openState(ctx, cfg, false)
			if err != nil {
				return withCode(exitFailed, err)
			}
			defer db.Close()
			if configured {
				name = acc.Name
			} else {
				owner, stored, err := storedAccount(ctx, db, name)
				if err != nil {
					return withCode(exitFailed, err)
				}
				if !stored {
					return withCode(exitUsage, fmt.Errorf("no account %q in the configuration (accounts: %v) nor in the state (see cardbridge accounts)", name, cfg.AccountNames()))
				}
				if owner != "" {
					defer fmt.Fprintf(a.stdout, "(connected by %s on the web page: the pairs made there stay and sync again once %s connects Office 365 again)\n", owner, owner)
				}
			}
			if err := auth.Logout(ctx, name, auth.StateStore{DB: db}); err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintf(a.stdout, "account %s: signed out (its tokens are deleted)\n", name)
			return nil
		},
	}
}

// storedAccount reports whether the state knows account name (tokens or a
// last sync) and who connected it on the web page ("" for nobody).
func storedAccount(ctx context.Context, db *state.DB, name string) (owner string, stored bool, err error) {
	accs, err := db.Accounts(ctx)
	if err != nil {
		return "", false, err
	}
	for _, t := range accs {
		if t.Name == name {
			stored = true
		}
	}
	owner, err = db.WebAccountOwner(ctx, name)
	return owner, stored || owner != "", err
}

func (a *app) accountsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accounts [folders ACCOUNT]",
		Short: "List Office 365 accounts: user, tenant, flow, token expiry, last sync",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, db, err := a.configAndState(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer db.Close()
			stored, err := db.Accounts(cmd.Context())
			if err != nil {
				return withCode(exitFailed, err)
			}
			owners, err := db.WebAccounts(cmd.Context())
			if err != nil {
				return withCode(exitFailed, err)
			}
			byName := map[string]state.AccountToken{}
			for _, t := range stored {
				byName[t.Name] = t
			}
			// The configured accounts, then those only the state knows:
			// connected on serve's web page, or left by an account since
			// removed from the configuration.
			names := cfg.AccountNames()
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
			slices.Sort(names[len(cfg.AccountNames()):])
			if len(names) == 0 {
				fmt.Fprintln(a.stdout, "no accounts configured")
				return nil
			}
			fmt.Fprintf(a.stdout, "%-12s %-28s %-14s %-19s %-22s %-19s %s\n", "ACCOUNT", "USER", "TENANT", "FLOW", "TOKEN", "LAST SYNC", "FROM")
			for _, n := range names {
				acc, configured := cfg.Account(n)
				t, ok := byName[n]
				from := "config"
				if !configured {
					acc = config.Account{Name: n, Tenant: t.Tenant, Flow: t.Flow}
					from = "state only (not configured)"
					if o := owners[n]; o != "" {
						from = "web page, user " + o
					}
				}
				user, tok, last := acc.User, "not signed in", "never"
				if ok {
					if t.User != "" {
						user = t.User
					}
					switch {
					case t.HasRefreshToken:
						tok = "valid until " + t.Expiry.Local().Format("2006-01-02 15:04") + " (refreshable)"
					case !t.Expiry.IsZero():
						tok = "until " + t.Expiry.Local().Format("2006-01-02 15:04")
					}
					if !t.LastSync.IsZero() {
						last = t.LastSync.Local().Format("2006-01-02 15:04")
					}
				} else if acc.Flow == "client-secret" || acc.Flow == "client-certificate" {
					tok = "app-only, on demand"
				}
				if user == "" {
					user = "-"
				}
				fmt.Fprintf(a.stdout, "%-12s %-28s %-14s %-19s %-22s %-19s %s\n", n, user, orDash(acc.Tenant), orDash(acc.Flow), tok, last, from)
			}
			return nil
		},
	}
	folders := &cobra.Command{
		Use:   "folders ACCOUNT",
		Short: "List an account's contact folders (for a pair's folder:)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			acc, err := a.account(cfg, args[0])
			if err != nil {
				return err
			}
			db, err := a.openState(cmd.Context(), cfg, false) // tokens may be stored
			if err != nil {
				return withCode(exitFailed, err)
			}
			defer db.Close()
			r, err := a.runner(cfg, db)
			if err != nil {
				return err
			}
			c, err := r.GraphClient(cmd.Context(), acc)
			if err != nil {
				return withCode(exitFailed, err)
			}
			fs, err := c.Folders(cmd.Context())
			if err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintln(a.stdout, "Contacts (the default folder)")
			for _, f := range fs {
				fmt.Fprintln(a.stdout, f.DisplayName)
			}
			return nil
		},
	}
	cmd.AddCommand(folders)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
