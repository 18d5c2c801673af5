#!/usr/bin/env bash
# Benchmark: two-way vdir <-> vdir sync of N generated contacts.
#   bench/vdir-sync.sh [--json] [--timeout SECS] [--bin PATH] [N] [RUNS]
# Generates N realistic contacts with bench/gen_vcards.py into side a,
# then measures with /usr/bin/time (wall time and peak RSS) on the built binary:
#   first sync   a (N contacts) -> empty b
#   no-change    a re-run with nothing changed
#   1% changed   N/100 files edited on a, N/200 on b
#   identical    a first sync of two folders that hold the same N contacts
#                (checked to make no write at all)
# Each row is the median of RUNS runs (default 3) on fresh copies.
# --json prints one JSON object per run and step instead of the table:
#   {"bench":"vdir-sync","n":N,"run":1,"step":"first|nochange|changed|same",
#    "status":"ok|timeout","wall_s":2.1,"rss_kb":81234}
# --timeout bounds each measured sync (a timed-out step is reported as such
# and ends the runs); --bin uses an already built cardbridge.
# Everything stays in a temporary folder, removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
bench_options "$@"
N=${ARGS[0]:-10000}
RUNS=${ARGS[1]:-3}
gen=${GEN_VCARDS:-$here/bench/gen_vcards.py}
[ -f "$gen" ] || { echo "bench: $gen not found (set GEN_VCARDS=)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build_cardbridge "$work/cardbridge" "$BIN"
python3 "$gen" "$work/seed" "$N" 1 >/dev/null

measure() { # label cmd...  -> prints "wall rss_kb", or "timeout" (exits on failure)
  local label=$1 rc=0 to=(); shift
  [ "$TIMEOUT" -gt 0 ] && to=(timeout -k 5 "$TIMEOUT")
  "${to[@]}" /usr/bin/time -f "%e %M" -o "$work/time.$label" "$@" >/dev/null 2>"$work/err.$label" || rc=$?
  case $rc in
    0) cat "$work/time.$label" ;;
    124|137) echo "timeout 0" ;;
    *) echo "bench: $label failed:" >&2; cat "$work/err.$label" >&2; exit 1 ;;
  esac
}
record() { # step wall rss: appends to the medians, prints JSON; returns 1 on timeout
  if [ "$JSON" = 1 ]; then
    if [ "$2" = timeout ]; then printf '{"bench":"vdir-sync","n":%d,"run":%d,"step":"%s","status":"timeout","timeout_s":%d}\n' "$N" "$r" "$1" "$TIMEOUT"
    else printf '{"bench":"vdir-sync","n":%d,"run":%d,"step":"%s","status":"ok","wall_s":%s,"rss_kb":%d}\n' "$N" "$r" "$1" "$2" "$3"; fi
  fi
  [ "$2" = timeout ] && { echo "bench: $1 timed out after ${TIMEOUT}s" >&2; return 1; }
  wall[$1]+="$2 "; rss[$1]+="$3 "
}

median() { sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'; }

declare -A wall rss
for r in $(seq "$RUNS"); do
  d=$work/run$r
  mkdir -p "$d/b"
  cp -r "$work/seed" "$d/a"
  printf 'state: %s/state.db\npairs:\n  bench:\n    a: {type: vdir, path: %s/a}\n    b: {type: vdir, path: %s/b}\n' "$d" "$d" "$d" > "$d/config.yaml"
  sync() { "$work/cardbridge" --quiet --config "$d/config.yaml" sync bench; }
  read -r w m < <(measure first "$work/cardbridge" --quiet --config "$d/config.yaml" sync bench)
  record first "$w" "$m" || break
  read -r w m < <(measure nochange "$work/cardbridge" --quiet --config "$d/config.yaml" sync bench)
  record nochange "$w" "$m" || break
  # 1%: append a NOTE to N/100 files on a and N/200 other files on b.
  python3 - "$d" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
def edit(side, files, note):
    for f in files:
        p = os.path.join(d, side, f)
        s = open(p, newline="").read()
        open(p, "w", newline="").write(s.replace("END:VCARD", "NOTE:" + note + "\r\nEND:VCARD"))
a = sorted(x for x in os.listdir(os.path.join(d, "a")) if x.endswith(".vcf"))
b = sorted(x for x in os.listdir(os.path.join(d, "b")) if x.endswith(".vcf"))
edit("a", a[: n // 100], "edited on a")
edit("b", b[-(n // 200):], "edited on b")
PY
  read -r w m < <(measure changed "$work/cardbridge" --quiet --config "$d/config.yaml" sync bench)
  record changed "$w" "$m" || break
  # Both sides already hold the same contacts (another tool's copy): the
  # first sync must link them all without a single write.
  mkdir -p "$d/same"
  cp -r "$work/seed" "$d/same/a"; cp -r "$work/seed" "$d/same/b"
  printf 'state: %s/same/state.db\npairs:\n  bench:\n    a: {type: vdir, path: %s/same/a}\n    b: {type: vdir, path: %s/same/b}\n' "$d" "$d" "$d" > "$d/same/config.yaml"
  read -r w m < <(measure same "$work/cardbridge" --quiet --config "$d/same/config.yaml" sync bench)
  record same "$w" "$m" || break
  out=$("$work/cardbridge" --config "$d/same/config.yaml" sync bench --json)
  case $out in *'"a":{"created":0,"updated":0,"deleted":0},"b":{"created":0,"updated":0,"deleted":0}'*) ;; *) echo "bench: identical sides: $out" >&2; exit 1;; esac
  na=$(ls "$d/a" | grep -c '\.vcf$'); nb=$(ls "$d/b" | grep -c '\.vcf$')
  [ "$na" = "$N" ] && [ "$nb" = "$N" ] || { echo "bench: run $r: a has $na, b has $nb, want $N" >&2; exit 1; }
done

[ "$JSON" = 1 ] && exit 0
printf '%-34s %10s %14s\n' "vdir<->vdir, $N contacts" "wall (s)" "peak RSS (MB)"
for k in first nochange changed same; do
  [ -n "${wall[$k]:-}" ] || { printf '%-34s %10s\n' "$k" "timed out"; continue; }
  w=$(echo ${wall[$k]} | tr ' ' '\n' | median)
  m=$(echo ${rss[$k]} | tr ' ' '\n' | median)
  case $k in first) l="first sync (a -> empty b)";; nochange) l="no-change re-run";; changed) l="1% changed (a) + 0.5% (b)";; same) l="first sync, both sides identical";; esac
  printf '%-34s %10s %14.1f\n' "$l" "$w" "$(echo "$m/1024" | bc -l)"
done
echo "(median of $RUNS runs; $(nproc) cores; $(go version | cut -d' ' -f3))"
