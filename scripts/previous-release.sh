#!/usr/bin/env bash
# Prints the directory of a build of the previous release (package.json vigil.previousRelease: a commit of main),
# compiled once from `git archive` of that commit with this checkout's node_modules, and cached in
# /var/cache/vigil-ci/. The rolling-upgrade lab test runs it beside the current .deb. That commit predates the
# packaging, so it runs the way a from-source install does: `node dist/src/cli/vigil.js`.
set -euo pipefail
cd "$(dirname "$0")/.."
REV=$(node -p 'require("./package.json").vigil.previousRelease')
CACHE=${VIGIL_CI_CACHE:-/var/cache/vigil-ci}
DIR=$CACHE/previous-$REV
if [ ! -f "$DIR/.complete" ]; then
  git cat-file -e "$REV^{commit}" 2>/dev/null || { echo "previous-release: commit $REV is not in this clone" >&2; exit 2; }
  rm -rf "$DIR"
  mkdir -p "$DIR"
  git archive "$REV" | tar -x -C "$DIR"
  ln -s "$PWD/node_modules" "$DIR/node_modules"
  (cd "$DIR" && npx tsc -p tsconfig.json) >&2
  touch "$DIR/.complete"
fi
# The old tree resolves its dependencies from this checkout's node_modules at run time (CI clones move around).
ln -sfn "$PWD/node_modules" "$DIR/node_modules"
echo "$DIR"
