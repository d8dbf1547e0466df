#!/usr/bin/env python3
"""Real BitLocker volumes made on Windows are `encrypted-volume`, never a clean FAT.

The images come from the cryptsetup project's test suite (GPL; see the archive's README.md), kept
outside this repository: the archive is extracted into the build tree here. Two volumes:
- bitlk-aes-xts-128.img: BitLocker, "-FVE-FS-" at offset 3 of its boot sector;
- bitlk-togo-aes-cbc-128.img: BitLocker To Go: a FAT32 "discovery volume" in front (OEM
  "MSWIN4.1" at offset 3, the discovery-volume GUID 4967D63B-2E29-4AD8-8399-F6A339E3D001 at
  0x1A8), whose files are only the reader program; the data is ciphertext.
The layout facts are checked on the bytes first (they are what the synthetic fixture of
tests/image/image_test.cpp copies). Then each volume is scanned as a whole image and as a
partition of an MBR disk (sfdisk; the volumes copied in sparse): its volume is NOT SCANNED
`encrypted-volume`, no file of it is seen, the exit code is 2 (incomplete).

Usage: image_bitlocker_test.py FLSCAN ARCHIVE WORKDIR
Exit 77 (skipped) when ARCHIVE is absent (a checkout without the shared test data)."""
import shutil
import subprocess
import sys
from pathlib import Path

from e2e_support import check, finish, path_text, run_json

XTS = "bitlk-aes-xts-128.img"
TOGO = "bitlk-togo-aes-cbc-128.img"
DISCOVERY_GUID = bytes.fromhex("3bd66749292ed84a8399f6a339e3d001")  # 4967D63B-2E29-4AD8-8399-F6A339E3D001 as stored
SECTOR = 512


def check_encrypted(flscan: str, operand: Path, volume: str, workdir: Path, what: str) -> None:
    report = run_json([flscan, "--json", "-", str(operand)], workdir, what)
    if report is None:
        return
    where = f"{operand}:{volume}"
    entries = {path_text(e["path"]): e for e in report.get("not_scanned") or []}
    entry = entries.get(where)
    if check(entry is not None, f"{what}: no not_scanned entry {where}; got {sorted(entries)}"):
        check(entry["reason"] == "encrypted-volume", f"{what}: reason {entry['reason']}, want encrypted-volume")
    volumes = {v["volume"]: v for v in report.get("volumes") or []}
    vol = volumes.get(volume)
    if check(vol is not None, f"{what}: no volume {volume} in {sorted(volumes)}"):
        check(vol["status"] == "error" and vol["reason"] == "encrypted-volume", f"{what}: volume {vol}")
    inside = [path_text(e["path"]) for key in ("results", "not_scanned", "skipped") for e in report.get(key) or []
              if path_text(e["path"]).startswith(where + "/")]
    check(not inside, f"{what}: entries read from inside the encrypted volume: {inside[:5]}")
    check(report["_returncode"] == 2, f"{what}: exit {report['_returncode']}, want 2 (incomplete)")
    check(report["summary"]["complete"] is False, f"{what}: summary.complete is not false")


def main() -> int:
    flscan, archive, workdir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if not archive.is_file():
        print(f"SKIP: {archive} is absent (the shared BitLocker test images are not checked out)")
        return 77
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    subprocess.run(["tar", "-xJf", str(archive), "-C", str(workdir), XTS, TOGO], check=True)
    xts, togo = workdir / XTS, workdir / TOGO

    with xts.open("rb") as f:
        boot = f.read(SECTOR)
    check(boot[3:11] == b"-FVE-FS-", f"{XTS}: no -FVE-FS- at offset 3: {boot[3:11]!r}")
    with togo.open("rb") as f:
        boot = f.read(SECTOR)
    check(boot[3:11] == b"MSWIN4.1", f"{TOGO}: OEM {boot[3:11]!r}, want MSWIN4.1")
    check(boot[0x1A8:0x1B8] == DISCOVERY_GUID, f"{TOGO}: no discovery-volume GUID at 0x1A8: {boot[0x1A8:0x1B8].hex()}")
    check(boot[510:512] == b"\x55\xaa" and boot[82:90] == b"FAT32   ", f"{TOGO}: not a FAT32 boot sector in front")

    for image in (xts, togo):
        check_encrypted(flscan, image, "vol", workdir, f"{image.name} as a whole image")

    # Both as partitions of one MBR disk: p1 the BitLocker volume, p2 the To Go volume.
    sectors = xts.stat().st_size // SECTOR
    disk = workdir / "disk.img"
    disk.unlink(missing_ok=True)
    start2 = 2048 + sectors
    subprocess.run(["truncate", "-s", str((start2 + sectors + 2048) * SECTOR), str(disk)], check=True)
    script = f"label: dos\nstart=2048, size={sectors}, type=7\nstart={start2}, size={sectors}, type=c\n"
    subprocess.run(["sfdisk", "-q", str(disk)], input=script.encode(), check=True)
    for image, start in ((xts, 2048), (togo, start2)):
        subprocess.run(["dd", f"if={image}", f"of={disk}", "bs=1M", f"seek={start * SECTOR}", "oflag=seek_bytes",
                        "conv=notrunc,sparse", "status=none"], check=True)
    report_what = "MBR disk with both volumes"
    check_encrypted(flscan, disk, "p1", workdir, report_what + " (p1, -FVE-FS-)")
    check_encrypted(flscan, disk, "p2", workdir, report_what + " (p2, To Go)")
    return finish("image_bitlocker_test: 2 real BitLocker volumes, whole and as partitions")


if __name__ == "__main__":
    sys.exit(main())
