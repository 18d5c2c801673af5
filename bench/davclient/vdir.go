package davclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ReadDir reads a vCard directory: UID -> marker of each card, and the
// UIDs found in more than one file.
func ReadDir(dir string) (map[string]string, []string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]string, len(ents))
	var dups []string
	for _, de := range ents {
		if !strings.HasSuffix(de.Name(), ".vcf") || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue // replaced or removed meanwhile
		}
		if err != nil {
			return nil, nil, err
		}
		uid := UIDOf(b)
		if _, dup := out[uid]; dup {
			dups = append(dups, uid)
		}
		out[uid] = MarkerOf(b)
	}
	return out, dups, nil
}

// PhoneEditor edits cards in a vCard directory every 300 ms, as a phone
// synced with vdirsyncer would, so that a pair writes to the server too.
// Each edit replaces UID.vcf at once (a rename) by a card whose marker is
// "phone-N", N counting the edits from 1.
type PhoneEditor struct {
	Dir  string
	UIDs []string // the cards it edits, one drawn at random each time
	// Nums, when not nil, is the number CardText makes UIDs[k]'s card
	// with; otherwise each edit's N is.
	Nums []int
	Rng  *rand.Rand
	// Last is UID -> marker of its last edit (a non-nil map to fill).
	Last  map[string]string
	Edits int
	// Err is why it stopped before ctx ended.
	Err error
}

// Run edits until ctx ends or an edit fails (Err).
func (p *PhoneEditor) Run(ctx context.Context) {
	if len(p.UIDs) == 0 {
		return
	}
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
		k := p.Rng.IntN(len(p.UIDs))
		uid, num := p.UIDs[k], n
		if p.Nums != nil {
			num = p.Nums[k]
		}
		m := fmt.Sprintf("phone-%d", n)
		tmp := filepath.Join(p.Dir, ".phone-edit.tmp")
		if err := os.WriteFile(tmp, []byte(CardText(uid, num, m)), 0o600); err != nil {
			p.Err = err
			return
		}
		if err := os.Rename(tmp, filepath.Join(p.Dir, uid+".vcf")); err != nil {
			p.Err = err
			return
		}
		p.Last[uid] = m
		p.Edits++
	}
}
