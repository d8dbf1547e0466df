#!/usr/bin/env python3
"""flscan merge on large shard reports: wall time and peak RSS.

Makes SHARDS shard reports (--shard K/SHARDS --inventory) of a one-file tree with flscan itself,
then grows their inventories to ENTRIES entries in all (each entry a distinct path, a size and a
SHA-256, as flscan writes them), and times `flscan merge --json OUT` over them (one warm-up when
RUNS > 1, then RUNS measured runs; the peak RSS is the merge process's own, from wait4). Prints one Markdown
table row per run size, with the input's size and the ratio of peak RSS to it.

Usage: merge_bench.py [--flscan BUILD/scanner/flscan] [--entries 1000000] [--shards 4] [--runs 3]
                      [--data DIR] [--sizes 100000,400000,1000000]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def shard_template(flscan: Path, work: Path, k: int, n: int) -> dict:
    tree = work / "tree"
    tree.mkdir(exist_ok=True)
    (tree / "a.txt").write_bytes(b"clean\n")
    r = subprocess.run([str(flscan), "--progress", "never", "--inventory", "--shard", f"{k}/{n}", "--json", "-", str(tree)],
                       capture_output=True, check=False)
    if r.returncode not in (0, 2):
        sys.exit(f"shard scan failed: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
    return json.loads(r.stdout)


def write_shards(flscan: Path, work: Path, entries: int, shards: int) -> list[Path]:
    files = []
    per = entries // shards
    for k in range(1, shards + 1):
        doc = shard_template(flscan, work, k, shards)
        count = per if k < shards else entries - per * (shards - 1)
        doc["inventory"] = []
        path = work / f"s{k}-{entries}.json"
        # Written piecewise: a million entries as one Python object would dominate this script.
        head = json.dumps(doc)
        cut = head.index('"inventory": []') + len('"inventory": [')
        with path.open("w") as out:
            out.write(head[:cut])
            for i in range(count):
                digest = f"{(k * 1_000_003 + i) * 2654435761 % (1 << 64):016x}" * 4
                entry = {"path": {"text": f"/data/Windows/System32/dir{i % 977}/shard{k}-file{i:07d}.dll"}, "size": 4096 + i,
                         "sha256": digest, "type": "pe"}
                out.write(("," if i else "") + json.dumps(entry))
            out.write(head[cut:])
        files.append(path)
    return files


def measure(cmd: list[str]) -> tuple[float, int]:
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1, 2):
        sys.exit(f"{cmd[0]} crashed: {proc.returncode}")
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode == 2:
        sys.exit(f"merge refused: {stderr}")
    return elapsed, usage.ru_maxrss * 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--flscan", type=Path, default=REPO / "build" / "release" / "scanner" / "flscan")
    ap.add_argument("--sizes", default="1000000", help="inventory entries in all, comma-separated (default 1000000)")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, help="where the shard files go (default: a temporary directory)")
    args = ap.parse_args()
    if args.data is not None:
        args.data.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flscan-merge-bench-", dir=args.data) as tmp:
        work = Path(tmp)
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        print("| entries | shards | input MB | merge s (median) | peak RSS MB | RSS / input |")
        print("|---:|---:|---:|---:|---:|---:|")
        for entries in (int(s) for s in args.sizes.split(",")):
            files = write_shards(args.flscan, work, entries, args.shards)
            size = sum(f.stat().st_size for f in files)
            cmd = [str(args.flscan), "merge", "--json", str(work / "merged.json"), *map(str, files)]
            if args.runs > 1:
                measure(cmd)  # warm-up (the files were just written, so mostly for the binary)
            samples = sorted(measure(cmd) for _ in range(args.runs))
            seconds = samples[len(samples) // 2][0]
            rss = max(s[1] for s in samples)
            print(f"| {entries:,} | {args.shards} | {size / 1e6:.0f} | {seconds:.2f} | {rss / 1e6:.0f} | {rss / size:.1f} |",
                  flush=True)
            for f in files:
                f.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
