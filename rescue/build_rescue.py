#!/usr/bin/env python3
"""Builds the flscan rescue image: a hybrid ISO (CD and USB stick, BIOS and UEFI) that boots a
Debian kernel and a small initramfs holding busybox, the storage drivers and flscan, whose /init
(rescue/init) scans every disk read-only (README "Rescue media", issue 16).

    python3 rescue/build_rescue.py --flscan FLSCAN --output ISO [--arch amd64|i686]
                                   [--cmake-cache CMakeCache.txt] [--cache DIR]

Steps, each in a function below:
  1. The Debian kernel (linux-image-amd64 or linux-image-686: the package that metapackage depends
     on) and busybox-static, fetched with `apt-get download` (apt checks them against the signed
     archive) into the cache directory, kept there for the next build: DIR, or
     $FLSCAN_ROOT_CACHE/rescue, or ~/.cache/flscan/rescue.
  2. The kernel modules rescue/modules.txt lists, with every module they depend on (the
     `depends=` of each module's .modinfo section), in an order that loads dependencies first
     (lib/modules/VERSION/load-order, read by /init).
  3. flscan. A static binary is copied alone (the portable build). A dynamic one (the normal
     release build) is copied with the shared libraries `ldd` lists and those flscan loads at run
     time with dlopen (libtsk, libqcow, libvhdi, libbde, libcryptsetup: their SONAMEs are the
     FLSCAN_*_SONAME entries of the build's CMakeCache.txt) with their own dependencies, at the
     paths they have here; that needs the image's architecture to be this machine's.
  4. The initramfs: a cpio (newc) archive written here (every entry owned by root, time 0, so the
     same inputs give the same bytes), xz-compressed (CRC32, as the kernel's unpacker needs).
  5. The ISO: grub-mkrescue (GRUB for i386-pc and x86_64-efi or i386-efi, xorriso, mtools) with
     rescue/grub.cfg; ISO9660 volume id FLSCAN_RESCUE, by which /init knows the stick it booted
     from and does not scan it.
"""

from __future__ import annotations

import argparse
import fnmatch
import lzma
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
VOLUME_ID = "FLSCAN_RESCUE"  # rescue/init's MEDIUM_VOLID


@dataclass(frozen=True)
class Arch:
    deb_arch: str          # Debian architecture of the packages
    kernel_meta: str       # the metapackage naming the current kernel of the flavour
    elf_machine: str       # readelf -h "Machine:" of binaries that run on it
    grub_platforms: tuple  # GRUB platforms the ISO boots with (grub-mkrescue takes every one installed)
    grub_packages: tuple


ARCHES = {
    "amd64": Arch("amd64", "linux-image-amd64", "Advanced Micro Devices X86-64",
                  ("i386-pc", "x86_64-efi"), ("grub-pc-bin", "grub-efi-amd64-bin")),
    # 32-bit PCs (Pentium Pro and later): Debian's 686 kernel; GRUB for BIOS and 32-bit UEFI.
    "i686": Arch("i386", "linux-image-686", "Intel 80386",
                 ("i386-pc", "i386-efi"), ("grub-pc-bin", "grub-efi-ia32-bin")),
}
TOOLS = {"apt-get": "apt", "dpkg-deb": "dpkg", "readelf": "binutils", "strip": "binutils", "grub-mkrescue": "grub-common",
         "xorriso": "xorriso", "mformat": "mtools"}


def log(text: str) -> None:
    print(f"build_rescue: {text}", flush=True)


def fail(text: str) -> None:
    sys.exit(f"build_rescue: {text}")


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        fail(f"{' '.join(map(str, command))} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return result


# ---------------------------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------------------------
def candidate(package: str) -> str:
    """The version apt would install of `package` (from the package lists: no network)."""
    out = run(["apt-cache", "policy", package]).stdout
    match = re.search(r"^\s*Candidate:\s*(\S+)", out, re.M)
    if not match or match.group(1) == "(none)":
        fail(f"apt knows no {package} (run apt-get update; a foreign architecture needs "
             f"dpkg --add-architecture first)")
    return match.group(1)


def kernel_package(arch: Arch) -> str:
    """The linux-image-VERSION-FLAVOUR package the flavour's metapackage depends on."""
    out = run(["apt-cache", "depends", "--no-recommends", "--no-suggests", f"{arch.kernel_meta}:{arch.deb_arch}"]).stdout
    match = re.search(r"^\s*Depends:\s*(linux-image-\S+?)(:\S+)?$", out, re.M)
    if not match:
        fail(f"{arch.kernel_meta} depends on no linux-image package:\n{out}")
    return match.group(1)


def fetch(package: str, arch: Arch, cache: Path) -> Path:
    """The package's .deb in the cache, downloaded with apt-get when the candidate is not there."""
    version = candidate(f"{package}:{arch.deb_arch}")
    name = f"{package}_{version.replace(':', '%3a')}_{arch.deb_arch}.deb"
    deb = cache / name
    if deb.exists():
        log(f"cached {deb}")
        return deb
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        run(["apt-get", "download", f"{package}:{arch.deb_arch}={version}"], cwd=tmp)
        got = list(Path(tmp).glob("*.deb"))
        if len(got) != 1:
            fail(f"apt-get download {package} gave {got}")
        os.replace(got[0], deb)
    log(f"downloaded {deb}")
    return deb


def unpacked(deb: Path) -> Path:
    """The package's files, unpacked once beside its .deb in the cache (the kernel's modules are
    some 350 MiB: unpacking them takes longer than the rest of the build)."""
    into = deb.with_suffix("")
    if not (into / ".complete").exists():
        shutil.rmtree(into, ignore_errors=True)
        into.mkdir()
        run(["dpkg-deb", "-x", deb, into])
        (into / ".complete").touch()
    return into


# ---------------------------------------------------------------------------------------------
# 2. Kernel modules
# ---------------------------------------------------------------------------------------------
def modinfo(path: Path) -> dict:
    """The key=value strings of a module's .modinfo ELF section (ELF32 or ELF64, little-endian)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[5] != 1:
        fail(f"{path}: not a little-endian ELF module")
    if data[4] == 2:
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        def section(i):  # name, offset, size
            name, _, _, _, offset, size = struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
            return name, offset, size
    else:
        shoff, = struct.unpack_from("<I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
        def section(i):
            name, _, _, _, offset, size = struct.unpack_from("<IIIIII", data, shoff + i * shentsize)
            return name, offset, size
    _, names_at, _ = section(shstrndx)
    info: dict = {}
    for i in range(shnum):
        name_at, offset, size = section(i)
        end = data.index(b"\0", names_at + name_at)
        if data[names_at + name_at:end] == b".modinfo":
            for item in data[offset:offset + size].split(b"\0"):
                key, sep, value = item.decode("utf-8", "replace").partition("=")
                if sep:
                    info.setdefault(key, []).append(value)
    return info


def module_name(path: Path) -> str:
    return path.name.removesuffix(".ko").replace("-", "_")


def select_modules(modules_dir: Path, wanted: Path) -> list:
    """The modules `wanted` lists plus their dependencies, dependencies first (paths relative to
    modules_dir)."""
    kernel = modules_dir / "kernel"
    every = {module_name(p): p for p in kernel.rglob("*.ko")}
    roots = []
    for line in wanted.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # "?" marks a module some kernel flavours lack (the 686 kernel has no Xen or Hyper-V).
        optional = line.startswith("?")
        line = line.removeprefix("?").strip()
        matches = sorted(kernel.glob(line))
        if not matches and optional:
            log(f"{wanted.name}: {modules_dir.name} has no {line} (optional)")
        elif not matches:
            fail(f"{wanted.name}: {line} matches no module of {modules_dir.name}")
        roots += matches
    order, state = [], {}

    def visit(path: Path, chain: tuple) -> None:
        name = module_name(path)
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            fail(f"module dependency loop: {' -> '.join(chain + (name,))}")
        state[name] = "visiting"
        info = modinfo(path)
        needs = [d.replace("-", "_") for v in info.get("depends", []) for d in v.split(",") if d]
        # softdep "pre:" modules are loaded first when present (e.g. crc32c for libcrc32c users).
        for soft in info.get("softdep", []):
            pre = re.search(r"pre:((?:\s*[\w-]+)+)", soft)
            if pre:
                needs += [n.replace("-", "_") for n in pre.group(1).split() if n.replace("-", "_") in every]
        for dep in needs:
            if dep not in every:
                fail(f"{path.name} depends on {dep}, which {modules_dir.name} does not have")
            visit(every[dep], chain + (name,))
        state[name] = "done"
        order.append(path.relative_to(modules_dir))

    for root in roots:
        visit(root, ())
    return order


# ---------------------------------------------------------------------------------------------
# 3. flscan and its libraries
# ---------------------------------------------------------------------------------------------
def elf_facts(binary: Path) -> tuple:
    """(machine, interpreter or None) of an ELF executable."""
    header = run(["readelf", "-h", binary]).stdout
    machine = re.search(r"Machine:\s*(.+)", header).group(1).strip()
    program = run(["readelf", "-l", binary]).stdout
    interp = re.search(r"\[Requesting program interpreter: (\S+)\]", program)
    return machine, (interp.group(1) if interp else None)


def cmake_sonames(cache: Path) -> list:
    """(SONAME, directory) of each library flscan dlopens, from the build's CMakeCache.txt
    (scanner/CMakeLists.txt flscan_runtime_library: FLSCAN_X_SONAME and FLSCAN_X_SONAME_PATH)."""
    values = {}
    for line in cache.read_text().splitlines():
        match = re.match(r"^(FLSCAN_\w+_SONAME(?:_PATH)?):\w+=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2)
    found = []
    for key, soname in sorted(values.items()):
        if key.endswith("_SONAME"):
            path = values.get(f"{key}_PATH")
            if not path:
                fail(f"{cache}: {key} without {key}_PATH")
            found.append((soname, Path(path).parent))
    if not found:
        fail(f"{cache} names no library loaded at run time (FLSCAN_*_SONAME)")
    return found


def ldd(path: Path) -> list:
    """The shared libraries `path` needs, as absolute paths (the dynamic loader's answer)."""
    out = run(["ldd", path]).stdout
    libs = []
    for line in out.splitlines():
        if "not found" in line:
            fail(f"ldd {path}: {line.strip()}")
        match = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if match:
            libs.append(Path(match.group(1)))
    return libs


GCONV_MODULES = ("UTF-16.so", "UTF-32.so", "ISO8859-1.so")  # glibc iconv: hivex decodes key names (UTF-16LE, Latin-1)


def with_dependencies(files: dict, wanted: list) -> None:
    """Adds `wanted` and every shared library `ldd` says they need to files, at their paths here."""
    for item in list(wanted):
        for library in ldd(item):
            if library not in wanted:
                wanted.append(library)
    for item in wanted:
        files.setdefault(str(item).lstrip("/"), item)


def flscan_files(flscan: Path, arch: Arch, cmake_cache: Path | None, work: Path) -> dict:
    """{path in the image: file here} for flscan (a copy without symbols: RAM is what the image
    runs in) and, when dynamic, its libraries."""
    machine, interp = elf_facts(flscan)
    if machine != arch.elf_machine:
        fail(f"{flscan} is built for {machine}, not {arch.elf_machine}")
    stripped = work / "flscan"
    run(["strip", "-o", stripped, flscan])
    files = {"usr/bin/flscan": stripped}
    if interp is None:
        # The static flscan is the portable build: hivex's UTF-16LE conversions are built into
        # glibc's iconv, and the one it would load at run time (Latin-1, gconv/ISO8859-1.so) is
        # done by flscan itself (scanner/host/latin1_iconv.cpp). Nothing else goes in: no shared
        # glibc, which is also what lets an i686 image be built on an amd64 machine.
        log(f"{flscan}: static, copied alone")
        return files
    # A dynamic flscan: its libraries, those it loads at run time and glibc's iconv modules (hivex
    # decodes key names from UTF-16LE and Latin-1: without them no SYSTEM hive can be read).
    host = run(["dpkg", "--print-architecture"]).stdout.strip()
    if host != arch.deb_arch:
        fail(f"{flscan} is dynamic: its shared libraries can be gathered only on a {arch.deb_arch} machine "
             f"(this is {host}); a static flscan (make portable) has none")
    if cmake_cache is None:
        fail(f"{flscan} is dynamic: --cmake-cache is needed to find the libraries it loads at run time")
    wanted = [flscan]
    for soname, directory in cmake_sonames(cmake_cache):
        library = directory / soname
        if not library.exists():
            fail(f"{library} (loaded at run time by flscan) is missing")
        wanted.append(library)
    libc = next((p for p in ldd(Path("/bin/sh")) if p.name.startswith("libc.so")), None)
    gconv = libc.resolve().parent / "gconv" if libc else None
    if gconv is None or not (gconv / "gconv-modules").exists():
        fail("flscan uses glibc's iconv, and its modules (gconv/gconv-modules beside libc) are not found here")
    files[str(gconv / "gconv-modules").lstrip("/")] = gconv / "gconv-modules"
    wanted += [gconv / name for name in GCONV_MODULES]
    with_dependencies(files, wanted)
    files.pop(str(flscan).lstrip("/"), None)
    files[interp.lstrip("/")] = Path(interp)
    log(f"{flscan}: dynamic, with {len(files) - 1} libraries and glibc files")
    return files


# ---------------------------------------------------------------------------------------------
# 4. The initramfs
# ---------------------------------------------------------------------------------------------
class Cpio:
    """A cpio "newc" archive (the kernel's initramfs format, Documentation/driver-api/early-userspace)."""

    def __init__(self) -> None:
        self.parts: list = []
        self.inode = 1
        self.dirs: set = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple = (0, 0)) -> None:
        encoded = name.encode() + b"\0"
        fields = [self.inode, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(encoded), 0]
        self.inode += 1
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.parts += [header, encoded, b"\0" * (-(len(header) + len(encoded)) % 4), data, b"\0" * (-len(data) % 4)]

    def directory(self, name: str) -> None:
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            path = "/".join(parts[:i])
            if path and path not in self.dirs:
                self.dirs.add(path)
                self._entry(path, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self.directory(os.path.dirname(name))
        self._entry(name, stat.S_IFREG | mode, data)

    def char_device(self, name: str, major: int, minor: int) -> None:
        self.directory(os.path.dirname(name))
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def bytes(self) -> bytes:
        trailer = Cpio()
        trailer._entry("TRAILER!!!", 0)
        return b"".join(self.parts + trailer.parts)


def make_initramfs(out: Path, busybox: Path, kernel_root: Path, version: str, modules: list, flscan: dict) -> None:
    archive = Cpio()
    for directory in ("dev", "proc", "sys", "tmp", "run", "report", "etc", "bin", "sbin", "usr/bin", "usr/sbin"):
        archive.directory(directory)
    archive.char_device("dev/console", 5, 1)  # the kernel opens it for /init before devtmpfs is mounted
    archive.file("init", (HERE / "init").read_bytes(), 0o755)
    archive.file("bin/busybox", busybox.read_bytes(), 0o755)
    for path, source in sorted(flscan.items()):
        archive.file(path, source.read_bytes(), 0o755)
    modules_dir = kernel_root / "lib/modules" / version
    # Each module xz-compressed (busybox insmod unpacks it): the initramfs is unpacked into RAM,
    # where the modules would otherwise take some 15 MiB next to everything else.
    for module in modules:
        packed_module = lzma.compress((modules_dir / module).read_bytes(), format=lzma.FORMAT_XZ,
                                      check=lzma.CHECK_CRC32)
        archive.file(f"lib/modules/{version}/{module}.xz", packed_module)
    archive.file(f"lib/modules/{version}/load-order", "".join(f"{m}.xz\n" for m in modules).encode())
    # Last: with too little RAM the kernel stops unpacking and still starts /init; the missing
    # marker tells /init (rescue/init: COMPLETE_MARKER).
    archive.file("etc/flscan-rescue-complete", b"the initramfs was unpacked to its end\n")
    raw = archive.bytes()
    # The kernel's xz unpacker takes CRC32 or no check, not xz's default CRC64.
    packed = lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, preset=6)
    out.write_bytes(packed)
    log(f"initramfs {out.name}: {len(raw) >> 20} MiB unpacked, {len(packed) >> 20} MiB xz, {len(modules)} modules")


# ---------------------------------------------------------------------------------------------
# 5. The ISO
# ---------------------------------------------------------------------------------------------
def make_iso(output: Path, arch: Arch, vmlinuz: Path, initrd: Path, version: str, work: Path) -> None:
    # The BIOS platform is needed; a UEFI one is wanted (grub-mkrescue puts in every platform
    # installed here), and an i686 image without 32-bit UEFI still boots every BIOS PC.
    for platform, package in zip(arch.grub_platforms, arch.grub_packages):
        if not Path("/usr/lib/grub", platform).is_dir():
            if platform == "i386-pc" or arch.deb_arch == "amd64":
                fail(f"no GRUB for {platform} here (/usr/lib/grub/{platform}): install {package}")
            log(f"no GRUB for {platform} here (install {package}): the image boots through BIOS only")
    tree = work / "iso"
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "boot/grub").mkdir(parents=True)
    shutil.copy(vmlinuz, tree / "boot/vmlinuz")
    shutil.copy(initrd, tree / "boot/initrd.img")
    (tree / "boot/grub/grub.cfg").write_text((HERE / "grub.cfg").read_text().replace("@KERNEL@", version))
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    # Arguments after `--` go to xorriso itself: the volume id /init recognises the image by.
    run(["grub-mkrescue", "--compress=xz", "-o", partial, tree, "--", "-volid", VOLUME_ID])
    os.replace(partial, output)
    log(f"{output}: {output.stat().st_size >> 20} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flscan", required=True, type=Path, help="the flscan binary (static, or dynamic with --cmake-cache)")
    parser.add_argument("--output", required=True, type=Path, help="the ISO to write")
    parser.add_argument("--arch", default="amd64", choices=sorted(ARCHES))
    parser.add_argument("--cmake-cache", type=Path, help="CMakeCache.txt of the build (a dynamic flscan's dlopen'ed libraries)")
    parser.add_argument("--cache", type=Path, help="where downloaded packages are kept")
    parser.add_argument("--work", type=Path, help="scratch directory (default: beside the output)")
    args = parser.parse_args()
    started = time.monotonic()
    for tool, package in TOOLS.items():
        if not shutil.which(tool):
            fail(f"{tool} not found: install {package} (.ci/install-deps.sh does)")
    if not args.flscan.is_file():
        fail(f"{args.flscan}: no such file (build it first: make build, or make portable)")
    arch = ARCHES[args.arch]
    cache = args.cache or Path(os.environ.get("FLSCAN_ROOT_CACHE", Path.home() / ".cache/flscan")) / "rescue"
    work = args.work or args.output.parent / f"work-{args.arch}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    kernel_root = unpacked(fetch(kernel_package(arch), arch, cache))
    versions = sorted(p.name for p in (kernel_root / "lib/modules").iterdir())
    if len(versions) != 1:
        fail(f"the kernel package holds modules for {versions}, not one version")
    version = versions[0]
    busybox_root = unpacked(fetch("busybox-static", arch, cache))

    modules = select_modules(kernel_root / "lib/modules" / version, HERE / "modules.txt")
    initrd = work / "initrd.img"
    make_initramfs(initrd, busybox_root / "bin/busybox", kernel_root, version, modules,
                   flscan_files(args.flscan.resolve(), arch, args.cmake_cache, work))
    make_iso(args.output, arch, kernel_root / f"boot/vmlinuz-{version}", initrd, version, work)
    shutil.rmtree(work)
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
