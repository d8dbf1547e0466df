#!/usr/bin/env python3
"""A corrupt disk image named on the command line is an error that names the file, never a
crash, a hang or a silent "clean".

Each case is a file made here from nothing or from the first bytes of a good fixture image
(corpus-images/): an E01 and a VMDK cut after their headers, a VHD whose dynamic-disk header is
garbage, VHDs whose block allocation table or first block lies past the end of the file or
whose block size is 2 GiB, a raw disk whose MBR partition holds only zeros, and, named with --image (they carry no
container signature, so by content they are plain files), random bytes and an empty file. flscan
(`--json -`) must exit 2 within the timeout, print no sanitizer report, report no result, and
name the file: a `not_scanned` entry for the image (the path as given, or one of its volumes),
or, when it stops before scanning, the path on stderr. A good image named beside them is still
scanned (its results are there), so one bad operand does not end the scan.

Usage: image_cli_test.py FLSCAN IMAGES_DIR"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from e2e_support import SANITIZER_MARKS, check, failures, path_text


def noise(seed: int, size: int) -> bytes:
    # A fixed-seed xorshift stream: the same bytes on every run.
    out = bytearray()
    x = seed or 1
    while len(out) < size:
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        out += x.to_bytes(8, "little")
    return bytes(out[:size])


def bat_offset(vhd: bytes) -> int:
    """Where a dynamic VHD's block allocation table starts: the dynamic disk header's table offset
    (big-endian at +16; the header at the footer's data offset, big-endian at 16)."""
    header = int.from_bytes(vhd[16:24], "big")
    return int.from_bytes(vhd[header + 16:header + 24], "big")


def vhd_field(vhd: bytes, at: int, width: int, value: int) -> bytes:
    """`vhd` with the big-endian field of `width` bytes at `at` set to `value`; the dynamic disk
    header's checksum (at 512 + 36: ones' complement of its byte sum) is made right again, so only
    the field is wrong."""
    data = bytearray(vhd)
    data[at:at + width] = value.to_bytes(width, "big")
    header = data[512:1536]
    header[36:40] = bytes(4)
    data[512 + 36:512 + 40] = (~sum(header) & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(data)


def cases(images: Path) -> dict[str, tuple[bytes, list, set]]:
    """name -> (bytes, extra options, the not_scanned reasons it may give). Files without a container signature or partition table
    are not images by content (scanner/image/image_layout.h: such a file is scanned as a file),
    so they are named with --image."""
    e01 = (images / "mbr.E01").read_bytes()
    vmdk = (images / "mbr.vmdk").read_bytes()
    vhd = (images / "mbr.vhd").read_bytes()
    raw = bytearray(4 << 20)
    raw[446:462] = bytes([0, 0xFE, 0xFF, 0xFF, 0x07, 0xFE, 0xFF, 0xFF]) + (2048).to_bytes(4, "little") + (4096).to_bytes(4, "little")
    raw[510:512] = b"\x55\xaa"
    unreadable = {"unreadable-image"}
    either = {"unreadable-image", "unknown-filesystem"}
    return {
        # forced: random bytes opened as a raw disk hold no table and no file system
        "random.E01": (noise(1, 64 * 1024), ["--image"], either),
        "empty.vhd": (b"", ["--image"], either),     # forced: nothing to read
        # A container signature makes a file an image; when its library cannot open it, the image
        # is unreadable (it must not be read as a raw disk instead: those bytes are not the disk).
        "cut.E01": (e01[:1024], [], unreadable),                 # EVF signature, no volume section
        # the footer copy at 0 kept, the dynamic disk header ("cxsparse") at 512 garbage
        "garbage-header.vhd": (vhd[:512] + noise(2, 1024) + vhd[1536:], [], unreadable),
        # mbr.vhd with one field of its dynamic disk header (at 512, qemu-img's layout) or of its
        # block allocation table made hostile (issue 19: flscan reads the table itself)
        "bat-past-eof.vhd": (vhd_field(vhd, 512 + 16, 8, len(vhd)), [], unreadable),      # table offset
        "huge-block.vhd": (vhd_field(vhd, 512 + 32, 4, 1 << 31), [], unreadable),          # block size
        "block-past-eof.vhd": (vhd_field(vhd, bat_offset(vhd), 4, 0x7FFFFFF0), [], unreadable),  # block 0
        "cut.vmdk": (vmdk[:4096], [], unreadable),               # sparse header (KDMV), no descriptor
        # a valid MBR whose only partition is all zeros
        "zeros-partition.raw": (bytes(raw), [], {"unknown-filesystem"}),
    }


def main() -> int:
    flscan, images = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2]).resolve()
    with tempfile.TemporaryDirectory(prefix="flscan-image-cli-") as work:
        work_dir = Path(work)
        made = cases(images)
        for name, (data, _, _) in made.items():
            (work_dir / name).write_bytes(data)
        for name, (_, options, reasons) in made.items():
            try:
                r = subprocess.run([flscan, "--json", "-", *options, name], cwd=work_dir, capture_output=True, timeout=120)
            except subprocess.TimeoutExpired:
                failures.append(f"{name}: flscan did not finish within 120 s")
                continue
            stderr = r.stderr.decode("utf-8", "replace")
            check(r.returncode == 2, f"{name}: exit {r.returncode}, want 2; stderr: {stderr[-800:]}")
            check(not any(m in stderr for m in SANITIZER_MARKS), f"{name}: sanitizer report: {stderr[-3000:]}")
            try:
                report = json.loads(r.stdout) if r.stdout.strip() else None
            except ValueError:
                failures.append(f"{name}: stdout is not JSON: {r.stdout[:200]!r}")
                continue
            if report is None:  # stopped before scanning: the message names the file
                check(name in stderr, f"{name}: no report and stderr does not name the file: {stderr[-800:]}")
                continue
            check(not report.get("results"), f"{name}: results from a corrupt image: {report.get('results')}")
            named = [e for e in report.get("not_scanned") or []
                     if path_text(e["path"]) == name or path_text(e["path"]).startswith(name + ":")]
            check(bool(named), f"{name}: no not_scanned entry names the image: {report.get('not_scanned')}")
            for entry in named:
                check(entry.get("reason") in reasons and bool(entry.get("detail")),
                      f"{name}: {path_text(entry['path'])}: reason {entry.get('reason')} (want one of {sorted(reasons)}), "
                      f"detail {entry.get('detail')!r}")
            check(report.get("summary", {}).get("complete") is False, f"{name}: summary.complete is not false")
        # A bad image beside a good one: the good one is still scanned.
        good = os.path.relpath(images / "mbr.raw", work_dir)
        r = subprocess.run([flscan, "--json", "-", "cut.E01", good], cwd=work_dir, capture_output=True, timeout=300)
        stderr = r.stderr.decode("utf-8", "replace")
        check(r.returncode == 1, f"cut.E01 + mbr.raw: exit {r.returncode}, want 1 (mbr.raw p1 holds "
                                 f"windows/nt4-infected); stderr: {stderr[-800:]}")
        try:
            report = json.loads(r.stdout)
            check(any(path_text(e["path"]).startswith(good + ":p1/") for e in report.get("results") or []),
                  "cut.E01 + mbr.raw: no result from mbr.raw:p1")
            check(any(path_text(e["path"]).startswith("cut.E01") for e in report.get("not_scanned") or []),
                  "cut.E01 + mbr.raw: cut.E01 is not in not_scanned")
        except ValueError:
            failures.append(f"cut.E01 + mbr.raw: stdout is not JSON; stderr: {stderr[-800:]}")
    for f in failures:
        print("FAIL:", f)
    print(f"image_cli_test: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
