#!/usr/bin/env bash
# npm run bench [-- run|report|soak|idle] [options]: the failover benchmark of issue 7 (see bench/BENCH.md).
# Builds the tree, then runs the TypeScript runner (dist/bench/bench.js). Needs root for the lab (not for `report`).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
# exec: the runner gets the terminal's Ctrl-C itself (finish the current trial; twice: abandon it).
exec node dist/bench/bench.js "$@"
