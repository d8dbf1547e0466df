#!/usr/bin/env python3
"""Issue 20: when it happened. flscan over the disk-image fixtures (corpus/build_images.py) whose
volumes hold the infected NT4 tree, against the corpus manifest's host tree entry, which says how
the fixture was built (corpus/build_corpus.py, NT4_* times; ntfs_populate sets them):

1. the fixture itself, read with The Sleuth Kit's istat (no flscan): every file named in the tree's
   `ntfs_times` carries exactly those four $STANDARD_INFORMATION times on the NTFS volume, so the
   clean program's times agree and the infected ones' MFT change time is later than their write time;
2. on the NTFS volume (mbr.raw p1): each result's `infected_at` is exactly the manifest's
   `expected_infected_at` (none for the dropper, the kernel and NTLDR, whose times agree), its
   `times` are the manifest's (`mft_changed`, not `inode_changed`), the installation's timeline
   events (time, kind, path) are exactly `expected_timeline` in order, and the spread is
   `expected_spread`;
3. on the FAT32 volume holding the same tree (gpt.raw p2): times are FAT's (no change time), no
   file has an `infected_at`, and the timeline has no infection events;
4. `flscan merge` of the NTFS image's two shards gives the same times, infected_at and timelines
   as the whole scan (the JSON reader reads times, key last-write times and record times back);
5. `--timeline FILE` is JSON Lines that Timesketch imports: every line an object with the fields
   Timesketch requires, `message` (text), `datetime` (ISO 8601) and `timestamp_desc` (text)
   (google/timesketch, docs/guides/user/import-from-json-csv.md, "Mandatory fields"), one line per
   timeline event and per infected file, carrying the same times as the JSON report.

Usage: timeline_test.py FLSCAN IMAGES_DIR"""
import datetime
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TREE = "windows/nt4-infected"
TIMESKETCH_REQUIRED = ("message", "datetime", "timestamp_desc")
failures: list[str] = []


def check(condition: bool, text: str) -> None:
    if not condition:
        failures.append(text)


def text_path(value) -> str:
    return value["text"] if isinstance(value, dict) else value


def below(path: str, volume: str) -> str | None:
    prefix = volume + "/"
    return path[len(prefix):] if path.startswith(prefix) else None


def istat_times(image: Path, offset_sectors: int, inode: str) -> dict:
    out = subprocess.run(["istat", "-o", str(offset_sectors), str(image), inode], capture_output=True, text=True,
                         check=True, env={"TZ": "UTC"}).stdout
    section = out.split("$STANDARD_INFORMATION Attribute Values:", 1)[1].split("$FILE_NAME", 1)[0]
    names = {"Created": "created", "File Modified": "modified", "MFT Modified": "mft_changed",
             "Accessed": "accessed"}
    times = {}
    for label, key in names.items():
        m = re.search(rf"^{label}:\s+(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d)", section, re.M)
        times[key] = m.group(1).replace(" ", "T") + "Z" if m else None
    return times


def check_fixture(image: Path, volume: dict, tree: dict) -> None:
    offset = volume["offset"] // 512
    listing = subprocess.run(["fls", "-r", "-p", "-o", str(offset), str(image)], capture_output=True, text=True,
                             check=True).stdout
    inodes = {}
    for line in listing.splitlines():
        m = re.match(r"r/r (\d+)-\S+:\t(.+)$", line)
        if m:
            inodes[m.group(2).lower()] = m.group(1)
    for path, times in tree["ntfs_times"].items():
        inode = inodes.get(path.lower())
        check(inode is not None, f"fixture: {path} not on the NTFS volume")
        if inode:
            check(istat_times(image, offset, inode) == times, f"fixture: {path} times {istat_times(image, offset, inode)} != {times}")
    clean = [p for p, t in tree["ntfs_times"].items() if len(set(t.values())) == 1 and p.endswith("pstores.exe")]
    check(len(clean) == 1, "fixture: a clean file whose four times agree (pstores.exe)")


def run_flscan(flscan: str, image: Path, work: Path) -> tuple[dict, list[str]]:
    report, timeline = work / "report.json", work / "timeline.jsonl"
    done = subprocess.run([flscan, "-q", "--json", str(report), "--timeline", str(timeline), str(image)],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 1:
        sys.exit(f"FAIL: flscan {image} exit {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(report.read_text()), timeline.read_text().splitlines()


def check_ntfs(report: dict, volume: str, tree: dict) -> None:
    infected_at = {}
    for result in report["results"]:
        rel = below(text_path(result["path"]), volume)
        if rel is None:
            continue
        times = result["times"]
        check(times is not None and times["source"] == "ntfs", f"{rel}: NTFS times")
        if times and rel in tree["ntfs_times"]:
            want = tree["ntfs_times"][rel]
            got = {k: times.get(k) for k in want}
            check(got == want, f"{rel}: times {got} != manifest {want}")
            check("inode_changed" not in times and "file_name" in times, f"{rel}: NTFS names")
        if result["infected_at"] is not None:
            infected_at[rel] = result["infected_at"]["time"]
            check("MFT" in result["infected_at"]["reasoning"], f"{rel}: reasoning names the MFT change time")
    check(infected_at == tree["expected_infected_at"],
          f"NTFS infected_at {infected_at} != manifest {tree['expected_infected_at']}")
    hosts = [h for h in report["hosts"] if text_path(h["root"]) == volume]
    check(len(hosts) == 1, f"one installation on {volume}")
    if not hosts:
        return
    timeline = hosts[0]["timeline"]
    got = [{"time": e["time"], "kind": e["kind"], "path": below(text_path(e["path"]), volume)}
           for e in timeline["events"]]
    check(got == tree["expected_timeline"], f"timeline {json.dumps(got, indent=1)} != manifest "
                                            f"{json.dumps(tree['expected_timeline'], indent=1)}")
    spread = {k: timeline["spread"][k] for k in tree["expected_spread"]}
    check(spread == tree["expected_spread"], f"spread {spread} != manifest {tree['expected_spread']}")
    check(all(e["source"] for e in timeline["events"]), "every event names its source")


def check_fat(report: dict, volume: str) -> None:
    seen = 0
    for result in report["results"]:
        rel = below(text_path(result["path"]), volume)
        if rel is None:
            continue
        seen += 1
        times = result["times"]
        check(times is not None and times["source"] == "fat", f"FAT {rel}: FAT times")
        check(times is None or ("mft_changed" not in times and "inode_changed" not in times),
              f"FAT {rel}: no change time")
        check(result["infected_at"] is None, f"FAT {rel}: no infected_at")
    check(seen > 0, f"results on {volume}")
    for host in report["hosts"]:
        if text_path(host["root"]) == volume:
            kinds = {e["kind"] for e in host["timeline"]["events"]}
            check(not kinds & {"first-infected", "last-infected"}, f"FAT timeline has no infection times: {kinds}")


def check_timesketch(lines: list[str], report: dict) -> None:
    check(len(lines) > 0, "timeline file not empty")
    expected = sum(len(h["timeline"]["events"]) + len(h["timeline"]["infections"]) for h in report["hosts"])
    check(len(lines) == expected, f"{len(lines)} JSON lines, {expected} events and infections in the report")
    report_times = {(e["time"], text_path(e["path"])) for h in report["hosts"] for e in h["timeline"]["events"]}
    report_times |= {(i["time"], text_path(i["path"])) for h in report["hosts"] for i in h["timeline"]["infections"]}
    for number, line in enumerate(lines, 1):
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            check(False, f"line {number}: not JSON: {error}")
            continue
        check(isinstance(event, dict), f"line {number}: not an object")
        for field in TIMESKETCH_REQUIRED:
            check(isinstance(event.get(field), str) and event[field] != "", f"line {number}: {field} missing or empty")
        # Timesketch indexes each attribute as one value: flat strings and numbers only.
        nested = [k for k, v in event.items() if isinstance(v, (dict, list))]
        check(not nested, f"line {number}: nested attributes {nested}")
        try:
            when = datetime.datetime.fromisoformat(event["datetime"].replace("Z", "+00:00"))
            check(when.tzinfo is not None, f"line {number}: datetime without a time zone")
        except (KeyError, ValueError):
            check(False, f"line {number}: datetime {event.get('datetime')!r} is not ISO 8601")
        check((event.get("datetime"), text_path(event.get("flscan_path"))) in report_times,
              f"line {number}: {event.get('datetime')} {event.get('flscan_path')} not in the JSON report")


def check_merge(flscan: str, image: Path, work: Path, whole: dict) -> None:
    shards = []
    for k in (1, 2):
        shard = work / f"shard{k}.json"
        subprocess.run([flscan, "-q", "--shard", f"{k}/2", "--json", str(shard), str(image)], capture_output=True,
                       timeout=300)
        shards.append(str(shard))
    merged = work / "merged.json"
    done = subprocess.run([flscan, "merge", "--json", str(merged), *shards], capture_output=True, text=True,
                          timeout=300)
    check(done.returncode == 1 and merged.exists(), f"merge exit {done.returncode}: {done.stderr[-500:]}")
    if not merged.exists():
        return
    report = json.loads(merged.read_text())
    pick = lambda doc: ([(r["path"], r["times"], r["infected_at"]) for r in doc["results"]],
                        [h["timeline"] for h in doc["hosts"]])
    check(pick(report) == pick(whole), "merged shards: times, infected_at or timelines differ from the whole scan")


def main() -> int:
    flscan, images = sys.argv[1], Path(sys.argv[2])
    manifest = json.loads((images / "manifest.json").read_text())
    corpus = json.loads((images / manifest["corpus"] / "manifest.json").read_text())
    tree = next(t for t in corpus["host_trees"] if t["root"] == TREE)
    by_path = {img["path"]: img for img in manifest["images"]}
    for name, fs in (("mbr.raw", "ntfs"), ("gpt.raw", "fat32")):
        image = by_path[name]
        volume = next(v for v in image["volumes"] if v["fs"] == fs and v["source_tree"] == TREE)
        path = images / name
        if fs == "ntfs":
            check_fixture(path, volume, tree)
        with tempfile.TemporaryDirectory() as work:
            report, lines = run_flscan(flscan, path, Path(work))
            root = f"{path}:{volume['name']}"
            if fs == "ntfs":
                check_ntfs(report, root, tree)
                check_merge(flscan, path, Path(work), report)
            else:
                check_fat(report, root)
            check_timesketch(lines, report)
    for failure in failures:
        print("FAIL:", failure)
    print(f"timeline_test: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
