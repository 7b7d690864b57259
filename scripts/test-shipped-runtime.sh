#!/usr/bin/env bash
# The suite on the runtime the Debian package ships (its private Node.js 24), after `npm run package`:
#   - every test outside test/lab and test/packaging (the pure core, wire, cluster, membership, config, agents,
#     daemon, os, cli...), and
#   - the lab tests that run the daemon end to end (the lab starts the daemon with the runtime running the test):
#     the tutorial acceptance and the interoperability with a real Heartbeat 3.0.6. (The migration test runs the
#     daemon from the .deb, hence on this runtime, already in the main pass.)
# The other lab tests (resource agents, ipfail, STONITH, mail...) exercise scripts and the kernel far more than the
# runtime and already run on the machine's Node 20 in the main pass: repeating them costs ~10 minutes of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
DEB=$(ls build/vigil_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || { echo "test-shipped-runtime: no build/vigil_*.deb (run npm run package first)" >&2; exit 1; }
RT=build/runtime
rm -rf "$RT"
mkdir -p "$RT"
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$RT" ./usr/lib/vigil/node/bin/node
NODE=$RT/usr/lib/vigil/node/bin/node
echo "shipped runtime: $("$NODE" --version) from $DEB" >&2
mapfile -t files < <(find dist/test -name '*.test.js' ! -path 'dist/test/lab/*' ! -path 'dist/test/packaging/*' | sort)
lab=(dist/test/lab/vigil-acceptance.test.js dist/test/lab/interop.test.js)
for f in "${lab[@]}"; do [ -f "$f" ] && files+=("$f"); done
# The simulation's seeds check decision logic that is the same on both runtimes; the main pass runs 2,000 (and the
# quorum seeds) on Node 20. Here a tenth of them shows the simulator runs on Node 24, at a tenth of the time.
export VIGIL_SIM_SEEDS=${VIGIL_SIM_SEEDS:-200} VIGIL_SIM_QUORUM_SEEDS=${VIGIL_SIM_QUORUM_SEEDS:-15}
exec "$NODE" --test --test-concurrency=1 "${files[@]}"
