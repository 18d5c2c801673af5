package o365

import (
	"context"
	"errors"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graph"
)

// batcher gathers the writes of concurrent callers into $batch requests,
// with at most one of its batches in flight: a $batch takes all four of
// the mailbox's request slots (Outlook runs four of its sub-requests at
// once), so a second one could only wait at the client's limiter, and a
// half-filled one sent early would leave the writes that came meanwhile
// for yet another round trip. While a batch is in flight the next one
// gathers; once full it is handed to the client at once, which encodes it
// and holds it at the limiter until the slots are free, so it is on the
// wire the moment the one in flight is answered. A group that is not full
// leaves when nothing is in flight and it is full or its first write has
// waited gap; with nothing in flight a write waits at most gap for company.
//
// A write is reported as Office 365 answered it, even to a caller whose
// context ends meanwhile: once its $batch is on the way, Graph may do it,
// so do waits for the answer rather than give up with ctx.Err(). A caller
// that reported a write failed while Graph then did it would let the sync
// run end with the write still in flight, and the next run, listing the
// folder before it landed, would create the contact a second time. A
// write whose caller gave up before its $batch left the batcher is not
// sent.
type batcher struct {
	c    *graph.Client
	in   chan pending
	gap  time.Duration
	size int // sub-requests per $batch
}

type pending struct {
	ctx context.Context
	op  graph.Op
	out chan graph.Result
}

func newBatcher(c *graph.Client) *batcher {
	b := &batcher{c: c, in: make(chan pending), gap: 3 * time.Millisecond, size: api.MaxBatch}
	go b.loop()
	return b
}

// close stops the batcher once the writes handed to it are sent.
func (b *batcher) close() { close(b.in) }

// do hands op to the next $batch and returns its answer. It returns
// ctx.Err() only for a write that was not sent.
func (b *batcher) do(ctx context.Context, op graph.Op) graph.Result {
	if err := ctx.Err(); err != nil {
		return graph.Result{Err: err}
	}
	p := pending{ctx: ctx, op: op, out: make(chan graph.Result, 1)}
	select {
	case b.in <- p:
	case <-ctx.Done():
		return graph.Result{Err: ctx.Err()}
	}
	// Handed over: send answers it, with ctx.Err() if it dropped the
	// write unsent, else with Graph's answer (bounded by the client's
	// timeout, retries and wait).
	return <-p.out
}

// loop gathers and sends until close, then sends what is left and waits
// for the batch in flight.
func (b *batcher) loop() {
	var (
		group    []pending
		inFlight int // batches sent and not yet answered (at most 2)
		done     = make(chan struct{})
		timer    = time.NewTimer(0)
		due      bool // the group's first write has waited gap
		in       = b.in
	)
	<-timer.C
	defer timer.Stop()
	send := func() {
		g := group
		group, due = nil, false
		inFlight++
		go func() {
			answer := b.send(g)
			done <- struct{}{} // the next batch may leave: answer meanwhile
			answer()
		}()
	}
	for in != nil || len(group) > 0 || inFlight > 0 {
		// A full group takes no more writes: callers wait in do.
		recv := in
		if len(group) >= b.size {
			recv = nil
		}
		select {
		case p, ok := <-recv:
			if !ok {
				in, due = nil, true // closing: send what is left
				break
			}
			if len(group) == 0 {
				timer.Reset(b.gap)
			}
			group = append(group, p)
		case <-timer.C:
			due = len(group) > 0
		case <-done:
			inFlight--
		}
		// A full group leaves while one batch is in flight: it is encoded
		// meanwhile and waits at the client's limiter for the slots, so
		// it is on the wire the moment the one in flight is answered.
		full := len(group) >= b.size
		if (inFlight == 0 && len(group) > 0 && (due || full)) || (inFlight == 1 && full) {
			if !due {
				timer.Stop()
			}
			send()
		}
	}
}

// send sends group as one $batch and returns the func that answers each
// of its callers, which the loop runs once the next batch may leave: the
// callers woken compete for the CPU with that batch's encoding.
func (b *batcher) send(group []pending) (answer func()) {
	// The callers that gave up before the batch left are answered so,
	// and their writes not sent.
	var ops []graph.Op
	var sent []pending
	for _, p := range group {
		if err := p.ctx.Err(); err != nil {
			p.out <- graph.Result{Err: err}
			continue
		}
		ops = append(ops, p.op)
		sent = append(sent, p)
	}
	if len(ops) == 0 {
		return func() {}
	}
	// The writes sent outlive their callers' cancellation only as long
	// as one batch takes: a write Graph may have done must be reported.
	res := b.c.Batch(context.Background(), ops)
	return func() {
		for i, p := range sent {
			r := graph.Result{Err: errors.New("o365: batch gave no answer")}
			if i < len(res) {
				r = res[i]
			}
			p.out <- r
		}
	}
}
