#!/usr/bin/env python3
"""The Debian package in a clean Debian 12 system (issue 18).

Builds the package with CPack (what `make package` runs), makes a minimal Debian 12 (bookworm) root
with debootstrap from the mirror this machine's apt uses, installs the package there with
`apt-get install ./flscan_*.deb` in a chroot (apt fetches the Depends from the mirror: nothing of
this machine's libraries is in the root), then:

  - flscan --version prints the version the package carries, and the package description names
    the built-in signature set --version reports;
  - the Depends name the package owning each library flscan loads at run time (libtsk, ...), and
    nothing installed with it is a compiler, a -dev package or Chromium;
  - a scan of the corpus tree windows/nt4-infected exits 1 with the verdict q317218 (the corpus
    manifest), and a scan of a corpus disk image (mbr.vhd) gives its manifest's exit code with
    every volume scanned, which needs libtsk, so proves it came with the package;
  - the installed bash completion loads and completes an option;
  - apt-get remove --purge flscan leaves none of the files `dpkg -L flscan` listed (a directory
    stays only if it was there before the install).

The debootstrapped root is cached as a tarball (FLSCAN_ROOT_CACHE, default
~/.cache/flscan/debootstrap-bookworm-minbase-<mirror hash>.tar.gz); FLSCAN_REBUILD_ROOT=1 makes
it again. Needs root (chroot, mount) and the network (debootstrap, apt-get): without either the
test fails and says so, it is never skipped.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

SUITE = "bookworm"  # Debian 12
CHROOT_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "DEBIAN_FRONTEND": "noninteractive",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}
UNWANTED = re.compile(r"(-dev$|^(gcc|g\+\+|cpp|clang|llvm|chromium|cmake|ninja-build|make|python3)(-|$))")

failures = []


def check(condition, text):
    if not condition:
        failures.append(text)
    return condition


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def fatal(text):
    print(f"FAIL: {text}", flush=True)
    sys.exit(1)


def debian_mirror():
    """The URI apt uses here for the Debian archive (not -security), from the deb822 sources or
    the one-line sources.list."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    candidates = []
    if deb822.exists():
        for stanza in deb822.read_text().split("\n\n"):
            fields = dict(
                (key.strip(), value.strip())
                for key, _, value in (line.partition(":") for line in stanza.splitlines() if not line.startswith("#"))
            )
            if "deb" in fields.get("Types", "").split():
                for uri in fields.get("URIs", "").split():
                    suites = fields.get("Suites", "").split()
                    candidates.append((uri, suites))
    for listing in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*.list")]:
        if listing.exists():
            for line in listing.read_text().splitlines():
                match = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
                if match:
                    candidates.append((match.group(1), [match.group(2)]))
    for uri, suites in candidates:
        if SUITE in suites:
            return uri.rstrip("/")
    fatal(f"no apt source for the Debian suite {SUITE} in /etc/apt (debian.sources or sources.list)")


def run(command, what, timeout=900, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        fatal(f"{what}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def mounts_under(root):
    prefix = str(root).rstrip("/") + "/"
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    return [p for p in points if p.startswith(prefix) or p == str(root)]


def unmount_all(root):
    for point in sorted(mounts_under(root), key=len, reverse=True):
        if subprocess.run(["umount", point]).returncode != 0:
            subprocess.run(["umount", "-l", point])


def remove_root(root):
    """Removes the root directory, never through a mount still inside it (/proc, a bind)."""
    unmount_all(root)
    left = mounts_under(root)
    if left:
        fatal(f"still mounted under {root}: {left}; not removing it")
    if root.exists():
        shutil.rmtree(root)


def make_cache(cache, mirror):
    """debootstrap --variant=minbase into a temporary directory, then the tarball, atomically."""
    staging = cache.parent / f"{cache.name}.{os.getpid()}.root"  # two runs at once do not collide
    remove_root(staging)
    staging.mkdir(parents=True)
    started = time.monotonic()
    log(f"debootstrap {SUITE} from {mirror} (uncached: this takes a few minutes)")
    result = subprocess.run(
        ["debootstrap", "--variant=minbase", SUITE, str(staging), mirror], capture_output=True, text=True, timeout=1800
    )
    if result.returncode != 0:
        remove_root(staging)
        fatal(
            f"debootstrap {SUITE} {mirror} failed (exit {result.returncode}): this test needs the network "
            f"to reach the Debian mirror apt uses\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    for leftover in ["var/cache/apt/archives"]:
        for deb in glob.glob(str(staging / leftover / "*.deb")):
            os.unlink(deb)
    temporary = cache.parent / f"{cache.name}.{os.getpid()}.tmp"
    run(["tar", "--numeric-owner", "--one-file-system", "-C", str(staging), "-czf", str(temporary), "."], "tar of the root")
    os.replace(temporary, cache)
    remove_root(staging)
    log(f"root cached in {cache} ({cache.stat().st_size >> 20} MiB) after {time.monotonic() - started:.0f} s")


def chroot(root, command, what, timeout=900, check_exit=True, cwd="/"):
    full = ["chroot", str(root), "sh", "-c", f"cd {cwd} && exec \"$@\"", "sh", *command]
    result = subprocess.run(full, capture_output=True, text=True, timeout=timeout, env=CHROOT_ENV)
    if check_exit and result.returncode != 0:
        fatal(f"{what}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def installed_packages(root):
    out = chroot(root, ["dpkg-query", "-W", "-f", "${Package}\\n"], "dpkg-query -W").stdout
    return set(out.split())


def directories(root):
    found = {"/"}
    for path, dirs, _ in os.walk(root):
        for name in dirs:
            found.add("/" + os.path.relpath(os.path.join(path, name), root))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cpack", required=True)
    parser.add_argument("--config", required=True, help="CPackConfig.cmake of the build")
    parser.add_argument("--work", required=True, help="a directory of the build tree for the package and the root")
    parser.add_argument("--flscan", required=True, help="the built flscan (its --version is what the package must print)")
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--images", required=True)
    parser.add_argument("--runtime-packages", default="", help="the packages owning the run-time loaded libraries")
    args = parser.parse_args()
    started = time.monotonic()

    # ctest's timeout sends SIGTERM: leave through the finally below, which unmounts /proc.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("FAIL: terminated (timeout?)"))
    if os.geteuid() != 0:
        fatal("needs root (debootstrap, chroot and mount); run it as root, or exclude it: ctest -LE package")
    for tool in ("debootstrap", "chroot", "tar"):
        if not shutil.which(tool):
            fatal(f"{tool} not found (.ci/install-deps.sh installs debootstrap)")
    built_version = run([args.flscan, "--version"], "flscan --version (build)").stdout
    version = re.search(r"^flscan (\S+)$", built_version, re.M).group(1)
    signature_set = re.search(r"built-in (\S+)", built_version).group(1)

    work = Path(args.work)
    package_dir = work / "package"
    shutil.rmtree(package_dir, ignore_errors=True)
    run([args.cpack, "--config", args.config, "-B", str(package_dir)], "cpack (make package)")
    debs = sorted(package_dir.glob("flscan_*.deb"))
    if not check(len(debs) == 1, f"cpack made {[d.name for d in debs]}, not one flscan_*.deb"):
        fatal("no package")
    deb = debs[0]
    arch = run(["dpkg", "--print-architecture"], "dpkg --print-architecture").stdout.strip()
    check(deb.name == f"flscan_{version}_{arch}.deb", f"package named {deb.name}, not flscan_{version}_{arch}.deb")
    log(f"package {deb.name} built")

    mirror = debian_mirror()
    cache_dir = Path(os.environ.get("FLSCAN_ROOT_CACHE", Path.home() / ".cache" / "flscan"))
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache = cache_dir / f"debootstrap-{SUITE}-minbase-{hashlib.sha256(mirror.encode()).hexdigest()[:12]}.tar.gz"
    if os.environ.get("FLSCAN_REBUILD_ROOT") == "1" or not cache.exists():
        make_cache(cache, mirror)
    else:
        log(f"cached root {cache}")

    root = work / "clean-root"
    remove_root(root)
    root.mkdir(parents=True)
    try:
        run(["tar", "--numeric-owner", "-C", str(root), "-xzf", str(cache)], "unpacking the cached root")
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        run(["mount", "-t", "proc", "proc", str(root / "proc")], "mount /proc in the root")
        test_in_root(root, deb, version, signature_set, args)
    finally:
        remove_root(root)
    log(f"done in {time.monotonic() - started:.0f} s")
    for failure in failures:
        print("FAIL:", failure)
    print(f"clean-root package test: {len(failures)} failures")
    return 1 if failures else 0


def test_in_root(root, deb, version, signature_set, args):
    tmp = root / "tmp" / "flscan-test"
    tmp.mkdir(parents=True)
    shutil.copy(deb, tmp / deb.name)
    shutil.copytree(Path(args.corpus) / "windows" / "nt4-infected", tmp / "nt4-infected", symlinks=True)
    shutil.copy(Path(args.images) / "mbr.vhd", tmp / "mbr.vhd")
    log("apt-get update in the root")
    update = chroot(root, ["apt-get", "update"], "apt-get update", check_exit=False)
    if update.returncode != 0 or re.search(r"^(E|W): (Failed|Could not|Unable)", update.stdout + update.stderr, re.M):
        fatal(f"apt-get update in the root failed: this test needs the network\n{update.stdout}\n{update.stderr}")
    before = installed_packages(root)
    dirs_before = directories(root)
    log(f"apt-get install ./{deb.name}")
    chroot(root, ["apt-get", "install", "-y", "--no-install-recommends", f"./{deb.name}"], "apt-get install ./flscan_*.deb",
           cwd="/tmp/flscan-test")
    new = installed_packages(root) - before
    check("flscan" in new, "flscan is not installed after apt-get install")
    check(not [p for p in new if UNWANTED.search(p)], f"installed with flscan: {sorted(p for p in new if UNWANTED.search(p))}")
    log(f"installed with flscan: {' '.join(sorted(new - {'flscan'}))}")

    fields = chroot(root, ["dpkg-query", "-W", "-f", "${Version}\\n${Depends}\\n${Description}", "flscan"], "dpkg-query flscan")
    package_version, depends, description = fields.stdout.split("\n", 2)
    check(package_version == version, f"package version {package_version}, flscan --version says {version}")
    check(signature_set in description, f"the package description does not name the signature set {signature_set}")
    depends_names = {re.match(r"\s*([^\s(]+)", d).group(1) for d in depends.split(",") if d.strip()}
    for package in filter(None, args.runtime_packages.split(";")):
        check(package in depends_names, f"Depends ({depends}) lacks {package}, which holds a library loaded at run time")
        check(package in new or package in before, f"{package} was not installed with flscan")

    version_run = chroot(root, ["flscan", "--version"], "flscan --version in the root")
    check(version_run.stdout.startswith(f"flscan {version}\n"), f"flscan --version in the root: {version_run.stdout!r}")
    check(signature_set in version_run.stdout, f"flscan --version in the root does not name {signature_set}")

    # The corpus tree: FunLove evidence (exit 1) and the host verdict of the corpus manifest.
    manifest = json.loads((Path(args.corpus) / "manifest.json").read_text())
    tree = next(t for t in manifest["host_trees"] if t["root"] == "windows/nt4-infected")
    scan = chroot(root, ["flscan", "-q", "--json", "/tmp/flscan-test/tree.json", "/tmp/flscan-test/nt4-infected"],
                  "flscan (tree)", check_exit=False)
    check(scan.returncode == 1, f"tree scan in the root: exit {scan.returncode}, not 1\n{scan.stderr[-2000:]}")
    report = json.loads((tmp / "tree.json").read_text())
    verdicts = [h["verdict"] for h in report["hosts"]]
    check(verdicts == [tree["expected_verdict"]], f"tree scan verdicts {verdicts}, manifest: {tree['expected_verdict']}")

    # A disk image: read through libtsk, which only the package's Depends can have brought.
    images = json.loads((Path(args.images) / "manifest.json").read_text())
    image = next(i for i in images["images"] if i["path"] == "mbr.vhd")
    scan = chroot(root, ["flscan", "-q", "--json", "/tmp/flscan-test/image.json", "/tmp/flscan-test/mbr.vhd"],
                  "flscan (image)", check_exit=False)
    check(scan.returncode == image["expected_exit_code"],
          f"image scan in the root: exit {scan.returncode}, manifest: {image['expected_exit_code']}\n{scan.stderr[-2000:]}")
    report = json.loads((tmp / "image.json").read_text())
    volumes = {v["volume"]: v["status"] for v in report["volumes"]}
    expected = {v["name"]: "scanned" for v in image["volumes"]}
    check(volumes == expected, f"image volumes {volumes}, expected {expected}; not scanned: {report['not_scanned']}")

    completion = chroot(root, ["bash", "-c", "source /usr/share/bash-completion/completions/flscan && "
                               "COMP_WORDS=(flscan --prog) COMP_CWORD=1 && _flscan && echo \"${COMPREPLY[*]}\""],
                        "the bash completion in the root")
    check(completion.stdout.strip() == "--progress", f"completion of --prog in the root: {completion.stdout!r}")

    listed = chroot(root, ["dpkg", "-L", "flscan"], "dpkg -L flscan").stdout.split("\n")
    listed = [os.path.normpath(p) for p in listed if p.startswith("/")]
    check("/usr/bin/flscan" in listed and any(p.startswith("/usr/share/man/man1/flscan.1") for p in listed),
          f"dpkg -L flscan lacks the binary or the man page: {listed}")
    log("apt-get remove --purge flscan")
    chroot(root, ["apt-get", "remove", "--purge", "-y", "flscan"], "apt-get remove --purge flscan")
    status = chroot(root, ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "flscan"], "dpkg-query", check_exit=False)
    check(status.returncode != 0 or not status.stdout.startswith("i"), f"flscan still installed: {status.stdout!r}")
    left = [p for p in listed if os.path.lexists(str(root) + p) and not (os.path.isdir(str(root) + p) and p in dirs_before)]
    check(not left, f"left behind by apt-get remove --purge flscan: {left}")
    log(f"{len(listed)} paths listed by dpkg -L, none left after the purge" if not left else "files left")


if __name__ == "__main__":
    sys.exit(main())
