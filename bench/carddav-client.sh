#!/usr/bin/env bash
# Benchmark: cardbridge's CardDAV client against vdirsyncer, the same job on
# the same server and book, side by side:
#   bench/carddav-client.sh [N] [SERVERS]     (default N=1000, SERVERS="radicale xandikos")
# Rows per server and tool: initial upload (vdir of N -> empty book),
# no-change sync, 1%-changed sync (N/100 files edited locally), initial
# download (empty vdir <- the book). Servers run on 127.0.0.1 and are
# stopped at the end; everything lives in a temporary folder.
set -euo pipefail
N=${1:-1000}
SERVERS=${2:-"radicale xandikos"}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
(cd "$here" && go build -o "$work/cardbridge" ./cmd/cardbridge)
python3 "$shared/tools/gen_vcards.py" "$work/seed" "$N" 1 >/dev/null
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }
timeit() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$work/last.err" || { echo "bench: failed: $*" >&2; cat "$work/last.err" >&2; return 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
edit1pct() { python3 - "$1" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for f in sorted(x for x in os.listdir(d) if x.endswith(".vcf"))[: max(1, n // 100)]:
    p = os.path.join(d, f); s = open(p, newline="").read()
    open(p, "w", newline="").write(s.replace("END:VCARD", "NOTE:changed\r\nEND:VCARD"))
PY
}

printf '%-10s %-11s %10s %10s %11s %10s   (%d contacts)\n' server tool upload no-change 1%-changed download "$N"
for srv in $SERVERS; do
  port=$(freeport)
  case $srv in
    radicale) radicale --storage-filesystem-folder "$work/$srv" --server-hosts "127.0.0.1:$port" --auth-type none >"$work/$srv.log" 2>&1 & pids+=($!) ;;
    xandikos) xandikos -d "$work/$srv" -l 127.0.0.1 -p "$port" --defaults --autocreate --current-user-principal /bench >"$work/$srv.log" 2>&1 & pids+=($!) ;;
  esac
  waitport "$port"
  for tool in vdirsyncer cardbridge; do
    d="$work/$srv-$tool"; mkdir -p "$d"; cp -r "$work/seed" "$d/vdir"; mkdir -p "$d/down"
    book="http://127.0.0.1:$port/bench/$tool/"
    [ "$srv" = xandikos ] && book="http://127.0.0.1:$port/bench/contacts/$tool/"
    curl -s -X MKCOL -u bench:pw -H 'Content-Type: application/xml' --data '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>' "$book" >/dev/null
    if [ "$tool" = vdirsyncer ]; then
      for side in up down; do
        vd=$d/vdir; [ $side = down ] && vd=$d/down
        printf '[general]\nstatus_path = "%s/status-%s"\n[pair p]\na = "local"\nb = "remote"\ncollections = null\nconflict_resolution = "a wins"\n[storage local]\ntype = "filesystem"\npath = "%s"\nfileext = ".vcf"\n[storage remote]\ntype = "carddav"\nurl = "%s"\nusername = "bench"\npassword = "pw"\n' "$d" $side "$vd" "$book" > "$d/$side.conf"
        vdirsyncer -c "$d/$side.conf" discover >/dev/null 2>&1 || true
      done
      run_up() { vdirsyncer -c "$d/up.conf" sync; }
      run_down() { vdirsyncer -c "$d/down.conf" sync; }
    else
      printf 'state: %s/up.db\npairs:\n  p:\n    a: {type: vdir, path: %s/vdir}\n    b: {type: carddav, url: %s, username: bench, password_env: PW}\n    max_delete: 100%%\n' "$d" "$d" "$book" > "$d/up.yaml"
      printf 'state: %s/down.db\npairs:\n  p:\n    a: {type: carddav, url: %s, username: bench, password_env: PW}\n    b: {type: vdir, path: %s/down}\n' "$d" "$book" "$d" > "$d/down.yaml"
      run_up() { PW=pw "$work/cardbridge" --quiet --config "$d/up.yaml" sync; }
      run_down() { PW=pw "$work/cardbridge" --quiet --config "$d/down.yaml" sync; }
    fi
    up=$(timeit run_up); nc=$(timeit run_up); edit1pct "$d/vdir"; ch=$(timeit run_up); dn=$(timeit run_down)
    got=$(ls "$d/down" | grep -c '\.vcf$' || true)
    [ "$got" = "$N" ] || echo "bench: $srv/$tool downloaded $got of $N" >&2
    printf '%-10s %-11s %9.2fs %9.2fs %10.2fs %9.2fs\n' "$srv" "$tool" "$up" "$nc" "$ch" "$dn"
  done
done
