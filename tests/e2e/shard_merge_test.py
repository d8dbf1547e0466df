#!/usr/bin/env python3
"""--shard K/N and flscan merge over the corpus: the merged report equals a full scan.

1. One full scan (--inventory --json --sarif, text on stdout) of every corpus directory (each
   Windows tree of manifest.host_trees as its own PATH, so its installation is found), one file
   PATH, a PATH that does not exist, a scratch tree with a FIFO, a symlink and an excluded file
   (skipped entries), and the raw disk images of corpus-images/ when they were built (good and
   broken ones), with a qcow2 snapshot over its backing file and a split raw set, and then also
   a directory holding copies of the corpus's VHD and raw GPT disk
   (disk images met during the walk, opened by every shard: their files split by
   `vm/IMAGE:pN/path`). Its host verdicts and symptom statuses are first checked against the
   corpus manifest.
2. For N = 2, 3 and 5: the N shard scans and their merge. Required: every file the walk finds
   lands in exactly one shard (files_seen + files_in_other_shards is the full count in every
   shard; the shards' inventories partition the full one, the files inside the directory's disk
   images among them, which land in more than one shard); the merged JSON equals the full scan
   in results, not_scanned, skipped, inventory, hosts (verdicts, every symptom row, programs,
   kernel, services, events, remediation, errors), options, summary (timings aside) and exit
   code; the merged text report equals the full one (the Time line aside); the merged SARIF
   validates against the OASIS SARIF 2.1.0 schema and has the full scan's results; the merge
   exits with the full scan's exit code.
3. Refusals (exit code 2, the files named): a missing shard, a duplicate shard, shards of
   different N, a report written without --shard, a report that is not JSON, a FIFO (never
   opened) and an absent file as reports, shards of different PATHs, shards whose image was
   made of different files (a parent chain found differently).

Usage: shard_merge_test.py FLSCAN CORPUS_DIR SARIF_SCHEMA"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

failures: list[str] = []


def check(condition: bool, text: str) -> bool:
    if not condition:
        failures.append(text)
    return condition


def run(flscan: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([flscan, *args], cwd=cwd, capture_output=True, timeout=300)


TIMING = {"elapsed_seconds", "bytes_per_second", "files_per_second"}


def without_timing(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in TIMING}


def text_without_time(text: bytes) -> list[bytes]:
    return [line for line in text.splitlines() if not line.startswith(b"Time:")]


def path_text(path: dict) -> str:
    return path["text"] if "text" in path else "bytes:" + path["bytes"]


def compare(full: dict, merged: dict, label: str) -> None:
    for key in ("schema", "schema_version", "flscan_version", "signatures", "roots", "options", "results",
                "not_scanned", "skipped", "inventory", "live_processes", "exit_code"):
        check(full.get(key) == merged.get(key), f"{label}: merged '{key}' differs from the full scan")
    check(merged.get("shard") is None, f"{label}: merged report still names a shard")
    check(without_timing(full["summary"]) == without_timing(merged["summary"]),
          f"{label}: merged summary differs: {without_timing(full['summary'])} != {without_timing(merged['summary'])}")
    check(len(full["hosts"]) == len(merged["hosts"]), f"{label}: different number of hosts")
    for a, b in zip(full["hosts"], merged["hosts"]):
        where = f"{label}: host {path_text(a['windows_dir'])}"
        check(a["verdict"] == b["verdict"], f"{where}: verdict {b['verdict']} != full {a['verdict']}")
        for row_a, row_b in zip(a["symptoms"], b["symptoms"]):
            check(row_a == row_b, f"{where}: symptom {row_a['id']} differs: {row_b} != {row_a}")
        for key in a:
            check(a[key] == b.get(key), f"{where}: '{key}' differs")


def main() -> int:
    flscan, corpus, schema_path = os.path.abspath(sys.argv[1]), Path(sys.argv[2]).resolve(), Path(sys.argv[3])
    manifest = json.loads((corpus / "manifest.json").read_text())
    # The SARIF test's validator: the schema read from disk, every remote reference refused.
    sys.dont_write_bytecode = True  # nothing written next to the sources
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import sarif_test
    validator = sarif_test.validator(str(schema_path))

    work = Path(tempfile.mkdtemp(prefix="flscan-shard-"))
    try:
        # Scratch tree: skipped entries and an excluded file, so their owner-only rule is covered.
        scratch = work / "scratch"
        (scratch / "sub").mkdir(parents=True)
        os.mkfifo(scratch / "pipe")
        os.symlink("sub", scratch / "link")
        for i in range(30):
            (scratch / "sub" / f"note{i}.txt").write_bytes(b"not a PE %d\n" % i)
        (scratch / "skip.iso").write_bytes(b"excluded")
        (work / "out").mkdir()

        trees = sorted(str(corpus / t["root"]) for t in manifest["host_trees"])
        dirs = sorted(str(p) for p in corpus.iterdir() if p.is_dir() and p.name != "windows")
        roots = [*dirs, *trees, str(corpus / "manifest.json"), str(work / "missing-dir"), str(scratch)]
        # Disk images, when the corpus target built them (corpus/README.md "Disk images"): their
        # files shard by `pN/path`, their broken volumes are reported by every shard.
        images = corpus.parent / "corpus-images"
        roots += [str(p) for p in sorted(images.glob("*.raw"))] + [str(p) for p in sorted(images.glob("broken/*.raw"))]
        roots += [str(p) for p in (images / "mbr-snapshot.qcow2", images / "split/mbr.001") if p.is_file()]
        # Disk images inside a directory PATH (issue 15): every shard opens them and scans its share.
        nested_prefixes = []
        if (images / "mbr.vhd").is_file() and (images / "gpt.raw").is_file():
            (scratch / "vm").mkdir()
            for name in ("mbr.vhd", "gpt.raw"):
                shutil.copy(images / name, scratch / "vm" / name)
                nested_prefixes.append(f"{scratch}/vm/{name}:")
        common = ["--progress", "never", "--inventory", "--exclude", "*.iso", "-j", "2"]

        full = run(flscan, [*common, "--json", "out/full.json", "--sarif", "out/full.sarif", *roots], work)
        check(full.returncode == 1, f"full scan: exit code {full.returncode}, expected 1 (corpus infections)")
        full_json = json.loads((work / "out/full.json").read_text())
        full_sarif = json.loads((work / "out/full.sarif").read_text())

        # The full scan itself against the manifest (the merged one must equal it).
        for tree in manifest["host_trees"]:
            hosts = [h for h in full_json["hosts"] if path_text(h["root"]) == str(corpus / tree["root"])]
            if not check(len(hosts) == 1, f"full scan: no host report for {tree['root']}"):
                continue
            # The missing PATH makes the whole scan incomplete: what would be no-evidence is incomplete.
            expected = "incomplete" if tree["expected_verdict"] == "no-evidence" else tree["expected_verdict"]
            check(hosts[0]["verdict"] == expected,
                  f"full scan: {tree['root']} verdict {hosts[0]['verdict']} != manifest {tree['expected_verdict']}")
            got = {row["id"]: row["status"] for row in hosts[0]["symptoms"]}
            check(got == tree["symptoms"], f"full scan: {tree['root']} symptoms {got} != manifest {tree['symptoms']}")
        check(any(e["reason"] == "not-found" for e in full_json["not_scanned"]), "full scan: missing PATH not reported")
        check(full_json["summary"]["skipped"] >= 3, "full scan: FIFO, symlink and excluded file not counted as skipped")
        nested_volumes = {path_text(v["image"]) + ":" for v in full_json.get("volumes") or []} & set(nested_prefixes)
        check(nested_volumes == set(nested_prefixes), f"full scan: the directory's disk images were not opened "
                                                      f"({sorted(nested_volumes)} of {nested_prefixes})")

        full_inventory = {path_text(i["path"]) for i in full_json["inventory"]}
        full_seen = full_json["summary"]["files_seen"]
        for n in (2, 3, 5):
            shard_files = []
            inventory_owner: dict[str, int] = {}
            for k in range(1, n + 1):
                name = f"out/n{n}-s{k}.json"
                shard_run = run(flscan, [*common, "--shard", f"{k}/{n}", "--json", name, *roots], work)
                check(shard_run.returncode in (0, 1, 2), f"N={n} shard {k}: exit code {shard_run.returncode}")
                check(f"flscan shard {k}/{n}".encode() in shard_run.stdout, f"N={n} shard {k}: no shard line in the text report")
                shard_json = json.loads((work / name).read_text())
                check(shard_json["shard"] == {"k": k, "n": n}, f"N={n} shard {k}: \"shard\" is {shard_json['shard']}")
                summary = shard_json["summary"]
                check(summary["files_seen"] + summary["files_in_other_shards"] == full_seen,
                      f"N={n} shard {k}: files_seen {summary['files_seen']} + other {summary['files_in_other_shards']} != {full_seen}")
                for item in shard_json["inventory"]:
                    path = path_text(item["path"])
                    check(path not in inventory_owner, f"N={n}: {path} in shards {inventory_owner.get(path)} and {k}")
                    inventory_owner[path] = k
                for host in shard_json["hosts"]:  # a shard alone never claims what only the merge knows
                    check(host["verdict"] in ("q317218", "incomplete"),
                          f"N={n} shard {k}: host verdict {host['verdict']} from one shard")
                shard_files.append(name)
            check(set(inventory_owner) == full_inventory, f"N={n}: the shards' inventories are not the full inventory")
            check(len(set(inventory_owner.values())) > 1, f"N={n}: every PE file landed in one shard")
            if nested_prefixes:
                nested_owners = {k for path, k in inventory_owner.items() if path.startswith(tuple(nested_prefixes))}
                check(len(nested_owners) > 1, f"N={n}: the files inside the directory's disk images landed in "
                                              f"shards {sorted(nested_owners)} only")

            merged_run = run(flscan, ["merge", "--json", f"out/m{n}.json", "--sarif", f"out/m{n}.sarif",
                                      "--html", f"out/m{n}.html", *reversed(shard_files)], work)
            check(merged_run.returncode == full.returncode,
                  f"N={n}: merge exit code {merged_run.returncode} != full scan {full.returncode}: {merged_run.stderr!r}")
            if not check((work / f"out/m{n}.json").exists(), f"N={n}: no merged JSON"):
                continue
            merged_json = json.loads((work / f"out/m{n}.json").read_text())
            compare(full_json, merged_json, f"N={n}")
            check(text_without_time(merged_run.stdout) == text_without_time(full.stdout),
                  f"N={n}: merged text report differs from the full scan's")
            merged_sarif = json.loads((work / f"out/m{n}.sarif").read_text())
            errors = sorted(validator.iter_errors(merged_sarif), key=lambda e: list(e.path))
            check(not errors, f"N={n}: merged SARIF does not validate: {errors[:1]}")
            check(merged_sarif["runs"][0]["results"] == full_sarif["runs"][0]["results"],
                  f"N={n}: merged SARIF results differ from the full scan's")

        # Refusals: never a silent partial or mixed merge.
        def refused(args: list[str], words: list[str], label: str) -> None:
            result = run(flscan, ["merge", "--json", "out/refused.json", *args], work)
            err = result.stderr.decode(errors="replace")
            check(result.returncode == 2, f"{label}: exit code {result.returncode}, expected 2")
            for word in words:
                check(word in err, f"{label}: '{word}' not in the error: {err!r}")

        refused(["out/n3-s1.json", "out/n3-s3.json"], ["missing shard 2/3"], "missing shard")
        refused(["out/n3-s1.json", "out/n3-s2.json", "out/n3-s2.json", "out/n3-s3.json"],
                ["shard 2/3 more than once", "out/n3-s2.json"], "duplicate shard")
        shutil.copy(work / "out/n3-s2.json", work / "out/copy-s2.json")
        refused(["out/n3-s1.json", "out/n3-s2.json", "out/copy-s2.json", "out/n3-s3.json"],
                ["out/n3-s2.json, out/copy-s2.json"], "duplicate shard in two files")
        refused(["out/n2-s1.json", "out/n3-s2.json"], ["shard counts differ", "out/n2-s1.json", "out/n3-s2.json"],
                "mixed N")
        refused(["out/full.json"], ["out/full.json", "not a shard report"], "full report")
        os.mkfifo(work / "out/fifo.json")  # never opened: a FIFO would block the merge
        refused(["out/n2-s1.json", "out/fifo.json"], ["out/fifo.json", "not a regular file"], "FIFO")
        refused(["out/n2-s1.json", "out/absent.json"], ["out/absent.json", "No such file"], "absent file")
        (work / "out/broken.json").write_text('{"schema": "flscan-report", ')
        refused(["out/n2-s1.json", "out/broken.json"], ["out/broken.json", "not valid JSON"], "broken JSON")
        other = run(flscan, ["--progress", "never", "--inventory", "--exclude", "*.iso", "-j", "2", "--shard", "2/2",
                             "--json", "out/other-s2.json", trees[0]], work)
        check(other.returncode in (0, 1, 2), "other scan failed")
        refused(["out/n2-s1.json", "out/other-s2.json"], ["different PATHs", "out/other-s2.json"], "different PATHs")
        # The tree changes between two shard runs (a file added after shard 1/2 had passed): the
        # new file's owner may be a shard that already ran, so the merge must refuse.
        (scratch / "sub" / "late.txt").write_bytes(b"created between the shard runs\n")
        late = run(flscan, [*common, "--shard", "2/2", "--json", "out/late-s2.json", *roots], work)
        (scratch / "sub" / "late.txt").unlink()
        check(late.returncode in (0, 1, 2), f"late shard: exit code {late.returncode}")
        refused(["out/n2-s1.json", "out/late-s2.json"],
                ["tree changed between the shard runs", "out/n2-s1.json", "out/late-s2.json"], "changed tree")
        # A shard that read an image through other files (another backing file): another disk.
        shard2 = json.loads((work / "out/n2-s2.json").read_text())
        chained = [v for v in shard2["volumes"] if len(v["image_files"]) > 1]
        check(bool(chained) or not (images / "mbr-snapshot.qcow2").is_file(), "no volume names its parent chain")
        if chained:
            chained[0]["image_files"][-1] = {"text": "other-base.qcow2"}
            (work / "out/chain-s2.json").write_text(json.dumps(shard2))
            refused(["out/n2-s1.json", "out/chain-s2.json"], ["different disk image volumes", "out/chain-s2.json"],
                    "different parent files")
        check(not (work / "out/refused.json").exists(), "a refused merge wrote a report")
        usage = run(flscan, ["merge", "--help"], work)
        check(usage.returncode == 0 and b"--shard" in usage.stdout, "flscan merge --help")
        help_text = run(flscan, ["--help"], work).stdout
        check(b"--shard" in help_text and b"flscan merge" in help_text, "--help does not describe --shard and merge")
        bad = run(flscan, ["--shard", "0/3", str(scratch)], work)
        check(bad.returncode == 2 and b"counted from 1" in bad.stderr, f"--shard 0/3: {bad.returncode} {bad.stderr!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    for failure in failures:
        print("FAIL:", failure)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
