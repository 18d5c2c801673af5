#!/usr/bin/env bash
# Fault campaign (docs/robustness.md): every run ends converged or with a
# clear error, nothing is lost or duplicated.
#   bench/fault-campaign.sh [--seed N] [--contacts N] [--rounds N] [--only o365-chaos|o365-412|o365-generations|o365-504|radicale-restart|disk-full]
# o365-chaos        Office 365 (graphsim as its own process, 20 ms latency,
#                   10% 429 with Retry-After, 5% 503, 2% connection resets,
#                   2% 2-second stalls, one 410 of the delta links mid-round)
#                   ⇄ a vCard folder, two-way; changes on both sides each
#                   round; up to 3 re-runs may be needed to converge.
# o365-412          Office 365 ⇄ a vCard folder with transient 412s on 10%
#                   of plain GETs (no If-Match), as Exchange gives them.
# o365-generations  the folder's sync state advanced past the 3 generations
#                   Exchange keeps (other writers) before two incremental
#                   rounds: 410 SyncStateNotFound, then a full round with no
#                   duplicate, no loss, no deletion.
# o365-504          half the delta pages of more than 8 items answer 504
#                   GatewayTimeout (reads of 504 are retried).
# radicale-restart  the built-in server's store ⇄ Radicale, Radicale killed
#                   and started again (same port and folder) mid-run.
# disk-full         Office 365 ⇄ a vCard folder on a small tmpfs that fills
#                   up: the run must fail naming ENOSPC and the file, delete
#                   nothing and leave no partial .vcf, then converge once
#                   space is freed. Needs root (mount -t tmpfs).
# Exit 0: all held; 1: a scenario failed (seed and diff printed); 2: setup error.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
campaign_start fault-campaign 1000 10 "$@"
status=0
for sc in o365-chaos o365-412 o365-generations o365-504 radicale-restart disk-full; do
  [ -n "$ONLY" ] && [ "$ONLY" != "$sc" ] && continue
  echo "== fault campaign: $sc ($CONTACTS contacts, seed $SEED)"
  extra=()
  # The tmpfs holds the contacts with room to spare, then is filled.
  [ "$sc" = disk-full ] && extra=(-fs-size "$(( CONTACTS / 100 + 2 ))m")
  "$tmp/campaign" -binary "$tmp/cardbridge" -mode fault -scenario "$sc" \
    -contacts "$CONTACTS" -rounds "$ROUNDS" -seed "$SEED" "${extra[@]}" || status=$?
done
exit $status
