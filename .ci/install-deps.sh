#!/usr/bin/env bash
# Installs every Debian 12 package flscan needs to build, test and run its demo.
# Idempotent: installs only what is missing, and runs `apt-get update` only when it must.
set -euo pipefail

packages=(
  cmake ninja-build g++ make pkg-config        # build
  libboost-filesystem-dev libssl-dev libtbb-dev  # base: walk, hashing, parallelism
  catch2                                       # unit tests (2.13)
  libexpected-dev                              # tl::expected for parse results
  nlohmann-json3-dev                           # JSON report
  libcli11-dev                                 # command line
  gcc-mingw-w64-i686 binutils-mingw-w64-i686   # corpus: benign Windows programs
  g++-mingw-w64-i686-win32 g++-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64  # flscan-live.exe (live/): C++ for 32- and 64-bit Windows, win32 thread model
  wine64 wine                                  # tests: flscan-live.exe runs under Wine against a real service (tests/live)
  python3                                      # corpus builder
  clamav                                       # differential test against clamscan
  libhivex-dev libevt-dev libbfio-dev          # host evidence: SYSTEM hive (hivex), SysEvent.Evt (libevt.h includes libbfio.h)
  libhivex-bin libwin-hivex-perl libevt-utils  # tests: hivexsh/hivexregedit, evtexport/evtinfo read the fixtures
  chromium                                     # tests: e2e_html_report loads the --html page in headless Chromium
  clang-14 libclang-rt-14-dev                  # fuzz/: libFuzzer targets (clang's -fsanitize=fuzzer runtime)
  clang-format-14                              # tests: format_check holds every source to .clang-format
  python3-jsonschema                           # tests: the SARIF report is validated against the SARIF 2.1.0 schema
  libtsk-dev                                   # disk images: The Sleuth Kit (raw, E01 via libewf, VHD via libvhdi, VMDK via libvmdk; MBR/GPT; NTFS/FAT)
  libqcow-dev libvhdi-dev                      # disk images: qcow2 + backing files (libqcow), VHDX + differencing VHD/VHDX (libvhdi); headers at build time, the libraries dlopen'ed at run time
  ntfs-3g ntfs-3g-dev mtools dosfstools fdisk  # corpus: NTFS (mkntfs + libntfs-3g) and FAT32 (mkfs.fat + mtools) volumes, partition tables (sfdisk), no root
  qemu-utils ewf-tools                         # corpus: the same volume as VHD/VMDK/VHDX/qcow2 (qemu-img convert, qemu-img create -b and qemu-io for snapshot chains) and E01 (ewfacquire)
  zlib1g-dev                                   # qcow2: compressed clusters inflated by flscan itself (libyal_chain.cpp)
  libbde-dev libcryptsetup-dev                 # encrypted volumes: BitLocker (libbde) and LUKS1/2 (libcryptsetup), both loaded at run time
  libewf-dev libvmdk-dev libafflib-dev         # make portable: libewf.a and libvmdk.a, which libtsk.a needs (E01, VMDK); afflib.h for the AFF stand-ins (scanner/image/afflib_absent.cpp)
  cryptsetup-bin                               # tests: e2e_image_keys makes LUKS1/LUKS2 volumes in plain files (offline reencrypt, no root)
  sleuthkit                                    # tests: fls/icat read the image fixtures independently of flscan
  lvm2                                         # tests: pvck checks the LVM2 fixtures' label, metadata area and text (no root needed)
  strace                                       # tests: e2e_io_per_file counts each file's opens and reads; e2e_read_order the order of the reads
  e2fsprogs                                    # test: e2e_read_order makes an ext4 file system in a file (mkfs.ext4) and reads extents (FIEMAP)
  bindfs                                       # test: e2e_interrupted_scan_fuse writes reports to a FUSE file system (no O_TMPFILE)
  libwine                                      # test: e2e_wine_kernel scans Wine's real ntoskrnl.exe (not an NT kernel: no finding)
  xz-utils mount                               # tests: e2e_image_bitlocker unpacks the shared .tar.xz; e2e_operand_device attaches loop devices (losetup)
  dpkg-dev                                     # make package: dpkg-shlibdeps computes the .deb's Depends on linked libraries
  man-db                                       # test: package_docs renders flscan(1) with man --warnings
  debootstrap                                  # test: package_clean_root installs the .deb in a fresh Debian 12 root
  grub-common grub-pc-bin grub-efi-amd64-bin xorriso  # make rescue: grub-mkrescue makes the hybrid ISO (BIOS i386-pc + UEFI x86_64-efi; mtools above)
  qemu-system-x86 ovmf                         # test: rescue_boot boots the rescue ISO in QEMU (TCG) under SeaBIOS and OVMF (UEFI)
  ovmf-ia32                                    # test: rescue_boot_i686 boots the i686 rescue ISO under 32-bit OVMF (UEFI)
)
if [[ -n "${FLSCAN_EXTRA_PACKAGES:-}" ]]; then
  read -r -a extra <<<"$FLSCAN_EXTRA_PACKAGES"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A mirror in mid-sync makes `apt-get update` fail on one index ("File has unexpected size"): try
# again, and if it still fails, install from the lists apt has (the install names what is missing).
for attempt in 1 2 3; do
  if $sudo apt-get update -qq; then
    break
  fi
  echo "install-deps: apt-get update failed (attempt $attempt of 3)" >&2
  if ((attempt < 3)); then
    sleep 20
  else
    echo "install-deps: going on with the package lists apt already has" >&2
  fi
done
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
