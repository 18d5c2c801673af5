#!/usr/bin/env bash
# Benchmark: the same CardDAV client (vdirsyncer) and the same address book
# against cardbridge's server, Radicale and Xandikos (Debian packages), all on
# 127.0.0.1, one run each:
#   bench/carddav-servers.sh [--json] [--timeout SECS] [--bin PATH] [N] [SERVERS]
#     (default N=1000, SERVERS="cardbridge radicale xandikos", no timeout)
# Rows: initial upload (vdir of N -> empty book), no-change sync, 1%-changed
# sync (N/100 files edited locally), initial download (empty vdir <- book).
# --json prints one JSON object per step instead of the table:
#   {"bench":"carddav-servers","n":N,"server":S,"tool":"vdirsyncer","step":"upload",
#    "status":"ok|timeout|failed|skipped","wall_s":1.23,...}
# --timeout bounds each vdirsyncer run (a timed-out step is reported as such,
# and the steps that depend on it as skipped); --bin uses an already built
# cardbridge instead of building one.
# Everything lives in a temporary folder, removed at the end; servers are
# stopped at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
bench_options "$@"
N=${ARGS[0]:-1000}
SERVERS=${ARGS[1]:-"cardbridge radicale xandikos"}
gen=${GEN_VCARDS:-$here/bench/gen_vcards.py}
for tool in vdirsyncer curl python3; do command -v $tool >/dev/null || { echo "bench: $tool missing" >&2; exit 2; }; done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
build_cardbridge "$work/cardbridge" "$BIN"
python3 "$gen" "$work/seed" "$N" 1 >/dev/null

start_server() { # name -> sets url to the book URL (not in a subshell, so pids keeps the server)
  local name=$1 port; port=$(freeport)
  case $name in
    cardbridge)
      start_cardbridge "$work/cardbridge" "$work/cb" "$port" benchpass1 "$work/cb.log"; pids+=($!)
      waitport "$port"
      url="http://127.0.0.1:$port/addressbooks/bench/contacts/" ;;
    radicale)
      radicale --storage-filesystem-folder "$work/radicale" --server-hosts "127.0.0.1:$port" --auth-type none >"$work/radicale.log" 2>&1 & pids+=($!)
      waitport "$port"
      curl -s -X MKCOL -u bench:benchpass1 -H 'Content-Type: application/xml' --data '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>' "http://127.0.0.1:$port/bench/contacts/" >/dev/null
      url="http://127.0.0.1:$port/bench/contacts/" ;;
    xandikos)
      xandikos -d "$work/xandikos" -l 127.0.0.1 -p "$port" --defaults --current-user-principal /bench >"$work/xandikos.log" 2>&1 & pids+=($!)
      waitport "$port"
      url="http://127.0.0.1:$port/bench/contacts/addressbook/" ;;
  esac
}

count_cards() { # url -> how many cards the book holds (a Depth 1 PROPFIND, minus the book itself)
  local n
  n=$(curl -s --max-time 300 -X PROPFIND -H 'Depth: 1' -H 'Content-Type: application/xml' -u bench:benchpass1 \
    --data '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>' "$1" |
    grep -o '<[A-Za-z0-9]*:\?response[ >]' | wc -l) || n=0
  echo $((n > 0 ? n - 1 : 0))
}

vds_config() { vdirsyncer_conf "$1/vdirsyncer.conf" "$1/status" "$1/vdir" "$2" benchpass1; } # dir url

# step LABEL CMD...: runs CMD (bounded by --timeout), sets wall and status.
step() {
  local s e rc=0; shift
  s=$(date +%s.%N)
  if [ "$TIMEOUT" -gt 0 ]; then timeout -k 5 "$TIMEOUT" "$@" >"$work/step.out" 2>&1 || rc=$?
  else "$@" >"$work/step.out" 2>&1 || rc=$?; fi
  e=$(date +%s.%N)
  wall=$(echo "$e - $s" | bc)
  case $rc in
    0) status=ok ;;
    124|137) status=timeout ;;
    *) status=failed; echo "bench: failed ($rc): $*" >&2; tail -5 "$work/step.out" >&2 ;;
  esac
}
emit() { # server step [extra json]
  if [ "$JSON" = 1 ]; then
    printf '{"bench":"carddav-servers","n":%d,"server":"%s","tool":"vdirsyncer","step":"%s","status":"%s","wall_s":%.3f%s}\n' "$N" "$1" "$2" "$status" "$wall" "${3:-}"
  fi
  row[$2]=$( [ "$status" = ok ] && printf '%.2fs' "$wall" || echo "$status")
}
skip() { status=skipped; wall=0; emit "$@"; }

[ "$JSON" = 1 ] || printf '%-12s %12s %12s %12s %14s   (%d contacts, vdirsyncer %s)\n' server upload no-change 1%-changed download "$N" "$(vdirsyncer --version | awk '{print $3}')"
declare -A row
for srv in $SERVERS; do
  row=()
  start_server "$srv"
  d="$work/run-$srv"; mkdir -p "$d"; cp -r "$work/seed" "$d/vdir"
  vds_config "$d" "$url"
  vdirsyncer -c "$d/vdirsyncer.conf" discover >/dev/null 2>&1 || true
  step upload vdirsyncer -c "$d/vdirsyncer.conf" sync
  if [ "$status" = timeout ]; then emit "$srv" upload ",\"uploaded\":$(count_cards "$url")"; else emit "$srv" upload; fi
  if [ "$status" = ok ]; then
    step nochange vdirsyncer -c "$d/vdirsyncer.conf" sync; emit "$srv" nochange
    python3 - "$d/vdir" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for f in sorted(x for x in os.listdir(d) if x.endswith(".vcf"))[: max(1, n // 100)]:
    p = os.path.join(d, f); s = open(p, newline="").read()
    open(p, "w", newline="").write(s.replace("END:VCARD", "NOTE:changed\r\nEND:VCARD"))
PY
    step changed vdirsyncer -c "$d/vdirsyncer.conf" sync; emit "$srv" changed
    d2="$work/down-$srv"; mkdir -p "$d2/vdir"
    vds_config "$d2" "$url"
    vdirsyncer -c "$d2/vdirsyncer.conf" discover >/dev/null 2>&1 || true
    step download vdirsyncer -c "$d2/vdirsyncer.conf" sync
    got=$(ls "$d2/vdir" | grep -c '\.vcf$' || true)
    if [ "$status" = ok ] && [ "$got" != "$N" ]; then echo "bench: $srv: downloaded $got of $N" >&2; status=failed; fi
    emit "$srv" download ",\"files\":$got"
  else
    skip "$srv" nochange; skip "$srv" changed; skip "$srv" download
  fi
  [ "$JSON" = 1 ] || printf '%-12s %12s %12s %12s %14s\n' "$srv" "${row[upload]}" "${row[nochange]}" "${row[changed]}" "${row[download]}"
  # Stop this server before the next one is measured.
  kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true
done
