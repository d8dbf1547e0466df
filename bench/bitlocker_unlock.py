#!/usr/bin/env python3
"""Wall and CPU time of scanning real BitLocker volumes opened with their keys (issue 19).

Opening a BitLocker volume with a password or a recovery password derives its volume key
(BitLocker's key stretching, about 0.9 s of CPU in libbde), so what a scan of a small volume costs
is mostly how many times it unlocks the volume. The volumes are the shared test data (two real
volumes made on Windows, cryptsetup's test suite; their keys in images.conf), extracted here:
- togo-pw, togo-rp: bitlk-togo-aes-cbc-128.img (BitLocker To Go, a FAT16 volume inside) with its
  password, with its recovery password;
- xts-rp: bitlk-aes-xts-128.img with its recovery password (decrypted; no file system opens in
  this test image's plaintext, so it is never listed).
Each case runs RUNS times per flscan (`--threads` as given, default 2); the medians of the wall
time and of the CPU time (user + system, the child's rusage) are printed as a Markdown table.

Usage: bitlocker_unlock.py FLSCAN ARCHIVE [--before OTHER_FLSCAN] [--runs 5] [--threads 2]"""
import argparse
import configparser
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

XTS = "bitlk-aes-xts-128.img"
TOGO = "bitlk-togo-aes-cbc-128.img"


def timed(command: list, cwd: Path) -> tuple:
    """(wall seconds, CPU seconds, exit code) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("flscan")
    parser.add_argument("archive")
    parser.add_argument("--before", help="another flscan to compare with")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    binaries = [("this", args.flscan)] + ([("before", args.before)] if args.before else [])
    with tempfile.TemporaryDirectory(prefix="flscan-bitlocker-bench-") as scratch:
        work = Path(scratch)
        subprocess.run(["tar", "-xJf", args.archive, "-C", str(work), XTS, TOGO, "images.conf"], check=True)
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(work / "images.conf", encoding="utf-8")
        keys = {"togo.pw": conf["bitlk-togo-aes-cbc-128"]["PW"], "togo.rp": conf["bitlk-togo-aes-cbc-128"]["RP"],
                "xts.rp": conf["bitlk-aes-xts-128"]["RP"]}
        for name, text in keys.items():
            (work / name).write_text(text + "\n")
        cases = [
            ("togo-pw", ["--bitlocker-password", "togo.pw", TOGO]),
            ("togo-rp", ["--bitlocker-recovery-password", "togo.rp", TOGO]),
            ("xts-rp", ["--bitlocker-recovery-password", "xts.rp", XTS]),
        ]
        print("| case | flscan | wall, median (s) | CPU, median (s) | exit | runs |")
        print("|---|---|---|---|---|---|")
        for case, case_args in cases:
            for label, flscan in binaries:
                command = [flscan, "-q", "--threads", str(args.threads), *case_args]
                runs = [timed(command, work) for _ in range(args.runs)]
                exits = sorted({r[2] for r in runs})
                print(f"| {case} | {label} | {statistics.median(r[0] for r in runs):.3f} | "
                      f"{statistics.median(r[1] for r in runs):.3f} | {','.join(map(str, exits))} | {args.runs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
