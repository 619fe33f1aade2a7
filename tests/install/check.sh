#!/usr/bin/env bash
# Installs caf-ray into a private prefix and builds tests/install (an outside
# meson project using dependency('cafray')) against it; expects "ok".
# usage: check.sh <source root> <work dir>
#
# Cost: the first run compiles the whole library a second time (with
# -Dtests=false -Dbench=false). The work dir is kept, so later runs are an
# incremental ninja plus a reinstall.
set -euo pipefail

src=$(cd "$1" && pwd)
work=$2
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix

if [[ ! -f $work/build/build.ninja ]]; then
  rm -rf "$work/build"
  meson setup "$work/build" "$src" --prefix="$prefix" --buildtype=release \
    -Dtests=false -Dbench=false
fi
ninja -C "$work/build" install >"$work/install.log" \
  || { tail -50 "$work/install.log"; echo "FAIL: install failed" >&2; exit 1; }

pc=$(find "$prefix" -name cafray.pc -print -quit)
if [[ -z $pc ]]; then
  echo "FAIL: no cafray.pc under $prefix; installed files:" >&2
  find "$prefix" -name '*.pc' >&2 || true
  exit 1
fi
echo "using $pc"

# The outside project is small: configure it from scratch every time so it
# sees the freshly installed .pc file.
rm -rf "$work/outside"
PKG_CONFIG_PATH=$(dirname "$pc") \
  meson setup "$work/outside" "$src/tests/install" >"$work/outside.log" \
  || { cat "$work/outside.log"; echo "FAIL: configure" >&2; exit 1; }
ninja -C "$work/outside" >>"$work/outside.log" \
  || { cat "$work/outside.log"; echo "FAIL: build" >&2; exit 1; }

out=$("$work/outside/install_check")
if [[ $out != ok ]]; then
  echo "FAIL: install_check printed '$out'" >&2
  exit 1
fi
echo "ok: an outside project built and ran against the installed caf-ray"
