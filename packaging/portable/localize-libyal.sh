#!/usr/bin/env bash
# localize-libyal.sh OUTDIR [LIBDIR]: copies of the libyal static archives the portable flscan
# links (README "Portable binary"), each with its private helper libraries renamed.
#
# Every libyal archive carries its own copy of the libyal helper libraries, each of the version
# it was released with: libqcow.a, libvhdi.a and libewf.a each define all 116 libbfio_ functions,
# and all of them define libcerror_, libcdata_, libuna_, libfdata_, ... The shared libraries keep
# these copies apart (flscan loads them RTLD_LOCAL: scanner/image/dynamic_library.h); linked
# statically, the linker would take each helper function from whichever archive it met first and
# bind every other library's calls to that copy, of another version and struct layout, without a
# word. So in each copy made here, every global symbol that is not the library's own API (prefix
# NAME_) is renamed to flscan_NAME__SYMBOL, definitions and the archive's own references alike:
# each library then calls its own helpers, as in its shared build. References to symbols the
# archive does not define (libbde's, libvmdk's and libevt's libbfio_ calls, the C library) are left
# alone and bind to the one libbfio.a, whose own helpers are renamed the same way.
set -euo pipefail

out=${1:?usage: localize-libyal.sh OUTDIR [LIBDIR]}
libdir=${2:-/usr/lib/$(gcc -print-multiarch)}
objcopy=${OBJCOPY:-objcopy}
nm=${NM:-nm}
mkdir -p "$out"
for name in libqcow libvhdi libvmdk libewf libbde libevt libbfio; do
  archive="$libdir/$name.a"
  if [[ ! -f "$archive" ]]; then
    echo "localize-libyal: $archive is missing (its -dev package: .ci/install-deps.sh)" >&2
    exit 1
  fi
  if [[ "$out/$name.a" -nt "$archive" && "$out/$name.a" -nt "$0" ]]; then
    continue
  fi
  # Global definitions only (nm -g --defined-only; its "member:" and blank lines have no type).
  "$nm" -g --defined-only "$archive" 2>/dev/null |
    awk -v own="${name}_" -v tag="flscan_${name#lib}__" \
      'NF == 3 && $2 ~ /^[BCDGRSTVW]$/ && index($3, own) != 1 { print $3, tag $3 }' |
    sort -u >"$out/$name.map"
  "$objcopy" --redefine-syms="$out/$name.map" "$archive" "$out/$name.a.tmp"
  mv "$out/$name.a.tmp" "$out/$name.a"
done
