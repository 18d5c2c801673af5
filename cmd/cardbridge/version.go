package main

import (
	"fmt"

	"github.com/cardbridge/cardbridge/buildinfo"
	"github.com/spf13/cobra"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprint(a.stdout, buildinfo.Current(version))
			return nil
		},
	}
}
