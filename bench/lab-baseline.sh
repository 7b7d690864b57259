#!/usr/bin/env bash
# Baseline of the real alternatives in the lab: every scenario, N trials each, one JSON line per run.
# Usage (root): bash bench/lab-baseline.sh <out.jsonl> <keepalive_ms> <deadtime_ms> <trials> [impl...]
# Then: node dist/bench/lab-summary.js <out.jsonl>... > table.md
# VIGIL=<path to vigil.js> runs a snapshot of the build (so rebuilding the tree does not change a running batch).
set -uo pipefail
cd "$(dirname "$0")/.."
vigil=${VIGIL:-dist/src/cli/vigil.js}
out=$1 keepalive=$2 deadtime=$3 trials=$4
shift 4
impls=("$@")
[ ${#impls[@]} -eq 0 ] && impls=(heartbeat keepalived)
scenarios=(kill freeze poweroff partition stop failback standby)
for trial in $(seq 1 "$trials"); do
  for impl in "${impls[@]}"; do
    for s in "${scenarios[@]}"; do
      echo "# trial $trial $impl $s (keepalive $keepalive, deadtime $deadtime)" >&2
      node "$vigil" lab run "$s" --impl "$impl" --keepalive "$keepalive" --deadtime "$deadtime" \
        --prefix "${PREFIX:-vbase}" --json >>"$out" || echo "# ... exit $?" >&2
    done
  done
done
