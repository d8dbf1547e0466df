#!/usr/bin/env python3
"""Candidate seed inputs for the fuzz targets, from the generated corpus and the signature files.

    fuzz/seeds.py CORPUS_DIR OUT_DIR

CORPUS_DIR is a built corpus (<build>/corpus, `cmake --build ... --target corpus`). OUT_DIR gets
one directory per target, in each target's input layout (fuzz/README.md):

  fuzz_pe/          every MZ file of the corpus and every file named ntoskrnl.exe, ntkrnlmp.exe or
                    NTLDR, behind the role byte the scanner would give it (0 ordinary, 1 kernel,
                    2 loader; a kernel or loader too large is cut to 4 KiB around its patch site),
                    plus the small non-MZ files (role 0) for the detector's non-PE path
  fuzz_signatures/  signatures/*.ndb and tests/signatures/data/*, behind the format byte (0 .ndb,
                    1 .hdb, 2 .hsb), and .hdb/.hsb lines made from some corpus files' digests
  fuzz_hive/        the corpus's hives ("regf") and every hive scenario of windows_fixtures.py,
                    the hostile ones included
  fuzz_evtlog/      the corpus's event logs ("LfLe" at offset 4) and every EVT scenario
  fuzz_event_record/ the same logs without their 48-byte file header: records back to back, as
                    ReadEventLogW returns them

Files larger than the target's -max_len (run.sh) are left out. The candidates are then minimised
into fuzz/corpus/<target>/ by `fuzz/run.sh --update-seeds --extra-seeds OUT_DIR 0`.
"""
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

# Must match MAX_LEN in run.sh.
MAX_LEN = {"fuzz_pe": 128 * 1024, "fuzz_signatures": 4 * 1024, "fuzz_hive": 64 * 1024, "fuzz_evtlog": 64 * 1024,
           "fuzz_event_record": 64 * 1024}
ROLE = {"ntoskrnl.exe": 1, "ntkrnlmp.exe": 1, "ntldr": 2}
KIND = {".ndb": 0, ".hdb": 1, ".hsb": 2}


# The first bytes of the section-7 patch sites (engine/funlove.cpp kKernelPatches, kLoaderPatches):
# a kernel or loader too large for -max_len is cut to a window around the site, original or patched.
PATCH_SITES = (b"\x3b\x46\x58", b"\x3b\x47\x58", b"\x5f\x5e\x5b\x5d\xc2\x28\x00", b"\x5e\x5b\x5d\xc2\x28")
WINDOW = 4096


def patch_window(data: bytes) -> bytes:
    hits = [at for at in (data.find(site) for site in PATCH_SITES) if at >= 0]
    at = min(hits) if hits else 0
    return data[max(0, at - WINDOW // 2):at + WINDOW // 2]


class Writer:
    def __init__(self, out: Path):
        self.out = out
        self.counts = {}

    def add(self, target: str, data: bytes) -> None:
        if len(data) > MAX_LEN[target]:
            return
        d = self.out / target
        d.mkdir(parents=True, exist_ok=True)
        (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
        self.counts[target] = self.counts.get(target, 0) + 1


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
    if not (corpus / "manifest.json").is_file():
        print(f"{corpus}: no manifest.json (build the corpus target first)", file=sys.stderr)
        return 1
    source = Path(__file__).resolve().parent.parent
    w = Writer(out)

    hashed = 0
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        if path.name == "manifest.json" or path.suffix in (".json", ".txt", ".cmake"):
            continue
        data = path.read_bytes()
        role = ROLE.get(path.name.lower(), 0)
        if data[:2] == b"MZ" or role:
            w.add("fuzz_pe", bytes([role]) + data)
            if role and len(data) >= MAX_LEN["fuzz_pe"]:
                w.add("fuzz_pe", bytes([role]) + patch_window(data))
            if hashed < 8:  # a few real digests, so hash signatures can match something
                hashed += 1
                name = f"Fuzz.Seed.{hashed}"
                w.add("fuzz_signatures", b"\x01" + f"{hashlib.md5(data).hexdigest()}:{len(data)}:{name}\n".encode())
                w.add("fuzz_signatures", b"\x02" + f"{hashlib.sha256(data).hexdigest()}:*:{name}:73\n".encode())
        elif data[:4] == b"regf":
            w.add("fuzz_hive", data)
        elif data[4:8] == b"LfLe":
            w.add("fuzz_evtlog", data)
            w.add("fuzz_event_record", data[48:])
        elif len(data) <= 4096:
            w.add("fuzz_pe", b"\x00" + data)

    for sigs in [*sorted((source / "signatures").glob("*.?db")), *sorted((source / "tests/signatures/data").iterdir())]:
        if sigs.suffix.lower() in KIND:
            w.add("fuzz_signatures", bytes([KIND[sigs.suffix.lower()]]) + sigs.read_bytes())

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(source / "corpus/windows_fixtures.py"), "all", tmp], check=True,
                       stdout=subprocess.DEVNULL)
        for path in sorted(Path(tmp).iterdir()):
            data = path.read_bytes()
            if path.suffix == ".hiv":
                w.add("fuzz_hive", data)
            elif path.suffix == ".evt":
                w.add("fuzz_evtlog", data)
                w.add("fuzz_event_record", data[48:])

    for target in MAX_LEN:
        print(f"{target}: {w.counts.get(target, 0)} candidates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
