#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster that this script starts and
# removes afterwards (also when the command fails or is interrupted).
#   scripts/with_postgres.sh <command> [args...]
#   scripts/with_postgres.sh --check     print the binaries' folder, or exit 3 if none
# The command sees DATABASE_URL pointing at the cluster. Exit status 3 means no
# PostgreSQL server binaries were found.
set -euo pipefail

find_pg_bin() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then echo "$PG_BIN"; return 0; fi
  local candidate
  for candidate in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do
    if [ -x "$candidate/initdb" ]; then echo "$candidate"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

PG_BIN=$(find_pg_bin) || { echo "PostgreSQL server binaries (initdb, pg_ctl) not found" >&2; exit 3; }
if [ "${1:-}" = "--check" ]; then echo "$PG_BIN"; exit 0; fi
if [ $# = 0 ]; then echo "usage: $0 <command> [args...] | --check" >&2; exit 2; fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

PGDIR=$(mktemp -d /tmp/stockroom-pg.XXXXXX)
PORT=$(free_port)
as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = "0" ]; then chown postgres "$PGDIR"; fi

cleanup() {
  as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
}
trap cleanup EXIT INT TERM

as_pg "$PG_BIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$PGDIR/initdb.log" 2>&1 \
  || { cat "$PGDIR/initdb.log" >&2; exit 1; }
as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
  -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$PGDIR/log" >&2; exit 1; }

export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PORT (throwaway cluster in $PGDIR)"
set +e
"$@"
status=$?
set -e
exit $status
