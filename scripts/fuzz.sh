#!/usr/bin/env bash
# Runs cardbridge's native Go fuzz targets one after another.
#
#   scripts/fuzz.sh [DURATION] [TARGET...]
#
# DURATION is a go test -fuzztime value (default 10m). TARGETs are names
# such as FuzzParse (default: every target below). Each run's output goes
# to <package>/testdata/fuzz/<Target>.log (or $FUZZ_LOG_DIR/<Target>.log
# when that is set) and the last status line is echoed.
#
# FUZZ_MINIMIZE (default 100x) is -fuzzminimizetime: Go's default of 60s
# spends most of a short run minimising each new interesting input (the
# log shows "0/sec" meanwhile), and a minimised input is not needed here. A crasher is written by Go to
# <package>/testdata/fuzz/<Target>/ and makes this script exit non-zero
# after the remaining targets ran; keep that file: it is the regression
# case `go test` replays from then on.
set -u
cd "$(dirname "$0")/.."

duration=${1:-10m}
shift || true

# package and target, one pair per line
all="./vcard FuzzParse
./o365 FuzzMapping
./carddav/server FuzzPropfind
./carddav/server FuzzReport
./carddav/server FuzzPut
./sync FuzzPlan
./sync FuzzMerge3"

failed=0
while read -r pkg target; do
	if [ $# -gt 0 ]; then
		want=0
		for t in "$@"; do [ "$t" = "$target" ] && want=1; done
		[ $want = 1 ] || continue
	fi
	logdir=${FUZZ_LOG_DIR:-$pkg/testdata/fuzz}
	mkdir -p "$logdir"
	log="$logdir/$target.log"
	echo "== $target ($pkg) for $duration → $log"
	start=$(date -u +%s)
	go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$duration" \
		-fuzzminimizetime "${FUZZ_MINIMIZE:-100x}" -parallel 1 >"$log" 2>&1
	rc=$?
	end=$(date -u +%s)
	echo "wall time: $((end - start))s, exit $rc" >>"$log"
	grep '^fuzz: elapsed' "$log" | tail -n 1
	if [ $rc -ne 0 ]; then
		failed=1
		echo "   FAILED (exit $rc): see $log and $pkg/testdata/fuzz/$target/"
	fi
done <<<"$all"
exit $failed
