package termout

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// This file holds the CLI's help and usage rules for a cobra command tree.
// The errors they return are usage errors: the CLI exits 2 for them.

// StrictUsage walks the command tree under root and makes every command
// that has subcommands refuse an unknown one with a one-line usage error
// (exit 2) instead of printing its help and exiting 0. A group command
// run bare still prints its help. Such commands take no positional
// arguments of their own.
func StrictUsage(root *cobra.Command) {
	for _, c := range root.Commands() {
		StrictUsage(c)
	}
	if !root.HasSubCommands() {
		return
	}
	root.Args = UnknownSubcommand
	if root.Run == nil && root.RunE == nil {
		root.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
}

// StrictHelp makes `cardbridge help TOPIC` fail with one line for a topic
// that is no command (cobra's help printed the root's usage and exited
// 0). It wraps cobra's help command, kept for everything else.
func StrictHelp(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() != "help" || c.Run == nil {
			continue
		}
		show := c.Run
		c.Run = nil
		c.RunE = func(cmd *cobra.Command, args []string) error {
			found, rest, err := root.Find(args)
			if err == nil && len(rest) > 0 {
				err = UnknownSubcommand(found, rest)
			}
			if err != nil {
				return fmt.Errorf("help %s: no such command: %w", strings.Join(args, " "), err)
			}
			show(cmd, args)
			return nil
		}
	}
}

// UnknownSubcommand is the Args check of a command with subcommands: any
// argument left over is a subcommand that does not exist. The error
// suggests the nearest names and lists the commands there are.
func UnknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	msg += "; commands: " + strings.Join(names, ", ")
	return fmt.Errorf("%s", msg)
}
