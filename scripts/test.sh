#!/usr/bin/env bash
# The project's test command (README, .ci/run). It installs or starts what
# the tests need; under CI=true a missing peer fails the run instead of
# skipping. The core needs only Go: the engine and state packages run under
# the race detector, everything else without it.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || { echo "test: Go is not installed (https://go.dev/dl/)" >&2; exit 1; }
go mod download

race_pkgs=$(go list ./sync/... ./state/...)
other_pkgs=$(go list ./... | grep -v -x -F "$race_pkgs")
echo "== go vet"
go vet ./...
echo "== go test -race (engine, state)"
go test -race -count=1 -timeout 20m $race_pkgs
echo "== go test (the rest)"
go test -count=1 -timeout 20m $other_pkgs
