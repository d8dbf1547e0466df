#!/usr/bin/env python3
"""A scan ended by SIGINT, SIGTERM or SIGHUP leaves no private link behind in the temporary directory.

A disk image met during a directory walk is opened by the libraries through a symbolic link to
/proc/self/fd/N alone in a private directory `$TMPDIR/flscan-image.XXXXXX` (scanner/image/nested_image.h,
scanner/platform/private_link.h), which exists while the scan runs. A Ctrl-C or a CI timeout used
to leave that directory behind, naming the image.

The tree scanned: copies of the corpus's dynamic VHD (corpus/build_images.py, mbr.vhd) in
`tree/vm/`, beside the corpus tree (a second operand, so the scan lasts). TMPDIR is a directory of
this test's own. Required:
- while flscan runs, each `flscan-image.*` directory in TMPDIR holds one entry, a symbolic link to
  /proc/self/fd/N (no byte of the image is written there);
- for each of SIGTERM, SIGINT and SIGHUP sent as soon as such a directory exists: flscan ends by
  that signal (it was mid-scan) and TMPDIR holds nothing named flscan-image.* afterwards, and
  nothing is left beside the `--json` report's name (its file, made before the scan, is unnamed:
  scanner/report/report_file.h);
- with SIGINT ignored when flscan starts (as under a shell's background job), a SIGINT mid-scan
  is still ignored: the scan ends normally (exit 0, 1 or 2), and leaves nothing either.

With `--reports-on-fuse`, the same with the `--json` report named in a FUSE file system (bindfs
of a directory of this test's), which has no unnamed files (open with O_TMPFILE fails there with
EOPNOTSUPP, as on FAT, NFS or 9p; checked first): the report is written under a temporary name `.report.json.<random>.tmp` beside its
name, which must exist while the scan runs (so that path was taken) and be gone after each signal
(the termination cleanup unlinks it, scanner/platform/termination_cleanup.h); and a scan left to
finish leaves report.json, whole JSON, and nothing else. Exit 77 (skipped, with the reason) where
a FUSE file system cannot be mounted (not root, no /dev/fuse).

Usage: interrupted_scan_test.py FLSCAN IMAGES_DIR CORPUS_DIR [--reports-on-fuse]"""
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # nothing written next to the sources
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import check, failures, finish  # noqa: E402

COPIES = 4
WAIT_SECONDS = 120


def leftovers(tmpdir: Path) -> list:
    return sorted(p.name for p in tmpdir.iterdir() if p.name.startswith("flscan-image."))


def check_contents(tmpdir: Path, what: str) -> None:
    """Each private directory seen holds one symbolic link to /proc/self/fd/N (it may vanish meanwhile)."""
    for name in leftovers(tmpdir):
        try:
            entries = list((tmpdir / name).iterdir())
            targets = [os.readlink(e) if e.is_symlink() else None for e in entries]
        except FileNotFoundError:
            continue
        check(len(entries) <= 1 and all(t is not None and t.startswith("/proc/self/fd/") for t in targets),
              f"{what}: {name} holds {[e.name for e in entries]} -> {targets}, not one link to /proc/self/fd/N")


def beside_report(reports: Path) -> list:
    return sorted(p.name for p in reports.iterdir() if p.name.startswith(".report.json") or p.name == "report.json")


def run(flscan: str, operands: list, tmpdir: Path, work: Path, sig: int, ignore_sigint: bool,
        reports: Path, named_temporary: bool) -> None:
    what = f"{signal.Signals(sig).name}{' (SIGINT ignored)' if ignore_sigint else ''}"
    if named_temporary:
        what += ", report on FUSE"
    env = dict(os.environ, TMPDIR=str(tmpdir))

    def child_signals() -> None:
        # A test runner may start this script with SIGINT ignored; flscan must see it as a shell would.
        signal.signal(signal.SIGINT, signal.SIG_IGN if ignore_sigint else signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)

    proc = subprocess.Popen([flscan, "-q", "--json", str(reports / "report.json"), *operands], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=child_signals)
    deadline = time.monotonic() + WAIT_SECONDS
    seen = False
    while proc.poll() is None and time.monotonic() < deadline:
        if leftovers(tmpdir):
            seen = True
            check_contents(tmpdir, what)
            if named_temporary:
                # The report file is made before the scan: here, under a temporary name.
                temporaries = [n for n in beside_report(reports) if n.startswith(".report.json.") and n.endswith(".tmp")]
                check(len(temporaries) == 1, f"{what}: beside the report's name mid-scan: {beside_report(reports)}, "
                      "expected one .report.json.<random>.tmp")
            proc.send_signal(sig)
            break
        time.sleep(0.001)
    try:
        _, stderr = proc.communicate(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        check(False, f"{what}: flscan did not end within {WAIT_SECONDS} s")
    check(seen, f"{what}: no flscan-image.* directory seen while the scan ran (exit {proc.returncode})")
    if seen and ignore_sigint:
        check(proc.returncode in (0, 1, 2), f"{what}: exit {proc.returncode}, not the scan's own; "
              f"stderr {stderr.decode('utf-8', 'replace')[-1500:]}")
    elif seen:
        check(proc.returncode == -sig, f"{what}: exit {proc.returncode}, not ended by the signal; "
              f"stderr {stderr.decode('utf-8', 'replace')[-1500:]}")
    left = leftovers(tmpdir)
    check(not left, f"{what}: left behind in TMPDIR: {left}")
    # The report file is created before the scan (report_file.h): a scan killed before writing it
    # leaves no temporary file beside the report's name, and no report.
    if not ignore_sigint:
        beside = beside_report(reports)
        check(not beside, f"{what}: left beside the report's name: {beside}")
    else:
        beside = beside_report(reports)
        check(beside == ["report.json"], f"{what}: beside the report's name after the scan: {beside}, expected report.json")
        if "report.json" in beside:
            try:
                json.loads((reports / "report.json").read_bytes())
            except ValueError as e:
                check(False, f"{what}: report.json is not whole JSON: {e}")
            (reports / "report.json").unlink()
    for name in left:
        shutil.rmtree(tmpdir / name, ignore_errors=True)


def mount_fuse(work: Path) -> tuple[Path | None, str]:
    """work/fuse-backing mounted on work/fuse by bindfs (FUSE), or None and why not."""
    if shutil.which("bindfs") is None:
        check(False, "bindfs is not installed (.ci/install-deps.sh installs it)")
        return None, "no bindfs"
    if os.geteuid() != 0:
        return None, "not root"
    if not os.path.exists("/dev/fuse"):
        return None, "no /dev/fuse"
    backing, mnt = work / "fuse-backing", work / "fuse"
    backing.mkdir()
    mnt.mkdir()
    r = subprocess.run(["bindfs", str(backing), str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"bindfs failed: {r.stderr.strip()[:300]}"
    return mnt, ""


def has_unnamed_files(directory: Path) -> bool:
    try:
        os.close(os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600))
        return True
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return False
        raise


def main() -> int:
    flscan, images, corpus = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    on_fuse = sys.argv[4:] == ["--reports-on-fuse"]
    with tempfile.TemporaryDirectory(prefix="flscan-interrupted-") as scratch:
        work = Path(scratch)
        tmpdir = work / "tmp"
        tmpdir.mkdir()
        reports = work
        if on_fuse:
            mnt, why = mount_fuse(work)
            if mnt is None and failures:
                return finish("interrupted_scan_test --reports-on-fuse")
            if mnt is None:
                print(f"SKIPPED: no FUSE file system can be mounted here: {why}")
                return 77
            reports = mnt
        try:
            if on_fuse and has_unnamed_files(reports):
                check(False, f"{reports}: O_TMPFILE works on this FUSE mount, so the named path is not tested")
                return finish("interrupted_scan_test --reports-on-fuse")
            tree = work / "tree" / "vm"
            tree.mkdir(parents=True)
            for i in range(COPIES):
                shutil.copyfile(images / "mbr.vhd", tree / f"disk{i}.vhd")
            operands = [str(work / "tree"), str(corpus)]
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                run(flscan, operands, tmpdir, work, sig, False, reports, on_fuse)
            run(flscan, operands, tmpdir, work, signal.SIGINT, True, reports, on_fuse)
        finally:
            if on_fuse:
                # bindfs's own unmount, then the kernel's; lazily if still busy, so the
                # temporary directory can go.
                for command in (["fusermount", "-u"], ["umount"], ["umount", "-l"]):
                    if os.path.ismount(reports) and shutil.which(command[0]):
                        subprocess.run([*command, str(reports)], capture_output=True)
    if on_fuse:
        return finish("interrupted_scan_test --reports-on-fuse: no private link nor named report file left "
                      "by an interrupted scan")
    return finish("interrupted_scan_test: no private link left by an interrupted scan")


if __name__ == "__main__":
    sys.exit(main())
