#!/usr/bin/env bash
# Runs a command with a real, throwaway PostgreSQL cluster on 127.0.0.1, exported as
# RB_TEST_DATABASE_URL. Installs postgresql from Debian packages when missing (as root), initialises
# a cluster in a temporary directory (as the postgres OS user when run as root: PostgreSQL refuses to
# run as root), starts it on a free port with durability switched off for speed, and on exit stops
# exactly that cluster and removes its directory. An already exported RB_TEST_DATABASE_URL is used
# as is.
set -euo pipefail

if [[ -n "${RB_TEST_DATABASE_URL:-}" ]]; then
  exec "$@"
fi

# The Debian packages keep the server binaries off PATH, in /usr/lib/postgresql/<major>/bin.
find_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
    echo "$d"
    return
  fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
  fi
}

bindir=$(find_bindir)
if [[ -z "$bindir" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "PostgreSQL is missing; install it (apt-get install postgresql) or run as root" >&2
    exit 1
  fi
  echo "installing postgresql (Debian package)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  # The package may start its own "main" cluster; this script only wants its throwaway one,
  # and must leave nothing running that it did not start.
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters --no-header 2>/dev/null | while read -r ver name _; do
      pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
    done
  fi
  bindir=$(find_bindir)
  [[ -n "$bindir" ]] || { echo "postgresql installed but initdb/pg_ctl not found" >&2; exit 1; }
fi

# PostgreSQL will not run as root; as root, run the server as the postgres OS user.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres
  fi
  as_owner=(runuser -u postgres --)
fi

# As root the directory must be reachable by the postgres user, which a private $TMPDIR may not be.
tmpbase=${TMPDIR:-/tmp}
if [[ ${#as_owner[@]} -gt 0 ]]; then tmpbase=/tmp; fi
tmp=$(mktemp -d "$tmpbase/rb-postgres.XXXXXX")
datadir="$tmp/data"
mkdir -m 700 "$datadir"
if [[ ${#as_owner[@]} -gt 0 ]]; then
  chown -R postgres: "$tmp"
fi

started=""
cleanup() {
  if [[ -n "$started" ]]; then
    "${as_owner[@]}" "$bindir/pg_ctl" stop -D "$datadir" -m fast -w >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"${as_owner[@]}" "$bindir/initdb" -D "$datadir" -U postgres --auth=trust --encoding=UTF8 \
  --locale=C --no-sync >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }

# Ports below the kernel's ephemeral range (32768+), so a client socket lingering in TIME-WAIT
# cannot hold the chosen port; a port another run takes between the probe and the start is
# skipped and the next one tried.
# fsync, synchronous_commit and full_page_writes off: the cluster is thrown away after the run.
# max_connections leaves room for parallel test packages each holding a small pool.
port=""
for p in $(seq 25432 25532); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then continue; fi
  opts="-c listen_addresses=127.0.0.1 -p $p -c unix_socket_directories=$tmp"
  opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  opts+=" -c max_connections=200 -c shared_buffers=64MB"
  started=1
  if "${as_owner[@]}" "$bindir/pg_ctl" start -D "$datadir" -w -t 60 -l "$tmp/server.log" \
    -o "$opts" >/dev/null; then
    port=$p
    break
  fi
  if ! grep -q "could not create any TCP/IP sockets" "$tmp/server.log" 2>/dev/null; then
    cat "$tmp/server.log" >&2 || true
    exit 1
  fi
  : >"$tmp/server.log"
done
[[ -n "$port" ]] || { echo "no free port for postgres" >&2; exit 1; }

"${as_owner[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres retailbridge_test

export RB_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/retailbridge_test?sslmode=disable"
"$@"
