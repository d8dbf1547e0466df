#!/usr/bin/env python3
"""A disk image flscan cannot open, or does not open where it lies, is NOT SCANNED naming its
format, never one plain file passed as clean (issue 15, "recognise before deciding").

The images are made here by qemu-img (Debian qemu-utils) from the corpus's infected MBR disk
(corpus-images/mbr.raw, its manifest says it holds infected files), so what each file is follows
from how it was made:
- as PATH: the disk converted to qcow (version 1), VDI and QED, each alone and with --image:
  exit 2, one `not_scanned` entry for the operand with reason `unsupported-image` whose detail
  names the format; no result (nothing inside was read);
- a LUKS1 volume made by qemu-img, as PATH alone and with --image and no key: an image of one
  encrypted volume, `IMAGE:vol` NOT SCANNED `encrypted-volume` naming LUKS, exit 2, no result;
- inside a scanned directory with --no-nested-images: the VDI (`unsupported-image`), and the
  disk as qcow2 and the corpus's VHD, VMDK and E01 of the same disk, its bare LVM2 physical volume
  holding the infected tree and the LUKS volume (`image-not-opened`: formats flscan opens, but not
  inside directories with that option), beside a text file that is nothing: exit 2, exactly those
  entries, each naming its format (nested_image_test.py covers the default, where they are opened);
- a dynamic VHD made by qemu-img and turned into a differencing disk (disk type 4, a parent
  named in its dynamic header, per the VHD specification) whose parent is not beside it is
  `unreadable-image` naming the parent (differencing disks are opened with their parent, issue 15);
- the VHD named as PATH is still opened, with the exit code the images manifest gives it, so recognising
  formats takes nothing away from the images flscan reads.

Usage: image_recognition_test.py FLSCAN IMAGES_DIR"""
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from e2e_support import check, finish, path_text, run_json

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "corpus"))
import qemu_luks  # noqa: E402  (qemu-img with an exact clock for its PBKDF benchmark)

# file name -> (qemu-img arguments that make it from the raw disk, format named in the detail)
UNSUPPORTED = {
    "disk.qcow": (["convert", "-O", "qcow"], "qcow"),
    "disk.vdi": (["convert", "-O", "vdi"], "VDI"),
    "disk.qed": (["convert", "-O", "qed"], "QED"),
}
# The parent a differencing VHD made here names (not present beside it).
PARENT = "base-snapshot.vhd"
# Opened by flscan as PATH; found in a directory under --no-nested-images they are `image-not-opened`.
OPENED = {"mbr.vhd": "VHD", "mbr.vmdk": "VMDK", "mbr.E01": "E01", "lvm.raw": "LVM2 physical volume", "mbr.qcow2": "qcow2"}


def make_images(images: Path, work: Path) -> None:
    raw = images / "mbr.raw"
    for name, (args, _) in UNSUPPORTED.items():
        subprocess.run(["qemu-img", *args[:1], "-q", *args[1:], str(raw), str(work / name)], check=True)
    # qemu-img times its PBKDF on an exact thread clock (qemu_luks: Debian 12's qemu-img otherwise
    # fails now and then on its benchmark).
    qemu_luks.run(["create", "-q", "--object", "secret,id=s0,data=flscan-test", "-f", "luks",
                   "-o", "key-secret=s0,iter-time=10", work / "disk.luks", "4M"])


def make_differencing_vhd(images: Path, work: Path) -> Path:
    """A dynamic VHD of the corpus disk made by qemu-img, turned into a differencing disk as the
    VHD specification lays it out: disk type 4 in the footer (its copy at 0 and the last 512
    bytes, checksums kept valid) and the parent's name, UTF-16BE, at +64 of the dynamic header."""
    path = work / "child.vhd"
    subprocess.run(["qemu-img", "convert", "-q", "-O", "vpc", str(images / "mbr.raw"), str(path)], check=True)
    data = bytearray(path.read_bytes())

    def patch_footer(at: int) -> None:
        footer = data[at:at + 512]
        assert footer[:8] == b"conectix", "qemu-img's VHD has no footer at %d" % at
        footer[60:64] = (4).to_bytes(4, "big")
        footer[64:68] = bytes(4)
        footer[64:68] = ((~sum(footer)) & 0xFFFFFFFF).to_bytes(4, "big")
        data[at:at + 512] = footer

    patch_footer(0)
    patch_footer(len(data) - 512)
    header = int.from_bytes(data[16:24], "big")
    assert data[header:header + 8] == b"cxsparse"
    name = PARENT.encode("utf-16-be")
    data[header + 64:header + 64 + len(name)] = name
    path.write_bytes(bytes(data))
    return path


def not_scanned(report: dict) -> dict:
    return {path_text(e["path"]): e for e in report.get("not_scanned", [])}


def check_operand(flscan: str, path: Path, fmt: str, extra: list, reason: str = "unsupported-image") -> None:
    what = f"{path.name} {' '.join(extra)}".strip()
    report = run_json([flscan, *extra, "--json", "-", str(path)], None, what)
    if report is None:
        return
    check(report["_returncode"] == 2, f"{what}: exit {report['_returncode']}, expected 2 (incomplete)")
    entries = not_scanned(report)
    entry = entries.get(str(path))
    if check(entry is not None, f"{what}: no not_scanned entry for the operand ({sorted(entries)})"):
        check(entry["reason"] == reason, f"{what}: reason {entry['reason']}, expected {reason}")
        check(fmt in entry["detail"], f"{what}: detail does not name {fmt}: {entry['detail']}")
        if fmt.startswith("differencing VHD"):
            check(f'parent "{PARENT}"' in entry["detail"] and f"{PARENT} is missing" in entry["detail"],
                  f"{what}: detail does not name the missing parent: {entry['detail']}")
    check(not report["results"], f"{what}: results from an image that was not read: {report['results']}")


def check_luks_operand(flscan: str, path: Path, extra: list) -> None:
    what = f"{path.name} {' '.join(extra)}".strip()
    report = run_json([flscan, *extra, "--json", "-", str(path)], None, what)
    if report is None:
        return
    check(report["_returncode"] == 2, f"{what}: exit {report['_returncode']}, expected 2 (incomplete)")
    entry = not_scanned(report).get(f"{path}:vol")
    if check(entry is not None, f"{what}: no not_scanned entry for {path}:vol ({sorted(not_scanned(report))})"):
        check(entry["reason"] == "encrypted-volume", f"{what}: reason {entry['reason']}, expected encrypted-volume")
        check("LUKS" in entry["detail"], f"{what}: detail does not name LUKS: {entry['detail']}")
    check(not report["results"], f"{what}: results from a volume that was not read: {report['results']}")


def check_directory(flscan: str, images: Path, work: Path) -> None:
    tree = work / "snapshots"
    tree.mkdir()
    expected = {}
    for name in ("disk.vdi",):
        shutil.copy(work / name, tree / name)
        expected[str(tree / name)] = ("unsupported-image", UNSUPPORTED[name][1])
    for name, fmt in OPENED.items():
        shutil.copy(images / name, tree / name)
        expected[str(tree / name)] = ("image-not-opened", fmt)
    shutil.copy(work / "disk.luks", tree / "disk.luks")
    expected[str(tree / "disk.luks")] = ("image-not-opened", "LUKS1")
    (tree / "notes.txt").write_text("not an image\n")
    report = run_json([flscan, "--json", "-", "--no-nested-images", str(tree)], None, "snapshots/")
    if report is None:
        return
    check(report["_returncode"] == 2, f"snapshots/: exit {report['_returncode']}, expected 2")
    entries = not_scanned(report)
    check(set(entries) == set(expected), f"snapshots/: not_scanned {sorted(entries)}, expected {sorted(expected)}")
    for path, (reason, fmt) in expected.items():
        entry = entries.get(path)
        if entry is None:
            continue
        check(entry["reason"] == reason, f"{path}: reason {entry['reason']}, expected {reason}")
        check(fmt in entry["detail"], f"{path}: detail does not name {fmt}: {entry['detail']}")
    check(report["summary"]["complete"] is False, "snapshots/: summary.complete is not false")


def check_vhd_still_opened(flscan: str, images: Path) -> None:
    manifest = json.loads((images / "manifest.json").read_text())
    entry = next((i for i in manifest["images"] if i["path"] == "mbr.vhd"), None)
    if not check(entry is not None, "corpus-images manifest lists no mbr.vhd"):
        return
    report = run_json([flscan, "--json", "-", str(images / "mbr.vhd")], None, "mbr.vhd")
    if report is None:
        return
    check(report["_returncode"] == entry["expected_exit_code"],
          f"mbr.vhd: exit {report['_returncode']}, the manifest expects {entry['expected_exit_code']}")
    check(not report["not_scanned"], f"mbr.vhd: not_scanned {report['not_scanned']}")


def main() -> int:
    flscan, images = sys.argv[1], Path(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="flscan-recognise-") as scratch:
        work = Path(scratch)
        make_images(images, work)
        for name, (_, fmt) in UNSUPPORTED.items():
            for extra in ([], ["--image"]):
                check_operand(flscan, work / name, fmt, extra)
        for extra in ([], ["--image"]):
            check_luks_operand(flscan, work / "disk.luks", extra)
        check_operand(flscan, make_differencing_vhd(images, work), 'differencing VHD (', [], "unreadable-image")
        check_directory(flscan, images, work)
        check_vhd_still_opened(flscan, images)
    return finish("image recognition")


if __name__ == "__main__":
    sys.exit(main())
