#!/usr/bin/env python3
"""cmake --install with DESTDIR and a prefix (what `make install PREFIX=... DESTDIR=...` runs)
installs exactly the binary, flscan(1), the bash completion and the docs, under DESTDIR/PREFIX and
nowhere else, and the installed binary runs (issue 18).

    install_test.py CMAKE BUILD_DIR SOURCE_DIR
"""

import gzip
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PREFIX = "/opt/flscan-test"
EXPECTED = {
    "bin/flscan",
    "share/man/man1/flscan.1.gz",
    "share/bash-completion/completions/flscan",
    "share/doc/flscan/README.md",
    "share/doc/flscan/JSON.md",
    "share/doc/flscan/SARIF.md",
    "share/doc/flscan/signatures/README.md",
}


def main():
    cmake, build, source = sys.argv[1:4]
    failures = []
    with tempfile.TemporaryDirectory() as stage:
        run = subprocess.run([cmake, "--install", build, "--prefix", PREFIX], capture_output=True, text=True,
                             env={**os.environ, "DESTDIR": stage})
        if run.returncode != 0:
            print(f"FAIL: cmake --install: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
            return 1
        files = {str(p.relative_to(stage)) for p in Path(stage).rglob("*") if not p.is_dir()}
        expected = {PREFIX.lstrip("/") + "/" + f for f in EXPECTED}
        if files != expected:
            failures.append(f"installed {sorted(files - expected)} beyond, {sorted(expected - files)} missing")
        root = Path(stage + PREFIX)
        for doc, origin in [("README.md", "README.md"), ("JSON.md", "scanner/JSON.md"), ("SARIF.md", "scanner/SARIF.md"),
                            ("signatures/README.md", "signatures/README.md")]:
            if (root / "share/doc/flscan" / doc).exists() and \
                    (root / "share/doc/flscan" / doc).read_bytes() != (Path(source) / origin).read_bytes():
                failures.append(f"share/doc/flscan/{doc} differs from {origin}")
        man = root / "share/man/man1/flscan.1.gz"
        if man.exists() and not gzip.decompress(man.read_bytes()).startswith(b".TH FLSCAN 1"):
            failures.append("flscan.1.gz is not the man page")
        if (root / "bin/flscan").exists():
            version = subprocess.run([root / "bin/flscan", "--version"], capture_output=True, text=True)
            if version.returncode != 0 or not version.stdout.startswith("flscan "):
                failures.append(f"installed flscan --version: exit {version.returncode}, {version.stdout!r}")
    for failure in failures:
        print("FAIL:", failure)
    print(f"cmake --install with DESTDIR: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
