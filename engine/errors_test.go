package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

var errInjected = errors.New("injected: disk full")

// failingWrites is a side whose creates and updates fail with
// errInjected, and that can cancel the run's context after an update.
type failingWrites struct {
	engine.Side
	failCreate, failUpdate bool
	cancel                 context.CancelFunc
}

func (s *failingWrites) Create(ctx context.Context, c *vcard.Card) (engine.Ref, error) {
	if s.failCreate {
		return engine.Ref{}, fmt.Errorf("writing the file: %w", errInjected)
	}
	return s.Side.Create(ctx, c)
}

func (s *failingWrites) Update(ctx context.Context, ref engine.Ref, c *vcard.Card) (engine.Ref, error) {
	if s.failUpdate {
		return engine.Ref{}, fmt.Errorf("writing the file: %w", errInjected)
	}
	ref, err := s.Side.Update(ctx, ref, c)
	if s.cancel != nil {
		s.cancel() // a signal once the write is done
	}
	return ref, err
}

// TestTypedRunErrors: the errors of a run are typed (errors.As) with the
// side, the write, the item's id and name, wrap their cause (errors.Is),
// and read as before in the `sync --json` summary.
func TestTypedRunErrors(t *testing.T) {
	// retitle edits person 1 on a, for an update on b.
	retitle := func(f *fixture) {
		c := person(1)
		c.Set(vcard.NewText("TITLE", "Dr"))
		f.a.Put("a.vcf", c.Encode())
	}
	cases := []struct {
		name string
		side func(f *fixture, cancel context.CancelFunc) *failingWrites
		// edit prepares the second run (the first links person 1).
		edit func(f *fixture)
		// check looks at the error's type and fields.
		check func(t *testing.T, f *fixture, err error)
		wraps error // the cause the error must wrap
		text  string
	}{
		{
			name: "update fails",
			side: func(f *fixture, _ context.CancelFunc) *failingWrites {
				return &failingWrites{Side: f.b, failUpdate: true}
			},
			edit: retitle,
			check: func(t *testing.T, f *fixture, err error) {
				var ie *engine.ItemError
				if !errors.As(err, &ie) {
					t.Fatalf("%T is not an *ItemError", err)
				}
				want := engine.ItemError{Pair: "p", UID: "uid-001", Name: "Person 001", Op: engine.OpUpdate, Side: engine.SideB, SideName: "mem b", ID: findID(f.b, "uid-001")}
				got := *ie
				got.Err = nil
				if got != want {
					t.Errorf("item error = %+v, want %+v", got, want)
				}
			},
			wraps: errInjected,
			text:  `"Person 001" (uid-001): update on b (mem b): writing the file: injected: disk full`,
		},
		{
			name: "create fails",
			side: func(f *fixture, _ context.CancelFunc) *failingWrites {
				return &failingWrites{Side: f.b, failCreate: true}
			},
			edit: func(f *fixture) { f.a.Put("n.vcf", person(2).Encode()) },
			check: func(t *testing.T, f *fixture, err error) {
				var ie *engine.ItemError
				if !errors.As(err, &ie) || ie.Op != engine.OpCreate || ie.Side != engine.SideB || ie.ID != "" || ie.UID != "uid-002" || ie.Name != "Person 002" {
					t.Fatalf("error %#v, want a create on b of uid-002", err)
				}
			},
			wraps: errInjected,
			text:  `"Person 002" (uid-002): create on b (mem b): writing the file: injected: disk full`,
		},
		{
			name: "interrupted",
			side: func(f *fixture, cancel context.CancelFunc) *failingWrites {
				return &failingWrites{Side: f.b, cancel: cancel}
			},
			edit: retitle,
			check: func(t *testing.T, f *fixture, err error) {
				var ie *engine.InterruptedError
				if !errors.As(err, &ie) || ie.Pair != "p" {
					t.Fatalf("%#v is not the pair's *InterruptedError", err)
				}
			},
			wraps: context.Canceled,
			text:  "interrupted: context canceled",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.a.Put("a.vcf", person(1).Encode())
			f.mustRun()
			tc.edit(f)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			side := tc.side(f, cancel)
			res, err := engine.New(f.db, nil).Run(ctx, f.pair(func(p *engine.Pair) { p.B = side }), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) != 1 {
				t.Fatalf("errors = %v, want one", res.Errors)
			}
			tc.check(t, f, res.Errors[0])
			if !errors.Is(res.Errors[0], tc.wraps) {
				t.Errorf("%v does not wrap %v", res.Errors[0], tc.wraps)
			}
			if got := res.Errors[0].Error(); got != tc.text {
				t.Errorf("text = %q, want %q", got, tc.text)
			}
			line, err := res.MarshalSummary()
			if err != nil {
				t.Fatal(err)
			}
			var sum struct {
				Errors []string `json:"errors"`
			}
			if err := json.Unmarshal(line, &sum); err != nil || len(sum.Errors) != 1 || sum.Errors[0] != tc.text {
				t.Errorf("summary %s: errors are not [%q] (%v)", line, tc.text, err)
			}
		})
	}
}
