package vdir

import (
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/engine/sidetest"
)

// TestConformance runs the engine's side-contract suite on a vdir.
func TestConformance(t *testing.T) {
	sidetest.Run(t, func(t *testing.T) engine.Side {
		s, err := New(t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
