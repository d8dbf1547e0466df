#!/usr/bin/env python3
"""flscan --live: a process that runs as flcss.exe (argv[0] /tmp/.../FLCSS.EXE, the way Wine's
processes name the Windows program) must make the flcss-process symptom found, with its pid, and
slowness found; without --live both rows stay not-checkable-offline.

Usage: live_process_test.py FLSCAN CORPUS_DIR TREE"""
import json
import subprocess
import sys
from pathlib import Path


def report(flscan: str, tree: Path, *extra: str) -> dict:
    run = subprocess.run([flscan, "--json", "-", *extra, str(tree)], capture_output=True, text=True, timeout=60)
    assert run.returncode in (0, 1, 2), run.stderr
    return json.loads(run.stdout)


def rows(document: dict) -> dict:
    return {s["id"]: s for s in document["hosts"][0]["symptoms"]}


def main() -> int:
    flscan, tree = sys.argv[1], Path(sys.argv[2]) / sys.argv[3]
    offline = report(flscan, tree)
    assert offline["live_processes"] is None
    assert rows(offline)["flcss-process"]["status"] == "not-checkable-offline"
    assert any("--live" in e for e in rows(offline)["flcss-process"]["evidence"])

    # Upper case on purpose: Windows names are case-insensitive, so is the match.
    fake = subprocess.Popen(["bash", "-c", "exec -a /tmp/x/FLCSS.EXE sleep 60"])
    try:
        live = None
        for _ in range(50):  # until bash has exec'd (its argv[0] is "bash" before that)
            live = report(flscan, tree, "--live")
            if any(p["pid"] == fake.pid for p in live["live_processes"]):
                break
        pids = [p["pid"] for p in live["live_processes"]]
        assert fake.pid in pids, f"pid {fake.pid} not in {pids}"
        row = rows(live)["flcss-process"]
        assert row["status"] == "found", row
        assert any(f"pid {fake.pid}:" in e and "FLCSS.EXE" in e for e in row["evidence"]), row
        assert rows(live)["slowness"]["status"] == "found"
    finally:
        fake.kill()
        fake.wait()

    after = report(flscan, tree, "--live")
    assert fake.pid not in [p["pid"] for p in after["live_processes"]]
    if not after["live_processes"]:  # another test may run a flcss.exe of its own meanwhile
        assert rows(after)["flcss-process"]["status"] == "not-found"
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
