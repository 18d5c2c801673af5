package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/spf13/cobra"
)

// appPasswordCmd is `cardbridge user app-password add|list|revoke`: the
// passwords a user gives phones and mail clients instead of theirs.
func (a *app) appPasswordCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app-password add|revoke USER NAME | list USER",
		Short: "Manage a user's app passwords (for phones and mail clients)",
		Long: fmt.Sprintf(`Manage the app passwords of a user of the built-in CardDAV server. CardDAV
clients only do Basic auth: give each device (NAME: "iPhone", "Thunderbird")
an app password of its own instead of the user's password, and revoke it
alone when the device is lost; the device is refused from its next request.
An app password is random, shown once when it is made and never stored in
clear (only its SHA-256); it works for CardDAV, not for the web page's
sign-in. A user may hold %d.`, state.MaxAppPasswords),
	}
	add := &cobra.Command{Use: "add USER NAME", Short: "Make an app password NAME for USER and print it (once)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			user, name := args[0], args[1]
			if err := appPasswordArgs(user, name); err != nil {
				return err
			}
			r, db, err := a.configRunner(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer db.Close()
			tok, err := r.AddAppPassword(cmd.Context(), user, name)
			switch {
			case errors.Is(err, state.ErrNotFound):
				return withCode(exitUsage, fmt.Errorf("no user %q (add one with `cardbridge user add %s`)", user, user))
			case errors.Is(err, state.ErrExists):
				return withCode(exitUsage, fmt.Errorf("user %s has an app password named %q already (revoke it with `cardbridge user app-password revoke %s %q`, or choose another name)", user, name, user, name))
			case errors.Is(err, state.ErrTooMany):
				return withCode(exitUsage, fmt.Errorf("user %s has %d app passwords, the most allowed: revoke one first", user, state.MaxAppPasswords))
			case err != nil:
				return withCode(exitFailed, err)
			}
			fmt.Fprintln(a.stdout, tok)
			fmt.Fprintf(a.stdout, "app password %q of %s: shown once, now (only its hash is kept); use it as the password with the user name %s\n", name, user, user)
			return nil
		}}
	list := &cobra.Command{Use: "list USER", Short: "List USER's app passwords: name, created, last used (never the secret)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			user := args[0]
			if err := pairs.CheckUserName(user); err != nil {
				return withCode(exitUsage, err)
			}
			read := func(r *pairs.Runner, ctx2 context.Context) ([]state.AppPassword, error) {
				ps, err := r.AppPasswords(ctx2, user)
				if errors.Is(err, state.ErrNotFound) {
					return nil, withCode(exitUsage, fmt.Errorf("no user %q", user))
				}
				return ps, err
			}
			return list(a, cmd.Context(), nil, read, func(ps []state.AppPassword) any { return pairs.AppPasswordViews(ps) }, pairs.WriteAppPasswords)
		}}
	list.Flags().BoolVar(&a.asJSON, "json", false, "print the app passwords as a JSON array")
	revoke := &cobra.Command{Use: "revoke USER NAME", Short: "Revoke USER's app password NAME: its device is refused from its next request", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			user, name := args[0], args[1]
			if err := pairs.CheckUserName(user); err != nil {
				return withCode(exitUsage, err)
			}
			r, db, err := a.configRunner(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := r.RevokeAppPassword(cmd.Context(), user, name); errors.Is(err, state.ErrNotFound) {
				return withCode(exitUsage, fmt.Errorf("user %q has no app password named %q (see `cardbridge user app-password list %s`)", user, name, user))
			} else if err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintf(a.stdout, "app password %q of %s revoked: the device using it is refused from its next request\n", name, user)
			return nil
		}}
	cmd.AddCommand(add, list, revoke)
	return cmd
}

// appPasswordArgs checks the USER and NAME of `app-password add`.
func appPasswordArgs(user, name string) error {
	if err := pairs.CheckUserName(user); err != nil {
		return withCode(exitUsage, err)
	}
	if err := state.CheckAppPasswordName(name); err != nil {
		return withCode(exitUsage, err)
	}
	return nil
}
