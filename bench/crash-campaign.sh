#!/usr/bin/env bash
# Crash campaign (docs/robustness.md): kill -9 of `cardbridge sync` at random
# moments, each followed by a re-run that must converge with no duplicate and
# no loss.
#   bench/crash-campaign.sh [--seed N] [--contacts N] [--rounds N] [--only o365|server] [--state sqlite|postgres]
# Scenario A: Office 365 (graphsim as its own process, 20 ms latency, the
# mailbox seeded with N contacts) ⇄ a vCard folder, two-way.
# Scenario B: the built-in server's store (N contacts) ⇄ Radicale on
# 127.0.0.1, two-way (above 1,000 contacts both are seeded with the same
# cards and the first sync links them).
# Before each round the harness edits, creates and deletes contacts on both
# sides; it measures an undisturbed run first, then kills each run at a moment
# uniform over that duration. The seed is printed; --seed repeats a campaign.
# Exit 0: every round converged; 1: a round did not (seed and diff printed);
# 2: setup error. Needs Go and radicale (apt-get install radicale).
# --state postgres puts the state (and so scenario B's server store) in a new
# database of each scenario on PostgreSQL: the cluster of TEST_POSTGRES_URL
# when it is set, else a throwaway one (scripts/postgres.sh's start_postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
campaign_start crash-campaign 5000 50 "$@"
pg=()
if [ "$STATE" = postgres ]; then
  if [ -z "${TEST_POSTGRES_URL:-}" ]; then
    . scripts/postgres.sh
    CI=true start_postgres || exit 2
    trap 'stop_postgres; rm -rf "$tmp"' EXIT
  fi
  pg=(-postgres "$TEST_POSTGRES_URL")
fi
status=0
for sc in o365 server; do
  [ -n "$ONLY" ] && [ "$ONLY" != "$sc" ] && continue
  echo "== crash campaign: $sc ($CONTACTS contacts, $ROUNDS kills, seed $SEED, state on $STATE)"
  work=()
  # Radicale takes ~0.3 s per PUT into a book of thousands: fewer changes
  # per round keep a round's runs to seconds (the campaign's default is
  # 1% edits, 0.5% creates, 0.1% deletes per side).
  [ "$sc" = server ] && work=(-edits 10 -creates 5 -deletes 2)
  "$tmp/campaign" -binary "$tmp/cardbridge" -mode crash -scenario "$sc" \
    -contacts "$CONTACTS" -rounds "$ROUNDS" -seed "$SEED" "${pg[@]}" "${work[@]}" || status=$?
done
exit $status
