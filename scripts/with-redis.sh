#!/usr/bin/env bash
# Runs a command with a real Redis server on 127.0.0.1, exported as RB_TEST_REDIS_URL.
# Installs redis-server from Debian packages when missing, starts it on a free port, and stops
# exactly what it started. An already exported RB_TEST_REDIS_URL is used as is.
set -euo pipefail

if [[ -n "${RB_TEST_REDIS_URL:-}" ]]; then
  exec "$@"
fi

if ! command -v redis-server >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "redis-server is missing; install it (apt-get install redis-server) or run as root" >&2
    exit 1
  fi
  echo "installing redis-server (Debian package)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq redis-server >/dev/null
fi

port=""
for p in $(seq 6390 6490); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[[ -n "$port" ]] || { echo "no free port for redis-server" >&2; exit 1; }

redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --protected-mode yes \
  --daemonize no --loglevel warning >/dev/null &
redis_pid=$!
cleanup() { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then break; fi
  sleep 0.05
done
redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null

export RB_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
"$@"
