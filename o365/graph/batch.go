package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/retry"
)

// Op is one operation of a Batch call.
type Op struct {
	// Method is the HTTP method (GET, POST, PATCH, PUT, DELETE).
	Method string
	// Path is relative to the mailbox root ("contacts/ID"), or to the
	// version root when it starts with "/". It may hold a query.
	Path string
	// IfMatch, when set, is sent as If-Match (a PATCH or DELETE with it
	// counts as idempotent).
	IfMatch string
	// Body is the request body: JSON, or raw bytes (a photo) when
	// ContentType is not JSON.
	Body []byte
	// ContentType of Body (default application/json when Body is set).
	ContentType string
}

// Result is the answer to one Op.
type Result struct {
	// Status is the sub-response's HTTP status (0 when there was none).
	Status int
	// Body is the sub-response's body: JSON, or the decoded bytes of a
	// binary answer (a photo, sent base64 inside the batch).
	Body []byte
	// Header is the sub-response's headers.
	Header http.Header
	// Err is nil for 2xx, a *Error for a status ≥ 400 (424 for an Op whose
	// dependency failed), or the failure of the whole $batch call.
	Err error
}

// Batch runs ops through Graph's JSON batching, at most api.MaxBatch per
// HTTP call, and returns one Result per op, in the order of ops. A
// sub-request answered 429 (or 503/504 when it may be retried, or 412
// when it is a read without If-Match, within
// Options.MaxReadConflictRetries) is sent
// again alone in a later batch after its Retry-After (or back-off),
// counted from its answer (on the real clock: the calls sent meanwhile
// may have spent it),
// within Options.MaxRetries and Options.MaxWait; the others' answers are
// returned as they came. ctx ending gives the remaining ops ctx's error.
func (c *Client) Batch(ctx context.Context, ops []Op) []Result {
	return c.batch(ctx, ops, 1)
}

// BatchAcross is Batch for ops that each address a mailbox of their own
// (the profile photos of a directory's people, "/users/{id}/photo/$value"):
// Graph counts every sub-request against its own mailbox's 4 concurrent
// requests, none against the client's mailbox, so up to parallel $batch
// calls run at once, each taking one slot of the client's in-flight limit
// rather than up to 4 (Outlook still runs at most 4 of each at once).
// Results, retries and errors are Batch's.
func (c *Client) BatchAcross(ctx context.Context, ops []Op, parallel int) []Result {
	return c.batch(ctx, ops, max(1, parallel))
}

// batch is Batch with up to parallel $batch calls at once; above 1 the
// calls are BatchAcross's, one in-flight slot each.
func (c *Client) batch(ctx context.Context, ops []Op, parallel int) []Result {
	res := make([]Result, len(ops))
	subs := make([]api.BatchRequest, len(ops))
	idem := make([]bool, len(ops))
	read := make([]bool, len(ops)) // a plain read: a 412 is transient
	tries := make([]int, len(ops))
	conflicts := make([]int, len(ops))
	var queue []int
	for i, op := range ops {
		sr, err := c.subRequest(i, op)
		if err != nil {
			res[i].Err = err
			continue
		}
		subs[i] = sr
		h := http.Header{}
		if op.IfMatch != "" {
			h.Set("If-Match", op.IfMatch)
		}
		idem[i] = retry.Idempotent(op.Method, h)
		read[i] = plainRead(op.Method, h)
		queue = append(queue, i)
	}
	var waited time.Duration
	for round := 0; len(queue) > 0; round++ {
		var again []int
		var wait time.Duration
		var due time.Time // when the last of again may go, on the real clock
		var mu sync.Mutex
		st := &batchState{subs, idem, read, tries, conflicts, res, parallel > 1}
		run := func(chunk []int) { // each chunk's ops are its own: st's entries apart
			a, w := c.runBatch(ctx, chunk, st)
			mu.Lock()
			defer mu.Unlock()
			again = append(again, a...)
			wait = max(wait, w)
			if len(a) > 0 {
				if d := time.Now().Add(w); d.After(due) {
					due = d
				}
			}
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, parallel)
		for start := 0; start < len(queue); start += api.MaxBatch {
			chunk := queue[start:min(start+api.MaxBatch, len(queue))]
			if parallel == 1 {
				run(chunk)
				continue
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				run(chunk)
			})
		}
		wg.Wait()
		slices.Sort(again)
		if len(again) == 0 {
			break
		}
		if c.realSleep {
			// An op's wait runs from its answer: the round's later calls
			// (a 20-op call takes 5 latencies) may have spent it already.
			wait = max(0, time.Until(due))
		}
		if waited+wait > c.maxWait {
			for _, i := range again {
				if e, ok := asError(res[i].Err); ok {
					e.Message = fmt.Sprintf("throttled by Graph for longer than %s: %s", c.maxWait, e.Message)
				}
			}
			break
		}
		c.log.Debug("graph: retrying batch sub-requests", "count", len(again), "wait", wait)
		if err := c.sleep(ctx, wait); err != nil {
			for _, i := range again {
				res[i] = Result{Err: fmt.Errorf("graph: $batch: waiting to retry: %w", err)}
			}
			break
		}
		waited += wait
		c.nWaited.Add(int64(wait))
		c.nRetry.Add(int64(len(again)))
		queue = again
	}
	return res
}

// subRequest builds the batch entry of op; its id is the op's index.
func (c *Client) subRequest(i int, op Op) (api.BatchRequest, error) {
	m := strings.ToUpper(op.Method)
	if m == "" {
		return api.BatchRequest{}, fmt.Errorf("graph: $batch op %d: no method", i)
	}
	if u := strings.ToLower(op.Path); strings.HasPrefix(u, "http:") || strings.HasPrefix(u, "https:") || strings.HasPrefix(u, "//") {
		return api.BatchRequest{}, fmt.Errorf("graph: $batch op %d: path must be relative, not %q", i, op.Path)
	}
	sr := api.BatchRequest{ID: strconv.Itoa(i), Method: m, URL: c.subURL(op.Path),
		Headers: map[string]string{"Prefer": `IdType="ImmutableId"`}}
	if op.IfMatch != "" {
		sr.Headers["If-Match"] = op.IfMatch
	}
	if op.Body != nil {
		ct := op.ContentType
		if ct == "" {
			ct = "application/json"
		}
		sr.Headers["Content-Type"] = ct
		if isJSON(ct) {
			if !json.Valid(op.Body) {
				return api.BatchRequest{}, fmt.Errorf("graph: $batch op %d (%s %s): body is not JSON", i, m, op.Path)
			}
			sr.Body = json.RawMessage(op.Body)
		} else {
			b, _ := json.Marshal(base64.StdEncoding.EncodeToString(op.Body))
			sr.Body = b
		}
	}
	return sr, nil
}

func isJSON(ct string) bool { return strings.Contains(strings.ToLower(ct), "json") }

// batchState is what Batch knows of each op, by op index.
type batchState struct {
	subs      []api.BatchRequest
	idem      []bool // idempotent: may go again after 503/504
	read      []bool // a plain read: may go again after 412
	tries     []int  // retries so far
	conflicts []int  // of which after a transient 412
	res       []Result
	// across: BatchAcross's calls, each one slot of the client's limit.
	across bool
}

// runBatch sends one $batch call for chunk (op indices), stores each
// sub-response in st.res and returns the ops to send again with the wait
// their answers asked for.
func (c *Client) runBatch(ctx context.Context, chunk []int, st *batchState) (again []int, wait time.Duration) {
	subs, idem, tries, res := st.subs, st.idem, st.tries, st.res
	b := api.Batch{Requests: make([]api.BatchRequest, len(chunk))}
	allIdem := true
	for k, i := range chunk {
		b.Requests[k] = subs[i]
		allIdem = allIdem && idem[i]
	}
	body, err := json.Marshal(b)
	if err != nil {
		for _, i := range chunk {
			res[i] = Result{Err: fmt.Errorf("graph: $batch: %w", err)}
		}
		return nil, 0
	}
	u, err := c.resolve("/$batch")
	if err != nil {
		for _, i := range chunk {
			res[i] = Result{Err: err}
		}
		return nil, 0
	}
	cl := &call{method: http.MethodPost, u: u, hdr: http.Header{"Content-Type": {"application/json"}},
		body: body, idempotent: allIdem, weight: min(4, len(chunk)), subs: len(chunk)}
	if st.across {
		cl.weight = 1
	}
	resp, rb, err := c.send(ctx, cl)
	if err != nil {
		st := 0
		if resp != nil {
			st = resp.StatusCode
		}
		for _, i := range chunk {
			res[i] = Result{Status: st, Err: err}
		}
		return nil, 0
	}
	var br api.BatchResult
	if err := json.Unmarshal(rb, &br); err != nil {
		for _, i := range chunk {
			res[i] = Result{Status: resp.StatusCode, Err: fmt.Errorf("graph: $batch: unreadable answer: %w", err)}
		}
		return nil, 0
	}
	inChunk := make(map[string]int, len(chunk))
	for _, i := range chunk {
		inChunk[subs[i].ID] = i
	}
	got := make(map[int]bool, len(chunk))
	for _, r := range br.Responses {
		i, ok := inChunk[r.ID]
		if !ok || got[i] {
			continue
		}
		got[i] = true
		h := http.Header{}
		for k, v := range r.Headers {
			h.Set(k, v)
		}
		rs := Result{Status: r.Status, Header: h, Body: subBody(r.Body, h)}
		if r.Status >= 400 || r.Status < 100 {
			rs.Err = newError(subs[i].Method, pathOf(subs[i].URL), r.Status, h, rs.Body, cl.tok)
		}
		res[i] = rs
		retry := false
		switch r.Status {
		case http.StatusTooManyRequests:
			retry = true
			c.nThrottled.Add(1)
		case http.StatusServiceUnavailable:
			retry = idem[i] || h.Get("Retry-After") != ""
			c.nThrottled.Add(1)
		case http.StatusGatewayTimeout:
			retry = idem[i]
		case http.StatusPreconditionFailed:
			// Exchange's transient ErrorIrresolvableConflict; a write
			// with If-Match met a real stale change key.
			retry = st.read[i] && st.conflicts[i] < c.conflict
			if retry {
				st.conflicts[i]++
			}
		}
		if !retry || tries[i] >= c.retries {
			if transientStatus(r.Status) && tries[i] > 0 {
				if e, ok := rs.Err.(*Error); ok {
					e.Message = fmt.Sprintf("giving up after %d retries: %s", tries[i], e.Message)
				}
			}
			continue
		}
		w := rs.Err.(*Error).RetryAfter
		switch {
		case w > 0:
		case r.Status == http.StatusPreconditionFailed:
			w = c.conflictBackoff(st.conflicts[i] - 1)
		default:
			w = c.backoff(tries[i])
		}
		tries[i]++
		again = append(again, i)
		wait = max(wait, w)
	}
	for _, i := range chunk {
		if !got[i] {
			res[i] = Result{Err: fmt.Errorf("graph: $batch: no answer for %s %s", subs[i].Method, pathOf(subs[i].URL))}
		}
	}
	return again, wait
}

// transientStatus reports whether a sub-response status is one Batch
// retries (when the op allows it).
func transientStatus(st int) bool {
	switch st {
	case http.StatusPreconditionFailed, http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// subBody turns a sub-response body into bytes: JSON as is, a JSON
// string (a binary body, base64) decoded.
func subBody(raw json.RawMessage, h http.Header) []byte {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	if t[0] != '"' {
		return []byte(t)
	}
	var s string
	if err := json.Unmarshal(t, &s); err != nil {
		return []byte(t)
	}
	if isJSON(h.Get("Content-Type")) {
		return []byte(s)
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b
	}
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b
	}
	return []byte(s)
}

// pathOf drops the query of a URL path.
func pathOf(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}
