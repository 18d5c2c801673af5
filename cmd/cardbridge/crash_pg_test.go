package main

import (
	"context"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/bench/crash"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestCrashO365VdirPostgres is TestCrashO365Vdir with the state on
// PostgreSQL (a fresh database of the test cluster): `cardbridge sync`
// killed with SIGKILL at random moments, then re-run: both sides hold
// exactly the expected contacts, none twice, none lost. Under CI=true a
// missing PostgreSQL fails it (pgtest).
func TestCrashO365VdirPostgres(t *testing.T) {
	stateURL := pgtest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sc, err := crash.O365VdirOn(ctx, binary, t.TempDir(), stateURL, 300, "", "--latency", "5ms", "--seed", "3")
	opts := crash.Options{Rounds: 5, Seed: campaignSeed(t, 1131), Work: crash.Work{Edits: 10, Creates: 5, Deletes: 2}}
	killCampaign(ctx, t, sc, err, "crash o365 ⇄ vdir (state on PostgreSQL)", 300, opts)
}

// TestCrashServerRadicalePostgres is TestCrashServerRadicale with the
// state, and so the built-in server's store, on PostgreSQL.
func TestCrashServerRadicalePostgres(t *testing.T) {
	bin := needPeer(t, "radicale")
	stateURL := pgtest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sc, err := crash.ServerRadicaleOn(ctx, binary, bin, t.TempDir(), stateURL, 150, 5, false)
	opts := crash.Options{Rounds: 5, Seed: campaignSeed(t, 1132), Work: crash.Work{Edits: 8, Creates: 4, Deletes: 2}}
	killCampaign(ctx, t, sc, err, "crash server ⇄ radicale (state on PostgreSQL)", 150, opts)
}
