#!/usr/bin/env python3
"""Disk-image rows of the benchmark (issue 19): the same NTFS volume as raw, VHD and E01, scanned
by flscan, against The Sleuth Kit's own tools reading the same bytes, and against the same tree
scanned as a directory.

    python3 bench/image_rows.py [--build build/release] [--scale 0.2] [--runs 3] [--out FILE]

The tree is bench/gen_tree.py's drive tree at --scale (the one bench/run.py scans; generated when
missing). It is copied into an NTFS volume (mkntfs on a plain file, filled by corpus/ntfs_populate:
no mount, no root), which is converted to a dynamic VHD (qemu-img) and an E01 (ewfacquire).
Rows, each the median of --runs after one warm-up, page cache warm, rows interleaved round by
round like bench/run.py's:

- flscan TREE (the directory) and flscan on each container (`flscan -q --json FILE IMAGE`);
- limit, per container: `fls -r -p` of the volume plus `icat` of every PE file's inode (the bytes a
  scanner of the volume must read at least, through the same library), run as one shell command;
- peak RSS of every row.

Ratios: each flscan image row against its container's limit, and against flscan on the tree."""
from __future__ import annotations

import argparse
import datetime
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import gen_tree  # noqa: E402
import run as bench  # noqa: E402

SECTOR = 512
FLS_LINE = re.compile(r"^r/r (\d+)(?:-\d+-\d+)?:\t(.*)$")


def build_images(tree: Path, out: Path, populate: Path) -> dict[str, Path]:
    """raw, vhd and e01 of one NTFS volume holding `tree`, made once (kept in `out`)."""
    out.mkdir(parents=True, exist_ok=True)
    raw, vhd, e01 = out / "volume.raw", out / "volume.vhd", out / "volume.E01"
    if not raw.exists():
        size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        # Room for the files, their clusters' slack and NTFS's own metadata.
        sectors = ((size * 5 // 4 + 64 * bench.MiB) // SECTOR + 7) // 8 * 8
        partial = out / "volume.raw.partial"
        with open(partial, "wb") as f:
            f.truncate(sectors * SECTOR)
        subprocess.run(["mkntfs", "-F", "-f", "-q", "-s", str(SECTOR), "-c", "4096", str(partial)], check=True,
                       stderr=subprocess.DEVNULL)
        subprocess.run([str(populate), str(partial), str(tree)], check=True, stdout=subprocess.DEVNULL)
        partial.rename(raw)
    if not vhd.exists():
        subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on",
                        str(raw), str(vhd)], check=True)
    if not e01.exists():
        subprocess.run(["ewfacquire", "-u", "-q", "-t", str(out / "volume"), "-f", "encase6", "-c",
                        "deflate:empty-block", "-S", str(64 * 1024 * bench.MiB), str(raw)], check=True,
                       stdout=subprocess.DEVNULL)
    return {"raw": raw, "vhd": vhd, "e01": e01}


def pe_inodes(image: Path, pe_paths: set[str]) -> list[str]:
    """The metadata addresses of the PE files, from `fls -r -p` (outside the measured runs)."""
    listing = subprocess.run(["fls", "-r", "-p", str(image)], capture_output=True, text=True, check=True).stdout
    inodes = []
    for line in listing.splitlines():
        m = FLS_LINE.match(line)
        if m and m.group(2) in pe_paths:
            inodes.append(m.group(1))
    return inodes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, default=REPO / "build" / "release")
    ap.add_argument("--scale", type=float, default=0.2, help="drive tree scale (1.0 = 2.5 GB; default 0.2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=REPO / "build" / "bench-data")
    ap.add_argument("--tools-dir", type=Path, default=REPO / "build" / "bench-tools")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "images.md")
    a = ap.parse_args()

    flscan = (a.build / "scanner" / "flscan").resolve()
    corpus = (a.build / "corpus").resolve()
    populate = (a.build / "corpus-cmake" / "ntfs_populate").resolve()
    for need, what in ((flscan, "make build"), (corpus / "manifest.json", "make corpus"), (populate, "make corpus")):
        if not need.exists():
            bench.die(f"{need} not found ({what})")
    for tool in ("fls", "icat", "mkntfs", "qemu-img", "ewfacquire"):
        if not shutil.which(tool):
            bench.die(f"{tool} is not installed (make bench installs it)")
    bench.build_tools(a.tools_dir.resolve())

    tree_dir = (a.data / f"drive-s{a.scale:g}-seed{a.seed}").resolve()
    manifest = gen_tree.ensure_tree(tree_dir, corpus, ["--scale", str(a.scale), "--seed", str(a.seed)])
    tree = tree_dir / "tree"
    pe_paths = {os.path.relpath(line, tree) if os.path.isabs(line) else line
                for line in (tree_dir / manifest["pe_list"]).read_text().split("\n") if line}
    bench.log(f"images of {tree} (made once, kept in {tree_dir / 'images'})")
    images = build_images(tree, tree_dir / "images", populate)
    limit_commands = {}
    for kind, image in images.items():
        inodes = pe_inodes(image, pe_paths)
        if len(inodes) != len(pe_paths):
            bench.die(f"fls lists {len(inodes)} of the {len(pe_paths)} PE files in {image}")
        script = f"fls -r -p {shlex.quote(str(image))} >/dev/null && for i in {' '.join(inodes)}; do " \
                 f"icat {shlex.quote(str(image))} $i; done >/dev/null"
        limit_commands[kind] = ["sh", "-c", script]

    rows = [("flscan TREE (directory)", [str(flscan), "-q", "--json", "{json}", str(tree)])]
    for kind, image in images.items():
        rows.append((f"flscan {kind}", [str(flscan), "-q", "--json", "{json}", str(image)]))
        rows.append((f"limit {kind}: fls -r + icat of every PE file", limit_commands[kind]))
    samples: dict[str, list] = {label: [] for label, _ in rows}
    with tempfile.TemporaryDirectory(prefix="flscan-bench-images-") as tmp:
        work = Path(tmp)
        for round_no in range(a.runs + 1):
            tag = "warmup" if round_no == 0 else f"run{round_no}"
            bench.log(f"{tag} (load {os.getloadavg()[0]:.2f})")
            for i, (label, command) in enumerate(rows):
                cmd = [c.replace("{json}", str(work / f"{tag}-{i}.json")) for c in command]
                s = bench.measure(cmd, work, f"{tag}-{i}", keep_stdout=False)
                if s.code not in (0, 1):
                    bench.die(f"{label}: exit {s.code}: {s.stderr.read_text(errors='replace')[:300]}")
                if round_no > 0:
                    samples[label].append(s)
                bench.log(f"  {label:50s} {s.wall:8.3f} s  rss {s.rss_kib / 1024:6.1f} MiB")

    med = {label: statistics.median(s.wall for s in ss) for label, ss in samples.items()}
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t = manifest["totals"]
    lines = [f"# flscan disk-image rows, {started}", "",
             f"- machine: {bench.machine_line()}; load average (1 min) at the end {os.getloadavg()[0]:.2f}",
             f"- tree `{os.path.relpath(tree_dir, REPO)}`: {t['files']:,} files, {t['bytes'] / bench.MB:,.0f} MB, "
             f"{t['pe_files']:,} PE files; one NTFS volume ({images['raw'].stat().st_size / bench.MB:,.0f} MB) as raw, "
             f"dynamic VHD and E01",
             f"- median of {a.runs} runs after one warm-up, page cache warm, flscan with its default threads", "",
             "| row | wall s (median) | CPU s | peak RSS MiB | ratio |", "|---|---:|---:|---:|---|"]
    tree_label = rows[0][0]
    for label, _ in rows:
        ss = samples[label]
        cpu = statistics.median(s.cpu for s in ss)
        rss = max(s.rss_kib for s in ss) / 1024
        ratio = ""
        if label.startswith("flscan ") and label != tree_label:
            kind = label.split()[1]
            limit = next(lb for lb, _ in rows if lb.startswith(f"limit {kind}:"))
            ratio = f"{med[label] / med[limit]:.2f}x its limit, {med[label] / med[tree_label]:.2f}x the directory"
        lines.append(f"| {label} | {med[label]:.3f} | {cpu:.2f} | {rss:.1f} | {ratio} |")
    text = "\n".join(lines) + "\n"
    print(text)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    bench.log(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
