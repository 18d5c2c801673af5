package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Chaos configures probabilistic faults in front of a Server (WithChaos):
// each Graph HTTP request (a $batch envelope counts once) draws from a
// seeded source whether it is throttled, refused, reset or stalled. Login
// paths are never touched. The zero value injects nothing.
type Chaos struct {
	// P429 is the probability that a request answers 429 with Retry-After.
	P429 float64
	// P503 is the probability that a request answers 503 ServiceUnavailable.
	P503 float64
	// PReset is the probability that the connection is closed without an
	// answer (hijacked and closed): half of them before the request is
	// served, half after it was served and its answer thrown away, as when
	// a connection drops on the way back.
	PReset float64
	// PStall is the probability that a request waits Stall before it is
	// served.
	PStall float64
	// Stall is how long a stalled request waits (default 2 s).
	Stall time.Duration
	// RetryAfter is the Retry-After of an injected 429 (default 1 s).
	RetryAfter time.Duration
	// ExpireDeltaAfter, when > 0, expires every delta and skip token once,
	// after that many delta pages were served: the next page of the round
	// in progress answers 410, as when Exchange drops a sync state
	// mid-round.
	ExpireDeltaAfter int
	// AdvanceGenerations, when > 0, is how many incremental delta rounds
	// (a request with a $deltatoken) find, before they are served, the
	// folders' sync state advanced past Server.Options'
	// SyncStateGenerations (AdvanceSyncStates), as when other writers
	// synced the folder between two runs: their deltaLink answers 410 and
	// the client must do a full round.
	AdvanceGenerations int
	// P504 is the fraction of delta pages of more than LargePage items
	// that answer 504 GatewayTimeout instead (each is produced, then
	// thrown away, as when the gateway gave up on a slow backend). The
	// failing pages are spread evenly, the first large page failing, so
	// the fault happens even in a run with one or two large pages.
	P504 float64
	// LargePage is the page size above which P504 applies (default 50).
	LargePage int
	// SubRequests applies P429 and P503 to $batch sub-requests too: a
	// $batch that passed its own draws queues, with the same
	// probabilities, scripted faults (FailNext) for its sub-requests.
	SubRequests bool
	// Seed makes the draws deterministic for a given request order; 0
	// picks one.
	Seed uint64
}

// ChaosExemptHeader marks a request that passes the faults untouched: a
// test harness checking what the simulator holds sends it; the software
// under test never does.
const ChaosExemptHeader = "X-Graphsim-No-Chaos"

// ChaosStats counts the faults a chaos handler injected.
type ChaosStats struct {
	Requests      int // Graph requests seen
	Throttled429  int
	Unavailable   int // 503 answers
	ResetsBefore  int // connections closed before the request was served
	ResetsAfter   int // connections closed after the request was served
	Stalls        int
	DeltaExpiries int
	SubFaults     int // scripted faults queued for $batch sub-requests
	Generations   int // sync-state advances (AdvanceGenerations)
	Gateway504    int // large delta pages answered 504
}

// ChaosHandler is a Server behind probabilistic faults. Create it with
// WithChaos; it is safe for concurrent use.
type ChaosHandler struct {
	s *Server
	c Chaos

	mu         sync.Mutex
	rng        *mrand.Rand
	deltaPages int
	expired    bool
	acc504     float64 // error diffusion over large pages (serveLargePage)
	stats      ChaosStats
}

// WithChaos returns s behind the faults c describes.
func WithChaos(s *Server, c Chaos) *ChaosHandler {
	if c.Stall <= 0 {
		c.Stall = 2 * time.Second
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = time.Second
	}
	if c.LargePage <= 0 {
		c.LargePage = 50
	}
	seed := c.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	return &ChaosHandler{s: s, c: c, rng: mrand.New(mrand.NewPCG(seed, seed^0x5851f42d4c957f2d))}
}

// Stats returns a copy of the counters.
func (h *ChaosHandler) Stats() ChaosStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// chaosAction is what one request gets.
type chaosAction int

const (
	actPass chaosAction = iota
	act429
	act503
	actResetBefore
	actResetAfter
)

// draw decides a request's fate: one action and whether it stalls first.
// A delta page also counts towards ExpireDeltaAfter.
// nsub is the number of sub-requests when r is a $batch.
func (h *ChaosHandler) draw(r *http.Request, nsub int) (act chaosAction, stall bool, subFaults []int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Requests++
	stall = h.c.PStall > 0 && h.rng.Float64() < h.c.PStall
	if stall {
		h.stats.Stalls++
	}
	x := h.rng.Float64()
	switch {
	case x < h.c.P429:
		act = act429
		h.stats.Throttled429++
	case x < h.c.P429+h.c.P503:
		act = act503
		h.stats.Unavailable++
	case x < h.c.P429+h.c.P503+h.c.PReset:
		if h.rng.IntN(2) == 0 {
			act = actResetBefore
			h.stats.ResetsBefore++
		} else {
			act = actResetAfter
			h.stats.ResetsAfter++
		}
	}
	if act == actPass {
		// One draw per sub-request.
		for range nsub {
			y := h.rng.Float64()
			switch {
			case y < h.c.P429:
				subFaults = append(subFaults, http.StatusTooManyRequests)
			case y < h.c.P429+h.c.P503:
				subFaults = append(subFaults, http.StatusServiceUnavailable)
			default:
				subFaults = append(subFaults, 0)
			}
		}
	}
	if act == actPass && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/delta") && h.c.ExpireDeltaAfter > 0 && !h.expired {
		if h.deltaPages >= h.c.ExpireDeltaAfter {
			h.expired = true
			h.stats.DeltaExpiries++
			// Expire before this page is served: its link answers 410.
			h.s.ExpireDeltaTokens()
		}
		h.deltaPages++
	}
	if act == actPass && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/delta") && r.URL.Query().Has("$deltatoken") && h.stats.Generations < h.c.AdvanceGenerations {
		h.stats.Generations++
		// Beyond what the server keeps (default 3), whatever it keeps.
		keep := h.s.opts.SyncStateGenerations
		if keep <= 0 {
			keep = 3
		}
		h.s.AdvanceSyncStates(keep + 1)
	}
	return act, stall, subFaults
}

// ServeHTTP serves r through the faults.
func (h *ChaosHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v1.0/") || r.Header.Get(ChaosExemptHeader) != "" {
		h.s.ServeHTTP(w, r)
		return
	}
	nsub := 0
	if h.c.SubRequests && r.URL.Path == "/v1.0/$batch" {
		nsub = batchSize(r)
	}
	act, stall, subFaults := h.draw(r, nsub)
	if stall && !sleepCtx(r.Context(), h.c.Stall) {
		return
	}
	switch act {
	case act429:
		h.s.sleepLatency(r.Context())
		retryAfterHeader(w, h.c.RetryAfter)
		code, msg := faultCode(http.StatusTooManyRequests)
		graphError(w, r, http.StatusTooManyRequests, code, msg)
	case act503:
		h.s.sleepLatency(r.Context())
		code, msg := faultCode(http.StatusServiceUnavailable)
		graphError(w, r, http.StatusServiceUnavailable, code, msg)
	case actResetBefore:
		resetConn(w)
	case actResetAfter:
		h.s.ServeHTTP(&discardWriter{h: http.Header{}}, r)
		resetConn(w)
	default:
		h.queueSubFaults(subFaults)
		if h.c.P504 > 0 && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/delta") {
			h.serveLargePage(w, r)
			return
		}
		h.s.ServeHTTP(w, r)
	}
}

// serveLargePage serves a delta page into a buffer; of the pages of more
// than LargePage items, the fraction P504 answers 504, spread evenly and
// the first one failing (deterministic, so a short run with only a few
// large pages still meets the fault); any other page is sent.
func (h *ChaosHandler) serveLargePage(w http.ResponseWriter, r *http.Request) {
	rec := &pageRecorder{h: http.Header{}, status: http.StatusOK}
	h.s.ServeHTTP(rec, r)
	if rec.status == http.StatusOK {
		var page struct {
			Value []json.RawMessage `json:"value"`
		}
		if json.Unmarshal(rec.body.Bytes(), &page) == nil && len(page.Value) > h.c.LargePage {
			h.mu.Lock()
			h.acc504 += h.c.P504
			fail := h.acc504 >= 0.5
			if fail {
				h.acc504--
				h.stats.Gateway504++
			}
			h.mu.Unlock()
			if fail {
				code, msg := faultCode(http.StatusGatewayTimeout)
				graphError(w, r, http.StatusGatewayTimeout, code, msg)
				return
			}
		}
	}
	for k, v := range rec.h {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
}

// pageRecorder keeps an answer to pass on or throw away.
type pageRecorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (d *pageRecorder) Header() http.Header         { return d.h }
func (d *pageRecorder) Write(b []byte) (int, error) { return d.body.Write(b) }
func (d *pageRecorder) WriteHeader(s int)           { d.status = s }

// queueSubFaults queues scripted faults for the sub-requests of a $batch
// about to be served: the leading run of faulted draws (FailNext pops
// faults in order, so a gap cannot be expressed).
func (h *ChaosHandler) queueSubFaults(draws []int) {
	for _, status := range draws {
		if status == 0 {
			return
		}
		ra := time.Duration(0)
		if status == http.StatusTooManyRequests {
			ra = h.c.RetryAfter
		}
		h.s.FailNext(1, status, ra)
		h.mu.Lock()
		h.stats.SubFaults++
		h.mu.Unlock()
	}
}

// batchSize counts the sub-requests of a $batch request, leaving its
// body readable again; 0 when it cannot be read.
func batchSize(r *http.Request) int {
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return 0
	}
	var env struct {
		Requests []json.RawMessage `json:"requests"`
	}
	if json.Unmarshal(raw, &env) != nil {
		return 0
	}
	return len(env.Requests)
}

// resetConn closes the client's connection without an answer. Where the
// connection cannot be hijacked (HTTP/2), the handler aborts instead.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // RST rather than FIN
	}
	conn.Close()
}

// discardWriter takes an answer and throws it away.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// sleepCtx waits d; it reports false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
