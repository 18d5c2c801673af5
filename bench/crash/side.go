// Package crash drives the cardbridge binary as a real process through
// the crash and fault campaigns of docs/robustness.md: it seeds two sides
// of a pair, changes both between rounds, starts `cardbridge sync`, kills
// it with SIGKILL at a random moment (or lets it run through injected
// faults), re-runs it and checks that both sides hold exactly the contacts
// the harness expects — no duplicate, no loss, the latest edit everywhere.
//
// The harness reads and writes each side the way another client would: a
// vCard folder through its files, Office 365 through Graph (the simulator
// running as its own process), the built-in server's store through the
// state database, Radicale through HTTP and its storage folder.
package crash

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cardbridge/cardbridge/vcard"
)

// Item is one contact as a side holds it.
type Item struct {
	// UID is the vCard UID (for Office 365: the UID property, or the UID
	// cardbridge derives from the contact's id).
	UID string
	// Ref names the item on its side: a file name, a Graph id, an href.
	Ref string
	// ETag is the side's version of the item, when it has one.
	ETag string
	// Card is the contact.
	Card *vcard.Card
}

// Side is one end of a pair as the harness reaches it.
type Side interface {
	// Name says what the side is ("vdir /tmp/x", "o365", …).
	Name() string
	// List reads every item.
	List(ctx context.Context) ([]Item, error)
	// SetTitle changes one item's TITLE (an edit a user makes).
	SetTitle(ctx context.Context, it Item, title string) error
	// Create adds a card and returns the UID it has on this side.
	Create(ctx context.Context, card *vcard.Card) (string, error)
	// Delete removes one item.
	Delete(ctx context.Context, it Item) error
}

// VdirSide is a vCard directory, written as khard would: whole files,
// written to a temporary name and renamed.
type VdirSide struct {
	// Dir is the folder.
	Dir string
}

// Name implements Side.
func (v *VdirSide) Name() string { return "vdir " + v.Dir }

// List implements Side. A file that does not parse is an error: the
// harness only writes good cards, so a broken one is a torn write.
func (v *VdirSide) List(ctx context.Context) ([]Item, error) {
	ents, err := os.ReadDir(v.Dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", v.Dir, err)
	}
	var out []Item
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".vcf") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(v.Dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", v.Dir, err)
		}
		c, err := vcard.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("list %s: %s does not parse (a torn write?): %w", v.Dir, e.Name(), err)
		}
		out = append(out, Item{UID: c.UID(), Ref: e.Name(), Card: c})
	}
	return out, nil
}

// Stray lists files in the folder that are neither .vcf nor hidden: the
// leftovers of an interrupted write.
func (v *VdirSide) Stray() ([]string, error) {
	ents, err := os.ReadDir(v.Dir)
	if err != nil {
		return nil, fmt.Errorf("stray files of %s: %w", v.Dir, err)
	}
	var out []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".vcf") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func (v *VdirSide) write(name string, data []byte) error {
	tmp := filepath.Join(v.Dir, ".harness-"+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, filepath.Join(v.Dir, name))
}

// SetTitle implements Side.
func (v *VdirSide) SetTitle(ctx context.Context, it Item, title string) error {
	c := it.Card.Clone()
	c.Set(vcard.NewText("TITLE", title))
	if err := v.write(it.Ref, c.Encode()); err != nil {
		return fmt.Errorf("edit %s/%s: %w", v.Dir, it.Ref, err)
	}
	return nil
}

// Create implements Side: the file is named after the UID.
func (v *VdirSide) Create(ctx context.Context, card *vcard.Card) (string, error) {
	if err := v.write(card.UID()+".vcf", card.Encode()); err != nil {
		return "", fmt.Errorf("create in %s: %w", v.Dir, err)
	}
	return card.UID(), nil
}

// Delete implements Side.
func (v *VdirSide) Delete(ctx context.Context, it Item) error {
	if err := os.Remove(filepath.Join(v.Dir, it.Ref)); err != nil {
		return fmt.Errorf("delete %s/%s: %w", v.Dir, it.Ref, err)
	}
	return nil
}
