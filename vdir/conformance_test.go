package vdir

import (
	"testing"

	"github.com/cardbridge/cardbridge/sync"
	"github.com/cardbridge/cardbridge/sync/synctest"
)

// TestConformance runs the engine's side-contract suite on a vdir.
func TestConformance(t *testing.T) {
	synctest.Run(t, func(t *testing.T) sync.Side {
		s, err := New(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, synctest.Options{NoChangeTokens: true})
}
