package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
)

// prefetcher is a side with the Prefetcher capability that records its
// Prefetch calls and the ids Get is asked for.
type prefetcher struct {
	engine.Side
	mu      sync.Mutex
	calls   [][]string
	gets    []string
	failure error
}

func (p *prefetcher) Prefetch(ctx context.Context, ids []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.gets) > 0 {
		return errors.New("Prefetch after a Get")
	}
	p.calls = append(p.calls, slices.Clone(ids))
	return p.failure
}

func (p *prefetcher) Get(ctx context.Context, ids []string) ([]engine.Item, error) {
	p.mu.Lock()
	p.gets = append(p.gets, ids...)
	p.mu.Unlock()
	return p.Side.Get(ctx, ids)
}

// TestPrefetchBeforeGets: the engine tells a Prefetcher every id of the
// round before the first Get (the 300 reads take two Gets), does not call
// it when nothing is read, and a failed Prefetch costs nothing but time.
func TestPrefetchBeforeGets(t *testing.T) {
	for _, failure := range []error{nil, errors.New("server refused the query")} {
		t.Run(fmt.Sprint(failure), func(t *testing.T) {
			f := newFixture(t)
			f.putPeople(300)
			p := &prefetcher{Side: f.a, failure: failure}
			res := f.mustRun(func(pr *engine.Pair) { pr.A = p })
			if res.B.Created != 300 {
				t.Fatalf("first run: %+v", res)
			}
			if len(p.calls) != 1 || len(p.calls[0]) != 300 {
				t.Fatalf("Prefetch calls: %d (first with %d ids), want 1 with 300", len(p.calls), len(p.calls[0]))
			}
			asked := slices.Sorted(slices.Values(p.gets))
			if !slices.Equal(asked, slices.Sorted(slices.Values(p.calls[0]))) {
				t.Errorf("Get asked for %d ids, not those prefetched", len(asked))
			}
			p.calls, p.gets = nil, nil
			if res := f.mustRun(func(pr *engine.Pair) { pr.A = p }); writes(res) != 0 {
				t.Fatalf("second run wrote: %+v", res)
			}
			if len(p.calls) != 0 {
				t.Errorf("Prefetch called with nothing to read: %d ids", len(p.calls[0]))
			}
			converged(t, f.a, f.b)
		})
	}
}
