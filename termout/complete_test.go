package termout

import (
	"reflect"
	"testing"

	"github.com/spf13/cobra"
)

// TestComplete: choices that start with the prefix, with their
// descriptions, none already taken (in any case).
func TestComplete(t *testing.T) {
	cs := []Choice{{Value: "work"}, {Value: "home", Desc: "config"}, {Value: "web-ann"}}
	for _, tc := range []struct {
		prefix string
		taken  []string
		want   []cobra.Completion
	}{
		{"", nil, []cobra.Completion{"work", "home\tconfig", "web-ann"}},
		{"w", []string{"WORK"}, []cobra.Completion{"web-ann"}},
		{"x", nil, nil},
	} {
		if got := Complete(cs, tc.prefix, tc.taken); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Complete(%q, %v) = %q, want %q", tc.prefix, tc.taken, got, tc.want)
		}
	}
}

// TestRegisterCompletions: arguments and flags complete by the command's
// path below the root.
func TestRegisterCompletions(t *testing.T) {
	root := &cobra.Command{Use: "tool"}
	trash := &cobra.Command{Use: "trash"}
	restore := &cobra.Command{Use: "restore", Run: func(*cobra.Command, []string) {}}
	purge := &cobra.Command{Use: "purge", Run: func(*cobra.Command, []string) {}}
	purge.Flags().String("pair", "", "")
	trash.AddCommand(restore, purge)
	root.AddCommand(trash)
	ids := func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"1"}, cobra.ShellCompDirectiveNoFileComp
	}
	names := func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"work"}, cobra.ShellCompDirectiveNoFileComp
	}
	RegisterCompletions(root, map[string]cobra.CompletionFunc{"trash restore": ids}, map[string]FlagCompletion{"trash purge": {Flag: "pair", Complete: names}})
	if restore.ValidArgsFunction == nil || purge.ValidArgsFunction != nil {
		t.Errorf("argument completion on the wrong command")
	}
	if f, ok := purge.GetFlagCompletionFunc("pair"); !ok {
		t.Errorf("--pair of trash purge does not complete")
	} else if got, _ := f(purge, nil, ""); !reflect.DeepEqual(got, []cobra.Completion{"work"}) {
		t.Errorf("--pair completes %q", got)
	}
}
