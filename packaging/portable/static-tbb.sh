#!/usr/bin/env bash
# static-tbb.sh PREFIX: a static oneTBB (libtbb.a and its CMake package) under PREFIX, for the
# portable flscan (README "Portable binary"). Debian 12's libtbb-dev ships only the shared
# library, so the Debian source of the same version (`apt-get source onetbb`, Debian's patches
# applied) is built as a static library. Cached: a PREFIX that already holds the library built
# from this version is kept as it is, so only the first `make portable` of a build tree pays the
# build (about a minute on two cores).
set -euo pipefail

prefix=${1:?usage: static-tbb.sh PREFIX}
jobs=${JOBS:-$(nproc)}
# The version of the installed libtbb-dev: its headers are the ones flscan was written against.
version=$(dpkg-query -W -f='${source:Version}' libtbb-dev)
stamp="$prefix/.flscan-onetbb-$version"
if [[ -f "$stamp" && -f "$prefix/lib/libtbb.a" ]]; then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
# apt-get source needs the source indices: when no deb-src entry is configured, one is added
# beside the binary entries of the stock Debian 12 sources file (same mirrors, suites, keys).
if ! apt-cache showsrc onetbb 2>/dev/null | grep -q '^Package: onetbb'; then
  list=/etc/apt/sources.list.d/flscan-deb-src.sources
  if [[ ! -f "$list" ]]; then
    if [[ ! -f /etc/apt/sources.list.d/debian.sources ]]; then
      echo "static-tbb: no deb-src entry and no /etc/apt/sources.list.d/debian.sources to derive one from;" \
        "add a deb-src line for Debian 12 and run again" >&2
      exit 1
    fi
    echo "static-tbb: adding $list (deb-src beside debian.sources) for apt-get source" >&2
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | $sudo tee "$list" >/dev/null
  fi
  # An index of another suite or architecture failing to download must not stop this one.
  $sudo apt-get update -qq || true
  if ! apt-cache showsrc onetbb 2>/dev/null | grep -q '^Package: onetbb'; then
    echo "static-tbb: apt-get update found no source package onetbb" >&2
    exit 1
  fi
fi

work="$prefix.src"
rm -rf "$work" "$prefix"
mkdir -p "$work"
(cd "$work" && apt-get source -qq "onetbb=$version" >/dev/null)
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'onetbb-*' | head -n 1)
if [[ -z "$src" ]]; then
  echo "static-tbb: apt-get source onetbb=$version unpacked nothing in $work" >&2
  exit 1
fi
# Only libtbb itself: flscan uses neither tbbmalloc nor the tests. TBB_STRICT off: the upstream
# build treats its own warnings as errors with newer compilers.
# FLSCAN_TBB_CMAKE_ARGS: more arguments, e.g. the i686 toolchain file (build.sh).
read -r -a more <<<"${FLSCAN_TBB_CMAKE_ARGS:-}"
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF "${more[@]}" \
  -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBBMALLOC_BUILD=OFF -DTBB_STRICT=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
cmake --build "$work/build" -j "$jobs" >/dev/null
cmake --install "$work/build" >/dev/null
rm -rf "$work"
touch "$stamp"
