#!/usr/bin/env bash
# Runs a command with Stripe's stripe-mock on 127.0.0.1, exported as RB_TEST_STRIPE_MOCK_URL.
# Installs the pinned stripe-mock with `go install` into a cache directory when missing, starts it
# on free ports chosen by the kernel (HTTP and HTTPS both bound to 127.0.0.1 — by default HTTPS
# binds every interface), with -strict-version-check so a Stripe-Version other than the bundled
# specification's is refused, and stops exactly the process it started. An already exported
# RB_TEST_STRIPE_MOCK_URL is used as is.
set -euo pipefail

STRIPE_MOCK_VERSION=v0.203.0

if [[ -n "${RB_TEST_STRIPE_MOCK_URL:-}" ]]; then
  exec "$@"
fi

cache="${RB_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retailbridge/tools}/stripe-mock-$STRIPE_MOCK_VERSION"
bin="$cache/stripe-mock"
if [[ ! -x "$bin" ]]; then
  echo "installing stripe-mock $STRIPE_MOCK_VERSION into $cache…" >&2
  mkdir -p "$cache"
  GOBIN="$cache" go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
fi

log=$(mktemp "${TMPDIR:-/tmp}/rb-stripe-mock.XXXXXX")
# Port 0 lets the kernel pick free ports, so there is no window in which another process can
# take a port this script probed; the log says which ones were picked.
"$bin" -http-addr 127.0.0.1:0 -https-addr 127.0.0.1:0 -strict-version-check >"$log" 2>&1 &
mock_pid=$!
cleanup() {
  kill "$mock_pid" 2>/dev/null || true
  wait "$mock_pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

addr=""
for _ in $(seq 1 200); do
  addr=$(sed -n 's/^Listening for HTTP at address: \(127\.0\.0\.1:[0-9][0-9]*\)$/\1/p' "$log")
  if [[ -n "$addr" ]]; then break; fi
  if ! kill -0 "$mock_pid" 2>/dev/null; then
    echo "stripe-mock exited during start-up:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.05
done
if [[ -z "$addr" ]]; then
  echo "stripe-mock did not report its HTTP address:" >&2
  cat "$log" >&2
  exit 1
fi

export RB_TEST_STRIPE_MOCK_URL="http://$addr"
"$@"
