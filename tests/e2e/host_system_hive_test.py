#!/usr/bin/env python3
"""An installation whose SYSTEM hive is missing or not a file still gets its host report (issue 12).

Copies of corpus windows/q321454 (its SysEvent.Evt holds two 7024 Protected Storage records, per
corpus/README.md) with config/SYSTEM replaced by a directory, or removed: flscan recognises the
installation by system32/config, reports the hive as a host error naming it (exit 2; verdict
incomplete, or Q321454 said to be from an incomplete scan) and still reads SysEvent.Evt (the event-7024 row is found). A tree with an empty
system32/config and no other Windows file is not an installation.

Usage: host_system_hive_test.py FLSCAN CORPUS_DIR"""
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_support import check, finish  # noqa: E402


def scan(flscan: str, tree: Path) -> tuple[int, dict]:
    r = subprocess.run([flscan, "--progress", "never", "--json", "-", str(tree)], capture_output=True, timeout=120)
    return r.returncode, json.loads(r.stdout)


def main() -> int:
    flscan, corpus = sys.argv[1], Path(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="flscan-system-hive-") as scratch:
        work = Path(scratch)
        for label, reason in (("directory", "not a regular file"), ("missing", "no system32/config/SYSTEM")):
            tree = work / label
            shutil.copytree(corpus / "windows/q321454", tree)
            hive = tree / "WINNT/System32/config/SYSTEM"
            hive.unlink()
            if label == "directory":
                hive.mkdir()
            code, report = scan(flscan, tree)
            check(code == 2, f"SYSTEM {label}: exit {code}, expected 2")
            check(len(report["hosts"]) == 1, f"SYSTEM {label}: {len(report['hosts'])} host reports, expected 1")
            for host in report["hosts"]:
                # The 7024 record with no FunLove evidence is Q321454 (JSON.md, verdict), qualified:
                # the hive that could rule FunLove out was not read (host_report.cpp build_verdict).
                check(host["verdict"] == "q321454" and "incomplete" in host["verdict_text"],
                      f"SYSTEM {label}: verdict {host['verdict']}: {host['verdict_text']}")
                check(any(reason in e for e in host["errors"]), f"SYSTEM {label}: no error saying {reason!r}: {host['errors']}")
                rows = {row["id"]: row["status"] for row in host["symptoms"]}
                check(rows.get("event-7024") == "found", f"SYSTEM {label}: event-7024 {rows.get('event-7024')}, expected found")
        bare = work / "bare"
        (bare / "WINNT/System32/config").mkdir(parents=True)
        code, report = scan(flscan, bare)
        check(code == 0 and report["hosts"] == [], f"an empty system32/config: exit {code}, {len(report['hosts'])} hosts")
    return finish("SYSTEM hive missing or not a file")


if __name__ == "__main__":
    sys.exit(main())
