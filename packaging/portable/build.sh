#!/usr/bin/env bash
# build.sh: `make portable` (README "Portable binary"): build/portable/flscan, one fully static
# x86-64 flscan. The packages come from .ci/install-deps.sh (the Makefile runs it first); the
# static TBB and the localized libyal archives are made once per build tree and kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/portable
jobs=${JOBS:-$(nproc)}

JOBS=$jobs packaging/portable/static-tbb.sh "$PWD/$out/onetbb"
packaging/portable/localize-libyal.sh "$PWD/$out/libyal"
cmake --preset portable >/dev/null
cmake --build --preset portable -j "$jobs"
# Without its debug information and symbol table: nothing a rescue system would read.
strip -o "$out/flscan.tmp" "$out/scanner/flscan"
mv "$out/flscan.tmp" "$out/flscan"
echo "portable: $out/flscan ($(stat -c %s "$out/flscan") bytes)"
