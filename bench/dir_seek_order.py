#!/usr/bin/env python3
"""How far a disk head would travel while flscan scans a directory tree, in listing order and in
disk order (issue 19, --read-order), on an ext4 file system mounted through a loop device.

    python3 bench/dir_seek_order.py FLSCAN SOURCE_TREE [--image FILE] [--threads 1,2] [--cold-runs 3]

SOURCE_TREE (e.g. `python3 bench/gen_tree.py --corpus build/release/corpus --scale 0.2 OUT`, then
OUT/tree) is copied file by file into a fresh ext4 file system in FILE (mkfs.ext4, mount -o loop:
root) in a shuffled order (fixed seed), each file synced as it is written: ext4 then places a
directory's files in the order they arrived while listing them in hash order, as on a disk that
has lived. flscan scans the copy under strace (pread64 of every thread, in the order strace saw
them), once per --read-order and thread count.

Seek distance: the sum over consecutive data reads of |physical byte where read i starts - physical
byte where read i-1 ended|, each read's file offset mapped to the device through the file's
extents (FIEMAP, read by this script after the copy). Reads of metadata (inodes, directories,
extent blocks) are the same in both orders and are not counted. A head reading front to back
travels about the data's extent once; one jumping between files travels far more. The distance
does not depend on the machine's load.

--cold-runs N also times N cold-cache scans per order and thread count (the page cache dropped
before each, the orders alternating) and prints the medians. On a virtual disk (virtio reports
rotational=1 but does not seek) they do not show what a spinning disk would gain."""
import argparse
import array
import fcntl
import os
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seek_order import joined_lines  # noqa: E402  (a call another thread interrupted, joined back)

FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
EXTENTS_PER_CALL = 64
PREAD = re.compile(r"^\d+\s+pread64\(\d+<([^>]*)>,\s*[^,]*, (\d+), (\d+)\)\s+= (\d+)")


def extents(path: Path) -> list:
    """[(logical, physical, length)] of the whole file (FS_IOC_FIEMAP, in calls of 64 extents)."""
    out, start = [], 0
    with open(path, "rb") as f:
        while True:
            header = struct.pack("=QQIIII", start, 0xFFFFFFFFFFFFFFFF - start, FIEMAP_FLAG_SYNC, 0,
                                 EXTENTS_PER_CALL, 0)
            buffer = array.array("B", header + bytes(56 * EXTENTS_PER_CALL))
            fcntl.ioctl(f.fileno(), FS_IOC_FIEMAP, buffer, True)
            mapped = struct.unpack_from("=I", buffer, 20)[0]
            last = False
            for i in range(mapped):
                logical, physical, length = struct.unpack_from("=QQQ", buffer, 32 + 56 * i)
                flags = struct.unpack_from("=I", buffer, 32 + 56 * i + 40)[0]
                out.append((logical, physical, length))
                last = last or bool(flags & 0x1)  # FIEMAP_EXTENT_LAST
            if mapped == 0 or last:
                return out
            start = out[-1][0] + out[-1][2]


def physical(extent_list: list, offset: int) -> int | None:
    for logical, phys, length in extent_list:
        if logical <= offset < logical + length:
            return phys + offset - logical
    return None


def copy_shuffled(source: Path, target: Path) -> int:
    """Copies every regular file of `source` into `target` in a shuffled order; returns the count."""
    files = [p for p in source.rglob("*") if p.is_file() and not p.is_symlink()]
    for directory in sorted({p.parent for p in files}):
        (target / directory.relative_to(source)).mkdir(parents=True, exist_ok=True)
    random.Random(19).shuffle(files)
    for path in files:
        destination = target / path.relative_to(source)
        with open(path, "rb") as src, open(destination, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
    os.sync()
    return len(files)


def seek_distance(flscan: str, tree: Path, order: str, threads: int, maps: dict) -> tuple:
    """(reads, bytes, distance) of one traced scan."""
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace"
        subprocess.run(["strace", "-f", "-qq", "-y", "-s", "0", "-o", str(trace), "-e", "trace=pread64", flscan,
                        "-q", "--progress", "never", "--read-order", order, "-j", str(threads), "--json",
                        str(Path(tmp) / "r.json"), str(tree)], capture_output=True, check=False)
        reads = total = distance = 0
        previous_end = None
        for line in joined_lines(trace):
            m = PREAD.match(line)
            if not m or m.group(1) not in maps or int(m.group(4)) <= 0:
                continue
            offset, got = int(m.group(3)), int(m.group(4))
            start = physical(maps[m.group(1)], offset)
            end = physical(maps[m.group(1)], offset + got - 1)
            if start is None or end is None:
                continue  # a hole: nothing read from the device
            if previous_end is not None:
                distance += abs(start - previous_end)
            previous_end = end + 1
            reads += 1
            total += got
        return reads, total, distance


def cold_seconds(flscan: str, tree: Path, order: str, threads: int) -> float:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        subprocess.run([flscan, "-q", "--progress", "never", "--read-order", order, "-j", str(threads), "--json",
                        str(Path(tmp) / "r.json"), str(tree)], capture_output=True, check=False)
        return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("flscan")
    parser.add_argument("source", type=Path)
    parser.add_argument("--image", type=Path, help="the ext4 file to make (default: a temporary file)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--cold-runs", type=int, default=0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root: mount -o loop (and drop_caches for --cold-runs)")
    flscan = str(Path(args.flscan).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        image = args.image or Path(tmp) / "ext4.img"
        size = sum(p.stat().st_size for p in args.source.rglob("*") if p.is_file() and not p.is_symlink())
        with open(image, "wb") as f:
            f.truncate(size + size // 4 + (256 << 20))
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
        mnt = Path(tmp) / "mnt"
        mnt.mkdir()
        subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], check=True)
        try:
            tree = mnt / "tree"
            count = copy_shuffled(args.source, tree)
            maps = {str(p): extents(p) for p in tree.rglob("*") if p.is_file()}
            data = sum(length for m in maps.values() for _, _, length in m)
            print(f"tree {args.source}: {count:,} files, {data:,} bytes of data, copied in shuffled order into ext4 "
                  f"on a loop device ({image.stat().st_size:,} bytes)")
            print()
            print("| --read-order | threads | data reads | bytes read | seek distance | distance / data |")
            print("|---|---|---|---|---|---|")
            thread_counts = [int(t) for t in args.threads.split(",")]
            for threads in thread_counts:
                for order in ("listing", "disk"):
                    reads, total, distance = seek_distance(flscan, tree, order, threads, maps)
                    print(f"| {order} | {threads} | {reads:,} | {total:,} | {distance:,} | {distance / data:.2f} |")
            if args.cold_runs > 0:
                print()
                print("| --read-order | threads | cold-cache wall time, median (s) | runs |")
                print("|---|---|---|---|")
                for threads in thread_counts:
                    times = {"listing": [], "disk": []}
                    for _ in range(args.cold_runs):
                        for order in ("listing", "disk"):
                            times[order].append(cold_seconds(flscan, tree, order, threads))
                    for order, values in times.items():
                        print(f"| {order} | {threads} | {statistics.median(values):.3f} | {len(values)} |")
        finally:
            subprocess.run(["umount", str(mnt)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
