package main

import (
	"context"
	"strings"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/spf13/cobra"
)

// completeIDs makes `cardbridge completion`'s scripts complete the
// arguments and flags that name a pair, an account, a conflict or a trash
// entry (cobra's __complete asks these functions), not only flags.
func (a *app) completeIDs(root *cobra.Command) {
	args := map[string]cobra.CompletionFunc{
		"status": a.completePairs, "sync": a.completePairs, "reset": a.completeOnePair,
		"login": a.completeAccounts, "logout": a.completeAccounts, "accounts folders": a.completeAccounts,
		"conflicts show": a.completeConflictIDs, "conflicts resolve": a.completeConflictIDs,
		"trash restore": a.completeTrashIDs,
	}
	pairFlags := map[string]string{"trash list": "pair", "trash purge": "pair"}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if f, ok := args[path]; ok {
			c.ValidArgsFunction = f
		}
		if flag, ok := pairFlags[path]; ok {
			c.RegisterFlagCompletionFunc(flag, a.completePairs)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeOnePair is completePairs for a command that takes one pair.
func (a *app) completeOnePair(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.completePairs(cmd, args, toComplete)
}

// The completion functions below complete ids from the configuration and
// the state (read-only) for `cardbridge completion`'s scripts. They never
// fail loudly: a configuration that does not load completes nothing.

// completePairs completes pair names (configured and made on the web page).
func (a *app) completePairs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg = pairs.WithWebPairs(cmd.Context(), cfg, a.logger())
	var out []cobra.Completion
	for _, n := range cfg.PairNames() {
		if strings.HasPrefix(n, toComplete) && !contains(args, n) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeAccounts completes account names (configured and in the state).
func (a *app) completeAccounts(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.completeChoices(cmd, args, toComplete, (*pairs.Runner).AccountChoices)
}

// completeConflictIDs completes the ids of open conflicts, described by
// pair and contact name.
func (a *app) completeConflictIDs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.completeChoices(cmd, args, toComplete, (*pairs.Runner).ConflictChoices)
}

// completeTrashIDs completes the ids of trash entries, described by pair,
// reason and contact name.
func (a *app) completeTrashIDs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.completeChoices(cmd, args, toComplete, (*pairs.Runner).TrashChoices)
}

// completeChoices completes the first argument with the choices list
// reads from the configuration and the state (read-only) that start with
// toComplete; nothing when they cannot be read.
func (a *app) completeChoices(cmd *cobra.Command, args []string, toComplete string, list func(*pairs.Runner, context.Context) ([]pairs.Choice, error)) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	r, db, err := a.configRunner(cmd.Context(), true)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer db.Close()
	cs, err := list(r, cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, c := range cs {
		if strings.HasPrefix(c.Value, toComplete) {
			out = append(out, cobra.CompletionWithDesc(c.Value, c.Desc))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
