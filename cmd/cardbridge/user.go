package main

import (
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/termout"
	"github.com/spf13/cobra"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user add|passwd|remove NAME | list | app-password",
		Short: "Manage the users of the built-in CardDAV server",
		Long: `Manage the users of the built-in CardDAV server. The password is read from
a prompt, or from standard input when it is not a terminal; only its bcrypt hash
is stored (bcrypt: at most 72 bytes). A new user starts with one address book,
"contacts". Changing a password signs the user out of the web page; removing a
user removes everything of theirs. Phones and mail clients get app passwords of
their own: see "cardbridge user app-password".`,
	}
	add := &cobra.Command{Use: "add NAME", Short: "Add a user (with an address book \"contacts\")", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.userSet(cmd, args[0], true) }}
	passwd := &cobra.Command{Use: "passwd NAME", Short: "Change a user's password", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return a.userSet(cmd, args[0], false) }}
	remove := &cobra.Command{Use: "remove NAME", Short: "Remove a user and everything of theirs (books, app passwords, web sessions, web connection and pairs)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, db, err := a.configRunner(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := r.RemoveUser(cmd.Context(), args[0]); errors.Is(err, state.ErrNotFound) {
				return withCode(exitUsage, fmt.Errorf("no user %q", args[0]))
			} else if err != nil {
				return withCode(exitFailed, err)
			}
			fmt.Fprintf(a.stdout, "user %s removed, with their address books, app passwords, web sessions, the Office 365 connection and pairs made on the web page, and those pairs' state\n", args[0])
			return nil
		}}
	cmd.AddCommand(add, passwd, remove, a.userListCmd(), a.appPasswordCmd())
	return cmd
}

func (a *app) userSet(cmd *cobra.Command, name string, add bool) error {
	if err := pairs.CheckUserName(name); err != nil {
		return withCode(exitUsage, err)
	}
	pw, err := a.readPassword(name)
	if err != nil {
		return withCode(exitUsage, err)
	}
	r, db, err := a.configRunner(cmd.Context(), false)
	if err != nil {
		return err
	}
	defer db.Close()
	err = r.SetUser(cmd.Context(), name, pw, add)
	switch {
	case add && errors.Is(err, state.ErrExists):
		return withCode(exitUsage, fmt.Errorf("user %q exists already (change the password with `cardbridge user passwd %s`)", name, name))
	case !add && errors.Is(err, state.ErrNotFound):
		return withCode(exitUsage, fmt.Errorf("no user %q (add one with `cardbridge user add %s`)", name, name))
	case err != nil:
		return withCode(exitFailed, err)
	case add:
		fmt.Fprintf(a.stdout, "user %s added, with the address book \"contacts\"\n", name)
	default:
		fmt.Fprintf(a.stdout, "user %s: password changed\n", name)
	}
	return nil
}

// readPassword reads name's password (termout.ReadPassword) and checks
// it (pairs.CheckPassword).
func (a *app) readPassword(name string) (string, error) {
	pw, err := termout.ReadPassword(a.stdin, a.stderr, name)
	if err != nil {
		return "", err
	}
	return pw, pairs.CheckPassword(pw)
}
