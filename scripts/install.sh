#!/usr/bin/env bash
# `make install` / `make uninstall` for hosts without dpkg: the same files as the .deb (laid out
# by scripts/stage.sh), copied under DESTDIR. Install records every file it wrote and every
# directory it made in PREFIX/lib/berth/.install-manifest; uninstall removes exactly those (and
# only directories that are empty then), so nothing else is touched. An existing
# SYSCONFDIR/berth/berth.toml is kept (and left in place by uninstall).
# Usage: scripts/install.sh install|uninstall DESTDIR PREFIX SYSCONFDIR UNITDIR
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:?install|uninstall}
destdir=${2-}
prefix=${3:?PREFIX}
sysconfdir=${4:?SYSCONFDIR}
unitdir=${5:?UNITDIR}
manifest="$destdir$prefix/lib/berth/.install-manifest"
conffile="$sysconfdir/berth/berth.toml"

stage=""
cleanup() { if [[ -n "$stage" ]]; then rm -rf "$stage"; fi; }
trap cleanup EXIT

install_files() {
  stage=$(mktemp -d)
  scripts/stage.sh "$stage" "$prefix" "$sysconfdir" "$unitdir"
  if [[ -e "$destdir$conffile" ]]; then
    echo "install: keeping the existing $destdir$conffile"
    rm -f "$stage$conffile"
  fi
  local root="${destdir:-/}" d
  mkdir -p "$root"
  # Directories made by an earlier install stay berth's to remove.
  local -a made=()
  if [[ -f "$manifest" ]]; then mapfile -t made < <(sed -n 's/^d //p' "$manifest"); fi
  # Parents sort before their children, so one mkdir makes them all in order.
  local -a new=()
  while IFS= read -r d; do
    if [[ ! -d "$destdir$d" ]]; then new+=("$d"); fi
  done < <(cd "$stage" && find . -mindepth 1 -type d | sed 's|^\.||' | sort)
  if ((${#new[@]} > 0)); then
    mkdir -m 0755 -- "${new[@]/#/$destdir}"
    made+=("${new[@]}")
  fi
  # Files and symlinks only: tar then never touches a directory that was already there.
  (cd "$stage" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$stage.files"
  tar -C "$stage" --no-recursion -T "$stage.files" -cf - | tar -C "$root" -xpf -
  {
    sed 's|^|f /|' "$stage.files"
    if ((${#made[@]} > 0)); then printf 'd %s\n' "${made[@]}"; fi
  } | sort -u >"$manifest"
  rm -f "$stage.files"
  echo "install: berth in $destdir$prefix (berthd: $destdir$prefix/bin/berthd," \
    "unit: $destdir$unitdir/berthd.service, config: $destdir$conffile)"
}

uninstall_files() {
  if [[ ! -f "$manifest" ]]; then
    echo "uninstall: no $manifest: berth is not installed there (nothing removed)"
    return 0
  fi
  local files dirs f d
  mapfile -t files < <(sed -n 's/^f //p' "$manifest")
  # Deepest first, so a parent is empty by the time its turn comes.
  mapfile -t dirs < <(sed -n 's/^d //p' "$manifest" | sort -r)
  if ((${#files[@]} > 0)); then printf '%s\0' "${files[@]/#/$destdir}" | xargs -0 rm -f; fi
  rm -f "$manifest"
  # A directory that holds anything else (an operator's file) stays.
  if ((${#dirs[@]} > 0)); then
    rmdir --ignore-fail-on-non-empty -- "${dirs[@]/#/$destdir}" 2>/dev/null || true
  fi
  echo "uninstall: removed ${#files[@]} files from $destdir$prefix"
}

case "$action" in
  install) install_files ;;
  uninstall) uninstall_files ;;
  *)
    echo "usage: $0 install|uninstall DESTDIR PREFIX SYSCONFDIR UNITDIR" >&2
    exit 2
    ;;
esac
