#!/usr/bin/env bash
# The project's test command (README, .ci/run). It installs or starts what
# the tests need; under CI=true a missing peer fails the run instead of
# skipping. The core needs only Go: the engine and state packages run under
# the race detector, everything else without it.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || { echo "test: Go is not installed (https://go.dev/dl/)" >&2; exit 1; }
# The toolchain go.mod names (fetched through the module proxy when the
# installed Go is older), as CI uses.
export GOTOOLCHAIN=auto
go version
go mod download

# Real peers the tests drive: khard and vdirsyncer read and write our
# vCard directories and talk to our CardDAV server; Radicale and Xandikos
# are the CardDAV servers our client side syncs with. Installed from
# Debian's packages when missing.
need_pkgs=()
for p in khard vdirsyncer radicale xandikos chromium; do
  command -v "$p" >/dev/null || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null; then
    echo "== installing ${need_pkgs[*]} (Debian packages)"
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"; } >/tmp/cardbridge-apt.log 2>&1; then
      tail -20 /tmp/cardbridge-apt.log >&2
      [ "${CI:-}" = true ] && { echo "test: could not install ${need_pkgs[*]}" >&2; exit 1; }
      echo "test: could not install ${need_pkgs[*]}: their tests will be skipped" >&2
    fi
  elif [ "${CI:-}" = true ]; then
    echo "test: ${need_pkgs[*]} missing and no apt-get to install them" >&2; exit 1
  fi
fi

# Thunderbird's vCard parser (npm ical.js, pinned by package-lock.json) for
# carddav/server's TestThunderbirdICALjs; under CI=true a missing node or
# package fails that test.
if command -v npm >/dev/null; then
  echo "== npm ci (carddav/server/testdata/icaljs)"
  if ! npm ci --prefix carddav/server/testdata/icaljs --no-audit --no-fund >/tmp/cardbridge-npm.log 2>&1; then
    tail -20 /tmp/cardbridge-npm.log >&2
    [ "${CI:-}" = true ] && { echo "test: npm ci failed" >&2; exit 1; }
    echo "test: npm ci failed: the ical.js test will be skipped" >&2
  fi
elif [ "${CI:-}" = true ]; then
  echo "test: node/npm missing (the ical.js test needs them)" >&2; exit 1
fi

# A throwaway PostgreSQL cluster on loopback for the tests that run the
# state against PostgreSQL (testutil/pgtest); stopped when this script ends.
source scripts/postgres.sh
start_postgres || exit 1

race_pkgs=$(go list ./engine/... ./side/mem/... ./side/store/... ./side/carddav/... ./state/... ./daemon/... ./carddav/... ./authguard/...)
other_pkgs=$(go list ./... | grep -v -x -F "$race_pkgs")
echo "== go vet"
go vet ./...
echo "== go test -race (engine, state, servers, authguard)"
go test -race -count=1 -timeout 20m $race_pkgs
echo "== go test (the rest)"
go test -count=1 -timeout 20m $other_pkgs
