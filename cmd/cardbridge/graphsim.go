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
		Long:  graphsim.CommandHelp,
		Args:  cobra.NoArgs,
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
