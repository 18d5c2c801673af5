#!/usr/bin/env bash
# Benchmark: the same vdir <-> vdir syncs with the state on SQLite and on
# PostgreSQL.
#   bench/state-backends.sh [N...]          (default: 1000 10000)
# Needs TEST_POSTGRES_URL (source scripts/postgres.sh; start_postgres): a
# database is made on that cluster for each size (createdb) and dropped at
# the end. For each N, generates N contacts with bench/gen_vcards.py (seed
# 1) and measures with /usr/bin/time, on each backend, on fresh copies:
#   first      a (N contacts) -> empty b
#   nochange   a re-run with nothing changed
# Prints one line per N, backend and step: wall seconds and peak RSS (MB).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ -n "${TEST_POSTGRES_URL:-}" ] || { echo "bench: TEST_POSTGRES_URL is not set (source scripts/postgres.sh; start_postgres)" >&2; exit 2; }
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
work=$(mktemp -d)
dbs=()
cleanup() {
  for db in "${dbs[@]}"; do psql -q "$TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
go build -C "$here" -o "$work/cardbridge" ./cmd/cardbridge
printf '%-8s %-9s %-9s %9s %9s\n' N state step "wall (s)" "RSS (MB)"
for n in "${sizes[@]}"; do
  python3 "$here/bench/gen_vcards.py" "$work/seed$n" "$n" 1 >/dev/null
  for backend in sqlite postgres; do
    d=$work/$backend$n
    mkdir -p "$d/b"; cp -r "$work/seed$n" "$d/a"
    if [ $backend = postgres ]; then
      db=bench_state_$$_$n; dbs+=("$db")
      psql -q "$TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
      loc=${TEST_POSTGRES_URL%%\?*}; loc="${loc%/*}/$db?${TEST_POSTGRES_URL#*\?}"
    else
      loc=$d/state.db
    fi
    printf 'state: "%s"\npairs:\n  bench:\n    a: {type: vdir, path: %s/a}\n    b: {type: vdir, path: %s/b}\n' "$loc" "$d" "$d" > "$d/config.yaml"
    for step in first nochange; do
      /usr/bin/time -f "%e %M" -o "$d/time" "$work/cardbridge" --quiet --config "$d/config.yaml" sync bench >/dev/null 2>"$d/err" ||
        { echo "bench: $backend $n $step failed:" >&2; cat "$d/err" >&2; exit 1; }
      read -r w m < "$d/time"
      printf '%-8s %-9s %-9s %9s %9.1f\n' "$n" "$backend" "$step" "$w" "$(echo "$m/1024" | bc -l)"
    done
    nb=$(ls "$d/b" | grep -c '\.vcf$')
    [ "$nb" = "$n" ] || { echo "bench: $backend $n: b has $nb contacts, want $n" >&2; exit 1; }
  done
done
echo "($(nproc) cores; $(uptime | sed 's/.*load average/load average/'))"
