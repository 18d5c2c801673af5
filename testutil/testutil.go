// Package testutil holds the small helpers the tests of several packages
// share, so that each lives once: a buffer safe for concurrent writers
// (a logger, a child process's output) and polling for a condition.
package testutil

import (
	"bytes"
	"sync"
	"time"
)

// LockedBuffer is a bytes.Buffer safe for concurrent writers and readers.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Eventually polls cond every 20 ms until it holds or limit passes, and
// reports whether it held.
func Eventually(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
