package serve

import (
	"context"
	"errors"
	"time"

	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/state"
)

// coordinator is the daemon.Coordinator of replicas sharing one state:
// the pairs' leases (state.PairLeaseKey) and schedules (state.ClaimPeriod).
type coordinator struct{ db *state.DB }

// NewCoordinator returns the daemon.Coordinator of the replicas of serve
// that share db: serve uses it on a PostgreSQL state.
func NewCoordinator(db *state.DB) daemon.Coordinator { return coordinator{db} }

// Lease takes the pair's lease; held is false when another process holds it.
func (c coordinator) Lease(ctx context.Context, pair string, markPending bool) (daemon.Lease, bool, error) {
	l, err := c.db.AcquireLease(ctx, state.PairLeaseKey(pair), state.LeaseOptions{MarkPending: markPending})
	if errors.Is(err, state.ErrLocked) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return l, true, nil
}

// ClaimPeriod is state's ClaimPeriod.
func (c coordinator) ClaimPeriod(ctx context.Context, pair string, every time.Duration) (time.Duration, error) {
	return c.db.ClaimPeriod(ctx, pair, every)
}
