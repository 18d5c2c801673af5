#!/usr/bin/env bash
# Where vdirsyncer's time goes against `cardbridge serve`:
#   bench/vdirsyncer-floor.sh [N]      (default N=1000)
# For an upload of N generated contacts (seed 1), a no-change sync and a
# download into an empty vdir, prints the wall time, vdirsyncer's own CPU
# (user+sys, /usr/bin/time) and the server's CPU over the run
# (/proc/PID/stat). vdirsyncer sends one request at a time, so wall ≈ its
# CPU + the server's: its CPU is the floor any server leaves it. The server
# runs on 127.0.0.1 and everything lives in a temporary folder.
set -euo pipefail
N=${1:-1000}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
gen=${GEN_VCARDS:-$here/bench/gen_vcards.py}
for tool in vdirsyncer curl python3 bc /usr/bin/time; do command -v "$tool" >/dev/null || { echo "bench: $tool missing" >&2; exit 2; }; done
w=$(mktemp -d)
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$w"; }
trap cleanup EXIT
build_cardbridge "$w/cardbridge"
python3 "$gen" "$w/seed" "$N" 1 >/dev/null
port=$(freeport)
start_cardbridge "$w/cardbridge" "$w/cb" "$port" benchpass1 "$w/cb.log"; spid=$!
waitport "$port"
url=http://127.0.0.1:$port/addressbooks/bench/contacts/
setup() { # dir: a vdirsyncer pair of dir/vdir with the book, discovered
  mkdir -p "$1/vdir"
  vdirsyncer_conf "$1/v.conf" "$1/status" "$1/vdir" "$url" benchpass1
  vdirsyncer -c "$1/v.conf" discover >/dev/null 2>&1 || true
}
scpu() { awk '{printf "%.3f", ($14 + $15) / 100}' "/proc/$spid/stat"; }
run() { # label dir
  local c0 c1 e u s
  c0=$(scpu)
  /usr/bin/time -f "%e %U %S" -o "$w/t" vdirsyncer -c "$2/v.conf" sync >/dev/null 2>&1
  c1=$(scpu)
  read -r e u s <"$w/t"
  printf '%-9s wall %5.2f s  vdirsyncer CPU %5.2f s (user %.2f, sys %.2f)  server CPU %.2f s\n' \
    "$1" "$e" "$(echo "$u + $s" | bc)" "$u" "$s" "$(echo "$c1 - $c0" | bc)"
}
mkdir -p "$w/up/vdir"; cp "$w/seed"/* "$w/up/vdir/"
setup "$w/up"; run upload "$w/up"
run nochange "$w/up"
setup "$w/down"; run download "$w/down"
