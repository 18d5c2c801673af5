package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/bench/davclient"
)

// stats counts the answers of one replica; it is the davclient.Recorder
// of that replica's clients.
type stats struct {
	mu        sync.Mutex
	statuses  map[string]map[int]int // kind -> status -> count
	transport map[string]int
	latency   time.Duration
	answered  int
}

func newStats() *stats {
	return &stats{statuses: map[string]map[int]int{}, transport: map[string]int{}}
}

// Observe implements davclient.Recorder.
func (s *stats) Observe(kind string, status int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.statuses[kind] == nil {
		s.statuses[kind] = map[int]int{}
	}
	s.statuses[kind][status]++
	s.latency += d
	s.answered++
}

// TransportError implements davclient.Recorder.
func (s *stats) TransportError(kind string, err error) {
	s.mu.Lock()
	s.transport[kind]++
	s.mu.Unlock()
}

// journal is what every client did, shared by the clients.
type journal struct {
	mu       sync.Mutex
	writes   []Write
	problems []string
	n412     int
}

func (j *journal) write(w Write) {
	j.mu.Lock()
	j.writes = append(j.writes, w)
	j.mu.Unlock()
}

func (j *journal) problem(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.problems) < 40 {
		j.problems = append(j.problems, fmt.Sprintf(format, args...))
	}
}

func (j *journal) conflict() {
	j.mu.Lock()
	j.n412++
	j.mu.Unlock()
}

// client is one CardDAV client spreading its requests over the replicas,
// as behind a load balancer: each request goes to a replica drawn at
// random, and one that refuses the connection is skipped for the next.
type client struct {
	id     int
	reps   []*davclient.Client
	rng    *rand.Rand
	j      *journal
	shared []string // hrefs every client writes
	owned  []string // hrefs only this client writes
	all    []string // every seeded href (reads)
	mix    []string

	etags   map[string]string
	created []string
	seq     int
	token   string
	stream  Stream
}

func newClient(id int, reps []*davclient.Client, seed int64, j *journal, shared, owned, all []string) *client {
	return &client{id: id, reps: reps, rng: rand.New(rand.NewPCG(uint64(seed), uint64(id))), j: j,
		shared: shared, owned: owned, all: all, mix: mixOps(), etags: map[string]string{}, stream: Stream{Client: id}}
}

// mixOps is what a client does, one entry per percent. Deletes stay
// few: a run that would delete more than the pair's max_delete (25%) of
// the directory stops, and the book would then not converge.
func mixOps() []string {
	var m []string
	for _, e := range []struct {
		op string
		n  int
	}{{davclient.KindSync, 30}, {davclient.KindMultiget, 15}, {davclient.KindGet, 10}, {davclient.OpPutOwned, 22}, {davclient.OpPutShared, 18}, {davclient.KindCreate, 4}, {davclient.KindDelete, 1}} {
		for range e.n {
			m = append(m, e.op)
		}
	}
	return m
}

// refused says the request never reached a server (the connection was
// refused or could not be made): it may go to another replica.
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// do sends a request to a random replica, trying the others while the
// connection is refused or the answer is 429 (nothing was done, so
// another may be asked; a 429 is still a violation of the statuses check).
func (c *client) do(ctx context.Context, kind, method, path string, hdr map[string]string, body string) (davclient.Response, error) {
	first := c.rng.IntN(len(c.reps))
	var r davclient.Response
	var err error
	for k := range 3 * len(c.reps) {
		r, err = c.reps[(first+k)%len(c.reps)].Do(ctx, kind, method, path, hdr, body)
		switch {
		case err != nil && refused(err):
		case err == nil && r.Status == http.StatusTooManyRequests:
			time.Sleep(50 * time.Millisecond)
		default:
			return r, err
		}
	}
	return r, err
}

// read is do for requests that change nothing: on any transport error
// it goes again (to another replica), a few times.
func (c *client) read(ctx context.Context, kind, method, path string, hdr map[string]string, body string) (davclient.Response, error) {
	var err error
	for try := 0; try < 5 && ctx.Err() == nil; try++ {
		var r davclient.Response
		if r, err = c.do(ctx, kind, method, path, hdr, body); err == nil {
			return r, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return davclient.Response{}, err
}

// run works until stop ends (see davclient.RunMix).
func (c *client) run(stop, ctx context.Context) {
	davclient.RunMix(stop, ctx, c.rng, c.mix, c, func(op string, err error) {
		c.j.problem("client %d: %s: %v", c.id, op, err)
	})
}

// Get reads one of the cards.
func (c *client) Get(ctx context.Context) error {
	_, err := c.get(ctx, c.all[c.rng.IntN(len(c.all))])
	return err
}

// PutOwned rewrites one of the client's own cards.
func (c *client) PutOwned(ctx context.Context) error {
	return c.put(ctx, c.owned[c.rng.IntN(len(c.owned))])
}

// PutShared rewrites one of the cards every client writes.
func (c *client) PutShared(ctx context.Context) error {
	return c.put(ctx, c.shared[c.rng.IntN(len(c.shared))])
}

func (c *client) book() string { return c.reps[0].Book }

// Sync does one sync-collection REPORT from the client's token and adds
// its responses to the client's stream.
func (c *client) Sync(ctx context.Context) error {
	ms, err := davclient.SyncCollection(ctx, c.read, c.book(), c.token)
	if errors.Is(err, davclient.ErrTokenRefused) {
		c.stream.Resets++
		return fmt.Errorf("sync-collection: token %s refused", c.token)
	}
	if err != nil {
		return err
	}
	for _, resp := range ms.Responses {
		if resp.Href == c.book() || strings.TrimSuffix(resp.Href, "/")+"/" == c.book() {
			continue // the book's own 507 of a truncated answer
		}
		if strings.Contains(resp.Status, " 404 ") {
			c.stream.Deltas = append(c.stream.Deltas, Delta{Href: path.Base(resp.Href), Deleted: true})
			continue
		}
		for _, ps := range resp.Propstats {
			if strings.Contains(ps.Status, " 200 ") {
				c.stream.Deltas = append(c.stream.Deltas, Delta{Href: path.Base(resp.Href), ETag: ps.Prop.ETag})
			}
		}
	}
	c.stream.Syncs++
	c.token = ms.SyncToken
	return nil
}

// Multiget reads up to 10 random cards in one REPORT.
func (c *client) Multiget(ctx context.Context) error {
	paths := davclient.DistinctPaths(10, func() string { return c.book() + c.all[c.rng.IntN(len(c.all))] })
	return davclient.Multiget(ctx, c.read, c.book(), paths)
}

// get reads a card and remembers its ETag.
func (c *client) get(ctx context.Context, href string) (davclient.Response, error) {
	r, err := davclient.Get(ctx, c.read, c.book(), href)
	if err == nil {
		c.etags[href] = r.ETag
	}
	return r, err
}

// write sends a PUT or DELETE and journals it: acknowledged on a 2xx, in
// doubt when no answer came or a 5xx did. It returns the answer (status
// 0 when in doubt).
func (c *client) write(ctx context.Context, w Write, method string, hdr map[string]string, body string) (davclient.Response, error) {
	kind := map[string]string{"put": davclient.KindPut, "create": davclient.KindCreate, "delete": davclient.KindDelete}[w.Op]
	r, err := c.do(ctx, kind, method, c.book()+w.Href, hdr, body)
	if err != nil {
		c.j.write(w) // in doubt: the replica may have committed it before it died
		delete(c.etags, w.Href)
		return davclient.Response{}, nil
	}
	switch {
	case r.Status >= 200 && r.Status < 300:
		w.Acked, w.ETag = true, r.ETag
		c.j.write(w)
	case r.Status >= 500:
		c.j.write(w)
		delete(c.etags, w.Href)
	}
	return r, nil
}

// put writes href with If-Match of the last ETag the client saw; on 412
// it re-reads the card and checks the ETag had really changed.
func (c *client) put(ctx context.Context, href string) error {
	etag, ok := c.etags[href]
	if !ok {
		if _, err := c.get(ctx, href); err != nil {
			return err
		}
		etag = c.etags[href]
	}
	c.seq++
	m := fmt.Sprintf("c%d-%d", c.id, c.seq)
	i := c.seq
	uid := strings.TrimSuffix(href, ".vcf")
	r, err := c.write(ctx, Write{Client: c.id, Href: href, Op: "put", IfMatch: etag, Marker: m}, "PUT",
		map[string]string{"If-Match": etag, "Content-Type": "text/vcard; charset=utf-8"}, davclient.CardText(uid, i, m))
	if err != nil || r.Status == 0 {
		return err
	}
	o, err := davclient.JudgeIfMatch(ctx, c.get, r, href, etag)
	if o.Conflict {
		c.j.conflict()
	}
	if o.Bogus {
		c.j.problem("client %d: PUT %s If-Match %s answered 412 but the card still has that ETag", c.id, href, etag)
	}
	if err == nil && !o.Conflict {
		c.etags[href] = r.ETag
	}
	return err
}

// Create creates a new card, journalled.
func (c *client) Create(ctx context.Context) error {
	c.seq++
	href, m, text := davclient.NewCard(c.id, c.seq)
	r, err := c.write(ctx, Write{Client: c.id, Href: href, Op: "create", Marker: m}, "PUT", davclient.CreateHeader(), text)
	if err != nil || r.Status == 0 || r.Status >= 500 {
		return err
	}
	if r.Status != http.StatusCreated {
		return fmt.Errorf("create %s: status %d: %.200s", href, r.Status, r.Body)
	}
	c.etags[href] = r.ETag
	c.created = append(c.created, href)
	return nil
}

// Delete deletes one of the cards the client created.
func (c *client) Delete(ctx context.Context) error {
	if len(c.created) == 0 {
		return c.Create(ctx)
	}
	k := c.rng.IntN(len(c.created))
	href := c.created[k]
	etag, ok := c.etags[href]
	if !ok {
		if _, err := c.get(ctx, href); err != nil {
			return err
		}
		etag = c.etags[href]
	}
	r, err := c.write(ctx, Write{Client: c.id, Href: href, Op: "delete", IfMatch: etag}, "DELETE", map[string]string{"If-Match": etag}, "")
	if err != nil || r.Status == 0 || r.Status >= 500 {
		// In doubt: the card may be gone; the client leaves it alone.
		c.created = append(c.created[:k], c.created[k+1:]...)
		return err
	}
	switch r.Status {
	case http.StatusNoContent, http.StatusOK:
		c.created = append(c.created[:k], c.created[k+1:]...)
		delete(c.etags, href)
		return nil
	case http.StatusPreconditionFailed:
		c.j.conflict()
		_, err := c.get(ctx, href)
		return err
	}
	return fmt.Errorf("DELETE %s: status %d: %.200s", href, r.Status, r.Body)
}
