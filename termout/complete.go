package termout

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Choice is one value a shell may complete an argument with, and what it
// is (one line, no tabs; "" for nothing).
type Choice struct {
	Value, Desc string
}

// FlagCompletion is the completion of one flag's value.
type FlagCompletion struct {
	Flag     string
	Complete cobra.CompletionFunc
}

// RegisterCompletions makes `completion`'s scripts complete what the
// commands under root take: args maps a command's path below root
// ("conflicts show") to the completion of its arguments, flags to the
// completion of one of its flags.
func RegisterCompletions(root *cobra.Command, args map[string]cobra.CompletionFunc, flags map[string]FlagCompletion) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if f, ok := args[path]; ok {
			c.ValidArgsFunction = f
		}
		if f, ok := flags[path]; ok {
			c.RegisterFlagCompletionFunc(f.Flag, f.Complete)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// Complete is the completions among choices whose value starts with
// prefix and is none of taken (in any case), with their descriptions.
func Complete(choices []Choice, prefix string, taken []string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range choices {
		if !strings.HasPrefix(c.Value, prefix) || slices.ContainsFunc(taken, func(t string) bool { return strings.EqualFold(t, c.Value) }) {
			continue
		}
		if c.Desc == "" {
			out = append(out, c.Value)
		} else {
			out = append(out, cobra.CompletionWithDesc(c.Value, c.Desc))
		}
	}
	return out
}
