#!/usr/bin/env bash
# Checks the two ways another project uses gas: `meson install` + pkg-config, and a Meson subproject.
# usage: tools/check_consumers.sh   (from the source root; needs a C++ compiler, meson, pkg-config)
set -euo pipefail
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Install headers and gas.pc into a scratch prefix, then build with pkg-config only.
meson setup "$work/build" "$root" --prefix="$work/prefix" -Dtests=false -Dexamples=false -Dbenchmarks=false \
  -Dcuda=disabled >/dev/null
meson install -C "$work/build" >/dev/null
pc_dir=$(dirname "$(find "$work/prefix" -name gas.pc | head -n 1)")
export PKG_CONFIG_PATH="$pc_dir"
g++ -std=c++20 "$root/tests/consumer/consumer.cpp" -o "$work/consumer-pc" $(pkg-config --cflags --libs gas)
"$work/consumer-pc" >/dev/null
echo "pkg-config consumer: ok"

# 2. A project with gas under subprojects/.
mkdir -p "$work/sub/subprojects"
cp "$root/tests/consumer/consumer.cpp" "$root/tests/consumer/meson.build" "$work/sub/"
ln -s "$root" "$work/sub/subprojects/gas"
meson setup "$work/sub/build" "$work/sub" -Dgas:tests=false -Dgas:examples=false -Dgas:benchmarks=false \
  -Dgas:cuda=disabled >/dev/null
meson compile -C "$work/sub/build" >/dev/null
"$work/sub/build/consumer" >/dev/null
echo "subproject consumer: ok"
