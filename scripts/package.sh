#!/usr/bin/env bash
# `npm run package`: from a checkout, writes
#   build/vigil-ha-<version>.tgz          the npm package (npm pack; prepack builds dist/)
#   build/vigil_<version>_<arch>.deb      the Debian package, with its own Node.js 24 in /usr/lib/vigil/node
# VIGIL_DEB_COMPRESSION=gzip (or none) builds faster, for trying things out; releases use xz.
# Needs: node + npm (the build), dpkg-deb, binutils (strip), gzip. The Node.js runtime comes from the npm registry
# (package.json vigil.runtime, checked against its pinned integrity) and stays in npm's cache for the next build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build
ARCH=$(dpkg --print-architecture)
VERSION=$(node -p 'require("./package.json").version')
DEBVERSION=${VERSION//-/\~}
read -r RT_PKG RT_VERSION RT_INTEGRITY < <(node -e '
  const r = require("./package.json").vigil.runtime[process.argv[1]];
  if (!r) { console.error(`no Node.js runtime for architecture ${process.argv[1]} in package.json vigil.runtime`); process.exit(1); }
  console.log(r.package, r.version, r.integrity);' "$ARCH")
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

say() { printf '%s\n' "package: $*" >&2; }

mkdir -p "$OUT"
rm -rf "$OUT/deb-root" "$OUT"/vigil-ha-*.tgz "$OUT"/vigil_*.deb

# 1. The npm package. prepack compiles; `files` in package.json keeps it to what runs.
say "npm pack"
npm pack --pack-destination "$OUT" --loglevel warn >/dev/null
NPM_TGZ=$OUT/vigil-ha-$VERSION.tgz
[ -f "$NPM_TGZ" ] || { echo "npm pack did not write $NPM_TGZ" >&2; exit 1; }

# 2. The runtime: the official Node.js binary, from npm's cache when it is there.
say "runtime $RT_PKG@$RT_VERSION"
(cd "$TMP" && npm pack "$RT_PKG@$RT_VERSION" --prefer-offline --json --loglevel warn >runtime.json)
GOT=$(node -p 'require(process.argv[1])[0].integrity' "$TMP/runtime.json")
if [ "$GOT" != "$RT_INTEGRITY" ]; then
  echo "$RT_PKG@$RT_VERSION: integrity $GOT, expected $RT_INTEGRITY (package.json vigil.runtime)" >&2
  exit 1
fi
RT_TGZ=$TMP/$(node -p 'require(process.argv[1])[0].filename' "$TMP/runtime.json")

# 3. The tree the .deb installs.
STAGE=$OUT/deb-root
LIB=$STAGE/usr/lib/vigil
APP=$LIB/app
DOC=$STAGE/usr/share/doc/vigil
mkdir -p "$LIB/node/bin" "$STAGE/usr/sbin" "$STAGE/usr/bin" "$STAGE/usr/lib/heartbeat" "$STAGE/usr/share/heartbeat" \
  "$DOC/examples/tutorial" "$STAGE/usr/share/man/man1" "$STAGE/usr/share/man/man5" "$STAGE/usr/share/man/man8" \
  "$STAGE/usr/share/bash-completion/completions" "$STAGE/lib/systemd/system" "$STAGE/etc/init.d" \
  "$STAGE/etc/logrotate.d" "$STAGE/etc/ha.d/resource.d" "$STAGE/usr/share/lintian/overrides" "$STAGE/DEBIAN"

tar -xzf "$NPM_TGZ" -C "$TMP"
mv "$TMP/package" "$APP"
tar -xzf "$RT_TGZ" -C "$TMP" package/bin/node package/LICENSE
# As dh_strip does: the official binary carries its debug information (127 MB → 109 MB).
strip --remove-section=.comment --remove-section=.note --strip-unneeded -o "$LIB/node/bin/node" "$TMP/package/bin/node"
chmod 755 "$LIB/node/bin/node"

# Runtime dependencies exactly as `npm ci` installed them (package-lock.json): the production tree, nothing else.
say "dependencies"
npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | sed "s#^$ROOT/##" | sort >"$TMP/deps"
LICENSES=$TMP/licenses
: >"$LICENSES"
while read -r dep; do
  # A nested node_modules was copied with its parent.
  case $dep in */node_modules/*) parent=${dep%/node_modules/*}; grep -qx "$parent" "$TMP/deps" && continue ;; esac
  mkdir -p "$APP/$(dirname "$dep")"
  cp -a "$dep" "$APP/$dep"
done <"$TMP/deps"
while read -r dep; do
  name=$(node -p 'require(process.argv[1]).name + " " + require(process.argv[1]).version + " (" + require(process.argv[1]).license + ")"' "$ROOT/$dep/package.json")
  lic=$(find "$APP/$dep" -maxdepth 1 -type f \( -iname 'LICEN[CS]E*' -o -iname 'COPYING*' \) | head -1)
  {
    printf '\n%s\n' "------------------------------------------------------------------------------"
    printf 'usr/lib/vigil/app/%s: %s\n\n' "$dep" "$name"
    if grep -q 'Apache License' "${lic:-/dev/null}" && grep -q 'Version 2.0' "$lic"; then
      echo 'Licensed under the Apache License, Version 2.0.'
      echo 'On Debian systems, the complete text is in /usr/share/common-licenses/Apache-2.0.'
    elif [ -n "$lic" ]; then cat "$lic"; else echo "(see the license named above)"; fi
  } >>"$LICENSES"
done <"$TMP/deps"
# Documentation, type declarations and license files of the dependencies (the licenses are in the copyright file).
find "$APP/node_modules" -type f \( -iname '*.md' -o -name '*.d.ts' -o -name '*.d.cts' -o -name '*.d.mts' -o -name '*.map' \
  -o -iname 'LICEN[CS]E*' -o -iname 'COPYING*' -o -iname 'CHANGELOG*' -o -iname 'AUTHORS*' -o -name '.npmignore' \
  -o -name '.eslintrc*' -o -name '.editorconfig' -o -name '*.ts' \) -delete
find "$APP/node_modules" -type d \( -name test -o -name tests -o -name benchmarks -o -name .github -o -name docs \
  -o -name examples \) -prune -exec rm -rf {} +
find "$APP/node_modules" -type d \( -name .bin -o -name .husky \) -prune -exec rm -rf {} +
find "$APP/node_modules" -type f \( -name '*.html' -o -name '.git*' \) -delete
# koffi: its C++ sources and build scripts (the prebuilt glibc module is what loads), and pino's command line.
find "$APP/node_modules/koffi/src/koffi/src" -type f ! -name '*.js' ! -name '*.cjs' -delete
rm -f "$APP/node_modules/koffi/src/koffi/src/trampolines.cjs"
rm -rf "$APP/node_modules/koffi/src/koffi/CMakeLists.txt" \
  "$APP/node_modules/koffi/vendor" "$APP/node_modules/koffi/lib" "$APP/node_modules/koffi/cnoke.cjs" "$APP/node_modules/koffi/doc" \
  "$APP/node_modules/@koromix/koffi-linux-x64/musl_x64" "$APP/node_modules/pino/bin.js"
find "$APP/node_modules" -type d -empty -delete
# What the npm package carries for npm users only.
rm -rf "$APP/README.md" "$APP/man" "$APP/contrib" "$APP/examples"

# The commands run on the private runtime; Heartbeat's paths lead to the same programs. Small sh launchers rather
# than shebangs naming the private node: Debian's tools expect a script's interpreter to be a packaged one.
rm -rf "$APP/bin"
launcher() {
  printf '#!/bin/sh\n# Vigil on its own Node.js runtime (/usr/lib/vigil/node).\nexec /usr/lib/vigil/node/bin/node /usr/lib/vigil/app/dist/src/cli/%s.js "$@"\n' "$2" >"$1"
  chmod 755 "$1"
}
launcher "$STAGE/usr/sbin/vigil" vigil
for b in cl_status hb_standby hb_takeover; do launcher "$STAGE/usr/bin/$b" "$b"; done
launcher "$STAGE/usr/lib/heartbeat/heartbeat" heartbeat
for b in hb_standby hb_takeover; do ln -s "../../bin/$b" "$STAGE/usr/share/heartbeat/$b"; done

install -m 644 contrib/vigil.service "$STAGE/lib/systemd/system/vigil.service"
install -m 755 packaging/deb/vigil.init "$STAGE/etc/init.d/vigil"
install -m 644 packaging/deb/vigil.logrotate "$STAGE/etc/logrotate.d/vigil"
install -m 644 packaging/ha.cf.sample "$STAGE/etc/ha.d/ha.cf.sample"
install -m 644 contrib/bash-completion/vigil "$STAGE/usr/share/bash-completion/completions/vigil"
for b in cl_status hb_standby hb_takeover; do ln -s vigil "$STAGE/usr/share/bash-completion/completions/$b"; done
for page in man/*.[0-9]; do
  sec=${page##*.}
  gzip -9n <"$page" >"$STAGE/usr/share/man/man$sec/$(basename "$page").gz"
done
install -m 644 packaging/deb/lintian-overrides "$STAGE/usr/share/lintian/overrides/vigil"

gzip -9n <README.md >"$DOC/README.md.gz"
install -m 644 packaging/ha.cf.sample "$DOC/examples/ha.cf"
install -m 644 examples/tutorial/ha.cf examples/tutorial/haresources "$DOC/examples/tutorial/"
install -m 644 examples/tutorial/authkeys "$DOC/examples/tutorial/authkeys"
{
  sed -e "s/@NODEPKG@/$RT_PKG/" -e "s/@NODEVERSION@/$RT_VERSION/" packaging/deb/copyright.head
  printf '\n%s\n' "------------------------------------------------------------------------------"
  printf 'usr/lib/vigil/node: Node.js %s\n\n' "$RT_VERSION"
  cat "$TMP/package/LICENSE"
  cat "$LICENSES"
} >"$DOC/copyright"
DATE=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
{
  printf 'vigil (%s) unstable; urgency=medium\n\n' "$DEBVERSION"
  printf '  * Vigil %s, built from %s.\n' "$VERSION" "$(git describe --always --dirty 2>/dev/null || echo 'a source tree')"
  printf '  * Runs on its own Node.js %s (/usr/lib/vigil/node).\n\n' "$RT_VERSION"
  printf ' -- Vigil maintainers <vigil@example.org>  %s\n' "$DATE"
} | gzip -9n >"$DOC/changelog.gz"

# Permissions as dpkg and lintian expect them; every file dated at the commit, so two builds compare equal.
find "$STAGE" -type d -exec chmod 755 {} +
find "$STAGE" -type f ! -perm -u+x -exec chmod 644 {} +
find "$STAGE" -type f -perm -u+x -exec chmod 755 {} +

for s in postinst prerm postrm; do install -m 755 "packaging/deb/$s" "$STAGE/DEBIAN/$s"; done
printf '%s\n' /etc/init.d/vigil /etc/logrotate.d/vigil /etc/ha.d/ha.cf.sample >"$STAGE/DEBIAN/conffiles"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -print | sed 's#^\./##' | LC_ALL=C sort | xargs -d '\n' md5sum) \
  >"$STAGE/DEBIAN/md5sums"
SIZE=$(du -sk --apparent-size --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@DEBVERSION@/$DEBVERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$SIZE/" -e "s/@NODEVERSION@/$RT_VERSION/" \
  packaging/deb/control.in >"$STAGE/DEBIAN/control"
find "$STAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

DEB=$OUT/vigil_${DEBVERSION}_$ARCH.deb
say "dpkg-deb $DEB"
dpkg-deb --root-owner-group "-Z${VIGIL_DEB_COMPRESSION:-xz}" --build "$STAGE" "$DEB" >/dev/null
rm -rf "$STAGE"
ls -l "$NPM_TGZ" "$DEB" | awk '{ printf "%s %d bytes\n", $NF, $5 }'
