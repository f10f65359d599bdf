#!/usr/bin/env bash
# Checks and unit-tests the Prometheus alerting rules (deploy/prometheus) with Prometheus's own
# promtool. Installs it from the Debian package `prometheus` when missing (the package ships
# promtool; nothing is started: the package's service is not run without an init system, and
# this script starts no server).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "promtool is missing; install it (apt-get install prometheus) or run as root" >&2
    exit 1
  fi
  echo "installing promtool (Debian package prometheus)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

promtool check rules deploy/prometheus/alerts.yaml
promtool test rules deploy/prometheus/alerts_test.yaml
