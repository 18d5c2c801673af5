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
// once), so a second one would only wait at the client's limiter, and the
// writes that came meanwhile would leave half-filled. While a batch is in
// flight the next one gathers; it leaves as soon as the one in flight is
// answered, if it is full or its first write has waited gap. With nothing
// in flight a write waits at most gap for company.
//
// A write is reported as Office 365 answered it, even to a caller whose
// context ends meanwhile: once its $batch is on the way, Graph may do it,
// so do waits for the answer rather than give up with ctx.Err(). A caller
// that reported a write failed while Graph then did it would let the sync
// run end with the write still in flight, and the next run, listing the
// folder before it landed, would create the contact a second time. A
// write whose caller gave up before its $batch was sent is not sent.
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
		inFlight bool
		done     = make(chan struct{})
		timer    = time.NewTimer(0)
		due      bool // the group's first write has waited gap
		in       = b.in
	)
	<-timer.C
	defer timer.Stop()
	send := func() {
		g := group
		group, due, inFlight = nil, false, true
		go func() {
			b.send(g)
			done <- struct{}{}
		}()
	}
	for in != nil || len(group) > 0 || inFlight {
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
			inFlight = false
		}
		if !inFlight && len(group) > 0 && (due || len(group) >= b.size) {
			if !due {
				timer.Stop()
			}
			send()
		}
	}
}

// send sends group as one $batch and answers each of its callers.
func (b *batcher) send(group []pending) {
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
		return
	}
	// The writes sent outlive their callers' cancellation only as long
	// as one batch takes: a write Graph may have done must be reported.
	res := b.c.Batch(context.Background(), ops)
	for i, p := range sent {
		r := graph.Result{Err: errors.New("o365: batch gave no answer")}
		if i < len(res) {
			r = res[i]
		}
		p.out <- r
	}
}
