package graph

import (
	"container/list"
	"context"
	"sync"
)

// semaphore is a weighted, FIFO, context-aware semaphore: the in-flight
// limit of one mailbox.
type semaphore struct {
	mu      sync.Mutex
	size    int
	cur     int
	waiters list.List // of *waiter
}

type waiter struct {
	n     int
	ready chan struct{}
}

func newSemaphore(size int) *semaphore { return &semaphore{size: size} }

// acquire takes n slots (n is clamped to the semaphore's size), waiting
// in line until they are free or ctx ends. It returns the slots taken.
func (s *semaphore) acquire(ctx context.Context, n int) (int, error) {
	if n < 1 {
		n = 1
	}
	if n > s.size {
		n = s.size
	}
	s.mu.Lock()
	if s.size-s.cur >= n && s.waiters.Len() == 0 {
		s.cur += n
		s.mu.Unlock()
		return n, nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	e := s.waiters.PushBack(w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return n, nil
	case <-ctx.Done():
		s.mu.Lock()
		select {
		case <-w.ready:
			// Granted while giving up: hand the slots back.
			s.cur -= n
		default:
			s.waiters.Remove(e)
		}
		s.notify()
		s.mu.Unlock()
		return 0, ctx.Err()
	}
}

// release gives back n slots taken by acquire.
func (s *semaphore) release(n int) {
	s.mu.Lock()
	s.cur -= n
	if s.cur < 0 {
		panic("graph: semaphore released more than held")
	}
	s.notify()
	s.mu.Unlock()
}

// notify grants waiters in order while they fit. s.mu is held.
func (s *semaphore) notify() {
	for {
		e := s.waiters.Front()
		if e == nil {
			return
		}
		w := e.Value.(*waiter)
		if s.size-s.cur < w.n {
			return
		}
		s.cur += w.n
		s.waiters.Remove(e)
		close(w.ready)
	}
}

// inFlight reports the slots taken (tests).
func (s *semaphore) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// waiting reports the acquires waiting in line (tests).
func (s *semaphore) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiters.Len()
}
