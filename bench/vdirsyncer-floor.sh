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
gen=${GEN_VCARDS:-$here/bench/gen_vcards.py}
for tool in vdirsyncer curl python3 bc /usr/bin/time; do command -v "$tool" >/dev/null || { echo "bench: $tool missing" >&2; exit 2; }; done
w=$(mktemp -d)
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$w"; }
trap cleanup EXIT
(cd "$here" && go build -o "$w/cardbridge" ./cmd/cardbridge)
python3 "$gen" "$w/seed" "$N" 1 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$w/cb"
printf 'state: %s/cb/state.db\nserver:\n  listen: 127.0.0.1:%s\n' "$w" "$port" >"$w/cb/config.yaml"
echo benchpass1 | "$w/cardbridge" --config "$w/cb/config.yaml" user add bench >/dev/null
"$w/cardbridge" --quiet --config "$w/cb/config.yaml" serve >"$w/cb.log" 2>&1 & spid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
url=http://127.0.0.1:$port/addressbooks/bench/contacts/
setup() { # dir: a vdirsyncer pair of dir/vdir with the book, discovered
  mkdir -p "$1/vdir"
  printf '[general]\nstatus_path = "%s/status"\n[pair p]\na = "local"\nb = "remote"\ncollections = null\nconflict_resolution = "a wins"\n[storage local]\ntype = "filesystem"\npath = "%s/vdir"\nfileext = ".vcf"\n[storage remote]\ntype = "carddav"\nurl = "%s"\nusername = "bench"\npassword = "benchpass1"\n' "$1" "$1" "$url" >"$1/v.conf"
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
