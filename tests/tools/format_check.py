#!/usr/bin/env python3
"""The house format (.clang-format, clang-format-14) over every C and C++ source of the project.

Usage: format_check.py SOURCE_DIR          fails (exit 1) naming each file clang-format would change
       format_check.py --fix SOURCE_DIR    formats them in place (`make format`)

The files are found by walking the project's source folders, not by asking git, so the check also
runs on an exported tree. Before reading the tree the script checks itself on a badly formatted
scratch file (it must be reported), so it cannot pass by checking nothing."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

CLANG_FORMAT = "clang-format-14"
FOLDERS = ("engine", "signatures", "scanner", "live", "tests", "fuzz", "bench", "corpus")
# Not the configure_file templates (*.cpp.in): their @VARIABLES@ are not C++ until CMake fills them.
SUFFIXES = (".c", ".cpp", ".h")
SKIP_DIRS = {"build", ".git", "__pycache__"}


def sources(root: Path) -> list[Path]:
    found = []
    for folder in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(root / folder):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            found += [Path(dirpath) / name for name in sorted(filenames) if name.endswith(SUFFIXES)]
    return found


def unformatted(files: list[Path], style_root: Path) -> list[Path]:
    """The files clang-format would change (style from .clang-format under `style_root`)."""
    bad = []
    for path in files:
        with open(path, "rb") as f:
            original = f.read()
        result = subprocess.run([CLANG_FORMAT, f"--style=file:{style_root / '.clang-format'}",
                                 f"--assume-filename={path}"], input=original, capture_output=True, check=True)
        if result.stdout != original:
            bad.append(path)
    return bad


def self_check(style_root: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        sample = Path(scratch) / "sample.cpp"
        sample.write_text("int   main( ){return 0;}\n")
        if unformatted([sample], style_root) != [sample]:
            sys.exit("format_check: self-check failed: a badly formatted file was not reported")


def main() -> int:
    args = sys.argv[1:]
    fix = bool(args) and args[0] == "--fix"
    if fix:
        args = args[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(args[0]).resolve()
    files = sources(root)
    if fix:
        subprocess.run([CLANG_FORMAT, "-i", f"--style=file:{root / '.clang-format'}", *map(str, files)], check=True)
        print(f"format: {len(files)} files formatted")
        return 0
    self_check(root)
    bad = unformatted(files, root)
    for path in bad:
        print(f"not formatted: {path.relative_to(root)} (run `make format`)")
    print(f"format check: {len(files)} files, {len(bad)} not formatted")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
