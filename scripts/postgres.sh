#!/usr/bin/env bash
# Sourced by scripts/test.sh: a throwaway PostgreSQL cluster for the tests
# that run against PostgreSQL (state, the server's store, replicas).
#
#   start_postgres   initdb on a temporary directory, the server on a free
#                    loopback port (no Unix socket outside that directory),
#                    and TEST_POSTGRES_URL set to its URL; the
#                    cluster is stopped and removed when the shell exits.
#
# The cluster runs as an unprivileged user: PostgreSQL refuses to run as
# root, which the test machine's user is (the Debian package's `postgres`
# user, else `nobody`). Debian's `postgresql` package is installed when
# missing; under CI=true a PostgreSQL that cannot be started fails the run,
# elsewhere its tests are skipped (testutil.Postgres says so).

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

start_postgres() {
  local bindir
  if ! bindir=$(pg_bindir); then
    if command -v apt-get >/dev/null; then
      local sudo=""
      [ "$(id -u)" = 0 ] || sudo="sudo"
      echo "== installing postgresql (Debian package)"
      { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql; } >/tmp/cardbridge-apt-pg.log 2>&1 ||
        tail -20 /tmp/cardbridge-apt-pg.log >&2
    fi
    bindir=$(pg_bindir) || { pg_missing "PostgreSQL is not installed and could not be installed"; return $?; }
  fi
  local dir run_as=() owner
  dir=$(mktemp -d "${TMPDIR:-/tmp}/cardbridge-pg.XXXXXX")
  if [ "$(id -u)" = 0 ]; then
    owner=postgres
    id postgres >/dev/null 2>&1 || owner=nobody
    chown "$owner" "$dir"
    run_as=(runuser -u "$owner" --)
  fi
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
  if ! "${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U cardbridge --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    tail -20 "$dir/initdb.log" >&2
    pg_missing "initdb failed"; return $?
  fi
  if ! "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null; then
    tail -20 "$dir/server.log" >&2
    pg_missing "the PostgreSQL server did not start"; return $?
  fi
  PG_TEST_DIR=$dir PG_TEST_BINDIR=$bindir PG_TEST_RUN_AS="${run_as[*]}"
  trap stop_postgres EXIT
  export TEST_POSTGRES_URL="postgres://cardbridge@127.0.0.1:$port/postgres?sslmode=disable"
  echo "== PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (throwaway cluster in $dir)"
}

stop_postgres() {
  [ -n "${PG_TEST_DIR:-}" ] || return 0
  $PG_TEST_RUN_AS "$PG_TEST_BINDIR/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_TEST_DIR"
  PG_TEST_DIR=
}

pg_missing() {
  if [ "${CI:-}" = true ]; then
    echo "test: $1 (CI=true: the PostgreSQL tests cannot be skipped)" >&2
    return 1
  fi
  echo "test: $1: the PostgreSQL tests will be skipped" >&2
  return 0
}
