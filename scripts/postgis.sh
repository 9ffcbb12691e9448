#!/usr/bin/env bash
# Throwaway PostGIS server for the test suite.
#
#   scripts/postgis.sh start   initialise (once) and start a cluster on 127.0.0.1:54329,
#                              create database gomrac_test with the postgis extension,
#                              print its SQLAlchemy URL
#   scripts/postgis.sh url     print the URL
#   scripts/postgis.sh status  exit 0 when the server answers
#   scripts/postgis.sh stop    stop the server (the data folder is kept for the next start)
#   scripts/postgis.sh destroy stop the server and delete the data folder
#
# Usage in a shell:  export GOMRAC_TEST_POSTGIS_URL="$(scripts/postgis.sh start)"
#
# The test cluster runs with fsync=off (fast, not crash-safe). With --durable after the command
# (`scripts/postgis.sh start --durable`, and so on for url, status, stop, destroy) the same
# commands manage a second cluster, on 127.0.0.1:54330 (GOMRAC_PG_DURABLE_PORT) in its own
# folder, with fsync=on, synchronous_commit=on and full_page_writes=on as a production server
# has them: for durability figures (python -m bench.web --postgis-url "$(... url --durable)").
#
# Needs the Debian packages postgresql-15 and postgresql-15-postgis-3 (or another version: the
# newest /usr/lib/postgresql/*/bin is used; PG_BIN overrides it). The cluster trusts local connections: it is for tests only and listens on
# the loopback address only. Every step is idempotent. When run as root the cluster belongs to
# the `postgres` system user (initdb refuses to run as root).
set -euo pipefail

if [ -z "${PG_BIN:-}" ]; then
    # the newest installed server (15 on Debian 12), unless PG_BIN says otherwise
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
fi
PG_PORT="${GOMRAC_PG_PORT:-54329}"
PG_HOST=127.0.0.1
PG_DB=gomrac_test
PG_DIR="${GOMRAC_PG_DIR:-${TMPDIR:-/tmp}/gomrac-postgis}"
PG_SETTINGS="-c fsync=off"
if [ "${2:-}" = "--durable" ]; then
    PG_PORT="${GOMRAC_PG_DURABLE_PORT:-54330}"
    PG_DIR="${PG_DIR}-durable"
    PG_SETTINGS="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
elif [ -n "${2:-}" ]; then
    echo "postgis.sh: unknown option ${2}; the only one is --durable" >&2
    exit 2
fi
DATA="$PG_DIR/data"
LOG="$PG_DIR/server.log"
URL="postgresql+psycopg://postgres@${PG_HOST}:${PG_PORT}/${PG_DB}"

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [ -f "$DATA/postmaster.pid" ] && as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

psql_q() {
    PGOPTIONS="-c client_min_messages=warning" as_owner "$PG_BIN/psql" -h "$PG_HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAtX "$@"
}

start() {
    if [ ! -x "$PG_BIN/initdb" ]; then
        echo "postgis.sh: $PG_BIN/initdb not found; install postgresql and postgis" >&2
        exit 1
    fi
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$PG_DIR"
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
        as_owner "$PG_BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
            >"$PG_DIR/initdb.log" 2>&1 || {
            cat "$PG_DIR/initdb.log" >&2
            exit 1
        }
    fi
    if ! running; then
        # unix socket in the data folder: no need for /var/run/postgresql
        as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
            -o "-c listen_addresses=$PG_HOST -p $PG_PORT -k $DATA $PG_SETTINGS -c max_connections=200" \
            start >/dev/null || {
            cat "$LOG" >&2
            exit 1
        }
    fi
    if [ "$(psql_q -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
        psql_q -d postgres -c "CREATE DATABASE $PG_DB"
    fi
    psql_q -d "$PG_DB" -c "CREATE EXTENSION IF NOT EXISTS postgis"
    echo "$URL"
}

stop() {
    if running; then
        as_owner "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "$URL" ;;
    status) running ;;
    destroy)
        stop
        rm -rf "$PG_DIR"
        ;;
    *)
        echo "usage: $0 start|stop|url|status|destroy [--durable]" >&2
        exit 2
        ;;
esac
