package store

import (
	"context"
	"sync"

	"github.com/cardbridge/cardbridge/state"
)

// maxGroup bounds the cards of one group commit (one transaction).
const maxGroup = 100

// groupCommit gathers the card writes made at once (the engine writes
// many cards of a round concurrently) into one transaction of the state
// (state.DB.PutCards): the first writer to come while none is committing
// commits every write queued meanwhile, then the next ones, until the
// queue is empty, so a round of N cards costs far fewer than N commits. A
// write returns only once its transaction is committed, as with PutCard.
type groupCommit struct {
	db   *state.DB
	book int64

	mu      sync.Mutex
	queue   []*putReq
	running bool // a writer is committing the queue
	commits int  // transactions committed (or tried), for the tests
}

// putReq is one queued write and, once done is closed, its outcome.
type putReq struct {
	ctx  context.Context
	put  state.CardPut
	res  state.CardPutResult
	done chan struct{}
}

// put stores p as state.DB.PutCard would, in a transaction shared with the
// writes made at the same time.
func (g *groupCommit) put(ctx context.Context, p state.CardPut) (etag string, created bool, err error) {
	r := &putReq{ctx: ctx, put: p, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, r)
	if g.running {
		g.mu.Unlock()
		<-r.done
		return r.res.ETag, r.res.Created, r.res.Err
	}
	g.running = true
	g.mu.Unlock()
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxGroup)
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		if n == 0 {
			g.running = false
			g.queue = nil
		}
		g.mu.Unlock()
		if n == 0 {
			break
		}
		g.commit(batch)
	}
	<-r.done
	return r.res.ETag, r.res.Created, r.res.Err
}

// commit writes batch in one transaction and hands each write its outcome.
// A write whose caller has given up (its context done) is left out.
func (g *groupCommit) commit(batch []*putReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.res.Err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	g.mu.Lock()
	g.commits++
	g.mu.Unlock()
	puts := make([]state.CardPut, len(live))
	for i, r := range live {
		puts[i] = r.put
	}
	// The callers' contexts are those of one round: the first live one's
	// stands for all (a cancelled round's writes then fail together).
	res, err := g.db.PutCards(live[0].ctx, g.book, puts)
	for i, r := range live {
		if err != nil {
			r.res.Err = err
		} else {
			r.res = res[i]
		}
		close(r.done)
	}
}
