package main

import (
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/spf13/cobra"
)

// userListCmd is `cardbridge user list`: the server's users and their
// address books.
func (a *app) userListCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "list", Short: "List the users and their address books", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return list(a, cmd.Context(), nil, (*pairs.Runner).UserViews, asIs, pairs.WriteUsers)
		}}
	cmd.Flags().BoolVar(&a.asJSON, "json", false, "print the users as a JSON array")
	return cmd
}
