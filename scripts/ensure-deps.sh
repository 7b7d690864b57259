# Sourced by the README's commands: installs what a fresh Debian 12 machine with Node 20 lacks.
# Debian packages only as root (the lab needs root anyway); npm packages whenever node_modules is stale.

vigil_apt_packages=(iproute2 iputils-ping iputils-arping nftables procps psmisc util-linux heartbeat keepalived tcpdump python3-aiosmtpd s-nail resource-agents drbd-utils kmod e2fsprogs prometheus chromium mmdebstrap lintian binutils dpkg-dev man-db systemd nginx-light curl bind9 bind9-dnsutils knot unbound bird2 openssh-server openssh-client at rsyslog etcd-server etcd-client)

ensure_debian_packages() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: not root (or no apt-get): Debian packages not checked; lab tests will be skipped" >&2
    return 0
  fi
  local missing=()
  for p in "${vigil_apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}" >&2
  # Keep package maintainer scripts from starting heartbeat/keepalived in the root namespace:
  # the lab starts them itself, inside its own namespaces.
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
  fi
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") >&2
  local rc=$?
  [ $created = 1 ] && rm -f "$policy"
  return $rc
}

ensure_node_modules() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "installing npm packages (npm ci)" >&2
    npm ci --no-audit --no-fund >&2
  fi
}

# What both README commands do first: the machine's packages, the npm packages, a fresh build in dist/.
ensure_built() {
  ensure_debian_packages
  ensure_node_modules
  npx tsc -p tsconfig.json
}
