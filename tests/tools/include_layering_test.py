#!/usr/bin/env python3
"""The include layering of ARCHITECTURE.md, read from every `#include "..."` line (issue 14).

Rooms, lowest first; a file may include its own room and any room below it, never one above:

    engine < signatures < scanner/platform < scanner/host < scanner/report < scanner/walk
           < scanner/remedy < scanner/image < scanner/app

So engine includes nothing above it, signatures nothing from scanner, no room of scanner includes
the app, and the rooms cannot form a cycle (an order has none). Beside the order, live/ (the
Windows program flscan-live.exe, issue 17) is a side room: it includes itself and engine only, and
no other room includes it. Every source file of scanner/ lives
in a room: a file left at scanner/'s root fails. An include line against the order fails unless it
is one of KNOWN_EXCEPTIONS below (empty since issue 14 removed the last ones; an arrow that must
stay against the order for a while would be named there, and an exception that no longer exists
fails too, so the list only ever shrinks).

Usage: include_layering_test.py SOURCE_DIR
Before reading the tree the script checks itself on a small made-up tree (a forbidden include must
be reported), so it cannot pass by reading nothing."""

import re
import sys
from pathlib import Path

ROOMS = ["engine", "signatures", "scanner/platform", "scanner/host", "scanner/report", "scanner/walk",
         "scanner/remedy", "scanner/image", "scanner/app"]
RANK = {room: i for i, room in enumerate(ROOMS)}
SCANNED_TOP = ("engine", "signatures", "scanner", "live")
# Side rooms outside the order: what each may include besides itself; no other room includes them.
SIDE_ROOMS = {"live": {"engine"}}
SOURCE_SUFFIXES = (".h", ".cpp", ".cpp.in")

# Arrows against the layering that the code has today, named file by file (none since issue 14).
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)


def room_of(path: str) -> str | None:
    """The room of a path relative to the source root; None for a file outside the checked tree."""
    parts = path.split("/")
    if parts[0] in ("engine", "signatures") or parts[0] in SIDE_ROOMS:
        return parts[0]
    if parts[0] == "scanner":
        if len(parts) == 2:
            return "scanner"  # at scanner/'s root: belongs to no room
        return "scanner/" + parts[1]
    return None


def violations(includes: dict[str, list[str]], exceptions: set[tuple[str, str]]) -> tuple[list[str], set]:
    """Arrows against the layering in `includes` (file -> included paths), and the exceptions used."""
    problems = []
    used = set()
    for source, targets in sorted(includes.items()):
        src_room = room_of(source)
        if src_room is None:
            continue
        if src_room in SIDE_ROOMS:
            for target in targets:
                dst_room = room_of(target)
                if dst_room != src_room and dst_room not in SIDE_ROOMS[src_room]:
                    problems.append(f"{source}: includes \"{target}\": {src_room} includes only itself and "
                                    f"{', '.join(sorted(SIDE_ROOMS[src_room]))}")
            continue
        if src_room not in RANK:
            problems.append(f"{source}: not in a room (rooms: {', '.join(ROOMS)})")
            continue
        for target in targets:
            dst_room = room_of(target)
            if dst_room is None:
                problems.append(f"{source}: includes \"{target}\", which is not below engine/, signatures/ or scanner/")
                continue
            if dst_room in SIDE_ROOMS:
                problems.append(f"{source}: includes \"{target}\": no room includes {dst_room}/")
                continue
            if dst_room not in RANK:
                problems.append(f"{source}: includes \"{target}\", which is not in a room")
                continue
            if RANK[dst_room] <= RANK[src_room]:
                continue
            if (source, target) in exceptions:
                used.add((source, target))
                continue
            problems.append(f"{source}: includes \"{target}\": {src_room} may not include {dst_room} "
                            f"(rooms, lowest first: {' < '.join(ROOMS)})")
    return problems, used


def self_check() -> None:
    tree = {
        "engine/pe.h": ["engine/byte_view.h", "scanner/report/report.h"],
        "signatures/loader.cpp": ["scanner/app/options.h"],
        "scanner/walk/walker.h": ["scanner/report/report.h", "scanner/app/progress.h"],
        "scanner/report/report.h": ["scanner/walk/walker.h"],
        "scanner/host/host_report.cpp": ["scanner/report/report.h"],
        "scanner/stray.cpp": [],
        "scanner/app/main.cpp": ["scanner/walk/walker.h", "engine/pe.h"],
        "live/main.cpp": ["engine/scan.h", "live/json_writer.h", "scanner/host/limits.h"],
        "live/json_writer.cpp": ["live/json_writer.h"],
        "scanner/host/event_log.cpp": ["engine/event_record.h", "live/json_writer.h"],
    }
    problems, used = violations(tree, {("scanner/host/host_report.cpp", "scanner/report/report.h")})
    expected = {"engine/pe.h", "signatures/loader.cpp", "scanner/walk/walker.h", "scanner/report/report.h",
                "scanner/stray.cpp", "live/main.cpp", "scanner/host/event_log.cpp"}
    found = {p.split(":")[0] for p in problems}
    if found != expected or len(problems) != 7 or len(used) != 1:
        sys.exit(f"include_layering_test: self-check failed: reported {sorted(found)}, expected {sorted(expected)}")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    self_check()
    root = Path(sys.argv[1]).resolve()
    includes = {}
    for top in SCANNED_TOP:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and path.name.endswith(SOURCE_SUFFIXES):
                includes[path.relative_to(root).as_posix()] = INCLUDE.findall(path.read_text(errors="replace"))
    if len(includes) < 50:
        print(f"include_layering_test: only {len(includes)} source files under {root}: wrong directory?")
        return 1
    problems, used = violations(includes, KNOWN_EXCEPTIONS)
    for stale in sorted(KNOWN_EXCEPTIONS - used):
        problems.append(f"{stale[0]}: no longer includes \"{stale[1]}\": remove it from KNOWN_EXCEPTIONS")
    if problems:
        print(f"include_layering_test: {len(problems)} problem(s):")
        for p in problems:
            print(f"- {p}")
        return 1
    arrows = sum(len(t) for t in includes.values())
    print(f"include_layering_test: {len(includes)} files, {arrows} include lines, layering kept "
          f"({len(KNOWN_EXCEPTIONS)} known exceptions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
