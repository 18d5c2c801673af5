package pairs

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cardbridge/cardbridge/termout"
)

// Choice is one value a shell may complete an argument with, and what it
// is (one line, no tabs): termout.Choice, which termout.Complete filters.
type Choice = termout.Choice

// AccountChoices are the accounts (Accounts), described by where they
// come from.
func (r *Runner) AccountChoices(ctx context.Context) ([]Choice, error) {
	infos, err := r.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Choice, 0, len(infos))
	for _, in := range infos {
		out = append(out, Choice{Value: in.Account.Name, Desc: in.From()})
	}
	return out, nil
}

// ConflictChoices are the open conflicts by id, in order, described by
// pair and contact name.
func (r *Runner) ConflictChoices(ctx context.Context) ([]Choice, error) {
	cs, err := r.o.DB.Conflicts(ctx, "", true)
	if err != nil {
		return nil, err
	}
	ids := map[int64]string{}
	for _, c := range cs {
		ids[c.ID] = c.Pair + ": " + CardName(c.A)
	}
	return idChoices(ids), nil
}

// TrashChoices are the trash entries by id, in order, described by pair,
// reason and contact name.
func (r *Runner) TrashChoices(ctx context.Context) ([]Choice, error) {
	es, err := r.o.DB.ListTrash(ctx, "")
	if err != nil {
		return nil, err
	}
	ids := map[int64]string{}
	for _, e := range es {
		ids[e.ID] = e.Pair + ": " + e.Reason + " " + CardName(e.Card)
	}
	return idChoices(ids), nil
}

// idChoices are the ids of ids in order, each described by its text made
// one line.
func idChoices(ids map[int64]string) []Choice {
	out := make([]Choice, 0, len(ids))
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		out = append(out, Choice{Value: fmt.Sprint(id), Desc: oneLine(ids[id])})
	}
	return out
}

// oneLine is s made safe as a completion description: one line, no tabs.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
