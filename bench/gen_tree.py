#!/usr/bin/env python3
"""Generates flscan's benchmark tree: a directory shaped like a Windows system drive.

    python3 bench/gen_tree.py --corpus BUILD/corpus OUT                # default: --scale 1.0
    python3 bench/gen_tree.py --corpus BUILD/corpus --scale 0.05 OUT   # small, for development
    python3 bench/gen_tree.py --corpus BUILD/corpus --files-1m OUT     # 1,000,000 mostly small files

OUT/tree/ is the tree to scan; OUT/bench-manifest.json describes it (counts, sizes, the samples
planted in it and the state each must be reported as); OUT/pe-files.txt lists every PE file, one
path relative to OUT/tree per line. The manifest is written last: a directory without it is an
unfinished tree and is regenerated.

Profiles (sizes are decimal: 1 MB = 10^6 bytes):

- `drive` (default), at --scale 1.0: about 44,000 files, 2.5 GB; 1,250 PE files (875 MB) from
  8.5 KiB to tens of MB; many small text and binary files; 3 large non-PE files (100 MB+, the
  pagefile-like files of a system drive); a directory tree with Windows' top-level layout,
  a few flat directories holding thousands of files (System32), many small ones, up to 14 levels.
- `small`: mostly small files (median about 1 KB), 0.5 % PE files, no large file. `--files-1m`
  is this profile with 1,000,000 files; `--profile small --files N` gives the same mix at any N,
  which is what the scaling check compares.

PE files are real PEs: clean hosts of the corpus (manifest `expected == "clean"`, under clean/)
grown to the wanted size with an overlay of pseudo-random bytes; sizes never end on
size % 256 == 3 (what an inoculated file looks like), and overlays are never zeros. A few corpus
samples are copied in verbatim: infections (expected `infected` or `dropper`) and harmless
leftovers (`remnant`, `inoculated`), each under a new name, with the state the corpus
manifest gives it. Non-PE files are text (INI, log, XML, INF-like lines) or pseudo-random binary
that starts with no known file-type magic, so every scanner sees plain data.

Deterministic: the same --seed, profile and size give the same tree, byte for byte (Python's
random.Random with an integer seed; Python 3.9 or later, standard library only).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

GENERATOR = "flscan-bench-gen-tree"
# Bump whenever a change alters the trees it writes: run.py regenerates trees of another version.
GENERATOR_VERSION = 2
MB = 1_000_000

# States a scanner must report as an infection (README "States"): planted samples with these are
# what every tool must find; the others must be found by none (flscan lists them as informational).
INFECTION_STATES = {"infected", "damaged", "dropper", "kernel-patched", "loader-patched"}
PLANT_INFECTIONS = ("infected", "dropper")
# Decoys are left out: the .ndb signatures cannot check where the stub's call lands, so ClamAV
# and YARA report some decoys (a body appended without the hook), by design of the signatures.
PLANT_HARMLESS = ("remnant", "inoculated")

# Names flscan treats specially (kernel and loader checks) or that name the dropper: never
# generated for ordinary files.
RESERVED_NAMES = {"ntoskrnl.exe", "ntkrnlmp.exe", "ntldr", "flcss.exe", "system", "sysevent.evt"}


@dataclass(frozen=True)
class Profile:
    files: int            # regular files in the tree, planted samples included
    total_bytes: int
    pe_files: int         # PE files, planted samples included
    pe_bytes: int
    pe_median: int
    pe_sigma: float
    pe_max: int
    other_median: int
    other_sigma: float
    other_max: int
    empty_share: float    # share of non-PE files that are empty
    text_share: float     # share of non-empty non-PE files that are text
    large_files: int      # non-PE files of 100 MB and more (pagefile-like)
    large_bytes: int
    files_per_dir: float
    planted_infections: int
    planted_harmless: int


def drive_profile(scale: float) -> Profile:
    files = max(200, round(44_000 * scale))
    pe_files = max(20, round(1_250 * scale))
    large = 3 if scale >= 0.5 else (1 if scale >= 0.02 else 0)
    return Profile(
        files=files, total_bytes=round(2_500 * MB * scale),
        pe_files=pe_files, pe_bytes=round(875 * MB * scale),
        pe_median=120_000, pe_sigma=1.9, pe_max=64 * MB,
        other_median=2_500, other_sigma=2.1, other_max=48 * MB,
        empty_share=0.02, text_share=0.55,
        large_files=large, large_bytes=round(480 * MB * scale) if large else 0,
        files_per_dir=5.5,
        planted_infections=max(4, round(20 * min(scale, 1.0))),
        planted_harmless=max(2, round(8 * min(scale, 1.0))))


def small_profile(files: int) -> Profile:
    pe_files = max(10, round(files * 0.005))
    return Profile(
        files=files, total_bytes=pe_files * 60_000 + (files - pe_files) * 2_000,
        pe_files=pe_files, pe_bytes=pe_files * 60_000,
        pe_median=30_000, pe_sigma=1.2, pe_max=8 * MB,
        other_median=1_000, other_sigma=1.3, other_max=1 * MB,
        empty_share=0.03, text_share=0.6,
        large_files=0, large_bytes=0,
        files_per_dir=8.0,
        planted_infections=max(4, min(20, files // 5_000)),
        planted_harmless=2)


# ---------------------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------------------
def lognormal_sizes(rng: random.Random, n: int, budget: int, median: int, sigma: float,
                    lo: int, hi: int) -> list[int]:
    """n sizes from a log-normal distribution, clipped to [lo, hi], scaled to sum to ~budget."""
    if n <= 0:
        return []
    raw = [rng.lognormvariate(math.log(median), sigma) for _ in range(n)]
    factor = 1.0
    for _ in range(40):
        sizes = [min(hi, max(lo, x * factor)) for x in raw]
        total = sum(sizes)
        if abs(total - budget) <= budget * 0.002 or total == 0:
            break
        # Clipped entries do not move: rescale only the free ones.
        free = sum(s for s in sizes if lo < s < hi)
        fixed = total - free
        if free <= 0:
            break
        factor *= max(0.05, min(20.0, (budget - fixed) / free)) if budget > fixed else 0.5
    return [int(min(hi, max(lo, x * factor))) for x in raw]


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------
WORDS = ("win sys net ms api core shell user kernel crypt dx d3d media print svc host update setup "
         "config data cache font search audio video web cloud sync task boot power input ime wmi "
         "rpc dns http tcp auth cert sec policy log event perf diag help store app edge office "
         "adobe java python node git steam game photo music backup driver intel nvidia amd "
         "realtek logi zoom chrome firefox vlc notepad paint calc mail contact map view device "
         "storage network share remote term display sound speech xml json text image icon theme "
         "color locale time zone lang mui catalog license install repair report error trace").split()
SUFFIXES = ("", "", "", "32", "64", "svc", "host", "mgr", "core", "ui", "ext", "lib", "util",
            "helper", "client", "server", "agent", "srv", "ex", "res", "prov", "cfg", "base", "2")
DIR_WORDS = ("Microsoft Windows Common Files Shared Components Data Cache Temp Logs Config Settings "
             "Resources Assets Plugins Modules Packages Extensions Update Updates Bin Lib Tools "
             "Runtime Templates Themes Fonts Help Documents Local Roaming Profiles Store Backup "
             "Drivers Services Support Security Diagnostics Media Images Icons Locales Content "
             "Database Reports History Sync Crash Dumps Default Public System Setup Install").split()
VENDORS = ("Microsoft Adobe Google Mozilla Intel NVIDIA Realtek Oracle Java VideoLAN 7-Zip "
           "Notepad++ Git Python Steam Zoom Logitech Dell HP Lenovo Dropbox WinRAR Audacity "
           "Malwarebytes Skype Spotify VMware LibreOffice Wireshark").split()
PE_EXT = ((".dll", 50), (".exe", 25), (".sys", 6), (".mui", 6), (".ocx", 2), (".cpl", 2),
          (".scr", 1), (".drv", 2), (".efi", 1), (".tlb", 1), (".ax", 2), (".com", 2))
TEXT_EXT = ((".txt", 10), (".ini", 10), (".log", 14), (".xml", 12), (".inf", 8), (".manifest", 10),
            (".json", 8), (".cfg", 5), (".mum", 6), (".etl.txt", 1), (".csv", 3), (".reg", 3),
            (".ps1", 3), (".bat", 2), (".md", 2))
BIN_EXT = ((".dat", 20), (".bin", 8), (".db", 6), (".png", 12), (".jpg", 6), (".ico", 6),
           (".cat", 8), (".pnf", 6), (".nls", 2), (".ttf", 4), (".etl", 4), (".evtx", 3),
           (".pf", 6), (".msi", 2), (".lnk", 6), (".tmp", 6), ("", 3))


def pick(rng: random.Random, table) -> str:
    return rng.choices([t[0] for t in table], weights=[t[1] for t in table])[0]


def file_stem(rng: random.Random) -> str:
    stem = rng.choice(WORDS) + rng.choice(SUFFIXES)
    r = rng.random()
    if r < 0.25:
        stem += rng.choice(WORDS)
    elif r < 0.35:
        stem = stem.capitalize() + rng.choice(WORDS).capitalize()
    elif r < 0.45:
        stem += f"_{rng.randrange(1, 200)}"
    elif r < 0.5:
        stem += f"-{rng.randrange(0, 1 << 32):08x}"
    elif r < 0.53:
        stem = stem.capitalize() + " " + rng.choice(WORDS)      # a space, as Windows names have
    return stem


def dir_name(rng: random.Random, area: str) -> str:
    if area == "Windows/WinSxS":
        arch = rng.choice(("amd64", "x86", "wow64", "msil"))
        return (f"{arch}_microsoft-windows-{rng.choice(WORDS)}-{rng.choice(WORDS)}_31bf3856ad364e35_"
                f"10.0.{rng.choice((19041, 22621, 26100))}.{rng.randrange(1, 5000)}_none_"
                f"{rng.randrange(0, 1 << 64):016x}")
    r = rng.random()
    if r < 0.15 and area.startswith("Program Files"):
        return rng.choice(VENDORS)
    if r < 0.55:
        name = rng.choice(DIR_WORDS)
        if rng.random() < 0.3:
            name += " " + rng.choice(DIR_WORDS)
        return name
    if r < 0.75:
        return rng.choice(WORDS) + rng.choice(SUFFIXES)
    if r < 0.85:
        return "{" + f"{rng.randrange(0, 1 << 128):032X}" + "}"
    if r < 0.92:
        return f"{rng.randrange(1, 30)}.{rng.randrange(0, 10)}.{rng.randrange(0, 9999)}"
    return rng.choice(DIR_WORDS).lower() + f"{rng.randrange(0, 100)}"


# ---------------------------------------------------------------------------------------------
# The directory tree
# ---------------------------------------------------------------------------------------------
# (area, share of directories, share of non-PE files, share of PE files, deepest level below the
# area root, share of the area's files held by the area root itself)
AREAS = (
    ("Windows/System32", 0.04, 0.05, 0.30, 4, 0.55),
    ("Windows/SysWOW64", 0.02, 0.03, 0.17, 3, 0.65),
    ("Windows/WinSxS", 0.22, 0.10, 0.12, 1, 0.0),
    ("Windows", 0.08, 0.10, 0.05, 8, 0.02),
    ("Program Files", 0.14, 0.12, 0.18, 8, 0.0),
    ("Program Files (x86)", 0.10, 0.08, 0.12, 8, 0.0),
    ("ProgramData", 0.10, 0.10, 0.02, 8, 0.0),
    ("Users", 0.28, 0.40, 0.04, 13, 0.0),
    ("", 0.02, 0.02, 0.0, 3, 0.0),   # $Recycle.Bin, PerfLogs, Recovery; the root holds only the large files
)
SKELETON = {
    "Windows": ["INF", "Fonts", "Logs/CBS", "Installer", "servicing/Packages",
                "Microsoft.NET/Framework64/v4.0.30319", "assembly/GAC_MSIL", "Temp", "Prefetch"],
    "Windows/System32": ["drivers", "DriverStore/FileRepository", "en-US", "wbem", "catroot"],
    "Program Files": ["Common Files/microsoft shared", "Windows Defender", "Internet Explorer"],
    "Users": ["Default/AppData/Local", "Public/Documents",
              "alice/AppData/Local/Microsoft/Windows/INetCache",
              "alice/AppData/Roaming/Microsoft/Windows/Start Menu/Programs",
              "alice/Documents", "alice/Downloads", "alice/Pictures"],
    "ProgramData": ["Microsoft/Windows Defender/Scans", "Package Cache"],
    "": ["$Recycle.Bin", "PerfLogs", "Recovery"],
}
ROOT_LARGE_NAMES = ("pagefile.sys", "hiberfil.sys", "swapfile.sys", "MEMORY.DMP.bak", "disk0.vhd")


@dataclass
class Dir:
    path: str             # relative to the tree root, "" for the root
    depth: int            # levels below the tree root
    area: int
    weight_other: float = 1.0
    weight_pe: float = 1.0
    names: set = field(default_factory=set)   # lower-cased names used inside (Windows is case-blind)


class Tree:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.dirs: list[Dir] = []
        self.by_path: dict[str, Dir] = {}

    def add_dir(self, parent: Dir | None, name: str, area: int) -> Dir:
        if parent is None:
            d = Dir("", 0, area)
        else:
            base, n = name, 2
            while name.lower() in parent.names or name.lower() in RESERVED_NAMES:
                name, n = f"{base} ({n})", n + 1
            parent.names.add(name.lower())
            path = f"{parent.path}/{name}" if parent.path else name
            d = Dir(path, parent.depth + 1, area)
        self.dirs.append(d)
        self.by_path[d.path] = d
        return d

    def ensure(self, path: str, area: int) -> Dir:
        if path in self.by_path:
            return self.by_path[path]
        parent_path, _, name = path.rpartition("/")
        parent = self.ensure(parent_path, area)
        return self.add_dir(parent, name, area)

    def file_name(self, d: Dir, ext: str) -> str:
        for attempt in range(100):
            name = file_stem(self.rng) + ext
            if attempt > 10:
                name = f"{file_stem(self.rng)}_{attempt}{ext}"
            if name.lower() not in d.names and name.lower() not in RESERVED_NAMES:
                d.names.add(name.lower())
                return name
        raise RuntimeError(f"no free name in {d.path}")


def build_tree(rng: random.Random, n_dirs: int) -> Tree:
    tree = Tree(rng)
    tree.add_dir(None, "", len(AREAS) - 1)
    # Area roots first, each owned by its own area (Windows by "Windows", not by System32).
    for ai in sorted(range(len(AREAS)), key=lambda i: AREAS[i][0].count("/")):
        if AREAS[ai][0]:
            tree.ensure(AREAS[ai][0], ai).area = ai
    for ai, (area, share, _o, _p, max_rel, _root_share) in enumerate(AREAS):
        area_root = tree.by_path[area]
        base_depth = area_root.depth
        before = len(tree.dirs)
        for skel in SKELETON.get(area, ()):
            tree.ensure(f"{area}/{skel}" if area else skel, ai)
        members = [area_root] + tree.dirs[before:]
        want = max(1, round(n_dirs * share))
        while len(members) < want and max_rel >= 1:
            # A random recursive tree (depth ~ log n) with a pull towards recent directories,
            # which makes the long chains of AppData or servicing folders.
            if rng.random() < 0.3:
                parent = members[-1 - rng.randrange(min(6, len(members)))]
            else:
                parent = rng.choice(members)
            if parent.depth - base_depth >= max_rel:
                parent = area_root
            if not area and parent is area_root:   # nothing new at the top of the drive
                parent = members[1 + rng.randrange(len(SKELETON[""]))]
            members.append(tree.add_dir(parent, dir_name(rng, area), ai))
    # Heavy-tailed file counts per directory: a few directories hold most of the files.
    for d in tree.dirs:
        w = rng.paretovariate(1.3)
        d.weight_other = w
        d.weight_pe = w * (0.2 + rng.random())
    return tree


# ---------------------------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------------------------
BIN_HEADER = b"\xc3\x7a\x11\x5e"   # not the magic of any format ClamAV or YARA's modules know


def text_line(rng: random.Random, comps: list[str]) -> str:
    r = rng.random()
    if r < 0.35:
        return (f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} "
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}, "
                f"{rng.choice(('Info', 'Info', 'Warning', 'Error'))}                  "
                f"{rng.choice(('CBS', 'CSI', 'DISM', 'DPX', 'SQM'))}    "
                f"{rng.choice(('Loaded', 'Exec', 'Ending', 'Starting', 'Session', 'Read out'))} "
                f"{rng.choice(comps)} [HRESULT = 0x{rng.randrange(1 << 32):08x}]")
    if r < 0.55:
        return f"{rng.choice(WORDS).capitalize()}{rng.choice(SUFFIXES)}={rng.choice(WORDS)},{rng.randrange(100000)}"
    if r < 0.6:
        return f"[{rng.choice(DIR_WORDS)}.{rng.choice(WORDS)}]"
    if r < 0.8:
        return (f'  <assemblyIdentity name="Microsoft.Windows.{rng.choice(comps)}" '
                f'version="10.0.19041.{rng.randrange(5000)}" processorArchitecture="amd64" '
                f'publicKeyToken="31bf3856ad364e35" type="win32"/>')
    if r < 0.9:
        return (f'    "{rng.choice(WORDS)}{rng.choice(SUFFIXES)}": '
                f'{{"id": {rng.randrange(1 << 20)}, "enabled": {rng.choice(("true", "false"))}}},')
    return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 16)))


def make_text_block(rng: random.Random, size: int) -> bytes:
    """size bytes or more of log/INI/XML/JSON-like lines: a pool of distinct lines, drawn at random."""
    comps = [f"{rng.choice(WORDS)}-{rng.choice(WORDS)}" for _ in range(300)]
    pool = [text_line(rng, comps) + "\r\n" for _ in range(20_000)]
    avg = sum(map(len, pool)) / len(pool)
    parts: list[str] = []
    total = 0
    while total < size:
        batch = rng.choices(pool, k=int((size - total) / avg) + 16)
        parts.extend(batch)
        total += sum(map(len, batch))
    return "".join(parts).encode("ascii")


def write_file(path: str, parts) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        for part in parts:
            view = memoryview(part)
            while view:
                n = os.write(fd, view)
                view = view[n:]
    finally:
        os.close(fd)


class Content:
    """File contents cut from two blocks made once: pseudo-random bytes and text lines."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rnd = rng.randbytes(32 << 20)
        self.text = make_text_block(rng, 8 << 20)

    @staticmethod
    def _slices(block: bytes, n: int, start: int) -> list:
        view, pos, out = memoryview(block), start, []
        while n > 0:
            take = min(n, len(block) - pos)
            out.append(view[pos:pos + take])
            n -= take
            pos = 0
        return out

    def random_bytes(self, n: int, header: bytes = b"") -> list:
        head = header[:n]
        n -= len(head)
        rest = self._slices(self.rnd, n, self.rng.randrange(len(self.rnd))) if n else []
        return [head, *rest] if head else rest

    def text_bytes(self, n: int) -> list:
        start = self.text.find(b"\n", self.rng.randrange(len(self.text) - 4096)) + 1
        return self._slices(self.text, n, start)


# ---------------------------------------------------------------------------------------------
# The corpus: clean PE hosts and the samples to plant
# ---------------------------------------------------------------------------------------------
def load_corpus(corpus: Path):
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    hosts, plant = [], {}
    for e in manifest["files"]:
        data = (corpus / e["path"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != e["sha256"]:
            sys.exit(f"gen_tree: {corpus / e['path']} does not match its manifest entry; rebuild the corpus")
        if e["path"].startswith("clean/") and e["expected"] == "clean" and data[:2] == b"MZ" \
                and not e.get("malformed"):
            hosts.append((e["path"], data))
        if e["expected"] in PLANT_INFECTIONS + PLANT_HARMLESS and data[:2] == b"MZ" \
                and not e.get("malformed") \
                and e["path"].split("/")[0] in PLANT_INFECTIONS + PLANT_HARMLESS:
            plant.setdefault(e["expected"], []).append((e, data))
    if not hosts:
        sys.exit(f"gen_tree: no clean PE host in {corpus}/manifest.json")
    hosts.sort(key=lambda h: len(h[1]))
    for v in plant.values():
        v.sort(key=lambda x: x[0]["path"])
    return hosts, plant


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------
def generate(out: Path, corpus: Path, profile_name: str, prof: Profile, seed: int, params: dict) -> dict:
    t0 = time.monotonic()
    rng = random.Random(seed)
    hosts, plant = load_corpus(corpus)
    min_host = max(8192, len(hosts[0][1]))

    tree_dir = out / "tree"
    manifest_path = out / "bench-manifest.json"
    if manifest_path.exists():
        manifest_path.unlink()
    if tree_dir.exists():
        shutil.rmtree(tree_dir)
    out.mkdir(parents=True, exist_ok=True)

    n_dirs = max(len(AREAS) + 5, round(prof.files / prof.files_per_dir))
    tree = build_tree(rng, n_dirs)

    # --- what goes where --------------------------------------------------------------------
    planted_specs = []   # (state, corpus entry, data)
    for states, count in ((PLANT_INFECTIONS, prof.planted_infections), (PLANT_HARMLESS, prof.planted_harmless)):
        pool = [x for s in states for x in plant.get(s, [])]
        rng.shuffle(pool)
        # Every sample once before any is used twice.
        planted_specs.extend(pool[i % len(pool)] for i in range(count if pool else 0))
    n_planted = len(planted_specs)
    n_pe = max(0, prof.pe_files - n_planted)
    n_large = prof.large_files
    n_other = max(0, prof.files - n_pe - n_planted - n_large)

    planted_bytes = sum(len(d) for _e, d in planted_specs)
    pe_sizes = lognormal_sizes(rng, n_pe, max(n_pe * min_host, prof.pe_bytes - planted_bytes),
                               prof.pe_median, prof.pe_sigma, min_host, prof.pe_max)
    pe_sizes = [s + 1 if s % 256 == 3 else s for s in pe_sizes]
    n_empty = round(n_other * prof.empty_share)
    other_budget = max(0, prof.total_bytes - prof.pe_bytes - prof.large_bytes)
    other_sizes = [0] * n_empty + lognormal_sizes(rng, n_other - n_empty, other_budget,
                                                  prof.other_median, prof.other_sigma, 1, prof.other_max)
    rng.shuffle(other_sizes)
    large_sizes = []
    if n_large:
        shares = [1.0 + 0.25 * (n_large - 1 - i) for i in range(n_large)]
        large_sizes = [int(prof.large_bytes * s / sum(shares)) for s in shares]

    area_other = [a[2] for a in AREAS]
    area_pe = [a[3] for a in AREAS]
    by_area: dict[int, list[Dir]] = {}
    for d in tree.dirs:
        by_area.setdefault(d.area, []).append(d)
    area_roots = {ai: tree.by_path[a[0]] for ai, a in enumerate(AREAS)}

    cumulative: dict[tuple[int, bool], tuple[list[Dir], list[float]]] = {}
    for ai, members in by_area.items():
        members = [m for m in members if m.path]   # the root holds only the large files
        for pe in (False, True):
            cumulative[ai, pe] = (members, list(itertools.accumulate(
                m.weight_pe if pe else m.weight_other for m in members)))

    def place(n: int, area_shares, pe: bool) -> list[Dir]:
        areas = rng.choices(range(len(AREAS)), weights=area_shares, k=n)
        result = []
        for ai in areas:
            root_share = AREAS[ai][5]
            if root_share and rng.random() < root_share:
                result.append(area_roots[ai])
                continue
            members, cum = cumulative[ai, pe]
            result.append(rng.choices(members, cum_weights=cum)[0])
        return result

    pe_dirs = place(n_pe, area_pe, True)
    other_dirs = place(n_other, area_other, False)
    plant_dirs = place(n_planted, area_pe, True)

    # --- writing ----------------------------------------------------------------------------
    root_path = str(tree_dir)
    for d in tree.dirs:
        os.makedirs(os.path.join(root_path, d.path), exist_ok=True)
    content = Content(rng)
    pe_list: list[str] = []
    listing: list[tuple[str, int]] = []
    totals = {"files": 0, "bytes": 0, "pe_files": 0, "pe_bytes": 0, "empty_files": 0,
              "text_files": 0, "binary_files": 0, "large_files": 0}

    def put(d: Dir, name: str, parts, size: int, pe: bool) -> str:
        rel = f"{d.path}/{name}" if d.path else name
        write_file(os.path.join(root_path, rel), parts)
        totals["files"] += 1
        totals["bytes"] += size
        if pe:
            totals["pe_files"] += 1
            totals["pe_bytes"] += size
            pe_list.append(rel)
        listing.append((rel, size))
        return rel

    for d, size in zip(pe_dirs, pe_sizes):
        _hp, host = rng.choice([h for h in hosts if len(h[1]) <= size])
        overlay = size - len(host)
        # The overlay starts with non-zero bytes: an overlay of zeros is how inoculation pads.
        parts = [host, *content.random_bytes(overlay, header=b"\xa5OVL")] if overlay else [host]
        put(d, tree.file_name(d, pick(rng, PE_EXT)), parts, size, True)

    for d, size in zip(other_dirs, other_sizes):
        if size == 0:
            ext, kind, parts = pick(rng, TEXT_EXT), "empty_files", []
        elif rng.random() < prof.text_share:
            ext, kind = pick(rng, TEXT_EXT), "text_files"
            parts = content.text_bytes(size)
        else:
            ext, kind = pick(rng, BIN_EXT), "binary_files"
            parts = content.random_bytes(size, header=BIN_HEADER)
        put(d, tree.file_name(d, ext), parts, size, False)
        totals[kind] += 1

    root = tree.by_path[""]
    for i, size in enumerate(large_sizes):
        name = ROOT_LARGE_NAMES[i % len(ROOT_LARGE_NAMES)]
        if name.lower() in root.names:
            name = f"{i}-{name}"
        root.names.add(name.lower())
        put(root, name, content.random_bytes(size, header=BIN_HEADER), size, False)
        totals["large_files"] += 1

    planted = []
    for d, (entry, data) in zip(plant_dirs, planted_specs):
        src_name = entry["path"].rsplit("/", 1)[-1]
        ext = "." + src_name.rsplit(".", 1)[1] if "." in src_name else ""
        rel = put(d, tree.file_name(d, ext), [data], len(data), True)
        planted.append({"path": rel, "expected": entry["expected"],
                        "infection": entry["expected"] in INFECTION_STATES,
                        "source": entry["path"], "size": len(data), "sha256": entry["sha256"]})
    planted.sort(key=lambda p: p["path"])
    pe_list.sort()
    listing.sort()

    (out / "pe-files.txt").write_text("".join(p + "\n" for p in pe_list), encoding="utf-8")
    depths = [d.depth for d in tree.dirs]
    per_dir: dict[str, int] = {}
    digest = hashlib.sha256()
    for rel, size in listing:
        digest.update(f"{rel}\0{size}\n".encode())
        parent = rel.rpartition("/")[0]
        per_dir[parent] = per_dir.get(parent, 0) + 1
    manifest = {
        "generator": GENERATOR, "generator_version": GENERATOR_VERSION,
        "params": params, "profile": profile_name, "seed": seed,
        "inputs_sha256": inputs_digest(corpus),
        "tree": "tree",
        "totals": {**totals, "dirs": len(tree.dirs), "max_depth": max(depths),
                   "mean_depth": round(sum(depths) / len(depths), 2),
                   "max_files_in_dir": max(per_dir.values())},
        "listing_sha256": digest.hexdigest(),
        "pe_list": "pe-files.txt",
        "planted": planted,
        "infected": sorted(p["path"] for p in planted if p["infection"]),
        "generation_seconds": round(time.monotonic() - t0, 1),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="output directory (the tree goes to OUT/tree)")
    ap.add_argument("--corpus", type=Path, required=True,
                    help="the built corpus (BUILD/corpus, with manifest.json)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", choices=("drive", "small"), default="drive")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="drive profile: 1.0 = ~44,000 files, 2.5 GB (default 1.0)")
    ap.add_argument("--files", type=int, help="small profile: number of files")
    ap.add_argument("--files-1m", action="store_true", help="small profile with 1,000,000 files")
    ap.add_argument("--force", action="store_true", help="regenerate even when OUT is up to date")
    return ap.parse_args(argv)


def profile_from_args(a) -> tuple[str, Profile, dict]:
    if a.files_1m:
        a.profile, a.files = "small", 1_000_000
    if a.profile == "small":
        files = a.files or 100_000
        return "small", small_profile(files), {"profile": "small", "files": files, "seed": a.seed}
    if a.files:
        sys.exit("gen_tree: --files goes with --profile small; the drive profile takes --scale")
    return "drive", drive_profile(a.scale), {"profile": "drive", "scale": a.scale, "seed": a.seed}


def inputs_digest(corpus: Path) -> str:
    """What the tree depends on besides the parameters and GENERATOR_VERSION: the corpus."""
    return hashlib.sha256((corpus / "manifest.json").read_bytes()).hexdigest()


def up_to_date(out: Path, params: dict, corpus: Path) -> dict | None:
    try:
        m = json.loads((out / "bench-manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if m.get("generator") != GENERATOR or m.get("generator_version") != GENERATOR_VERSION \
            or m.get("params") != params or not (out / "tree").is_dir() \
            or m.get("inputs_sha256") != inputs_digest(corpus):
        return None
    return m


def ensure_tree(out: Path, corpus: Path, argv_like: list[str], force: bool = False) -> dict:
    """For bench/run.py: the manifest of an up-to-date tree, generating it when needed."""
    a = parse_args([str(out), "--corpus", str(corpus), *argv_like])
    name, prof, params = profile_from_args(a)
    if not force:
        m = up_to_date(out, params, corpus)
        if m:
            return m
    if out.exists() and any(out.iterdir()) and not (out / "bench-manifest.json").exists() \
            and not (out / "tree").exists():
        sys.exit(f"gen_tree: {out} exists and is not a benchmark tree; refusing to overwrite it")
    return generate(out, corpus, name, prof, a.seed, params)


def main(argv=None) -> int:
    a = parse_args(argv)
    name, prof, params = profile_from_args(a)
    if not a.force and up_to_date(a.out, params, a.corpus):
        print(f"gen_tree: {a.out} is up to date")
        return 0
    if a.out.exists() and any(a.out.iterdir()) and not (a.out / "tree").exists() \
            and not (a.out / "bench-manifest.json").exists():
        sys.exit(f"gen_tree: {a.out} exists and is not a benchmark tree; refusing to overwrite it")
    m = generate(a.out, a.corpus, name, prof, a.seed, params)
    t = m["totals"]
    print(f"gen_tree: {t['files']} files ({t['bytes'] / MB:.0f} MB), {t['pe_files']} PE "
          f"({t['pe_bytes'] / MB:.0f} MB), {t['dirs']} dirs, depth <= {t['max_depth']}, "
          f"{len(m['infected'])} infections planted, in {m['generation_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
