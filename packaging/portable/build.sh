#!/usr/bin/env bash
# build.sh [ARCH]: `make portable` (README "Portable binary"). ARCH x86_64 (default):
# build/portable/flscan, one fully static x86-64 flscan; i686: build/portable-i686/flscan, the same
# for 32-bit x86 (GCC -m32, the i386 libraries unpacked by i386-sysroot.sh). The packages come
# from .ci/install-deps.sh (the Makefile runs it first); the static TBB, the i386 tree and the
# localized libyal archives are made once per build tree and kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:-x86_64}
jobs=${JOBS:-$(nproc)}
case "$arch" in
  x86_64)
    out=build/portable preset=portable libdir="/usr/lib/$(gcc -print-multiarch)" tbb_args=""
    ;;
  i686)
    out=build/portable-i686 preset=portable-i686
    export FLSCAN_I386_SYSROOT="$PWD/$out/sysroot"
    packaging/portable/i386-sysroot.sh "$FLSCAN_I386_SYSROOT"
    libdir="$FLSCAN_I386_SYSROOT/usr/lib/i386-linux-gnu"
    tbb_args="-DCMAKE_TOOLCHAIN_FILE=$PWD/packaging/portable/i686-toolchain.cmake"
    ;;
  *)
    echo "portable: ARCH is x86_64 or i686, not $arch" >&2
    exit 2
    ;;
esac

JOBS=$jobs FLSCAN_TBB_CMAKE_ARGS="$tbb_args" packaging/portable/static-tbb.sh "$PWD/$out/onetbb"
packaging/portable/localize-libyal.sh "$PWD/$out/libyal" "$libdir"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
# Without its debug information and symbol table: nothing a rescue system would read.
strip -o "$out/flscan.tmp" "$out/scanner/flscan"
mv "$out/flscan.tmp" "$out/flscan"
echo "portable: $out/flscan ($(stat -c %s "$out/flscan") bytes)"
