#!/usr/bin/env python3
"""How far the disk head would travel while flscan scans a disk image: the sum of the distances
between consecutive reads of the image (issue 19, "reads in on-disk order").

    python3 bench/seek_order.py FLSCAN IMAGE [--before OLD_FLSCAN] [--threads 1,2]
    python3 bench/seek_order.py FLSCAN --make-ntfs IMAGE [--files 300] ...

Runs `flscan --image IMAGE` under strace (pread64, lseek + read of the image's descriptors,
every thread), and for each run prints the number of reads, the bytes read and the seek distance: the
sum over consecutive reads of |start of this read - end of the previous read|. A head that reads
front to back travels about the image's size; one that jumps between two places in the image
travels much more. The distance does not depend on the machine's load, so it can be measured on a
busy machine; the cold-cache wall time of the same scan is bench/run.py's disk-image rows.
`--before` measures another flscan build the same way (e.g. one from before the change).

`--make-ntfs` first writes IMAGE: an NTFS volume (mkntfs, ntfscp; no mount, no root) holding
--files MZ files of 20-200 KiB copied in in a shuffled order (fixed seed). NTFS lists a directory
in name order while it allocates data in the order files arrive, so the listing order and the
on-disk order differ, as on a disk that has lived."""
import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPEN = re.compile(r'^(\d+)\s+openat\(AT_FDCWD, "([^"]*)", [^)]*\)\s+= (\d+)')
PREAD = re.compile(r'^(\d+)\s+pread64\((\d+), .*, (\d+), (\d+)\)\s+= (\d+)')
CLOSE = re.compile(r'^(\d+)\s+close\((\d+)\)\s+= 0')
LSEEK = re.compile(r'^(\d+)\s+lseek\((\d+), (-?\d+), SEEK_SET\)\s+= (\d+)')
READ = re.compile(r'^(\d+)\s+read\((\d+), .*, (\d+)\)\s+= (\d+)')


def joined_lines(trace: Path):
    """The trace's lines, a call that another thread interrupted ("<unfinished ...>" then
    "<... read resumed>") joined back into one line."""
    pending = {}
    for line in trace.read_text(errors="replace").splitlines():
        pid, _, rest = line.partition(" ")
        if line.endswith("<unfinished ...>"):
            pending[pid] = line[: -len("<unfinished ...>")].rstrip()
        elif rest.lstrip().startswith("<... ") and "resumed>" in rest:
            yield pending.pop(pid, pid + " ?(") + rest.split("resumed>", 1)[1]
        else:
            yield line


def seek_distance(trace: Path, image: str) -> tuple:
    """(reads, bytes, distance) of the reads (pread64, or lseek + read as The Sleuth Kit's raw
    image does) on descriptors that name `image`."""
    position = {}  # descriptor of the image -> its file offset
    reads = total = distance = 0
    previous_end = None
    for line in joined_lines(trace):
        got = None
        if m := OPEN.match(line):
            if Path(m.group(2)).resolve() == Path(image).resolve():
                position[int(m.group(3))] = 0
        elif m := CLOSE.match(line):
            position.pop(int(m.group(2)), None)
        elif m := LSEEK.match(line):
            if int(m.group(2)) in position:
                position[int(m.group(2))] = int(m.group(4))
        elif m := PREAD.match(line):
            fd, offset, got = int(m.group(2)), int(m.group(4)), int(m.group(5))
        elif m := READ.match(line):
            fd, got = int(m.group(2)), int(m.group(4))
            offset = position.get(fd, 0)
            if fd in position:
                position[fd] += got
        if got is None or got == 0 or fd not in position:
            continue
        if previous_end is not None:
            distance += abs(offset - previous_end)
        previous_end = offset + got
        reads += 1
        total += got
    return reads, total, distance


def measure(flscan: str, image: str, threads: int) -> tuple:
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace"
        command = ["strace", "-f", "-qq", "-e", "trace=openat,pread64,read,lseek,close", "-o", str(trace),
                   flscan, "--image", "-q", "-j", str(threads), "--json", str(Path(tmp) / "report.json"), image]
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode not in (0, 1, 2):
            sys.exit(f"{' '.join(command)}: exit {run.returncode}: {run.stderr}")
        return seek_distance(trace, image)


def make_ntfs(image: Path, files: int) -> None:
    rng = random.Random(19)
    with tempfile.TemporaryDirectory() as tmp:
        sources = []
        for i in range(files):
            size = rng.randrange(20, 200) * 1024
            body = bytearray(rng.randbytes(size))
            body[0:2] = b"MZ"
            source = Path(tmp) / f"f{i:05d}.exe"
            source.write_bytes(bytes(body))
            sources.append(source)
        total = sum(s.stat().st_size for s in sources)
        megabytes = total // (1 << 20) + 32
        subprocess.run(["truncate", "-s", f"{megabytes}M", str(image)], check=True)
        subprocess.run(["mkntfs", "-q", "-F", "-f", str(image)], check=True, stderr=subprocess.DEVNULL)
        rng.shuffle(sources)
        for source in sources:
            subprocess.run(["ntfscp", "-f", str(image), str(source), source.name], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def drop_caches() -> bool:
    """Empties the page cache (root only), so the next scan reads the image from the disk."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def cold_seconds(flscan: str, image: str, threads: int) -> float | None:
    """Wall time of one scan of `image` right after the page cache was emptied."""
    if not drop_caches():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        subprocess.run([flscan, "--image", "-q", "-j", str(threads), "--json", str(Path(tmp) / "r.json"), image],
                       capture_output=True)
        return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("flscan")
    parser.add_argument("image")
    parser.add_argument("--before", help="another flscan binary to measure the same way")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--make-ntfs", action="store_true", help="write IMAGE first (see above)")
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--cold-runs", type=int, default=0,
                        help="also time this many cold-cache scans per binary and thread count (root: drops the page "
                             "cache before each; the runs of the binaries alternate), and print the medians")
    args = parser.parse_args()
    if args.make_ntfs:
        make_ntfs(Path(args.image), args.files)
    size = Path(args.image).stat().st_size
    print(f"image {args.image}: {size:,} bytes")
    print("| flscan | threads | reads | bytes read | seek distance | distance / image size |")
    print("|---|---|---|---|---|---|")
    binaries = [("this", args.flscan)] + ([("before", args.before)] if args.before else [])
    for label, binary in binaries:
        for threads in (int(t) for t in args.threads.split(",")):
            reads, total, distance = measure(binary, args.image, threads)
            print(f"| {label} | {threads} | {reads:,} | {total:,} | {distance:,} | {distance / size:.2f} |")
    if args.cold_runs > 0:
        print()
        print("| flscan | threads | cold-cache wall time, median (s) | runs |")
        print("|---|---|---|---|")
        for threads in (int(t) for t in args.threads.split(",")):
            times = {label: [] for label, _ in binaries}
            for _ in range(args.cold_runs):
                for label, binary in binaries:
                    seconds = cold_seconds(binary, args.image, threads)
                    if seconds is None:
                        sys.exit("--cold-runs needs root (writes /proc/sys/vm/drop_caches)")
                    times[label].append(seconds)
            for label, _ in binaries:
                print(f"| {label} | {threads} | {statistics.median(times[label]):.3f} | {len(times[label])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
