#!/usr/bin/env bash
# Installs what berth and its tests need on Debian 12, and only what is missing: idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  runc crun conmon catatonit          # OCI runtimes, the container monitor, the pod's infra init
  containernetworking-plugins         # CNI plugins (bridge, host-local, loopback, portmap)
  iptables iproute2 util-linux attr   # portmap's rules, ip/veth, unshare/nsenter/mount, setfattr
  socat                               # port-forward: one per connection inside a pod's netns
  e2fsprogs                           # chattr: the snapshot store's top-directory flag on ext4
  docker-registry apache2-utils       # the test registry and htpasswd for its basic auth
  busybox-static zstd openssl         # test images, zstd layers, the token server's certificate
  prometheus curl                     # the real scraper in the metrics tests
  lintian binutils                    # make deb / make lintian: the package checker, strip
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages, exactly as the lockfile pins them; re-run only when the lockfile changed.
stamp=node_modules/.berth-lock-stamp
if [[ ! -f "$stamp" ]] || ! cmp -s package-lock.json "$stamp"; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
