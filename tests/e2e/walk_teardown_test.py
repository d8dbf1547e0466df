#!/usr/bin/env python3
"""The walk leaves nothing behind when it returns (sanitizer build only).

TBB marks a task fed to parallel_for_each as done before it destroys the item the task holds, so
an item that still owned its path and directory handle could outlive the walk on a worker thread;
when the process then exited first, LeakSanitizer reported the item's strings as leaked and the
run aborted after printing a complete report. The window is small, so this test makes it likely:
a tree 1,000 directories deep with files at many levels (the last items of the walk hold the
longest paths), scanned RUNS times, CONCURRENT runs at a time on two worker threads each, so that
workers are preempted often. Every run must exit 1 (the infected corpus sample at the bottom,
chosen from the corpus manifest) with no sanitizer report.

usage: walk_teardown_test.py FLSCAN CORPUS_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

from e2e_support import SANITIZER_MARKS, check, finish

DEPTH = 1000
RUNS = 96
CONCURRENT = 6


def infected_sample(corpus: str) -> str:
    with open(os.path.join(corpus, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    for entry in manifest["files"]:
        if entry["expected"] == "infected" and entry["path"].startswith("infected/"):
            return os.path.join(corpus, entry["path"])
    raise SystemExit("the corpus manifest lists no infected sample")


def build_tree(root: str, sample: str) -> None:
    """DEPTH nested directories `d`, a small file every 50 levels and the sample at the bottom;
    built with descriptors, since the bottom path is longer than some tools accept."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for level in range(DEPTH):
        if level % 50 == 0:
            file_fd = os.open(f"f{level}", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(file_fd, b"level %d" % level)
            os.close(file_fd)
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    with open(sample, "rb") as f:
        data = f.read()
    file_fd = os.open("sample.exe", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(file_fd, data)
    os.close(file_fd)
    os.close(fd)


def remove_tree(root: str) -> None:
    """rm -rf: Python's rmtree recurses once per level and would exceed its recursion limit."""
    subprocess.run(["rm", "-rf", "--one-file-system", root], check=False)


def main() -> int:
    flscan, corpus = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="flscan-teardown-")
    root = os.path.join(work, "tree")
    os.mkdir(root)
    try:
        build_tree(root, infected_sample(corpus))
        expected_files = DEPTH // 50 + 1
        done = 0
        while done < RUNS:
            batch = [
                subprocess.Popen([flscan, "-j", "2", "--json", "-", root], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(min(CONCURRENT, RUNS - done))
            ]
            for process in batch:
                out, err = process.communicate(timeout=300)
                done += 1
                stderr = err.decode("utf-8", "replace")
                what = f"run {done}"
                check(process.returncode == 1, f"{what}: exit {process.returncode}, expected 1; stderr: {stderr[-2000:]}")
                check(not any(mark in stderr for mark in SANITIZER_MARKS), f"{what}: sanitizer report: {stderr[-2000:]}")
                try:
                    summary = json.loads(out)["summary"]
                except (ValueError, KeyError) as e:
                    check(False, f"{what}: no JSON report ({e})")
                    continue
                check(summary["files_seen"] == expected_files,
                      f"{what}: {summary['files_seen']} files seen, expected {expected_files}")
    finally:
        remove_tree(work)
    return finish(f"walk teardown: {RUNS} runs over a tree {DEPTH} levels deep")


if __name__ == "__main__":
    sys.exit(main())
