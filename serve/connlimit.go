package serve

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// limitListener serves at most max connections at once: Accept waits for
// one of them to close before it takes the next from the kernel's queue,
// so a flood of connections costs waiting clients, not file descriptors
// and memory (server.max_connections).
type limitListener struct {
	net.Listener
	slots chan struct{}
	done  chan struct{}
	once  sync.Once
	log   *slog.Logger

	mu       sync.Mutex
	lastWarn time.Time
}

// newLimitListener wraps l to serve at most max connections at once.
func newLimitListener(l net.Listener, max int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, max), done: make(chan struct{}), log: log}
}

// Accept waits for a free slot, then accepts a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		l.warnFull()
		select {
		case l.slots <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

// warnFull logs, at most once a minute, that connections wait.
func (l *limitListener) warnFull() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.lastWarn) < time.Minute {
		return
	}
	l.lastWarn = time.Now()
	l.log.Warn("server.max_connections reached: new connections wait until one closes", "max_connections", cap(l.slots))
}

// Close stops accepting, also a wait for a slot.
func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when closed (once).
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and frees its slot.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
