#!/usr/bin/env bash
# The README's demo command (npm run demo).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
ensure_built
if [ "$(id -u)" != 0 ]; then
  echo "the demo builds a lab of network namespaces and needs root: sudo npm run demo" >&2
  exit 1
fi
# The Heartbeat tutorial cluster in network namespaces, narrated: linux1 powered off, linux2 takes over, linux1 back,
# failback. Runs Vigil; VIGIL_DEMO_IMPL=heartbeat (or keepalived) shows the same story with the real Heartbeat 3.
exec node dist/src/cli/vigil.js lab demo --impl "${VIGIL_DEMO_IMPL:-vigil}" "$@"
