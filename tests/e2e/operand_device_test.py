#!/usr/bin/env python3
"""A block device named as PATH (`flscan /dev/sdb`, the natural command on a rescue system) is a
disk: opened as an image by content, without --image, exactly as an image file is; never skipped.

The device is a read-only loop device (losetup) over corpus-images/mbr.raw (corpus/build_images.py):
- `flscan --json - /dev/loopN`: the volumes are the images manifest's (names, offsets, lengths,
  file systems), the exit code is the manifest's, and every result, not_scanned and skipped entry
  is the one of the same image scanned as a file (paths `DEVICE:pN/...` <-> `mbr.raw:pN/...`:
  state, sha256, size, reason);
- a loop device over 4 MiB of zeros: NOT SCANNED `DEVICE:vol` unknown-filesystem, exit 2 (a disk
  nobody can read is never clean).

Usage: operand_device_test.py FLSCAN IMAGES_DIR
Exit 77 (skipped) when loop devices cannot be set up here (no losetup, not root, no free device)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from e2e_support import check, finish, path_text, run_json


def attach(path: Path) -> str | None:
    """A read-only loop device over `path`, or None when this machine does not allow one."""
    if shutil.which("losetup") is None or os.geteuid() != 0:
        return None
    r = subprocess.run(["losetup", "-f", "--show", "-r", str(path)], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def entries(report: dict, prefix: str) -> dict:
    """key -> {relative path: comparable fields} for results, not_scanned and skipped under prefix."""
    out = {}
    for key, fields in (("results", ("size", "sha256", "type", "state", "severity")), ("not_scanned", ("reason",)),
                        ("skipped", ("reason",))):
        out[key] = {}
        for e in report.get(key) or []:
            p = path_text(e["path"])
            if p.startswith(prefix):
                out[key][p[len(prefix):]] = {f: e.get(f) for f in fields}
    return out


def main() -> int:
    flscan, images = sys.argv[1], Path(sys.argv[2])
    manifest = json.loads((images / "manifest.json").read_text())
    mbr = next(i for i in manifest["images"] if i["path"] == "mbr.raw")
    with tempfile.TemporaryDirectory() as tmp:
        zeros = Path(tmp) / "zeros.raw"
        zeros.write_bytes(bytes(4 << 20))
        devices = []
        try:
            for path in (images / "mbr.raw", zeros):
                device = attach(path)
                if device is None:
                    print("SKIP: cannot set up a loop device here (needs losetup, root and a free /dev/loopN)")
                    return 77
                devices.append(device)
            device, blank = devices

            as_file = run_json([flscan, "--json", "-", "mbr.raw"], images, "mbr.raw as a file")
            as_device = run_json([flscan, "--json", "-", device], images, f"{device} (mbr.raw)")
            if as_file is not None and as_device is not None:
                check(as_device["_returncode"] == mbr["expected_exit_code"],
                      f"{device}: exit {as_device['_returncode']}, manifest says {mbr['expected_exit_code']}")
                check(not as_device.get("skipped"), f"{device}: skipped entries {as_device.get('skipped')}")
                got = [(v["volume"], v["offset"], v["length"], v["filesystem"], v["status"]) for v in as_device.get("volumes") or []]
                want = [(v["name"], v["offset"], v["size"], v["fs"], "scanned") for v in mbr["volumes"]]
                check(got == want, f"{device}: volumes {got}, manifest {want}")
                check(all(path_text(v["image"]) == device for v in as_device.get("volumes") or []), f"{device}: volumes name another image")
                device_entries = entries(as_device, device + ":")
                file_entries = entries(as_file, "mbr.raw:")
                check(device_entries == file_entries, f"{device}: entries differ from the image file's: "
                      f"{ {k: sorted(set(device_entries[k]) ^ set(file_entries[k]))[:5] for k in device_entries} }")
                check(len(device_entries["results"]) > 0, f"{device}: no results (nt4-infected holds infected files)")

            report = run_json([flscan, "--json", "-", blank], images, f"{blank} (zeros)")
            if report is not None:
                got = {path_text(e["path"]): e["reason"] for e in report.get("not_scanned") or []}
                check(got == {blank + ":vol": "unknown-filesystem"}, f"{blank}: not_scanned {got}")
                check(report["_returncode"] == 2, f"{blank}: exit {report['_returncode']}, want 2")
                check(not report.get("skipped"), f"{blank}: skipped {report.get('skipped')}")
        finally:
            for device in devices:
                subprocess.run(["losetup", "-d", device], check=False)
    return finish("operand_device_test: a disk image and a blank disk as loop devices")


if __name__ == "__main__":
    sys.exit(main())
