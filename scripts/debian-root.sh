#!/usr/bin/env bash
# Prints the path of a Debian 12 root for the package's install test, building it with mmdebstrap (from Debian's
# own packages) the first time. It is cached outside the repository, in /var/cache/vigil-ci/, under a hash of this
# script, so CI builds it once per machine. The root holds what a migrating admin's server has: Debian's heartbeat
# (whose files the package must take over) and Debian's nodejs 18 (which Vigil must not use), plus the
# package's dependencies, resource-agents, systemd (for systemd-analyze) and man-db, so the test needs no network.
set -euo pipefail
SUITE=bookworm
PACKAGES=systemd,man-db,iproute2,libstdc++6,libgcc-s1,init-system-helpers,logrotate,resource-agents,heartbeat,nodejs,iputils-ping,iputils-arping
CACHE=${VIGIL_CI_CACHE:-/var/cache/vigil-ci}
KEY=$(cat "$0" | sha256sum | cut -c1-16)
ROOT=$CACHE/debian12-$KEY
if [ ! -f "$ROOT/.complete" ]; then
  command -v mmdebstrap >/dev/null || { echo "debian-root: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }
  mkdir -p "$CACHE"
  rm -rf "$ROOT" "$ROOT.tmp"
  echo "debian-root: building $ROOT with mmdebstrap (once per machine)" >&2
  mmdebstrap --quiet --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT.tmp" >&2
  # A root that was never booted: no machine-id yet, as on a fresh image.
  mv "$ROOT.tmp" "$ROOT"
  touch "$ROOT/.complete"
  # Older roots of earlier versions of this script.
  find "$CACHE" -maxdepth 1 -name 'debian12-*' ! -name "debian12-$KEY" -exec rm -rf {} +
fi
echo "$ROOT"
