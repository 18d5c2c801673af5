package davclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// countOps counts the calls of each operation; the n-th call cancels
// stop, and op "delete" fails.
type countOps struct {
	calls map[string]int
	n     int
	stop  context.CancelFunc
}

func (o *countOps) do(op string) error {
	o.calls[op]++
	if o.n--; o.n == 0 {
		o.stop()
	}
	if op == KindDelete {
		return errors.New("refused")
	}
	return nil
}

func (o *countOps) Sync(context.Context) error      { return o.do(KindSync) }
func (o *countOps) Multiget(context.Context) error  { return o.do(KindMultiget) }
func (o *countOps) Get(context.Context) error       { return o.do(KindGet) }
func (o *countOps) PutOwned(context.Context) error  { return o.do(OpPutOwned) }
func (o *countOps) PutShared(context.Context) error { return o.do(OpPutShared) }
func (o *countOps) Create(context.Context) error    { return o.do(KindCreate) }
func (o *countOps) Delete(context.Context) error    { return o.do(KindDelete) }

// TestRunMix checks that every operation of the mix reaches its method,
// that the run ends when stop does, and that failures are handed over
// with their operation.
func TestRunMix(t *testing.T) {
	mix := []string{KindSync, KindMultiget, KindGet, OpPutOwned, OpPutShared, KindCreate, KindDelete, "unknown"}
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	ops := &countOps{calls: map[string]int{}, n: 400, stop: cancel}
	problems := map[string]int{}
	RunMix(stop, context.Background(), rand.New(rand.NewPCG(1, 2)), mix, ops, func(op string, err error) { problems[op]++ })
	total := 0
	for _, op := range mix[:7] {
		if ops.calls[op] == 0 {
			t.Errorf("operation %s never ran: %v", op, ops.calls)
		}
		total += ops.calls[op]
	}
	if total != 400 {
		t.Errorf("%d operations ran, want 400 (the run ends when stop does)", total)
	}
	if len(problems) != 1 || problems[KindDelete] != ops.calls[KindDelete] {
		t.Errorf("problems %v, want every delete (%d) and nothing else", problems, ops.calls[KindDelete])
	}
}

func TestDistinctPaths(t *testing.T) {
	draws := []string{"/a", "/b", "/a", "/c", "/b"}
	i := 0
	got := DistinctPaths(len(draws), func() string { i++; return draws[i-1] })
	if want := []string{"/a", "/b", "/c"}; !slices.Equal(got, want) {
		t.Errorf("DistinctPaths = %q, want %q", got, want)
	}
}
