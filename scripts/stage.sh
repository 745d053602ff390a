#!/usr/bin/env bash
# Lays out berth's installed files under DESTDIR, for `make install` and `make deb` alike:
#   PREFIX/lib/berth/      compiled JS (dist/src), the CRI proto, package.json, production
#                          node_modules, bin/berthd
#   PREFIX/bin/berthd      -> ../lib/berth/bin/berthd
#   UNITDIR/berthd.service systemd unit (ExecStart = PREFIX/bin/berthd)
#   SYSCONFDIR/berth/berth.toml   the default configuration, every key explained
#   PREFIX/share/doc/berth/       README, crictl.yaml and kubelet-config.yaml examples
#   PREFIX/share/man/man8/berthd.8
# Needs `make build` first. Usage: scripts/stage.sh DESTDIR PREFIX SYSCONFDIR UNITDIR
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:?DESTDIR}
prefix=${2:?PREFIX}
sysconfdir=${3:?SYSCONFDIR}
unitdir=${4:?UNITDIR}

if [[ ! -f dist/src/main.js ]]; then
  echo "stage: dist/src/main.js missing; run make build" >&2
  exit 1
fi

lib="$dest$prefix/lib/berth"
install -d -m 0755 "$lib/bin" "$lib/proto/runtime/v1" "$dest$prefix/bin" \
  "$dest$unitdir" "$dest$sysconfdir/berth" "$dest$prefix/share/doc/berth"

# Compiled JS only (no source maps, tests or benchmarks): what `node dist/src/main.js` loads.
install -d -m 0755 "$lib/dist"
(cd dist && find src -name '*.js' -print0 | tar --null -T - -cf -) | tar -C "$lib/dist" -xf -
install -m 0644 package.json "$lib/package.json"
install -m 0644 proto/runtime/v1/api.proto "$lib/proto/runtime/v1/api.proto"
install -m 0755 bin/berthd "$lib/bin/berthd"
ln -sfn ../lib/berth/bin/berthd "$dest$prefix/bin/berthd"

# Production dependencies: npm lists them (dependencies of dependencies included, dev ones
# not); they are copied from node_modules as `npm ci` installed them, native addons included.
mapfile -t prod < <(npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$PWD/||" |
  grep '^node_modules/' | sort -u)
if ((${#prod[@]} == 0)); then
  echo "stage: npm ls found no production dependencies (run make deps)" >&2
  exit 1
fi
tar -cf - --exclude='node_modules/.bin' "${prod[@]}" | tar -C "$lib" -xf -
# What the packages carry that a node needs not: native prebuilds for other platforms (never
# loaded here), npm/git housekeeping files, an HTML docs page that loads scripts from CDNs.
nm="$lib/node_modules"
plat="linux-$(node -p process.arch)"
find "$nm" -path '*/prebuilds/*' -mindepth 1 -maxdepth 4 -type d -name '*-*' ! -name "$plat" \
  -prune -exec rm -rf {} +
# koffi (berthd's mount(2) calls): its musl build (the package's node links glibc) and the
# build tool npm would run where no prebuilt binary fits (not run from a package).
rm -rf "$nm"/@koromix/koffi-*/musl_* "$nm/koffi/cnoke.cjs"
find "$nm" -type f \( -name .npmignore -o -name .gitattributes -o -name .gitignore \
  -o -name .travis.yml -o -name '*.html' \) -delete
# Native addons are shared objects: no debug symbols, not executable. Of the rest, only files
# that start with "#!" (the packages' own CLIs) keep an execute bit; berth runs none of them.
find "$nm" -type f \( -name '*.node' -o -name '*.bare' \) -exec strip --strip-unneeded {} +
find "$nm" -type f -exec chmod 0644 {} +
grep -rlZ --include='*' -m1 '^#!' "$nm" | while IFS= read -r -d '' f; do
  if [[ $(head -c2 "$f") == '#!' ]]; then chmod 0755 "$f"; fi
done
# Files as a package ships them: writable by the owner only, readable by all.
chmod -R u+rwX,go+rX,go-w "$lib"

sed "s|^ExecStart=/usr/bin/berthd |ExecStart=$prefix/bin/berthd |" deploy/berthd.service \
  >"$dest$unitdir/berthd.service"
chmod 0644 "$dest$unitdir/berthd.service"
install -m 0644 deploy/berth.toml "$dest$sysconfdir/berth/berth.toml"
install -d -m 0755 "$dest$prefix/share/man/man8"
install -m 0644 deploy/berthd.8 "$dest$prefix/share/man/man8/berthd.8"
for f in deploy/crictl.yaml deploy/kubelet-config.yaml README.md; do
  install -m 0644 "$f" "$dest$prefix/share/doc/berth/$(basename "$f")"
done
