package main

import (
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/spf13/cobra"
)

func (a *app) graphsimCmd() *cobra.Command {
	var o graphsim.CommandOptions
	cmd := &cobra.Command{
		Use:   "graphsim",
		Short: "Run the Microsoft Graph + identity platform simulator (for demos and benchmarks)",
		Long: `Run the simulator of Microsoft Graph contacts and the identity platform that
cardbridge's tests use. It prints the login_url, graph_url and client_id to put
in an account's configuration; user alice@contoso.example (password alice)
owns a mailbox seeded with --contacts contacts. Stop it with Ctrl-C.

The --fault-* flags put probabilistic faults in front of Graph (each HTTP
request draws once, deterministically from --seed): 429 with Retry-After,
503, connection resets, stalls of --stall, and one expiry of every delta
link after --expire-delta-after delta pages (the next page answers 410).

The app is registered with the redirect URIs of the CLI's browser login and
of "Connect Office 365" on a serve at a loopback address (any port); for a
serve reached at another address add its public_url + /ui/connect/callback
with --redirect-uri (repeatable).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, chaos, err := o.Check()
			if err != nil {
				return withCode(exitUsage, err)
			}
			return withCode(exitFailed, o.Run(cmd.Context(), opts, chaos, a.log))
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
