#!/usr/bin/env python3
"""Each file is opened once and read at most once; a file that is not an MZ file costs one small read.

flscan runs under strace (one log per thread, `-y` so every file descriptor shows its path) on a
tree made here: corpus samples of every state the manifest lists (up to 3 each, `.exe` files),
a clean program grown to 24 MiB with an overlay (streamed in 1 MiB chunks, all of it), and files that are not
programs: empty, a few bytes of text, 100 KB and 6 MB of pseudo-random bytes. Then, for every file
of the tree, from the system calls alone:

- exactly one open (`open`/`openat`, whichever flags) with --read-order listing; with --read-order
  disk (issue 19) at most one more, which reads nothing (the FIEMAP lookup of where its data starts):
  all of a file's reads are on one descriptor;
- a file that does not start with "MZ": at most one read, of at most 64 KiB (the sniff);
- an MZ file: no byte read twice (the byte ranges of its reads are disjoint) and no more bytes
  than the file holds;
- no `mmap` of a tree file (reads that would escape this accounting).

Usage: io_per_file_test.py FLSCAN CORPUS_DIR"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from e2e_support import SANITIZER_MARKS, check, failures, finish

SNIFF_CAP = 64 * 1024
READ_CALLS = {"read", "pread64", "readv", "preadv", "preadv2"}
# name(args) = result, where -y annotates descriptors as N</path>.
CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)(?:<(.*)>)?")
FD_ARG = re.compile(r"^(\d+)<(.*?)>(?:, |$)")


def build_tree(tree: Path, corpus: Path) -> dict[str, bool]:
    """Makes the tree; returns path -> starts with MZ (how each file was built)."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    taken: dict[str, int] = defaultdict(int)
    files: dict[str, bool] = {}
    for entry in manifest["files"]:
        if not entry["path"].endswith(".exe") or taken[entry["expected"]] >= 3:
            continue
        taken[entry["expected"]] += 1
        target = tree / entry["expected"] / Path(entry["path"]).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / entry["path"], target)
        files[str(target)] = (corpus / entry["path"]).read_bytes()[:2] == b"MZ"
    rng = random.Random(20261127)
    clean = next(e["path"] for e in manifest["files"] if e["expected"] == "clean" and e["path"].endswith(".exe"))
    big = tree / "big" / "grown.exe"
    big.parent.mkdir()
    with big.open("wb") as out:
        out.write((corpus / clean).read_bytes())
        while out.tell() < 24 << 20:
            out.write(rng.randbytes(1 << 20))
    files[str(big)] = True
    other = tree / "other"
    other.mkdir()
    for name, data in (("empty.dat", b""), ("note.txt", b"not a program\n"),
                       ("random.bin", rng.randbytes(100_000)), ("large.bin", rng.randbytes(6 << 20))):
        if data[:2] == b"MZ":
            data = b"XX" + data[2:]
        (other / name).write_bytes(data)
        files[str(other / name)] = False
    return files


def main() -> int:
    flscan, corpus = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2]).resolve()
    if not check(shutil.which("strace") is not None, "strace is not installed (.ci/install-deps.sh installs it)"):
        print("FAIL:", failures[0])
        return 1
    probe = subprocess.run(["strace", "-qq", "-o", "/dev/null", "true"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        # A container that forbids ptrace: nothing can be counted here. ctest shows the test as
        # skipped (SKIP_RETURN_CODE 77) with this reason, never as passed.
        print("SKIPPED: strace cannot trace on this machine (ptrace refused?):",
              probe.stderr.decode("utf-8", "replace").strip()[:300])
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        files = build_tree(tree, corpus)
        for order in ("listing", "disk"):
            account(flscan, tree, files, Path(tmp) / order, order)

    return finish(f"io_per_file_test: {len(files)} files, listing and disk order")


def account(flscan: str, tree: Path, files: dict, scratch: Path, order: str) -> None:
    """One traced scan of `tree` with --read-order `order`, every file's opens and reads checked."""
    scratch.mkdir()
    tmp = str(scratch)
    logs = Path(tmp) / "logs"
    logs.mkdir()
    # LeakSanitizer cannot stop a traced process's threads (it uses ptrace itself): in the
    # sanitizer build, leaks are left to every other test and only ASan/UBSan watch this run.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    r = subprocess.run(["strace", "-ff", "-qq", "-y", "-s", "0", "-o", str(logs / "t"),
                        "-e", "trace=open,openat,openat2,read,pread64,readv,preadv,preadv2,mmap",
                        flscan, "--progress", "never", "--read-order", order, "--json", str(Path(tmp) / "r.json"),
                        str(tree)],
                       env=env, capture_output=True, timeout=600)
    stderr = r.stderr.decode("utf-8", "replace")
    check(r.returncode in (0, 1, 2), f"flscan exit {r.returncode}; stderr: {stderr[-1500:]}")
    check(not any(m in stderr for m in SANITIZER_MARKS), f"sanitizer report: {stderr[-3000:]}")
    report = json.loads((Path(tmp) / "r.json").read_text())
    check(report["summary"]["files_seen"] == len(files),
          f"files_seen {report['summary']['files_seen']}, the tree holds {len(files)}")

    opens: dict[str, int] = defaultdict(int)
    reads: dict[str, list] = defaultdict(list)  # path -> [(offset or None, requested, got)]
    position: dict[tuple, int] = {}  # (log, fd) -> offset of the next read()
    opening: dict[tuple, tuple] = {}  # (log, fd) -> (path, how many opens of it before)
    reading_opens: dict[str, set] = defaultdict(set)  # path -> the opens its reads were made on
    for log in sorted(logs.iterdir()):
        for line in log.read_text("utf-8", "replace").splitlines():
            m = CALL.match(line)
            if not m:
                continue
            name, args, result, result_path = m.group(1), m.group(2), int(m.group(3)), m.group(4)
            if name in ("open", "openat", "openat2"):
                if result >= 0 and result_path in files:
                    opening[(log.name, result)] = (result_path, opens[result_path])
                    opens[result_path] += 1
                    position[(log.name, result)] = 0
                continue
            if name == "mmap":
                for path in files:
                    check(f"<{path}>" not in args, f"{path}: mapped into memory ({line[:120]})")
                continue
            fd = FD_ARG.match(args)
            if name not in READ_CALLS or not fd or fd.group(2) not in files:
                continue
            parts = [p.strip() for p in args.split(",")]
            got = max(result, 0)
            reading_opens[fd.group(2)].add(opening.get((log.name, int(fd.group(1))), (None, None))[1])
            if name == "pread64":
                reads[fd.group(2)].append((int(parts[-1]), int(parts[-2]), got))
            elif name == "read":
                key = (log.name, int(fd.group(1)))
                offset = position.get(key, 0)
                position[key] = offset + got
                reads[fd.group(2)].append((offset, int(parts[-1]), got))
            else:  # vectored: counted, not placed
                reads[fd.group(2)].append((None, got, got))

    for path, is_mz in sorted(files.items()):
        size = Path(path).stat().st_size
        most = 1 if order == "listing" else 2
        check(1 <= opens[path] <= most, f"{order} order: {path}: opened {opens[path]} times")
        check(len(reading_opens[path]) <= 1, f"{order} order: {path}: read through {len(reading_opens[path])} opens")
        calls = reads[path]
        if not is_mz:
            check(len(calls) <= 1, f"{path}: {len(calls)} reads of a file that is not an MZ file: {calls[:4]}")
            check(all(requested <= SNIFF_CAP for _, requested, _ in calls),
                  f"{path}: a read of {[c[1] for c in calls]} bytes for the sniff (cap {SNIFF_CAP})")
            continue
        total = sum(got for _, _, got in calls)
        check(total <= size, f"{path}: {total} bytes read from a file of {size}")
        ranges = sorted((offset, offset + got) for offset, _, got in calls if offset is not None and got > 0)
        for (a0, a1), (b0, b1) in zip(ranges, ranges[1:]):
            check(b0 >= a1, f"{path}: bytes {b0}..{min(a1, b1)} read twice")
        if Path(path).name == "grown.exe":
            # Over --stream-above (8 MiB): streamed in 1 MiB chunks, every byte once, all of them.
            check(total == size and len(calls) >= size // (1 << 20),
                  f"{path}: {total} of its {size} bytes read in {len(calls)} calls (streamed: 1 MiB chunks)")


if __name__ == "__main__":
    sys.exit(main())
