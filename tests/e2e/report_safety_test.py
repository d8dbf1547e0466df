#!/usr/bin/env python3
"""Reports, shard files and -d databases as an attacker prepares them (issue 13, items 5-10),
against the flscan binary. Every tree, shard and database here is made by this script.

1. Report names that exist as symlinks (the README's CI recipe writes --sarif flscan.sarif inside
   the scanned checkout): --json, --sarif and --html of a scan and of flscan merge are refused
   (exit 2, the file named) and the symlink's target is untouched; a FIFO as a report name is
   refused without blocking; an existing regular report is replaced whole, and no temporary
   file is left beside it.
2. A shard whose results[0].sha256 holds <script> or an OSC 52 escape: the merge is refused,
   naming the file, the field and the entry; nothing is written.
3. A shard listing an infected file whose summary claims none (infected_files 0, exit_code 0):
   the merge exits 1 and the merged JSON, SARIF and HTML all say exit code 1.
4. A file named bidi<U+202E>exe.txt: the text report prints the character as \\xe2\\x80\\xae.
5. -d naming a FIFO: exit 2 with the file named, within seconds (it used to block in open).

Usage: report_safety_test.py FLSCAN"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_support import check, finish  # noqa: E402

RLO = "\u202e"


def run(flscan: str, args: list, cwd: Path, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run([flscan, *args], cwd=cwd, capture_output=True, timeout=timeout)


def shard_json(flscan: str, tree: Path, work: Path) -> dict:
    """A real shard report (1/1) of `tree`, for the crafted variants."""
    r = run(flscan, ["--progress", "never", "--inventory", "--shard", "1/1", "--json", "-", str(tree)], work)
    check(r.returncode == 0, f"shard scan of a clean tree: exit {r.returncode}: {r.stderr[-500:]!r}")
    return json.loads(r.stdout)


def infected_result(path: str) -> dict:
    finding = {"kind": "infected", "severity": "infection", "rule": "funlove.structure", "name": "W32.FunLove.4099",
               "confidence": "high", "evidence": "crafted", "offset": 0}
    return {"path": {"text": path}, "size": 4099, "sha256": "a" * 64, "type": "pe", "state": "infected",
            "severity": "infection", "findings": [finding], "action": None}


def symlinked_reports(flscan: str, work: Path, tree: Path, shard: Path) -> None:
    victim = work / "victim.txt"
    for option, name in (("--json", "flscan.json"), ("--sarif", "flscan.sarif"), ("--html", "flscan.html")):
        for command in (["--progress", "never", option, name, str(tree)], ["merge", option, name, str(shard)]):
            victim.write_bytes(b"precious\n")
            link = tree / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(victim)
            label = f"{'merge ' if command[0] == 'merge' else ''}{option} through a symlink"
            r = run(flscan, command, tree)
            check(r.returncode == 2, f"{label}: exit {r.returncode}, expected 2")
            check(name.encode() in r.stderr and b"symbolic link" in r.stderr, f"{label}: stderr does not name it: {r.stderr!r}")
            check(victim.read_bytes() == b"precious\n", f"{label}: the symlink's target was written")
            check(link.is_symlink(), f"{label}: the symlink was replaced")
            link.unlink()
    # A FIFO at the report name: refused at once (a plain open for writing blocks for a reader).
    fifo = tree / "flscan.json"
    os.mkfifo(fifo)
    try:
        r = run(flscan, ["--progress", "never", "--json", "flscan.json", str(tree)], tree, timeout=20)
        check(r.returncode == 2 and b"flscan.json" in r.stderr, f"--json FIFO: exit {r.returncode}: {r.stderr!r}")
    except subprocess.TimeoutExpired:
        check(False, "--json naming a FIFO blocked")
    fifo.unlink()
    # An existing regular report is replaced whole, with nothing left beside it.
    out = work / "out"
    out.mkdir()
    (out / "r.json").write_bytes(b"old report, longer than nothing" * 100)
    r = run(flscan, ["--progress", "never", "--json", str(out / "r.json"), str(tree)], work)
    check(r.returncode == 0, f"--json over an existing report: exit {r.returncode}: {r.stderr!r}")
    check(json.loads((out / "r.json").read_text()).get("schema") == "flscan-report", "existing report not replaced by the new one")
    check(sorted(p.name for p in out.iterdir()) == ["r.json"], f"files left beside the report: {sorted(os.listdir(out))}")


def crafted_fields(flscan: str, work: Path, base: dict) -> None:
    for label, value in (("<script>", "<script>alert(1)</script>"), ("OSC 52", "\x1b]52;c;cHduZWQ=\x07" + "a" * 56)):
        doc = json.loads(json.dumps(base))
        doc["results"] = [infected_result("/x/a.exe")]
        doc["results"][0]["sha256"] = value
        shard = work / "crafted.json"
        shard.write_text(json.dumps(doc))
        html = work / "crafted.html"
        r = run(flscan, ["merge", "--html", str(html), str(shard)], work)
        check(r.returncode == 2, f"sha256 {label}: merge exit {r.returncode}, expected 2")
        check(b"crafted.json" in r.stderr and b"results[0].sha256" in r.stderr, f"sha256 {label}: error does not name file and field: {r.stderr!r}")
        check(b"\x1b" not in r.stdout + r.stderr, f"sha256 {label}: an escape byte reached the terminal")
        check(not html.exists(), f"sha256 {label}: the HTML report was written")


def lying_counters(flscan: str, work: Path, base: dict) -> None:
    doc = json.loads(json.dumps(base))
    doc["results"] = [infected_result("/x/a.exe")]
    doc["exit_code"] = 0
    check(doc["summary"]["infected_files"] == 0, "the clean shard's summary is not 0 to begin with")
    shard = work / "lying.json"
    shard.write_text(json.dumps(doc))
    r = run(flscan, ["merge", "--json", "m.json", "--sarif", "m.sarif", "--html", "m.html", str(shard)], work)
    check(r.returncode == 1, f"lying counters: merge exit {r.returncode}, expected 1")
    check(b"FOUND" in r.stdout, "lying counters: the text report does not print FOUND")
    merged = json.loads((work / "m.json").read_text())
    check(merged["exit_code"] == 1 and merged["summary"]["infected_files"] == 1,
          f"lying counters: JSON exit_code {merged['exit_code']}, infected_files {merged['summary']['infected_files']}")
    sarif = json.loads((work / "m.sarif").read_text())
    check(sarif["runs"][0]["invocations"][0]["exitCode"] == 1, "lying counters: SARIF exitCode is not 1")
    check("<th>Exit code</th><td>1</td>" in (work / "m.html").read_text(), "lying counters: HTML exit code is not 1")


def bidi_name(flscan: str, work: Path) -> None:
    tree = work / "bidi"
    tree.mkdir()
    # A FIFO is never read: it is listed as skipped with -v, and its name printed.
    os.mkfifo(tree / f"bidi{RLO}exe.txt")
    r = run(flscan, ["--progress", "never", "-v", str(tree)], work)
    check(b"bidi\\xe2\\x80\\xaeexe.txt" in r.stdout, f"bidi name not escaped: {r.stdout!r}")
    check(RLO.encode() not in r.stdout + r.stderr, "U+202E reached the terminal")


def fifo_database(flscan: str, work: Path, tree: Path) -> None:
    fifo = work / "sigs.ndb"
    os.mkfifo(fifo)
    try:
        r = run(flscan, ["--progress", "never", "-d", str(fifo), str(tree)], work, timeout=20)
        check(r.returncode == 2, f"-d FIFO: exit {r.returncode}, expected 2")
        check(b"sigs.ndb" in r.stderr and b"not a regular file" in r.stderr, f"-d FIFO: stderr {r.stderr!r}")
    except subprocess.TimeoutExpired:
        check(False, "-d naming a FIFO blocked")


def main() -> int:
    flscan = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="flscan-report-safety-") as tmp:
        work = Path(tmp)
        tree = work / "checkout"
        tree.mkdir()
        (tree / "README").write_bytes(b"a clean file\n")
        base = shard_json(flscan, tree, work)
        shard = work / "shard.json"
        shard.write_text(json.dumps(base))
        symlinked_reports(flscan, work, tree, shard)
        crafted_fields(flscan, work, base)
        lying_counters(flscan, work, base)
        bidi_name(flscan, work)
        fifo_database(flscan, work, tree)
    return finish("report safety")


if __name__ == "__main__":
    sys.exit(main())
