#!/usr/bin/env python3
"""--read-order (issue 19) on a real file system that answers FIEMAP: ext4 made in a file and
mounted through a loop device (root), and a tmpfs for --read-order auto.

The ext4 tree: the corpus tree windows/nt4-infected (findings and a Q317218 report) and a directory
shuffled/ of 300 files of 4-60 KiB, written and fsync'ed one at a time in a shuffled order of their
names (fixed seed), so ext4 places their data in write order while the directory (an htree: more
than a block of names) lists them in hash order; beside them an empty file (no extent), a FIFO, a
symlink and a file --exclude names. Where each file's data starts is read by this script's own
FS_IOC_FIEMAP ioctl (Python, fcntl), not by flscan.

1. `--read-order disk -j 1` under strace: the files of shuffled/ are first read (the sniff's
   pread64) in ascending order of their first physical byte, and the empty file after all of them;
   `--read-order listing`: every one of them read, not in that order (the directory lists them in
   hash order, checked: else the tree would prove nothing).
2. The files opened are the same in both orders, with and without --shard 1/2: the FIFO, the
   symlink and the excluded file never, another shard's file no more than in listing order; only
   files this run reads get an FS_IOC_FIEMAP ioctl, and none in listing order.
3. The JSON reports of disk, listing and auto order are identical once the elapsed time, the
   throughput and root_facts' read_order fields are removed; read_order is "disk" ("--read-order
   disk"), "listing" ("--read-order listing"), and for auto what the loop device's
   queue/rotational (read here from sysfs) says.
4. A tmpfs, default --read-order (auto): "listing" because "auto: not a block device", no
   FS_IOC_FIEMAP tried, every file opened once.

Usage: read_order_test.py FLSCAN CORPUS_DIR
Exit 77 (skipped, with the reason) when an ext4 file system cannot be mounted here (not root, no
mkfs.ext4, no loop device) or strace cannot trace."""
import array
import fcntl
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from e2e_support import check, finish, run_json

FS_IOC_FIEMAP = 0xC020660B  # _IOWR('f', 11, struct fiemap)
FIEMAP_EXTENT_UNKNOWN = 0x2
FIEMAP_EXTENT_DATA_INLINE = 0x200
SHUFFLED_FILES = 300
PREAD = re.compile(r"^\d+\s+pread64\(\d+<([^>]*)>, ")
OPENAT = re.compile(r"^\d+\s+openat\(.*\)\s+= \d+<([^>]*)>")
FIEMAP_CALL = re.compile(r"^\d+\s+ioctl\(\d+<([^>]*)>, FS_IOC_FIEMAP")


def first_physical_byte(path: Path) -> int | None:
    """The fe_physical of the file's first extent (one-extent FS_IOC_FIEMAP), None without one."""
    header = struct.pack("=QQIIII", 0, 0xFFFFFFFFFFFFFFFF, 0, 0, 1, 0)
    buffer = array.array("B", header + bytes(56))
    with open(path, "rb") as f:
        fcntl.ioctl(f.fileno(), FS_IOC_FIEMAP, buffer, True)
    mapped = struct.unpack_from("=I", buffer, 20)[0]
    if mapped == 0:
        return None
    _logical, physical, _length = struct.unpack_from("=QQQ", buffer, 32)
    flags = struct.unpack_from("=I", buffer, 32 + 40)[0]
    if flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DATA_INLINE):
        return None
    return physical


def mount_ext4(tmp: Path) -> tuple[Path | None, str]:
    """An ext4 file system in tmp/ext4.img mounted on tmp/mnt, or None and why not."""
    if os.geteuid() != 0:
        return None, "not root (mounting a loop device needs root)"
    if shutil.which("mkfs.ext4") is None:
        return None, "mkfs.ext4 is not installed (e2fsprogs)"
    image, mnt = tmp / "ext4.img", tmp / "mnt"
    mnt.mkdir()
    with open(image, "wb") as f:
        f.truncate(96 << 20)
    r = subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "dir_index", str(image)], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"mkfs.ext4 failed: {r.stderr.strip()[:300]}"
    r = subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"mount -o loop failed: {r.stderr.strip()[:300]}"
    return mnt, ""


def build_tree(tree: Path, corpus: Path) -> None:
    nt4 = corpus / "windows" / "nt4-infected"
    if check(nt4.is_dir(), f"{nt4}: the corpus tree is missing (build the corpus target)"):
        shutil.copytree(nt4, tree / "nt4-infected", symlinks=True)
    shuffled = tree / "shuffled"
    shuffled.mkdir(parents=True)
    rng = random.Random(19)
    names = [f"file-{i:05d}-of-a-directory-listed-in-hash-order.bin" for i in range(SHUFFLED_FILES)]
    rng.shuffle(names)
    for name in names:
        with open(shuffled / name, "wb") as f:
            f.write(b"MZ" + rng.randbytes(rng.randrange(4, 60) * 1024 - 2))
            f.flush()
            os.fsync(f.fileno())  # placed now, in this order
    (shuffled / "empty.bin").write_bytes(b"")
    os.mkfifo(shuffled / "pipe.bin")
    os.symlink(names[0], shuffled / "link.bin")
    (shuffled / "excluded.bin").write_bytes(b"MZ" + bytes(5000))
    os.sync()


def run_traced(flscan: str, args: list, tmp: Path, what: str) -> tuple[dict | None, list[str]]:
    """flscan ARGS --json - under strace -f -y: the report and the trace's lines."""
    trace = tmp / "trace"
    # LeakSanitizer cannot stop a traced process's threads (it uses ptrace itself): in the
    # sanitizer build, leaks are left to every other test and only ASan/UBSan watch these runs.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    report = run_json(["strace", "-f", "-qq", "-y", "-s", "0", "-o", str(trace), "-e", "trace=openat,pread64,ioctl",
                       flscan, "--progress", "never", "--json", "-", *args], tmp, what, env)
    if report is not None:
        report.pop("_returncode")
    return report, trace.read_text("utf-8", "replace").splitlines()


def first_reads(lines: list, directory: Path) -> list[str]:
    """The files of `directory`, in the order of their first pread64 (the sniff)."""
    order, seen = [], set()
    for line in lines:
        m = PREAD.match(line)
        if m and Path(m.group(1)).parent == directory and m.group(1) not in seen:
            seen.add(m.group(1))
            order.append(m.group(1))
    return order


def read_any(lines: list, tree: Path) -> set:
    """The files below `tree` read at all."""
    return {m.group(1) for line in lines if (m := PREAD.match(line)) and m.group(1).startswith(str(tree) + "/")}


def opened(lines: list, tree: Path) -> set:
    return {m.group(1) for line in lines if (m := OPENAT.match(line)) and m.group(1).startswith(str(tree) + "/")}


def fiemap_asked(lines: list) -> set:
    return {m.group(1) for line in lines if (m := FIEMAP_CALL.match(line))}


def shard_of(key: str, n: int) -> int:
    """The shard owning `key` (scanner/report/shard.h: FNV-1a 64 of the path below the PATH, mod N, + 1)."""
    value = 0xCBF29CE484222325
    for byte in key.encode("utf-8", "surrogateescape"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value % n + 1


def comparable(report: dict) -> dict:
    """The report without what differs between two runs: timings and the read order fields."""
    report = json.loads(json.dumps(report))
    report.pop("elapsed_seconds", None)
    for key in ("elapsed_seconds", "bytes_per_second", "files_per_second"):
        report.get("summary", {}).pop(key, None)
    for root in report.get("root_facts", {}).get("roots", []):
        root.pop("read_order", None)
        root.pop("read_order_reason", None)
    return report


def rotational_of(path: Path) -> str | None:
    """The queue/rotational of the block device holding `path` (its disk's for a partition)."""
    dev = os.stat(path).st_dev
    base = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    for queue in (base / "queue" / "rotational", base / ".." / "queue" / "rotational"):
        if queue.exists():
            return queue.read_text().strip()
    return None


def check_orders(flscan: str, tree: Path, tmp: Path) -> None:
    shuffled = tree / "shuffled"
    physical = {str(p): first_physical_byte(p) for p in shuffled.iterdir() if p.is_file() and not p.is_symlink()}
    placed = {p: o for p, o in physical.items() if o is not None}
    check(len(placed) == SHUFFLED_FILES + 1, f"FIEMAP placed {len(placed)} files of shuffled/ (expected "
          f"{SHUFFLED_FILES + 1}: the written ones and excluded.bin)")
    check(physical.get(str(shuffled / "empty.bin"), 0) is None, "the empty file has an extent")
    listed = [str(shuffled / n) for n in os.listdir(shuffled) if str(shuffled / n) in placed]
    listed = [p for p in listed if not p.endswith("excluded.bin")]
    check(listed != sorted(listed, key=placed.get), "the directory lists its files in physical order: the tree "
          "cannot tell the orders apart")

    common = ["-j", "1", "--exclude", "excluded.bin"]
    disk, disk_trace = run_traced(flscan, ["--read-order", "disk", *common, str(tree)], tmp, "disk order")
    listing, listing_trace = run_traced(flscan, ["--read-order", "listing", *common, str(tree)], tmp, "listing order")
    auto, _ = run_traced(flscan, [*common, str(tree)], tmp, "auto order")
    if disk is None or listing is None or auto is None:
        return

    # 1. The order of the first reads.
    disk_reads = first_reads(disk_trace, shuffled)
    read_placed = [p for p in disk_reads if p in placed]
    check(len(read_placed) == SHUFFLED_FILES, f"disk order: {len(read_placed)} of shuffled/'s files read")
    offsets = [placed[p] for p in read_placed]
    bad = next((i for i in range(1, len(offsets)) if offsets[i] < offsets[i - 1]), None)
    check(bad is None, f"disk order: read {read_placed[bad] if bad else ''} at {offsets[bad] if bad else 0} after "
          f"{read_placed[bad - 1] if bad else ''} at {offsets[bad - 1] if bad else 0}")
    empty = str(shuffled / "empty.bin")
    check(empty in disk_reads and disk_reads.index(empty) == len(disk_reads) - 1,
          "disk order: the empty file (no extent) is not read after every placed file")
    # Listing order queues each file as a work item (one thread takes its own newest first): not
    # sorted by anything, and here not by position.
    listing_reads = [p for p in first_reads(listing_trace, shuffled) if p in placed]
    check(sorted(listing_reads) == sorted(listed), "listing order: not every file of shuffled/ read")
    check([placed[p] for p in listing_reads] != sorted(offsets), "listing order: read in physical order")

    # 2. What is opened, and what is asked for its extents.
    disk_opened, listing_opened = opened(disk_trace, tree), opened(listing_trace, tree)
    check(disk_opened == listing_opened, f"opened in disk order only: {sorted(disk_opened - listing_opened)[:5]}, "
          f"in listing order only: {sorted(listing_opened - disk_opened)[:5]}")
    for name in ("pipe.bin", "link.bin", "excluded.bin"):
        check(str(shuffled / name) not in disk_opened, f"disk order opened {name}")
    check(not fiemap_asked(listing_trace), "listing order: FS_IOC_FIEMAP asked")
    asked = fiemap_asked(disk_trace)
    check(set(read_placed) <= asked, "disk order: a file read without its extent asked")
    check(asked <= read_any(disk_trace, tree), "disk order: FS_IOC_FIEMAP on a file the scan does not read")
    for shard in ("1/2", "2/2"):
        args = ["--shard", shard, *common, str(tree)]
        shard_disk, shard_disk_trace = run_traced(flscan, ["--read-order", "disk", *args], tmp, f"disk {shard}")
        _, shard_listing_trace = run_traced(flscan, ["--read-order", "listing", *args], tmp, f"listing {shard}")
        check(opened(shard_disk_trace, tree) == opened(shard_listing_trace, tree),
              f"--shard {shard}: disk order opens other files than listing order")
        k, n = (int(x) for x in shard.split("/"))
        other = {p for p in fiemap_asked(shard_disk_trace) if shard_of(os.path.relpath(p, tree), n) != k}
        check(not other, f"--shard {shard}: FS_IOC_FIEMAP on files of another shard: {sorted(other)[:3]}")
        check(shard_disk is not None and shard_disk["summary"]["files_in_other_shards"] > 0,
              f"--shard {shard}: no file in the other shard")

    # 3. The reports.
    check(comparable(disk) == comparable(listing), "the JSON reports of disk and listing order differ")
    check(comparable(auto) == comparable(listing), "the JSON reports of auto and listing order differ")
    check(disk["results"] != [], "no finding in the nt4-infected tree: the comparison proves little")
    roots = {name: r["root_facts"]["roots"][0] for name, r in (("disk", disk), ("listing", listing), ("auto", auto))}
    check(roots["disk"].get("read_order") == "disk" and roots["disk"].get("read_order_reason") == "--read-order disk",
          f"disk: root_facts {roots['disk']}")
    check(roots["listing"].get("read_order") == "listing", f"listing: root_facts {roots['listing']}")
    rotational = rotational_of(tree)
    expected = "disk" if rotational == "1" else "listing"
    check(roots["auto"].get("read_order") == expected and roots["auto"]["read_order_reason"].startswith("auto: "),
          f"auto on a loop device whose queue/rotational is {rotational}: root_facts {roots['auto']}")


def check_tmpfs(flscan: str, tmp: Path) -> None:
    mnt = tmp / "tmpfs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if not check(r.returncode == 0, f"mount -t tmpfs failed: {r.stderr.strip()[:300]}"):
        return
    try:
        for i in range(20):
            (mnt / f"f{i}.bin").write_bytes(b"MZ" + bytes(3000 + i))
        report, trace = run_traced(flscan, ["-j", "1", str(mnt)], tmp, "tmpfs, auto")
        if report is None:
            return
        root = report["root_facts"]["roots"][0]
        check(root.get("read_order") == "listing" and root.get("read_order_reason", "").startswith(
            "auto: not a block device"), f"tmpfs: root_facts {root}")
        check(not fiemap_asked(trace), "tmpfs, auto: FS_IOC_FIEMAP asked")
        opens = [m.group(1) for line in trace if (m := OPENAT.match(line)) and m.group(1).startswith(str(mnt) + "/")]
        check(len(opens) == 20 and len(set(opens)) == 20, f"tmpfs, auto: {len(opens)} opens of the 20 files")
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def main() -> int:
    flscan, corpus = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2]).resolve()
    if shutil.which("strace") is None:
        print("SKIPPED: strace is not installed (.ci/install-deps.sh installs it)")
        return 77
    probe = subprocess.run(["strace", "-qq", "-o", "/dev/null", "true"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        print("SKIPPED: strace cannot trace on this machine (ptrace refused?)")
        return 77
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        mnt, why = mount_ext4(tmp)
        if mnt is None:
            print(f"SKIPPED: no ext4 file system with FIEMAP can be mounted here: {why}")
            return 77
        try:
            build_tree(mnt / "tree", corpus)
            check_orders(flscan, mnt / "tree", tmp)
        finally:
            subprocess.run(["umount", str(mnt)], capture_output=True)
        check_tmpfs(flscan, tmp)
    return finish("read_order_test: disk and listing order on ext4, auto on tmpfs")


if __name__ == "__main__":
    sys.exit(main())
