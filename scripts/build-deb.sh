#!/usr/bin/env bash
# Builds berth_<version>_<arch>.deb with dpkg-deb alone: the files of scripts/stage.sh (PREFIX
# /usr, unit in /lib/systemd/system), /etc/berth/berth.toml as a conffile, the maintainer
# scripts of deploy/debian/, Debian's copyright and changelog. Needs `make build` first.
# Usage: scripts/build-deb.sh [OUTDIR]   (env DEB_VERSION overrides package.json's version)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath "${1:-dist/deb}")
version=${DEB_VERSION:-$(node -p 'require("./package.json").version')}
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-"berth maintainers <maintainers@berth.dev>"}
name="berth_${version}_${arch}"

mkdir -p "$out"
root=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$root"' EXIT

scripts/stage.sh "$root" /usr /etc /lib/systemd/system

doc="$root/usr/share/doc/berth"
gzip -9n "$doc/README.md" "$root/usr/share/man/man8/berthd.8"
sed -i 's|/usr/share/doc/berth/README.md$|/usr/share/doc/berth/README.md.gz|' \
  "$root/lib/systemd/system/berthd.service"
install -m 0644 deploy/debian/copyright "$doc/copyright"
{
  echo "berth ($version) unstable; urgency=medium"
  echo
  echo "  * berth $version, built from commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo " -- $maintainer  $(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

install -d -m 0755 "$root/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "deploy/debian/$s" "$root/DEBIAN/$s"; done
echo /etc/berth/berth.toml >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print0 |
  sort -z | xargs -0 md5sum | sed 's|  \./|  |') >"$root/DEBIAN/md5sums"
cat >"$root/DEBIAN/control" <<CONTROL
Package: berth
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: nodejs (>= 20), runc | crun, conmon, catatonit, containernetworking-plugins, iptables, iproute2, util-linux (>= 2.23), socat, libc6 (>= 2.28), libstdc++6, libgcc-s1
Recommends: e2fsprogs
Section: admin
Priority: optional
Description: Kubernetes container runtime (CRI) on Node.js
 berth is a Container Runtime Interface runtime: kubelet and crictl talk to it
 over gRPC on a unix socket, as they talk to containerd or CRI-O. It runs
 containers with runc or crun, monitors them with conmon, networks pods with
 CNI plugins, and serves per-container metrics with cAdvisor's names.
 .
 Run "berthd check" to see whether this node is ready for it.
CONTROL
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zgzip --build "$root" "$out/$name.deb" >/dev/null
echo "$out/$name.deb"
