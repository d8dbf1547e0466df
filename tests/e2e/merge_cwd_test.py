#!/usr/bin/env python3
"""flscan merge writes the scan's SARIF from any working directory (issue 14).

The SARIF log names each PATH operand's base by its absolute path and says whether the operand is
a directory; a path outside every PATH (the installation of --windows-root) is an absolute URI.
The scan records each root's absolute path and kind and its working directory in the JSON report
("root_facts", scanner/JSON.md), so the printer makes no filesystem call and a merge run elsewhere
(where the relative PATHs name nothing) writes the same SARIF as the full scan.

1. In CORPUS_DIR, with relative PATHs: the demo tree (a directory), one infected sample (a file),
   and --windows-root windows/nt4-infected/WINNT (outside both PATHs): one full scan (--sarif) and
   two shard scans (--json). Its bases are checked against how the operands were given: PATH1 is
   CORPUS_DIR/demo/, PATH2 the sample's directory "(its directory)"; the installation's results
   lie at file://CORPUS_DIR/windows/nt4-infected/WINNT/.
2. flscan merge of the two shards, run in an empty scratch directory: originalUriBaseIds and
   results equal the full scan's.
3. The same shards without "root_facts" (a report of a version that did not record them), merged
   in the scratch directory: the kinds are inferred from the reports (demo a directory, the sample
   a file: it has a result), relative PATHs get a base without "uri" (unknown, never guessed from
   the merge's directory), and the log still validates against the SARIF 2.1.0 schema.

Usage: merge_cwd_test.py FLSCAN CORPUS_DIR SARIF_SCHEMA"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True  # nothing written next to the sources
sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_support import check, finish  # noqa: E402
import sarif_test  # noqa: E402


def run(flscan: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([flscan, *args], cwd=cwd, capture_output=True, timeout=300)


def file_uri(path: str, directory: bool) -> str:
    # scanner/SARIF.md: bytes percent-encoded but the unreserved characters and '/'.
    return "file://" + urllib.parse.quote(path + ("/" if directory else ""), safe="/")


def main() -> int:
    flscan, corpus, schema_path = os.path.abspath(sys.argv[1]), Path(sys.argv[2]).resolve(), sys.argv[3]
    manifest = json.loads((corpus / "manifest.json").read_text())
    validator = sarif_test.validator(schema_path)

    # A sample outside demo/ so that it is its own PATH, not below PATH1.
    sample = next(f["path"] for f in manifest["files"]
                  if f["expected"] == "infected" and not f["path"].startswith(("demo/", "windows/")))
    windows = next(t for t in manifest["host_trees"] if t["expected_verdict"] == "q317218")
    windows_root = f"{windows['root']}/{windows['windows_dir']}"
    operands = ["demo", sample]
    common = ["--progress", "never", "--windows-root", windows_root]

    with tempfile.TemporaryDirectory(prefix="flscan-merge-cwd-") as tmp:
        out = Path(tmp) / "out"
        elsewhere = Path(tmp) / "elsewhere"  # no demo/, no sample, no windows/ here
        out.mkdir()
        elsewhere.mkdir()
        full = run(flscan, [*common, "--sarif", str(out / "full.sarif"), *operands], corpus)
        check(full.returncode == 1, f"full scan: exit code {full.returncode}, expected 1: {full.stderr!r}")
        full_run = json.loads((out / "full.sarif").read_text())["runs"][0]
        bases = full_run["originalUriBaseIds"]
        check(bases["PATH1"]["uri"] == file_uri(str(corpus / "demo"), True), f"full scan: PATH1 is {bases['PATH1']}")
        check(not bases["PATH1"]["description"]["text"].endswith("(its directory)"), "full scan: demo not a directory")
        check(bases["PATH2"]["uri"] == file_uri(str((corpus / sample).parent), True), f"full scan: PATH2 is {bases['PATH2']}")
        check(bases["PATH2"]["description"]["text"].endswith("(its directory)"), "full scan: the sample a directory")
        windows_uri = file_uri(str(corpus / windows_root), True)
        host_uris = [loc["physicalLocation"]["artifactLocation"] for r in full_run["results"]
                     if r["ruleId"].startswith("FL1") for loc in r.get("locations", [])]
        check(any(loc.get("uri") == windows_uri and "uriBaseId" not in loc for loc in host_uris),
              f"full scan: no host result at {windows_uri}: {host_uris[:3]}")

        shards = []
        for k in (1, 2):
            name = out / f"s{k}.json"
            shard = run(flscan, [*common, "--shard", f"{k}/2", "--json", str(name), *operands], corpus)
            check(shard.returncode in (0, 1, 2), f"shard {k}/2: exit code {shard.returncode}: {shard.stderr!r}")
            shards.append(name)

        merged = run(flscan, ["merge", "--sarif", str(out / "merged.sarif"), *map(str, shards)], elsewhere)
        check(merged.returncode == full.returncode, f"merge: exit code {merged.returncode}: {merged.stderr!r}")
        merged_run = json.loads((out / "merged.sarif").read_text())["runs"][0]
        check(merged_run["originalUriBaseIds"] == bases,
              f"merge elsewhere: bases {merged_run['originalUriBaseIds']} != the scan's {bases}")
        check(merged_run["results"] == full_run["results"], "merge elsewhere: results differ from the full scan's")

        # Reports without "root_facts": inferred kinds, no base URI for a relative PATH.
        older = []
        for k, name in enumerate(shards, 1):
            document = json.loads(name.read_text())
            check("root_facts" in document, f"shard {k}/2: no root_facts recorded")
            document.pop("root_facts", None)
            path = out / f"older{k}.json"
            path.write_text(json.dumps(document))
            older.append(path)
        merged = run(flscan, ["merge", "--sarif", str(out / "older.sarif"), *map(str, older)], elsewhere)
        check(merged.returncode == full.returncode, f"merge of older reports: exit code {merged.returncode}: {merged.stderr!r}")
        log = json.loads((out / "older.sarif").read_text())
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
        check(not errors, f"merge of older reports: SARIF does not validate: {errors[:1]}")
        older_bases = log["runs"][0]["originalUriBaseIds"]
        check("uri" not in older_bases["PATH1"] and "uri" not in older_bases["PATH2"],
              f"merge of older reports: a base URI guessed for a relative PATH: {older_bases}")
        check(older_bases["PATH1"]["description"] == bases["PATH1"]["description"],
              f"merge of older reports: demo not inferred a directory: {older_bases['PATH1']}")
        check(older_bases["PATH2"]["description"] == bases["PATH2"]["description"],
              f"merge of older reports: the sample not inferred a file: {older_bases['PATH2']}")
        file_results = [r for r in full_run["results"] if r["ruleId"].startswith("FL0")]
        older_file_results = [r for r in log["runs"][0]["results"] if r["ruleId"].startswith("FL0")]
        check(older_file_results == file_results, "merge of older reports: file results differ from the full scan's")

    return finish("merge_cwd: a merge in another directory than the scan, and of reports without root_facts")


if __name__ == "__main__":
    sys.exit(main())
