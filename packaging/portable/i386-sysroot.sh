#!/usr/bin/env bash
# i386-sysroot.sh DIR: the Debian 12 i386 libraries the i686 portable flscan links (static
# archives, headers that differ by architecture, the run-time libraries' SONAMEs), unpacked under
# DIR without installing them (`make portable ARCH=i686`, README "Portable binary").
#
# Not installed as i386 multiarch packages: libbfio-dev and libewf-dev are not Multi-Arch: same,
# so their i386 packages cannot be installed beside the amd64 ones the normal build needs (apt
# removes or refuses one). `apt-get download` fetches the same versions, `dpkg-deb -x` unpacks them.
set -euo pipefail

dir=${1:?usage: i386-sysroot.sh DIR}
packages=(
  libtsk-dev libtsk19 libewf-dev libvhdi-dev libvhdi1 libvmdk-dev libqcow-dev libqcow1 libbde-dev libbde1
  libevt-dev libbfio-dev libhivex-dev libssl-dev libboost-filesystem1.74-dev libboost1.74-dev
  libsqlite3-dev zlib1g-dev libcryptsetup-dev libcryptsetup12
)
stamp="$dir/.flscan-packages"
if [[ -f "$stamp" && "$(cat "$stamp")" == "${packages[*]}" ]]; then
  exit 0
fi
# apt-get download PACKAGE:i386 needs the i386 package lists.
if ! dpkg --print-foreign-architectures | grep -qx i386; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
  fi
  echo "i386-sysroot: adding the i386 architecture to dpkg (for apt-get download)" >&2
  $sudo dpkg --add-architecture i386
  $sudo apt-get update -qq || true  # another suite's index failing must not stop this one
fi
rm -rf "$dir"
mkdir -p "$dir/debs"
names=()
for p in "${packages[@]}"; do
  names+=("$p:i386")
done
(cd "$dir/debs" && apt-get download -qq "${names[@]}")
for deb in "$dir"/debs/*.deb; do
  dpkg-deb -x "$deb" "$dir"
done
rm -rf "$dir/debs"
echo "${packages[*]}" >"$stamp"
