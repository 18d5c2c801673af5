#!/usr/bin/env bash
# Benchmark: the same CardDAV client (vdirsyncer) and the same address book
# against cardbridge's server, Radicale and Xandikos (Debian packages), all on
# 127.0.0.1, one run each:
#   bench/carddav-servers.sh [N] [SERVERS]     (default N=1000, SERVERS="cardbridge radicale xandikos")
# Rows: initial upload (vdir of N -> empty book), no-change sync, 1%-changed
# sync (N/100 files edited locally), initial download (empty vdir <- book).
# Everything lives in a temporary folder, removed at the end; servers are
# stopped at the end.
set -euo pipefail
N=${1:-1000}
SERVERS=${2:-"cardbridge radicale xandikos"}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
for tool in vdirsyncer curl python3; do command -v $tool >/dev/null || { echo "bench: $tool missing" >&2; exit 2; }; done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
(cd "$here" && go build -o "$work/cardbridge" ./cmd/cardbridge)
python3 "$shared/tools/gen_vcards.py" "$work/seed" "$N" 1 >/dev/null

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; echo "bench: port $1 never answered" >&2; return 1; }

start_server() { # name -> prints the book URL
  local name=$1 port; port=$(freeport)
  case $name in
    cardbridge)
      mkdir -p "$work/cb"
      printf 'state: %s/cb/state.db\nserver:\n  listen: 127.0.0.1:%s\n' "$work" "$port" > "$work/cb/config.yaml"
      echo "benchpass1" | "$work/cardbridge" --config "$work/cb/config.yaml" user add bench >/dev/null
      "$work/cardbridge" --quiet --config "$work/cb/config.yaml" serve >"$work/cb.log" 2>&1 & pids+=($!)
      waitport "$port"
      echo "http://127.0.0.1:$port/addressbooks/bench/contacts/" ;;
    radicale)
      radicale --storage-filesystem-folder "$work/radicale" --server-hosts "127.0.0.1:$port" --auth-type none >"$work/radicale.log" 2>&1 & pids+=($!)
      waitport "$port"
      curl -s -X MKCOL -u bench:benchpass1 -H 'Content-Type: application/xml' --data '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>' "http://127.0.0.1:$port/bench/contacts/" >/dev/null
      echo "http://127.0.0.1:$port/bench/contacts/" ;;
    xandikos)
      xandikos -d "$work/xandikos" -l 127.0.0.1 -p "$port" --defaults --current-user-principal /bench >"$work/xandikos.log" 2>&1 & pids+=($!)
      waitport "$port"
      echo "http://127.0.0.1:$port/bench/contacts/addressbook/" ;;
  esac
}

vds_config() { # dir url
  cat > "$1/vdirsyncer.conf" <<EOC
[general]
status_path = "$1/status"
[pair p]
a = "local"
b = "remote"
collections = null
conflict_resolution = "a wins"
[storage local]
type = "filesystem"
path = "$1/vdir"
fileext = ".vcf"
[storage remote]
type = "carddav"
url = "$2"
username = "bench"
password = "benchpass1"
EOC
}

timeit() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; return 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }

printf '%-12s %12s %12s %12s %14s   (%d contacts, vdirsyncer %s)\n' server upload no-change 1%-changed download "$N" "$(vdirsyncer --version | awk '{print $3}')"
for srv in $SERVERS; do
  url=$(start_server "$srv")
  d="$work/run-$srv"; mkdir -p "$d"; cp -r "$work/seed" "$d/vdir"
  vds_config "$d" "$url"
  vdirsyncer -c "$d/vdirsyncer.conf" discover >/dev/null 2>&1 || true
  up=$(timeit vdirsyncer -c "$d/vdirsyncer.conf" sync)
  nc=$(timeit vdirsyncer -c "$d/vdirsyncer.conf" sync)
  python3 - "$d/vdir" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for f in sorted(x for x in os.listdir(d) if x.endswith(".vcf"))[: max(1, n // 100)]:
    p = os.path.join(d, f); s = open(p, newline="").read()
    open(p, "w", newline="").write(s.replace("END:VCARD", "NOTE:changed\r\nEND:VCARD"))
PY
  ch=$(timeit vdirsyncer -c "$d/vdirsyncer.conf" sync)
  d2="$work/down-$srv"; mkdir -p "$d2/vdir"
  vds_config "$d2" "$url"
  vdirsyncer -c "$d2/vdirsyncer.conf" discover >/dev/null 2>&1 || true
  dn=$(timeit vdirsyncer -c "$d2/vdirsyncer.conf" sync)
  got=$(ls "$d2/vdir" | grep -c '\.vcf$' || true)
  [ "$got" = "$N" ] || echo "bench: $srv: downloaded $got of $N" >&2
  printf '%-12s %11.2fs %11.2fs %11.2fs %13.2fs\n' "$srv" "$up" "$nc" "$ch" "$dn"
done
