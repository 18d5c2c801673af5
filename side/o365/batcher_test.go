package o365_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/vcard"
)

// TestWritesFillBatches: writes that arrive while a $batch is in flight
// wait for it and leave together, 20 to a batch, instead of leaving in
// half-filled batches that queue at the mailbox's limiter (one $batch
// takes all four of its slots). 40 writers, as the engine runs for this
// side, each write 5 contacts one after the other with 0 to 6 ms of local
// work between two writes, against 20 ms of latency.
func TestWritesFillBatches(t *testing.T) {
	const writers, each = 40, 5
	s, sim := simSide(t, graphsim.Options{Latency: 20 * time.Millisecond, Transient412Rate: -1})
	before := sim.Stats()
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c := vcard.New(vcard.V30)
				c.SetUID(fmt.Sprintf("fill-%02d-%d", w, i))
				c.SetFN(fmt.Sprintf("Fill %02d %d", w, i))
				if _, err := s.Create(context.Background(), c); err != nil {
					errs <- err
				}
				time.Sleep(time.Duration(w%7) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := sim.Stats()
	batches, subs := st.Batches-before.Batches, st.SubRequests-before.SubRequests
	if subs != writers*each {
		t.Fatalf("%d sub-requests, want %d", subs, writers*each)
	}
	// One partial batch may leave at the start, before 20 writers came.
	if want := writers*each/20 + 1; batches > want {
		t.Errorf("%d writes took %d $batch requests, want at most %d (full batches of 20)", subs, batches, want)
	}
}
