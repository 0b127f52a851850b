#!/usr/bin/env bash
# Installs Debian's `prometheus` package (it ships `promtool`) for the monitoring tests, without
# leaving its system service running. Idempotent: does nothing when both binaries are on PATH.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  echo "prometheus and promtool already installed: $(command -v prometheus)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

# Why: the package's postinst would start the daemon on :9090; policy-rc.d exit 101 forbids
# invoke-rc.d from starting any service, and we only add it when no policy is already there.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 0755 "$policy"
  added_policy=1
fi
cleanup() {
  if [ "$added_policy" -eq 1 ]; then $SUDO rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends prometheus; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends prometheus
fi

# Without systemd a postinst may still launch the daemon directly: stop only that daemon, by the
# PID of a process running the packaged binary as the packaged user.
if command -v pgrep >/dev/null 2>&1; then
  for pid in $(pgrep -u prometheus -x prometheus 2>/dev/null || true); do
    $SUDO kill "$pid" 2>/dev/null || true
  done
fi

command -v prometheus >/dev/null
command -v promtool >/dev/null
prometheus --version 2>&1 | head -n1
