#!/usr/bin/env bash
# make bench: installs the external HTTP load generator (wrk, Debian's package, pinned to the
# version this was measured with) when missing, then runs the benchmark under a real Redis.
set -euo pipefail

WRK_VERSION="4.1.0-3+b2"
if ! command -v wrk >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "wrk is missing; install it (apt-get install wrk=$WRK_VERSION) or run as root" >&2
    exit 1
  fi
  echo "installing wrk $WRK_VERSION (Debian package)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "wrk=$WRK_VERSION" >/dev/null || apt-get install -y -qq wrk >/dev/null
fi
echo "load generator: $(wrk --version 2>&1 | head -1)" >&2
exec "$(dirname "$0")/with-redis.sh" go run ./internal/bench "$@"
