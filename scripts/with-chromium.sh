#!/usr/bin/env bash
# Runs a command with a headless browser for the console's browser test, exported as
# RB_TEST_CHROMIUM. Installs Debian's chromium when missing (as root). An already exported
# RB_TEST_CHROMIUM is used as is.
set -euo pipefail

if [[ -n "${RB_TEST_CHROMIUM:-}" ]]; then
  exec "$@"
fi

if ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "chromium is missing; install it (apt-get install chromium) or run as root" >&2
    exit 1
  fi
  echo "installing chromium (Debian package)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

RB_TEST_CHROMIUM="$(command -v chromium)"
export RB_TEST_CHROMIUM
exec "$@"
