package main

import (
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/spf13/cobra"
)

func (a *app) graphsimCmd() *cobra.Command {
	var listen string
	var contacts int
	cmd := &cobra.Command{
		Use:   "graphsim",
		Short: "Run the Microsoft Graph + identity platform simulator (for demos and benchmarks)",
		Long: `Run the simulator of Microsoft Graph contacts and the identity platform that
cardbridge's tests use. It prints the login_url, graph_url and client_id to put
in an account's configuration; user alice@contoso.example (password alice)
owns a mailbox seeded with --contacts contacts. Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := graphsim.Standalone(cmd.Context(), listen, contacts, a.log); err != nil {
				return withCode(exitFailed, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:5233", "address to listen on")
	cmd.Flags().IntVar(&contacts, "contacts", 100, "contacts to seed alice's mailbox with")
	return cmd
}
