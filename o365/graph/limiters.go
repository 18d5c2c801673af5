package graph

import (
	"strings"
	"sync"
)

// Limiters is the registry of in-flight limits of one process: every
// Client made with the same Limiters and the same (Graph host, app id,
// mailbox) shares one limit, as Microsoft counts its 4 concurrent
// requests per app per mailbox, whichever pair, web page or scheduler
// sends them. Make one per process (cmd/cardbridge does, in its app) and
// pass it in Options.Limiters to every Client. It is safe for concurrent
// use; the zero value is not usable (use NewLimiters).
type Limiters struct {
	size int
	mu   sync.Mutex
	byID map[limiterKey]*semaphore
}

// limiterKey names one mailbox of one app on one Graph host; its parts
// are lower-case.
type limiterKey struct{ host, app, mailbox string }

// NewLimiters returns a registry whose limits allow perMailbox requests
// in flight (DefaultMaxInFlight when perMailbox ≤ 0).
func NewLimiters(perMailbox int) *Limiters {
	if perMailbox <= 0 {
		perMailbox = DefaultMaxInFlight
	}
	return &Limiters{size: perMailbox, byID: map[limiterKey]*semaphore{}}
}

// PerMailbox returns the requests one mailbox may have in flight.
func (l *Limiters) PerMailbox() int { return l.size }

// get returns the limit of k, made on first use. Limits are never
// dropped: there is one per mailbox a process works on.
func (l *Limiters) get(k limiterKey) *semaphore {
	k = limiterKey{strings.ToLower(k.host), strings.ToLower(k.app), strings.ToLower(k.mailbox)}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.byID[k]
	if !ok {
		s = newSemaphore(l.size)
		l.byID[k] = s
	}
	return s
}
