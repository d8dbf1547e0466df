#!/usr/bin/env python3
"""The progress line (--progress, scanner/app/progress.h): drawn on stderr when stderr is a terminal
(auto) or when asked for (always); never when stderr is a pipe or a file under auto, with -q, or
with never. Drawn lines start with a carriage return and end by clearing the line, and the report
on stdout is the same with or without it.

Usage: progress_test.py FLSCAN WORKDIR"""
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

LINE = re.compile(rb"\rflscan: (scanning|host evidence), (\d+) files, [0-9.]+ (B|KiB|MiB|GiB) read, \d+ files/s")


def make_tree(root: Path) -> None:
    """Enough files that the scan outlasts a few 100 ms redraw intervals on a fast machine."""
    if root.exists():
        shutil.rmtree(root)
    for d in range(40):
        sub = root / f"d{d:02}"
        sub.mkdir(parents=True)
        for f in range(250):
            (sub / f"f{f:04}.txt").write_bytes(b"not a PE file %d\n" % f)


def run_with_pty_stderr(argv: list[str]) -> tuple[int, bytes, bytes]:
    """Runs argv with stderr on a pseudo-terminal (stdout a pipe); returns code, stdout, stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    err = b""
    out_chunks = []
    while True:
        ready, _, _ = select.select([master, proc.stdout], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError("flscan did not finish in 60 s")
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if data:
                err += data
        if proc.stdout in ready:
            data = proc.stdout.read1(65536)
            if data:
                out_chunks.append(data)
            elif proc.poll() is not None:
                break
        if proc.poll() is not None and not ready:
            break
    proc.wait(timeout=60)
    out_chunks.append(proc.stdout.read())
    try:
        while True:
            data = os.read(master, 65536)
            if not data:
                break
            err += data
    except OSError:
        pass
    os.close(master)
    return proc.returncode, b"".join(out_chunks), err


def summary_free(stdout: bytes) -> bytes:
    """The report without the lines that carry timings."""
    return b"\n".join(l for l in stdout.splitlines() if b"second" not in l and b"files/s" not in l)


def main() -> int:
    flscan, work = sys.argv[1], Path(sys.argv[2])
    tree = work / "progress-tree"
    make_tree(tree)
    base = [flscan, "-j", "2", str(tree)]

    # auto, stderr a terminal: the line is drawn, then cleared.
    code, out_tty, err = run_with_pty_stderr(base)
    assert code == 0, (code, err[-500:])
    lines = LINE.findall(err)
    assert lines, f"no progress line on a terminal: {err[:300]!r}"
    assert err.endswith(b"\r\x1b[K"), f"line not cleared at the end: {err[-40:]!r}"
    assert all(len(l) <= 80 for l in err.split(b"\r")), "a progress line is wider than 80 columns"
    counts = [int(m.group(2)) for m in LINE.finditer(err)]
    assert counts == sorted(counts), f"file counts go backwards: {counts}"

    # auto, stderr a pipe: nothing.
    piped = subprocess.run(base, capture_output=True, timeout=60)
    assert piped.returncode == 0
    assert b"\r" not in piped.stderr and piped.stderr == b"", piped.stderr[:300]
    assert summary_free(piped.stdout) == summary_free(out_tty), "the report differs with the progress line"

    # never, or -q, on a terminal: nothing.
    for extra in (["--progress", "never"], ["-q"]):
        code, _, err = run_with_pty_stderr([flscan, *extra, "-j", "2", str(tree)])
        assert code == 0
        assert not LINE.search(err), f"{extra}: progress drawn: {err[:300]!r}"

    # always, stderr a pipe: drawn.
    forced = subprocess.run([flscan, "--progress", "always", "-j", "2", str(tree)], capture_output=True, timeout=60)
    assert forced.returncode == 0
    assert LINE.search(forced.stderr), f"--progress always drew nothing: {forced.stderr[:300]!r}"
    shutil.rmtree(tree)
    print(f"ok: {len(lines)} redraws on a terminal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
