package demo

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/o365/api"
	o365side "github.com/cardbridge/cardbridge/side/o365"
)

// sampleCards builds the demo's simulated Office 365 and returns its
// contacts as the pair's Office 365 side reads them (vCards, UID
// included), in order, without the photos.
func sampleCards(t *testing.T, n int) []string {
	t.Helper()
	w := &Workspace{Listen: "127.0.0.1:15232", Contacts: n}
	var err error
	if w.Password, err = Password(); err != nil {
		t.Fatal(err)
	}
	w.Secret = w.Password
	sim, err := Graphsim(w, slogDiscard())
	if err != nil {
		t.Fatal(err)
	}
	m := sim.Mailbox(Mailbox)
	if m == nil {
		t.Fatalf("no mailbox %s", Mailbox)
	}
	var out []string
	for _, id := range m.ContactIDs("") {
		raw, ok := m.Get(id)
		if !ok {
			t.Fatalf("contact %s not found", id)
		}
		var c api.Contact
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		card := o365side.ToVCard(c, nil)
		card.Remove("REV")    // when graphsim stored it
		if card.UID() == "" { // as the side does for a contact made in Outlook
			card.SetUID(o365side.DerivedUID(c.ID))
		}
		out = append(out, string(card.Encode()))
	}
	return out
}

// TestSampleContactsSameEveryRun: two runs of the demo's seeding give the
// same contacts, UIDs included (graphsim's ids differ; the UIDs are not
// derived from them), and the UIDs are SampleUID's, all different.
func TestSampleContactsSameEveryRun(t *testing.T) {
	first, second := sampleCards(t, 40), sampleCards(t, 40)
	if len(first) != 40 {
		t.Fatalf("%d contacts, want 40", len(first))
	}
	if !slices.Equal(first, second) {
		for i := range first {
			if first[i] != second[i] {
				t.Fatalf("contact %d differs between two runs:\n%s\n---\n%s", i, first[i], second[i])
			}
		}
	}
	seen := map[string]bool{}
	for i := range 40 {
		uid := SampleUID(i)
		if seen[uid] {
			t.Fatalf("UID %s twice", uid)
		}
		seen[uid] = true
		if !slices.ContainsFunc(first, func(c string) bool { return containsLine(c, "UID:"+uid) }) {
			t.Errorf("no card has UID %s (sample %d)", uid, i)
		}
	}
}

func containsLine(card, line string) bool {
	return slices.Contains(strings.Split(card, "\r\n"), line)
}
