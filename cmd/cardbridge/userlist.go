package main

import (
	"fmt"
	"strings"

	"github.com/cardbridge/cardbridge/termout"
	"github.com/spf13/cobra"
)

// userListCmd is `cardbridge user list`: the server's users and their
// address books.
func (a *app) userListCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "list", Short: "List the users and their address books", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			r, db, err := a.configRunner(ctx, true)
			if err != nil {
				return err
			}
			defer db.Close()
			out, err := r.UserViews(ctx)
			if err != nil {
				return withCode(exitFailed, err)
			}
			if a.asJSON {
				return writeJSON(a.stdout, out)
			}
			if len(out) == 0 {
				fmt.Fprintln(a.stdout, noUsersHint)
				return nil
			}
			tw := termout.NewTable(a.stdout, "USER", "CREATED", "ADDRESS BOOKS")
			for _, u := range out {
				names := make([]string, len(u.Books))
				for i, b := range u.Books {
					names[i] = termout.Cell(b.Name)
				}
				tw.Row(termout.Cell(u.Name), u.Created, strings.Join(names, ", "))
			}
			return tw.Flush()
		}}
	cmd.Flags().BoolVar(&a.asJSON, "json", false, "print the users as a JSON array")
	return cmd
}

// noUsersHint says how to add the first user of the built-in server.
const noUsersHint = "no users yet: add one with `cardbridge user add NAME` (the password is read from a prompt, or from standard input)"
