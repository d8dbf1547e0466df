#!/usr/bin/env python3
"""Report equality of two flscan binaries over the generated corpus (issue 14).

A restructuring must not change what flscan prints. This runs both binaries on the same inputs
and compares their outputs byte by byte:
- the corpus trees: demo/ and each windows/* tree (corpus/README.md), and every disk image of
  corpus-images/ (corpus/build_images.py, its manifest.json lists them);
- for each: the text report (stdout), --json, --sarif and --html, plus stderr and the exit code;
- one shard-and-merge round (--shard 1/2 and 2/2 of demo/ and windows/, then `flscan merge` to
  --json, --sarif and --html), so the merge command is compared too.

Only what must differ between two runs is normalised before the comparison: the elapsed time and
the throughput derived from it (text `Time:` line, JSON `elapsed_seconds`, `bytes_per_second`,
`files_per_second`; the HTML page shows none), and the absolute path of the binary where a report or a
message names it. One difference is deliberate and ignored: the JSON report's top-level
`root_facts` key (issue 14: each PATH's absolute path and kind and the working directory, recorded
at scan time so the SARIF printer makes no filesystem call and `flscan merge` writes the scan's
SARIF bases from any directory, and since issue 19 each PATH's `read_order`), which the baseline
does not write; the rest of the document is compared byte for byte. Likewise the text summary's
`Read order:` line (issue 19, --read-order) is dropped from both. Each run writes its report files to the same paths (one scratch directory,
reused), so a report that names its own file names the same one in both runs.

Usage: compare_reports.py BASELINE_FLSCAN NEW_FLSCAN CORPUS_DIR [IMAGES_DIR]
  CORPUS_DIR is build/<preset>/corpus (`cmake --build --preset release --target corpus`);
  IMAGES_DIR defaults to CORPUS_DIR/../corpus-images.
Exit code 0 when every output is identical, 1 with the differences listed, 2 on a usage error."""

import difflib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TIMEOUT_SECONDS = 600

# Elapsed time and throughput: the only fields of a report that change from run to run.
TIMING_PATTERNS = [
    (re.compile(rb"Time: +[0-9.]+ s, [0-9.]+ MB/s, [0-9.]+ files/s"), b"Time: <elapsed>"),
    (re.compile(rb'("(?:elapsed_seconds|bytes_per_second|files_per_second)"\s*:\s*)[-0-9.eE+]+'), rb"\1<t>"),
]
# The HTML page shows no timing (report_html.cpp), so it is compared as written.

# The JSON report's "root_facts" (a top-level key, so indented by 2 and closed by the first line
# "  }," after it), which the code before issue 14 did not write: see the docstring.
ROOT_FACTS = re.compile(rb'\n  "root_facts": \{.*?\n  \},', re.DOTALL)
# The text summary's read order line (issue 19), which the baseline may not print.
READ_ORDER_LINE = re.compile(rb"\nRead order:   [^\n]*")


def normalise(data: bytes, binary: str) -> bytes:
    for pattern, replacement in TIMING_PATTERNS:
        data = pattern.sub(replacement, data)
    data = ROOT_FACTS.sub(b"", data)
    data = READ_ORDER_LINE.sub(b"", data)
    return data.replace(binary.encode(), b"<flscan>")


class Comparison:
    def __init__(self, baseline: str, new: str, scratch: Path) -> None:
        self.binaries = {"baseline": baseline, "new": new}
        self.scratch = scratch
        self.differences: list[str] = []
        self.compared = 0

    def run(self, which: str, args: list[str], cwd: Path, outputs: dict[str, Path]) -> dict[str, bytes]:
        """Runs one binary; returns its outputs normalised (stdout, stderr, exit code, files)."""
        for path in outputs.values():
            if path.exists():
                path.unlink()
        binary = self.binaries[which]
        r = subprocess.run([binary, *args], cwd=cwd, capture_output=True, timeout=TIMEOUT_SECONDS)
        result = {"exit code": str(r.returncode).encode(),
                  "stdout": normalise(r.stdout, binary),
                  "stderr": normalise(r.stderr, binary)}
        for name, path in outputs.items():
            data = path.read_bytes() if path.exists() else b"<no file written>"
            result[name] = normalise(data, binary)
        return result

    def compare(self, label: str, args: list[str], cwd: Path, outputs: dict[str, Path]) -> None:
        a = self.run("baseline", args, cwd, outputs)
        b = self.run("new", args, cwd, outputs)
        self.compared += 1
        for key in a:
            if a[key] == b[key]:
                continue
            diff = difflib.unified_diff(a[key].decode("utf-8", "replace").splitlines(),
                                        b[key].decode("utf-8", "replace").splitlines(),
                                        "baseline", "new", lineterm="", n=1)
            lines = list(diff)
            shown = "\n    ".join(lines[:20]) + ("\n    ..." if len(lines) > 20 else "")
            self.differences.append(f"{label} ({' '.join(args)}): {key} differs\n    {shown}")

    def scan(self, label: str, operands: list[str], cwd: Path) -> None:
        out = self.scratch
        self.compare(f"{label} text", ["--progress", "never", *operands], cwd, {})
        for fmt in ("json", "sarif", "html"):
            path = out / f"report.{fmt}"
            self.compare(f"{label} {fmt}", ["--progress", "never", f"--{fmt}", str(path), *operands], cwd,
                         {fmt: path})
        for fmt in ("json", "sarif"):  # '-': the report on stdout instead of the text report
            self.compare(f"{label} {fmt} on stdout", ["--progress", "never", f"--{fmt}", "-", *operands], cwd, {})

    def shard_and_merge(self, operands: list[str], cwd: Path) -> None:
        # The shard files must exist for both merges: each binary merges its own shards.
        for which in ("baseline", "new"):
            for k in (1, 2):
                shard = self.scratch / f"{which}-shard{k}.json"
                subprocess.run([self.binaries[which], "--progress", "never", "--shard", f"{k}/2",
                                "--json", str(shard), *operands], cwd=cwd, capture_output=True,
                               timeout=TIMEOUT_SECONDS)
        for k in (1, 2):
            a = normalise((self.scratch / f"baseline-shard{k}.json").read_bytes(), self.binaries["baseline"])
            b = normalise((self.scratch / f"new-shard{k}.json").read_bytes(), self.binaries["new"])
            self.compared += 1
            if a != b:
                self.differences.append(f"shard {k}/2 of {' '.join(operands)}: json differs")
        # Same shard file names for both merges: copy each binary's shards in place before its run.
        outputs = {fmt: self.scratch / f"merged.{fmt}" for fmt in ("json", "sarif", "html")}
        results = {}
        for which in ("baseline", "new"):
            for k in (1, 2):
                shutil.copyfile(self.scratch / f"{which}-shard{k}.json", self.scratch / f"shard{k}.json")
            args = ["merge", "--json", str(outputs["json"]), "--sarif", str(outputs["sarif"]),
                    "--html", str(outputs["html"]), str(self.scratch / "shard2.json"),
                    str(self.scratch / "shard1.json")]
            results[which] = self.run(which, args, cwd, outputs)
        self.compared += 1
        for key in results["baseline"]:
            if results["baseline"][key] != results["new"][key]:
                self.differences.append(f"merge of the 2 shards of {' '.join(operands)}: {key} differs")


def main() -> int:
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    baseline, new = (str(Path(p).resolve()) for p in sys.argv[1:3])
    corpus = Path(sys.argv[3]).resolve()
    images = Path(sys.argv[4]).resolve() if len(sys.argv) == 5 else (corpus.parent / "corpus-images")
    for binary in (baseline, new):
        if not Path(binary).is_file():
            print(f"compare_reports: no binary at {binary}", file=sys.stderr)
            return 2
    if not (corpus / "demo").is_dir() or not (corpus / "windows").is_dir():
        print(f"compare_reports: {corpus} has no demo/ and windows/ (build the corpus target)", file=sys.stderr)
        return 2
    manifest_path = images / "manifest.json"
    if not manifest_path.is_file():
        print(f"compare_reports: no {manifest_path} (the corpus target builds the images)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="flscan-compare-") as tmp:
        c = Comparison(baseline, new, Path(tmp))
        trees = ["demo"] + sorted(f"windows/{p.name}" for p in (corpus / "windows").iterdir() if p.is_dir())
        for tree in trees:
            c.scan(tree, [tree], corpus)
        c.scan("all trees together", trees, corpus)
        for image in json.loads(manifest_path.read_text())["images"]:
            c.scan(f"image {image['path']}", [image["path"]], images)
        c.shard_and_merge(["demo", "windows"], corpus)

    if c.differences:
        print(f"compare_reports: {len(c.differences)} difference(s) in {c.compared} comparisons:")
        for d in c.differences:
            print(f"- {d}")
        return 1
    print(f"compare_reports: {c.compared} comparisons, every output identical "
          f"({len(trees)} trees, {len(json.loads(manifest_path.read_text())['images'])} images, one merge)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
