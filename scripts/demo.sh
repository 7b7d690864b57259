#!/usr/bin/env bash
# The README's demo command (npm run demo).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
ensure_debian_packages
ensure_node_modules
npx tsc -p tsconfig.json
exec node dist/src/cli/vigil.js check --config-dir examples/tutorial --node linux1
