#!/usr/bin/env python3
"""Real BitLocker volumes made on Windows, opened with their keys through libbde (issue 15).

The images and their keys come from the cryptsetup project's test suite (GPL; see the archive's
README.md), kept outside this repository and extracted into the build tree here; images.conf
gives each image's password (PW) and recovery password (RP):
- bitlk-togo-aes-cbc-128.img: BitLocker To Go, AES-CBC 128-bit (images.conf CIPHER aes-cbc-eboiv).
  Its volume is a FAT volume whose serial number images.conf gives (UUID 168C-33E6): opened with
  the password, and with the recovery password, as a whole image and as partition 2 of an MBR
  disk (sfdisk), the volume is `scanned`, file system fat16, `decrypted_with` the kind of key,
  nothing NOT SCANNED, exit 0 (it holds no file); a wrong password is `key-rejected` (exit 2);
  a recovery password of the right shape but not this volume's is `key-rejected` too.
- bitlk-aes-xts-128.img: BitLocker AES-XTS 128-bit (CIPHER aes-xts-plain64). With its recovery
  password it is decrypted (`decrypted_with` set; tests/image/bitlocker_test.cpp checks the
  plaintext's SHA-256 against images.conf), but the plaintext of this test image holds no NTFS
  that opens (The Sleuth Kit's fsstat fails on it too: the image keeps BitLocker's metadata, not
  a whole file system): NOT SCANNED `unknown-filesystem` saying it was decrypted, exit 2.
The keys never appear in the JSON report or on stderr.

Usage: image_bitlocker_keys_test.py FLSCAN ARCHIVE WORKDIR
Exit 77 (skipped) when ARCHIVE is absent (a checkout without the shared test data)."""
import configparser
import json
import shutil
import subprocess
import sys
from pathlib import Path

from e2e_support import check, finish, path_text

XTS = "bitlk-aes-xts-128.img"
TOGO = "bitlk-togo-aes-cbc-128.img"
SECTOR = 512


def volume_of(report: dict, image: str, name: str) -> dict:
    vols = {v["volume"]: v for v in report.get("volumes") or [] if path_text(v["image"]) == image}
    check(name in vols, f"{image}: no volume {name} in {sorted(vols)}")
    return vols.get(name, {})


def scan(flscan: str, args: list, image: str, workdir: Path, secrets: list, what: str) -> dict | None:
    """The JSON report of one run (exit code as `_returncode`); no key text in it or on stderr."""
    r = subprocess.run([flscan, "--json", "-", *args, image], cwd=workdir, capture_output=True, timeout=300)
    for secret in secrets:
        check(secret.encode() not in r.stdout and secret.encode() not in r.stderr, f"{what}: the key text appears")
    check(r.returncode in (0, 1, 2), f"{what}: exit {r.returncode}; stderr {r.stderr[-1500:]!r}")
    try:
        report = json.loads(r.stdout)
    except ValueError:
        check(False, f"{what}: stdout is not JSON; stderr {r.stderr[-1500:]!r}")
        return None
    report["_returncode"] = r.returncode
    return report


def main() -> int:
    flscan, archive, workdir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if not archive.is_file():
        print(f"SKIP: {archive} is absent (the shared BitLocker test images are not checked out)")
        return 77
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    subprocess.run(["tar", "-xJf", str(archive), "-C", str(workdir), XTS, TOGO, "images.conf"], check=True)
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(workdir / "images.conf", encoding="utf-8")
    togo_conf, xts_conf = conf["bitlk-togo-aes-cbc-128"], conf["bitlk-aes-xts-128"]
    check(togo_conf["CIPHER"] == "aes-cbc-eboiv" and xts_conf["CIPHER"] == "aes-xts-plain64", "images.conf ciphers")
    keys = {
        "togo.pw": togo_conf["PW"], "togo.rp": togo_conf["RP"], "xts.rp": xts_conf["RP"], "wrong.pw": "not-anaconda",
    }
    for name, text in keys.items():
        (workdir / name).write_text(text + "\n")
    secrets = list(keys.values())

    # The To Go volume as a whole image and as partition 2 of an MBR disk (p1: the XTS volume).
    sectors = (workdir / TOGO).stat().st_size // SECTOR
    disk = workdir / "disk.img"
    start2 = 2048 + sectors
    subprocess.run(["truncate", "-s", str((start2 + sectors + 2048) * SECTOR), str(disk)], check=True)
    script = f"label: dos\nstart=2048, size={sectors}, type=7\nstart={start2}, size={sectors}, type=c\n"
    subprocess.run(["sfdisk", "-q", str(disk)], input=script.encode(), check=True)
    for image, start in ((XTS, 2048), (TOGO, start2)):
        subprocess.run(["dd", f"if={workdir / image}", f"of={disk}", "bs=1M", f"seek={start * SECTOR}",
                        "oflag=seek_bytes", "conv=notrunc,sparse", "status=none"], check=True)

    for image, name in ((TOGO, "vol"), ("disk.img", "p2")):
        for option, key, kind in (("--bitlocker-password", "togo.pw", "bitlocker-password"),
                                  ("--bitlocker-recovery-password", "togo.rp", "bitlocker-recovery-password")):
            what = f"{image}:{name} {option}"
            report = scan(flscan, [option, key], image, workdir, secrets, what)
            if report is None:
                continue
            vol = volume_of(report, image, name)
            check(vol.get("status") == "scanned" and vol.get("filesystem") == "fat16" and vol.get("decrypted_with") == kind,
                  f"{what}: volume {vol}")
            inside = [path_text(e["path"]) for e in report["not_scanned"] if path_text(e["path"]).startswith(f"{image}:{name}")]
            check(not inside, f"{what}: not scanned inside the volume: {inside[:5]}")
            if image == TOGO:
                check(report["_returncode"] == 0 and report["summary"]["complete"] is True,
                      f"{what}: exit {report['_returncode']}, complete {report['summary']['complete']}")

    # Wrong keys: key-rejected, never clean.
    for args, what in ((["--bitlocker-password", "wrong.pw"], "wrong password"),
                       (["--bitlocker-recovery-password", "xts.rp"], "another volume's recovery password")):
        report = scan(flscan, args, TOGO, workdir, secrets, f"{TOGO} {what}")
        if report is None:
            continue
        vol = volume_of(report, TOGO, "vol")
        check(vol.get("status") == "error" and vol.get("reason") == "key-rejected", f"{TOGO} {what}: volume {vol}")
        check(report["_returncode"] == 2, f"{TOGO} {what}: exit {report['_returncode']}")

    # AES-XTS with its right key: decrypted, but no file system opens in this test image's plaintext.
    report = scan(flscan, ["--bitlocker-recovery-password", "xts.rp"], XTS, workdir, secrets, f"{XTS} recovery password")
    if report is not None:
        vol = volume_of(report, XTS, "vol")
        check(vol.get("status") == "error" and vol.get("reason") == "unknown-filesystem" and
              vol.get("decrypted_with") == "bitlocker-recovery-password" and "AES-XTS" in vol.get("detail", "") and
              "decrypted" in vol.get("detail", ""), f"{XTS}: volume {vol}")
        check(report["_returncode"] == 2, f"{XTS}: exit {report['_returncode']}")
    return finish("image_bitlocker_keys_test: real BitLocker volumes opened with their keys")


if __name__ == "__main__":
    sys.exit(main())
