package davclient

import (
	"context"
	"math/rand/v2"
)

// OpPutOwned and OpPutShared are the operations of a simulated client's
// mix that rewrite a card only that client writes and one every client
// writes; the others are named by their request kind: KindSync,
// KindMultiget, KindGet, KindCreate and KindDelete.
const (
	OpPutOwned  = "put-owned"
	OpPutShared = "put-shared"
)

// Ops is what a simulated client of a load generator does, one method
// per operation of its mix.
type Ops interface {
	Sync(ctx context.Context) error
	Multiget(ctx context.Context) error
	Get(ctx context.Context) error
	PutOwned(ctx context.Context) error
	PutShared(ctx context.Context) error
	Create(ctx context.Context) error
	Delete(ctx context.Context) error
}

// RunMix does operations of ops, each drawn with rng from mix (one entry
// per percent; an unknown name does nothing), until stop or ctx ends, and
// hands problem the operation and error of each one that failed before
// ctx ended. Requests run under ctx, so that one in flight when stop ends
// is finished and its answer recorded: an answer lost to the stop would
// look like a lost update.
func RunMix(stop, ctx context.Context, rng *rand.Rand, mix []string, ops Ops, problem func(op string, err error)) {
	for stop.Err() == nil && ctx.Err() == nil {
		op := mix[rng.IntN(len(mix))]
		var err error
		switch op {
		case KindSync:
			err = ops.Sync(ctx)
		case KindMultiget:
			err = ops.Multiget(ctx)
		case KindGet:
			err = ops.Get(ctx)
		case OpPutOwned:
			err = ops.PutOwned(ctx)
		case OpPutShared:
			err = ops.PutShared(ctx)
		case KindCreate:
			err = ops.Create(ctx)
		case KindDelete:
			err = ops.Delete(ctx)
		}
		if err != nil && ctx.Err() == nil {
			problem(op, err)
		}
	}
}

// DistinctPaths draws n paths with draw and returns each one once, in the
// order first drawn: the cards of a multiget.
func DistinctPaths(n int, draw func() string) []string {
	seen := map[string]bool{}
	var paths []string
	for range n {
		p := draw()
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	return paths
}
