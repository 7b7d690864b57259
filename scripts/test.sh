#!/usr/bin/env bash
# The README's test command (npm test) and CI's (.ci/run): install what is missing, build, lint, package, run every
# test on this machine's Node.js, then the runtime-sensitive ones on the Node.js 24 the .deb ships.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
ensure_built
npx eslint --max-warnings 0 .
npx prettier --check --log-level warn .
# The npm package and the .deb (build/), so that the install tests below have something to install.
bash scripts/package.sh
# One runner for everything; lab tests (test/lab) share the machine's two cores and its namespaces,
# so files run one at a time.
node --test --test-concurrency=1 dist/test/
# Then the runtime-sensitive part again on the Node.js 24 the .deb ships (the script says which tests and why).
bash scripts/test-shipped-runtime.sh
