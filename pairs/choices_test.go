package pairs

import (
	"reflect"
	"testing"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
)

// TestChoices: the trash's ids complete in order (ListTrash is newest
// first), each described on one line; accounts by where they come from;
// no conflicts, no choices.
func TestChoices(t *testing.T) {
	ctx := t.Context()
	r, db := accountsRunner(t, config.Account{Name: "work"})
	for _, e := range []*state.TrashEntry{
		{Pair: "p", Side: "a", UID: "u1", Card: viewCard("Ann\tLee", "T", "1"), Reason: "deleted"},
		{Pair: "p", Side: "b", UID: "u2", Card: []byte("junk"), Reason: "overwritten"},
	} {
		if err := db.AddTrash(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.TrashChoices(ctx)
	if want := []Choice{{"1", "p: deleted Ann Lee"}, {"2", "p: overwritten"}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("trash: %q, %v; want %q", got, err, want)
	}
	if got, err := r.AccountChoices(ctx); err != nil || !reflect.DeepEqual(got, []Choice{{"work", "config"}}) {
		t.Errorf("accounts: %q, %v", got, err)
	}
	if got, err := r.ConflictChoices(ctx); err != nil || len(got) != 0 {
		t.Errorf("conflicts: %q, %v", got, err)
	}
	if got := idChoices(map[int64]string{10: "b:\n two", 9: "a"}); !reflect.DeepEqual(got, []Choice{{"9", "a"}, {"10", "b: two"}}) {
		t.Errorf("ids: %q", got)
	}
}
