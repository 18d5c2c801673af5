#!/usr/bin/env bash
# Benchmark: cardbridge's CardDAV client against vdirsyncer, the same job on
# the same server and book, side by side:
#   bench/carddav-client.sh [N] [SERVERS]
#     default N=1000, SERVERS="radicale xandikos"; "cardbridge" in SERVERS
#     is cardbridge's own `serve` (with a user "bench" and a book per tool).
# Rows per server and tool: initial upload (vdir of N -> empty book),
# no-change sync, 1%-changed sync (N/100 files edited locally), initial
# download (empty vdir <- the book). The no-change and 1%-changed runs are
# repeated REPEAT times (default 3; each 1% round edits other files) and the
# median is printed. Output: one table row per server and tool:
#   server tool upload no-change 1%-changed download
# Servers run on 127.0.0.1 and are stopped at the end; everything lives in a
# temporary folder. With COUNT=1 each row is followed by the number of
# requests per method the server logged for that row's runs (Radicale and
# Xandikos only), and the CPU time the server spent on the last no-change
# and 1%-changed runs.
set -euo pipefail
N=${1:-1000}
SERVERS=${2:-"radicale xandikos"}
REPEAT=${REPEAT:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
gen=${GEN_VCARDS:-$here/bench/gen_vcards.py}
for tool in vdirsyncer curl python3 bc; do command -v $tool >/dev/null || { echo "bench: $tool missing" >&2; exit 2; }; done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
build_cardbridge "$work/cardbridge"
# The run's own outputs (bench/results, docs/bench, docs/benchmarks.md) are not changes to the code.
echo "# cardbridge built from commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null)$(git -C "$here" diff --quiet HEAD -- . ':(exclude)bench/results' ':(exclude)docs/bench' ':(exclude)docs/benchmarks.md' 2>/dev/null || echo ' with uncommitted changes')"
python3 "$gen" "$work/seed" "$N" 1 >/dev/null
PW=benchpass1
timeit() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>"$work/last.err" || { echo "bench: failed: $*" >&2; cat "$work/last.err" >&2; return 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
edit1pct() { # dir round: edits the round-th 1% of the files
  python3 - "$1" "$N" "$2" <<'PY'
import os, sys
d, n, r = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
k = max(1, n // 100)
for f in sorted(x for x in os.listdir(d) if x.endswith(".vcf"))[r * k:(r + 1) * k]:
    p = os.path.join(d, f); s = open(p, newline="").read()
    open(p, "w", newline="").write(s.replace("END:VCARD", "NOTE:changed %d\r\nEND:VCARD" % r))
PY
}
mkbook() { curl -s -o /dev/null -w '%{http_code}' -X MKCOL -u "bench:$PW" -H 'Content-Type: application/xml' --data '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>' "$1"; }
methods() { # log from to: requests per method the server logged in lines [from, to)
  sed -n "$2,$(($3 - 1))p" "$1" | grep -oE '"(PROPFIND|REPORT|PUT|GET|DELETE) |(PROPFIND|REPORT|PUT|GET|DELETE) request for' | awk '{print $1}' | tr -d '"' | sort | uniq -c | awk '{printf "%s %s  ", $2, $1}'
}
srvcpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$srvpid/stat"; } # the server's CPU seconds so far
line() { [ "${COUNT:-0}" = 1 ] && sleep 0.3; echo $(($(wc -l < "$1") + 1)); } # the pause lets the server's log catch up

printf '%-10s %-11s %10s %10s %11s %10s   (%d contacts)\n' server tool upload no-change 1%-changed download "$N"
for srv in $SERVERS; do
  port=$(freeport)
  log="$work/$srv.log"
  case $srv in
    cardbridge)
      start_cardbridge "$work/cardbridge" "$work/cb" "$port" "$PW" "$log"; pids+=($!)
      home="http://127.0.0.1:$port/addressbooks/bench" ;;
    radicale)
      radicale --storage-filesystem-folder "$work/$srv" --server-hosts "127.0.0.1:$port" --auth-type none --logging-level info >"$log" 2>&1 & pids+=($!)
      home="http://127.0.0.1:$port/bench" ;;
    xandikos)
      xandikos -d "$work/$srv" -l 127.0.0.1 -p "$port" --defaults --autocreate --current-user-principal /bench >"$log" 2>&1 & pids+=($!)
      home="http://127.0.0.1:$port/bench/contacts" ;;
    *) echo "bench: unknown server $srv (cardbridge, radicale or xandikos)" >&2; exit 2 ;;
  esac
  srvpid=${pids[-1]}
  waitport "$port"
  for tool in vdirsyncer cardbridge; do
    d="$work/$srv-$tool"; mkdir -p "$d"; cp -r "$work/seed" "$d/vdir"; mkdir -p "$d/down"
    book="$home/$tool/"
    code=$(mkbook "$book")
    case $code in 2*) ;; *) echo "bench: MKCOL $book: $code" >&2; exit 1 ;; esac
    if [ "$tool" = vdirsyncer ]; then
      for side in up down; do
        vd=$d/vdir; [ $side = down ] && vd=$d/down
        vdirsyncer_conf "$d/$side.conf" "$d/status-$side" "$vd" "$book" "$PW"
        vdirsyncer -c "$d/$side.conf" discover >/dev/null 2>&1 || true
      done
      run_up() { vdirsyncer -c "$d/up.conf" sync; }
      run_down() { vdirsyncer -c "$d/down.conf" sync; }
    else
      printf 'state: %s/up.db\npairs:\n  p:\n    a: {type: vdir, path: %s/vdir}\n    b: {type: carddav, url: %s, username: bench, password_env: PW}\n    max_delete: 100%%\n' "$d" "$d" "$book" > "$d/up.yaml"
      printf 'state: %s/down.db\npairs:\n  p:\n    a: {type: carddav, url: %s, username: bench, password_env: PW}\n    b: {type: vdir, path: %s/down}\n' "$d" "$book" "$d" > "$d/down.yaml"
      run_up() { PW=$PW "$work/cardbridge" --quiet --config "$d/up.yaml" sync; }
      run_down() { PW=$PW "$work/cardbridge" --quiet --config "$d/down.yaml" sync; }
    fi
    l0=$(line "$log")
    up=$(timeit run_up)
    lu=$(line "$log")
    ncs=(); chs=()
    for r in $(seq 0 $((REPEAT - 1))); do
      l1=$(line "$log"); c1=$(srvcpu); ncs+=("$(timeit run_up)")
      l2=$(line "$log"); c2=$(srvcpu); edit1pct "$d/vdir" "$r"; chs+=("$(timeit run_up)")
      l3=$(line "$log"); c3=$(srvcpu)
    done
    dn=$(timeit run_down)
    got=$(ls "$d/down" | grep -c '\.vcf$' || true)
    [ "$got" = "$N" ] || echo "bench: $srv/$tool downloaded $got of $N" >&2
    printf '%-10s %-11s %9.2fs %9.2fs %10.2fs %9.2fs\n' "$srv" "$tool" "$up" "$(median "${ncs[@]}")" "$(median "${chs[@]}")" "$dn"
    if [ "${COUNT:-0}" = 1 ] && [ "$srv" != cardbridge ]; then
      l1=${l1:-$lu}; l2=${l2:-$lu}; l3=${l3:-$lu}
      echo "#   requests, $srv/$tool: upload: $(methods "$log" "$l0" "$lu")| last no-change: $(methods "$log" "$l1" "$l2")(server CPU $(echo "$c2 - $c1" | bc) s) | last 1%-changed: $(methods "$log" "$l2" "$l3")(server CPU $(echo "$c3 - $c2" | bc) s)"
    fi
  done
done
