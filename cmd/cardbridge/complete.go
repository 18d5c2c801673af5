package main

import (
	"context"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/termout"
	"github.com/spf13/cobra"
)

// completeIDs makes `cardbridge completion`'s scripts complete the
// arguments and flags that name a pair, an account, a conflict or a trash
// entry (cobra's __complete asks these functions), not only flags.
func (a *app) completeIDs(root *cobra.Command) {
	accounts, conflicts := a.completeChoices((*pairs.Runner).AccountChoices), a.completeChoices((*pairs.Runner).ConflictChoices)
	termout.RegisterCompletions(root, map[string]cobra.CompletionFunc{
		"status": a.completePairs, "sync": a.completePairs, "reset": a.completeOnePair,
		"login": accounts, "logout": accounts, "accounts folders": accounts,
		"conflicts show": conflicts, "conflicts resolve": conflicts,
		"trash restore": a.completeChoices((*pairs.Runner).TrashChoices),
	}, map[string]termout.FlagCompletion{"trash list": {Flag: "pair", Complete: a.completePairs}, "trash purge": {Flag: "pair", Complete: a.completePairs}})
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

// completePairs completes pair names (configured and made on the web page)
// not named yet.
func (a *app) completePairs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var choices []termout.Choice
	for _, n := range pairs.WithWebPairs(cmd.Context(), cfg, a.logger()).PairNames() {
		choices = append(choices, termout.Choice{Value: n})
	}
	return termout.Complete(choices, toComplete, args), cobra.ShellCompDirectiveNoFileComp
}

// completeChoices completes the first argument with the choices list
// reads from the configuration and the state (read-only): accounts by
// where they come from, the ids of open conflicts and of trash entries by
// pair and contact name.
func (a *app) completeChoices(list func(*pairs.Runner, context.Context) ([]pairs.Choice, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
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
		return termout.Complete(cs, toComplete, nil), cobra.ShellCompDirectiveNoFileComp
	}
}
