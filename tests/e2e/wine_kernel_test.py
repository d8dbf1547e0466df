#!/usr/bin/env python3
"""Wine's real ntoskrnl.exe is no NT kernel (infection-model section 7, issue 12).

Debian's libwine ships ntoskrnl.exe builtins (x86_64-windows and i386-windows) whose PE checksum is
stale, because winebuild stamps "Wine builtin DLL" into the DOS stub after linking. A scan of a
Wine prefix or build tree with `--fail-on suspicious` must not fail on them: flscan must give them
no kernel finding at all. The test first checks, with its own reader, that each file is what makes
the case (a PE with the Wine marker, not of the native subsystem, its CheckSum non-zero and stale),
then scans each alone and all of them copied into one folder as WINNT/System32/ntoskrnl.exe trees.

Exit 77 (skipped) when no Wine ntoskrnl.exe is installed (Debian package libwine).

Usage: wine_kernel_test.py FLSCAN [NTOSKRNL.EXE...]   (default: the installed Wine's)"""
import glob
import shutil
import struct
import sys
import tempfile
from pathlib import Path

from e2e_support import check, finish, run_json

PATTERNS = ("/usr/lib/*-linux-gnu/wine/*-windows/ntoskrnl.exe", "/usr/lib/wine/*-windows/ntoskrnl.exe",
            "/opt/wine*/lib*/wine/*-windows/ntoskrnl.exe")


def pe_checksum(d: bytes, field: int) -> int:
    """imagehlp CheckSumMappedFile: one's-complement 16-bit sum, CheckSum counted as zero, plus length."""
    buf = bytearray(d)
    buf[field:field + 4] = bytes(4)
    if len(buf) % 2:
        buf.append(0)
    total = sum(struct.unpack(f"<{len(buf) // 2}H", buf))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (total + len(d)) & 0xFFFFFFFF


def describe(d: bytes) -> dict:
    lfanew = struct.unpack_from("<I", d, 0x3C)[0]
    assert d[:2] == b"MZ" and d[lfanew:lfanew + 4] == b"PE\0\0"
    opt = lfanew + 24
    header = struct.unpack_from("<I", d, opt + 64)[0]
    return {"marker": b"Wine builtin DLL" in d[0x40:lfanew] or b"Wine placeholder DLL" in d[0x40:lfanew],
            "subsystem": struct.unpack_from("<H", d, opt + 68)[0],
            "checksum": header, "stale": header != 0 and pe_checksum(d, opt + 64) != header}


def main() -> int:
    flscan = sys.argv[1]
    files = sys.argv[2:] or sorted({p for pattern in PATTERNS for p in glob.glob(pattern)})
    if not files:
        print("SKIP: no Wine ntoskrnl.exe installed (Debian package libwine)")
        return 77
    with tempfile.TemporaryDirectory(prefix="flscan-wine-") as tmp:
        for i, path in enumerate(files):
            d = Path(path).read_bytes()
            facts = describe(d)
            print(f"{path}: {facts}")
            check(facts["marker"] and facts["subsystem"] != 1 and facts["stale"],
                  f"{path} is not the case this test is about: {facts}")
            report = run_json([flscan, "--json", "-", "--fail-on", "suspicious", path], None, path)
            if report is not None:
                check(report["_returncode"] == 0, f"{path}: exit {report['_returncode']} with --fail-on suspicious")
                check(report["results"] == [], f"{path}: findings {report['results']}")
            system32 = Path(tmp) / f"prefix{i}" / "WINNT" / "System32"
            system32.mkdir(parents=True)
            shutil.copyfile(path, system32 / "ntoskrnl.exe")
        report = run_json([flscan, "--json", "-", "--fail-on", "suspicious", tmp], None, "copies as WINNT/System32/ntoskrnl.exe")
        if report is not None:
            check(report["_returncode"] == 0, f"tree: exit {report['_returncode']} with --fail-on suspicious")
            check(report["results"] == [], f"tree: findings {report['results']}")
    return finish(f"wine_kernel_test: {len(files)} Wine ntoskrnl.exe files")


if __name__ == "__main__":
    sys.exit(main())
