package pairs

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/state"
)

// DefaultMailboxWait bounds how long a run waits for the lease of an
// Office 365 mailbox that a pair on another replica holds
// (Options.MailboxWait).
const DefaultMailboxWait = 2 * time.Minute

// mailboxLeases shares the lease of each Office 365 mailbox among the
// runs of one Runner: a pair with an Office 365 side holds its mailbox's
// lease (state.MailboxLeaseKey, the key graph.Limiters uses) while it
// runs, so that two pairs of one mailbox never run on two replicas at
// once and the process's in-flight limit of 4 holds across replicas.
// Runs of one process share the lease (the limiter keeps them apart).
type mailboxLeases struct {
	mu   sync.Mutex
	held map[string]*sharedLease
}

// sharedLease is one mailbox's lease and the runs using it.
type sharedLease struct {
	lease *state.Lease
	refs  int
}

// mailboxKeys are the lease keys of pair p's Office 365 mailboxes, sorted
// (runs take them in one order: no two wait for each other's).
func (r *Runner) mailboxKeys(ctx context.Context, cfg *config.Config, p config.Pair) []string {
	var keys []string
	for _, sc := range []config.Side{p.A, p.B} {
		if sc.Type != config.SideO365 {
			continue
		}
		acc, ok := cfg.Account(sc.Account)
		if !ok {
			continue // OpenSide says what is wrong
		}
		ep, err := auth.EndpointsFor(acc)
		if err != nil {
			continue
		}
		host := ep.Graph
		if u, err := url.Parse(ep.Graph); err == nil {
			host = u.Host
		}
		keys = append(keys, state.MailboxLeaseKey(host, acc.ClientID, mailboxKey(ctx, acc, r.o.DB)))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// holdMailboxes takes the leases of keys (waiting up to MailboxWait for
// one another replica holds) and returns ctx cancelled when one of them is
// lost, and the function that lets them go.
func (r *Runner) holdMailboxes(ctx context.Context, keys []string) (context.Context, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	var releases []func()
	release := func() {
		for _, f := range slices.Backward(releases) {
			f()
		}
		cancel(nil)
	}
	for _, k := range keys {
		l, err := r.mailboxLease(ctx, k)
		if err != nil {
			release()
			return nil, nil, err
		}
		stop := context.AfterFunc(l.Context(), func() { cancel(context.Cause(l.Context())) })
		releases = append(releases, func() { stop(); r.dropMailbox(k) })
	}
	return ctx, release, nil
}

// mailboxLease takes (or shares) the lease of mailbox key, polling while
// another replica holds it, for at most MailboxWait.
func (r *Runner) mailboxLease(ctx context.Context, key string) (*state.Lease, error) {
	deadline := time.Now().Add(r.o.MailboxWait)
	for {
		r.mbox.mu.Lock()
		if s := r.mbox.held[key]; s != nil && s.lease.Context().Err() == nil {
			s.refs++
			r.mbox.mu.Unlock()
			return s.lease, nil
		}
		l, err := r.o.DB.AcquireLease(context.WithoutCancel(ctx), key, state.LeaseOptions{})
		if err == nil {
			r.mbox.held[key] = &sharedLease{lease: l, refs: 1}
			r.mbox.mu.Unlock()
			return l, nil
		}
		r.mbox.mu.Unlock()
		if !errors.Is(err, state.ErrLocked) || time.Now().After(deadline) {
			return nil, err
		}
		r.log.Debug("waiting for an Office 365 mailbox another replica works on", "lease", key, "holder", err)
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(r.o.MailboxPoll):
		}
	}
}

// dropMailbox ends one run's use of the lease of key: the last one
// releases it.
func (r *Runner) dropMailbox(key string) {
	r.mbox.mu.Lock()
	s := r.mbox.held[key]
	if s == nil {
		r.mbox.mu.Unlock()
		return
	}
	s.refs--
	if s.refs > 0 {
		r.mbox.mu.Unlock()
		return
	}
	delete(r.mbox.held, key)
	r.mbox.mu.Unlock()
	if err := s.lease.Release(); err != nil {
		r.log.Warn("releasing the lease of an Office 365 mailbox", "lease", key, "err", err)
	}
}
