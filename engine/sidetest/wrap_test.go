package sidetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/vcard"
)

// allCaps is a side with every capability, each method recording its call.
type allCaps struct {
	engine.Side
	calls []string
}

func (a *allCaps) Changes(context.Context, string) (engine.ChangeSet, error) {
	a.calls = append(a.calls, "Changes")
	return engine.ChangeSet{}, nil
}
func (a *allCaps) Project(c *vcard.Card) *vcard.Card { a.calls = append(a.calls, "Project"); return c }
func (a *allCaps) Flush(context.Context) error       { a.calls = append(a.calls, "Flush"); return nil }
func (a *allCaps) WriteConcurrency() int             { a.calls = append(a.calls, "WriteConcurrency"); return 3 }
func (a *allCaps) Prefetch(context.Context, []string) error {
	a.calls = append(a.calls, "Prefetch")
	return nil
}
func (a *allCaps) Identity(context.Context) (string, error) {
	a.calls = append(a.calls, "Identity")
	return "id", nil
}
func (a *allCaps) Close() error { a.calls = append(a.calls, "Close"); return nil }

// call invokes capability c of s by its single method.
func call(t *testing.T, s engine.Side, c reflect.Type) {
	t.Helper()
	m := reflect.ValueOf(s).MethodByName(c.Method(0).Name)
	args := make([]reflect.Value, m.Type().NumIn())
	for i := range args {
		switch in := m.Type().In(i); {
		case in == reflect.TypeFor[context.Context]():
			args[i] = reflect.ValueOf(context.Background())
		default:
			args[i] = reflect.Zero(in)
		}
	}
	m.Call(args)
}

// TestWrapGeneratedIsCurrent fails when a capability was added to
// engine.CapabilityTypes without running go generate ./engine/sidetest/.
func TestWrapGeneratedIsCurrent(t *testing.T) {
	var want []string
	for _, c := range engine.CapabilityTypes() {
		want = append(want, c.Name())
	}
	var got []string
	ct := reflect.TypeFor[capsOf]()
	for i := range ct.NumField() {
		got = append(got, ct.Field(i).Type.Name())
	}
	if capabilityCount != len(want) || !slices.Equal(got, want) {
		t.Fatalf("wrap_gen.go knows capabilities %v, engine.CapabilityTypes has %v: run go generate ./engine/sidetest/", got, want)
	}
}

// TestWrapKeepsEveryCapabilitySubset wraps a side for every subset of the
// capabilities and checks that the wrapper has exactly that subset and
// forwards each of its methods to the wrapped side.
func TestWrapKeepsEveryCapabilitySubset(t *testing.T) {
	caps := engine.CapabilityTypes()
	for mask := range 1 << len(caps) {
		t.Run(fmt.Sprint(mask), func(t *testing.T) {
			inner := &allCaps{Side: mem.New("m")}
			c, full := sideCaps(inner)
			if full != 1<<len(caps)-1 {
				t.Fatalf("test side has capability mask %b, want all", full)
			}
			// A side with exactly the capabilities in mask.
			side := withCaps(&faulty{Side: inner, f: &Faults{}}, c, mask)
			var want []string
			for i, ct := range caps {
				if mask&(1<<i) != 0 {
					want = append(want, ct.Name())
				}
			}
			if got := engine.SideCapabilities(side); !slices.Equal(got, want) {
				t.Fatalf("fixture has %v, want %v", got, want)
			}
			w := (&Faults{}).Wrap(side)
			if got := engine.SideCapabilities(w); !slices.Equal(got, want) {
				t.Fatalf("Wrap of a side with %v has %v", want, got)
			}
			inner.calls = nil
			for i, ct := range caps {
				if mask&(1<<i) != 0 {
					call(t, w, ct)
				}
			}
			var called []string
			for _, ct := range caps[:] {
				if slices.Contains(inner.calls, ct.Method(0).Name) {
					called = append(called, ct.Name())
				}
			}
			if !slices.Equal(called, want) {
				t.Errorf("Wrap forwarded %v of %v", called, want)
			}
		})
	}
}
