#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for the tests (and for trying several app servers on one machine).
#
#   bash scripts/start_postgres.sh start DIR   # prints the server's URL on the last line of stdout
#   bash scripts/start_postgres.sh stop DIR
#
# start: installs Debian's `postgresql` with apt when initdb is missing, creates a cluster in DIR (initdb, trust
# authentication for local connections only), starts it on 127.0.0.1 on a free port (as the `postgres` user when
# run as root: PostgreSQL refuses to run as root), creates the database `musicxai` and prints
#   postgresql://postgres@127.0.0.1:PORT/musicxai
# Anything that goes wrong ends with a sentence on stderr and a non-zero exit status: the tests then fail and
# say why (they never skip the PostgreSQL back end silently).
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [[ -z "$cmd" || -z "$dir" ]]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

find_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$found" && -x "$found/initdb" ]]; then
        echo "$found"
    fi
}

as_owner() {
    if [[ "$(id -u)" == "0" ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [[ "$cmd" == "stop" ]]; then
    bin=$(find_bin)
    if [[ -n "$bin" && -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    exit 0
fi
if [[ "$cmd" != "start" ]]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

bin=$(find_bin)
if [[ -z "$bin" ]]; then
    if [[ "$(id -u)" != "0" ]]; then
        echo "PostgreSQL is not installed and installing it needs root: run 'apt-get install postgresql'." >&2
        exit 1
    fi
    echo "installing PostgreSQL (Debian package 'postgresql') for the tests..." >&2
    if ! (apt-get install -y -q postgresql >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1)); then
        echo "PostgreSQL could not be installed with apt-get; the PostgreSQL tests cannot run." >&2
        exit 1
    fi
    bin=$(find_bin)
    if [[ -z "$bin" ]]; then
        echo "PostgreSQL was installed but its initdb is not under /usr/lib/postgresql/*/bin." >&2
        exit 1
    fi
fi

mkdir -p "$dir"
if [[ "$(id -u)" == "0" ]]; then
    chown postgres "$dir"
fi
if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
        echo "initdb failed; see $dir/initdb.log:" >&2
        tail -n 5 "$dir/initdb.log" >&2
        exit 1
    }
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Loopback only, the socket in DIR (not /var/run), small buffers: it is a test server.
opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c shared_buffers=32MB \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 30 start >/dev/null 2>&1; then
    echo "PostgreSQL did not start on 127.0.0.1:$port; the end of $dir/server.log:" >&2
    tail -n 5 "$dir/server.log" >&2 || true
    exit 1
fi
as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -q -c "CREATE DATABASE musicxai" >/dev/null 2>&1 || true
if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d musicxai -q -c "SELECT 1" >/dev/null 2>&1; then
    echo "PostgreSQL started on 127.0.0.1:$port but does not answer queries; see $dir/server.log." >&2
    exit 1
fi
echo "postgresql://postgres@127.0.0.1:$port/musicxai"
