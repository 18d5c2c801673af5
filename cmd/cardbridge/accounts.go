package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/spf13/cobra"
)

// accountRunner loads the configuration, finds its account name,
// checks what the configuration points at (checkResources: signing in
// reads the account's secret or certificate file) and opens the
// application layer, writable (tokens may be stored). For login, an
// account that signs in by itself is a usage error. The caller closes
// the database.
func (a *app) accountRunner(ctx context.Context, name string, login bool) (*pairs.Runner, *state.DB, config.Account, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, config.Account{}, err
	}
	acc, err := cfg.FindAccount(name)
	if err != nil {
		return nil, nil, acc, withCode(exitUsage, err)
	}
	if err := a.checkResources(cfg); err != nil {
		return nil, nil, acc, err
	}
	if login && pairs.AppOnly(acc) {
		return nil, nil, acc, withCode(exitUsage, fmt.Errorf("account %s uses flow %s: it signs in by itself, no login needed", acc.Name, acc.Flow))
	}
	r, db, err := a.stateRunner(ctx, cfg, false)
	return r, db, acc, err
}

func (a *app) loginCmd() *cobra.Command {
	var browser bool
	cmd := &cobra.Command{
		Use:   "login ACCOUNT",
		Short: "Sign in to an Office 365 account (device code, or --browser)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, db, acc, err := a.accountRunner(cmd.Context(), args[0], true)
			if err != nil {
				return err
			}
			defer db.Close()
			id, err := r.Login(cmd.Context(), acc, browser, a.stderr)
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
			r, db, err := a.configRunner(ctx, false)
			if err != nil {
				return err
			}
			defer db.Close()
			name, owner, err := r.LogoutTarget(ctx, args[0])
			switch {
			case errors.Is(err, pairs.ErrNoAccount):
				return withCode(exitUsage, fmt.Errorf("no account %q in the configuration (accounts: %v) nor in the state (see cardbridge accounts)", args[0], r.Config().AccountNames()))
			case err != nil:
				return withCode(exitFailed, err)
			case owner != "":
				defer fmt.Fprintf(a.stdout, "(connected by %s on the web page: the pairs made there stay and sync again once %s connects Office 365 again)\n", owner, owner)
			}
			if err := r.Logout(ctx, name); err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintf(a.stdout, "account %s: signed out (its tokens are deleted)\n", name)
			return nil
		},
	}
}

func (a *app) accountsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accounts [folders ACCOUNT]",
		Short: "List Office 365 accounts: user, tenant, flow, token expiry, last sync",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return list(a, cmd.Context(), nil, (*pairs.Runner).Accounts,
				func(infos []pairs.AccountInfo) any { return pairs.AccountViews(infos) }, pairs.WriteAccounts)
		},
	}
	cmd.Flags().BoolVar(&a.asJSON, "json", false, "print the accounts as a JSON array")
	folders := &cobra.Command{
		Use:   "folders ACCOUNT",
		Short: "List an account's contact folders (for a pair's folder:)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, db, acc, err := a.accountRunner(cmd.Context(), args[0], false)
			if err != nil {
				return err
			}
			defer db.Close()
			fs, err := r.Folders(cmd.Context(), acc)
			if err != nil {
				return withCode(exitFailed, err)
			}
			return pairs.WriteFolders(a.stdout, fs)
		},
	}
	cmd.AddCommand(folders)
	return cmd
}
