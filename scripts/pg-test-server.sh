#!/usr/bin/env bash
# Start (or reuse) a throw-away PostgreSQL cluster for the test suite and print its URL.
# Uses Debian's server binaries; runs the server as the `postgres` user when we are root
# (initdb refuses root). Data lives in $YINQI_PG_DIR (default /tmp/yinqi-pg); port 54329.
# YINQI_PG_FSYNC=off (what `make test` asks for) skips disk flushes: the tests kill processes, never
# the machine, so the page cache keeps every commit, and each test's CREATE DATABASE stops costing
# a flush of the whole template. Benchmarks use their own cluster with flushes on (`make bench`).
set -euo pipefail
PORT=${YINQI_PG_PORT:-54329}
DIR=${YINQI_PG_DIR:-/tmp/yinqi-pg}
FSYNC=${YINQI_PG_FSYNC:-on}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
  if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"; [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
    as_pg "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=$FSYNC -c synchronous_commit=$FSYNC -c full_page_writes=$FSYNC" start >/dev/null
fi
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
