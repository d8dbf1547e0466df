#!/usr/bin/env python3
"""A disk image scanned by flscan gives the same report as the directory trees it was built from.

The images and their manifest come from corpus/build_images.py (image_fixtures_test.py proves
them with The Sleuth Kit, without flscan). For every image the manifest lists:

- good images (raw MBR and GPT disks, a bare FAT32 volume, the MBR disk as VHD, VMDK and E01, an
  LVM2 physical volume bare and as an MBR partition, its logical volumes `lvN` / `p1.lvN`):
  `flscan --json - --inventory IMAGE` against `flscan --json - --inventory TREE` for each
  volume's source tree, FILE BY FILE with `IMAGE:<volume>/<rel>` <-> `TREE/<rel>`: the set of
  result paths, every result field (type, state, severity, size, sha256, every finding's kind,
  severity, rule, offset and evidence), the inventory (size, sha256, type), not_scanned and
  skipped, and each Windows installation's host report (verdict, every symptom row, programs,
  kernel, services, events) with paths mapped the same way; and both against the corpus
  manifest (each file's expected state, each tree's verdict and symptom statuses, the number of
  files each volume holds) and the images manifest (exit code; the report's `volumes`: names,
  offsets, lengths, container format, file system);
- the same disk as qcow2 (version 3, version 2, compressed), VHDX, a differencing VHD and VHDX,
  qcow2 chains of two and three files (one ending in a raw file), and split raw sets (issue 15), compared like the containers above,
  and the report's `image_files` naming the files each is made of, in order;
- images that cannot be opened as a whole (`image_error`: a missing backing file, a VDI backing
  file, a split set with a missing middle segment): one not_scanned entry for the image with the
  manifest's reason, its detail naming the file the manifest names, no volume and no result;
- broken images: the bad volume's not_scanned entry (`IMAGE:<volume>`) with the reason the
  images manifest gives for it, the good volumes still scanned and equal to their trees, the
  exit code of the documented rules, and never a crash (a signal, a sanitizer report, a report
  that is not JSON).

Expected results come from the manifests (how the images were built), never from earlier flscan
output. Usage: image_scan_test.py FLSCAN IMAGES_DIR"""
import json
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from e2e_support import check, failures, finish, path_text, run_json

INFECTION_STATES = {"infected", "damaged", "dropper", "kernel-patched", "loader-patched"}
# The per-volume reasons of scanner/JSON.md ("not_scanned entry") each broken kind must give.
# A partition that runs past the end of the disk may be refused as unreadable as well as
# recognised as holding no file system; a truncated volume's losses may be reported for the
# volume or for the files whose bytes are gone.
REASONS = {
    "unknown-filesystem": {"unknown-filesystem"},
    "encrypted-volume": {"encrypted-volume"},
    "unreadable-image": {"unreadable-image"},
    "unsupported-image": {"unsupported-image"},
}
PAST_END_REASONS = {"unknown-filesystem", "unreadable-image"}
TRUNCATED_REASONS = {"unreadable-image", "io-error", "truncated-while-reading", "unknown-filesystem", "unlistable-directory"}
# The documented fields compared per entry (scanner/JSON.md); fields added later (e.g. where in
# an image a file lies) are not required to be equal. Host reports are compared whole.
FIELDS = {
    "results": ("path", "size", "sha256", "type", "state", "severity", "findings"),
    "inventory": ("path", "size", "sha256", "type", "pe_error"),
    "not_scanned": ("path", "reason"),
    "skipped": ("path", "reason"),
}


def run_flscan(flscan: str, args: list, cwd: Path, what: str) -> dict | None:
    report = run_json([flscan, "--json", "-", "--inventory", *args], cwd, what)
    if report is not None:
        check(report.get("exit_code") == report["_returncode"],
              f"{what}: exit_code {report.get('exit_code')} but exit {report['_returncode']}")
    return report


class VolumeRows(HTMLParser):
    """The rows of the --html report's volumes table: (first cell's text, data-status)."""

    def __init__(self):
        super().__init__()
        self.rows: list[list] = []
        self._in_table = False
        self._cell = None  # text of the row's first cell while inside it

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("class") == "volumes":
            self._in_table = True
        elif self._in_table and tag == "tr" and "data-status" in a:
            self.rows.append(["", a["data-status"]])
        elif self._in_table and tag == "td" and self.rows and a.get("class") == "path":
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        if tag == "td" and self._cell is not None:
            self.rows[-1][0] = self._cell
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def check_html_volumes(flscan: str, img: dict, images_dir: Path) -> None:
    """flscan --html lists the image's volumes, in partition order, with the status the manifest implies."""
    image = img["path"]
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        r = subprocess.run([flscan, "--html", str(page), image], cwd=images_dir, capture_output=True, timeout=300)
        if not check(r.returncode in (0, 1, 2) and page.is_file(), f"{image}: --html exit {r.returncode}, no page"):
            return
        reader = VolumeRows()
        reader.feed(page.read_text("utf-8", "replace"))
    # A truncated volume is scanned file by file when its file system still opens, else an error.
    allowed = {None: {"scanned"}, "truncated": {"scanned", "error"}}
    want = [(f"{image}:{v['name']}", allowed.get(v["error"], {"error"})) for v in in_report_order(img)]
    got = [tuple(row) for row in reader.rows]
    if img["broken"] and all(v["error"] for v in img["volumes"]) and not got:
        return  # the whole image refused: no volume to list
    check(len(got) == len(want) and all(g[0] == w[0] and g[1] in w[1] for g, w in zip(got, want)),
          f"{image}: --html volumes table {got}, manifest {want}")


def rebase(value, old: str, new: str):
    """`value` (JSON) with every path object and string that starts with `old` rebased on `new`
    (paths inside evidence texts included)."""
    if isinstance(value, dict):
        if set(value) <= {"text", "bytes"} and len(value) == 1:
            text = path_text(value)
            if text == old or text.startswith(old + "/"):
                return {"text": new + text[len(old):]}
            return value
        return {k: rebase(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [rebase(v, old, new) for v in value]
    if isinstance(value, str):
        return value.replace(old + "/", new + "/") if old + "/" in value else (new if value == old else value)
    return value


def split(report: dict, prefix: str) -> dict:
    """The parts of a report under `prefix` (a tree PATH or IMAGE:volume), keyed by the path
    relative to it: results, inventory, not_scanned, skipped; hosts keyed by nothing (a list)."""
    out = {"results": {}, "inventory": {}, "not_scanned": {}, "skipped": {}, "hosts": []}
    for key in ("results", "inventory", "not_scanned", "skipped"):
        for entry in report.get(key) or []:
            text = path_text(entry["path"])
            if text == prefix or text.startswith(prefix + "/"):
                rel = text[len(prefix) + 1:]
                out[key][rel] = rebase({k: entry.get(k) for k in FIELDS[key]}, prefix, "<VOLUME>")
    for host in report.get("hosts") or []:
        if path_text(host["root"]) == prefix:
            out["hosts"].append(rebase(host, prefix, "<VOLUME>"))
    return out


def compare_volume(image_part: dict, tree_part: dict, where: str, incomplete: bool) -> None:
    """incomplete: the image scan is incomplete (another volume could not be read), which a host
    report's verdict text and remediation steps rightly say; the rest must still be equal."""
    for key in ("results", "inventory", "not_scanned", "skipped"):
        a, b = image_part[key], tree_part[key]
        if not check(set(a) == set(b), f"{where}: {key} paths differ: only in the image "
                                       f"{sorted(set(a) - set(b))[:6]}, only in the tree {sorted(set(b) - set(a))[:6]}"):
            continue
        for rel in sorted(a):
            if a[rel] != b[rel]:
                diff = {k: (a[rel].get(k), b[rel].get(k)) for k in set(a[rel]) | set(b[rel]) if a[rel].get(k) != b[rel].get(k)}
                failures.append(f"{where}: {key} {rel} differs (image, tree): {json.dumps(diff)[:1500]}")
    ha, hb = image_part["hosts"], tree_part["hosts"]
    if check(len(ha) == len(hb) == 1, f"{where}: {len(ha)} host reports for the volume, {len(hb)} for the tree"):
        for field in sorted(set(ha[0]) | set(hb[0])):
            if incomplete and field in ("verdict_text", "remediation", "verdict"):
                continue  # the verdict is checked against the manifest (against_manifest)
            if field == "timeline":
                continue  # built from file times, which differ by source (issue 20): e2e_timeline checks it
            check(ha[0].get(field) == hb[0].get(field),
                  f"{where}: host {field} differs: image {json.dumps(ha[0].get(field))[:800]} "
                  f"tree {json.dumps(hb[0].get(field))[:800]}")


def against_manifest(part: dict, tree: str, corpus_manifest: dict, where: str, incomplete: bool) -> None:
    """The volume's (or tree's) results and host report against the corpus manifest."""
    files = {f["path"][len(tree) + 1:]: f for f in corpus_manifest["files"] if f["path"].startswith(tree + "/")}
    for rel, f in files.items():
        result = part["results"].get(rel)
        if f["expected"] == "clean":
            check(result is None, f"{where}: {rel} is clean by construction, reported {result and result.get('state')}")
        elif check(result is not None, f"{where}: {rel} ({f['expected']}) has no result"):
            check(result["state"] == f["expected"], f"{where}: {rel} state {result['state']}, manifest {f['expected']}")
            check(result["sha256"] == f["sha256"] and result["size"] == f["size"], f"{where}: {rel} bytes differ from the manifest")
            check((result["severity"] == "infection") == (f["expected"] in INFECTION_STATES), f"{where}: {rel} severity")
    check(set(part["results"]) <= set(files), f"{where}: results for files not in the tree: {sorted(set(part['results']) - set(files))[:5]}")
    for rel, item in part["inventory"].items():
        check(rel in files and item["sha256"] == files[rel]["sha256"], f"{where}: inventory {rel} not the manifest's bytes")
    tree_entry = next(t for t in corpus_manifest["host_trees"] if t["root"] == tree)
    if len(part["hosts"]) == 1:
        host = part["hosts"][0]
        verdict = tree_entry["expected_verdict"]
        if incomplete and verdict == "no-evidence":
            verdict = "incomplete"
        check(host["verdict"] == verdict, f"{where}: verdict {host['verdict']}, manifest {verdict}")
        got = {row["id"]: row["status"] for row in host["symptoms"]}
        check(got == tree_entry["symptoms"], f"{where}: symptoms {got}, manifest {tree_entry['symptoms']}")
        check(path_text(host["windows_dir"]) == "<VOLUME>/" + tree_entry["windows_dir"],
              f"{where}: windows_dir {host['windows_dir']}")


def volume_of(report: dict, image: str, names: list) -> list:
    """Paths of the report (results, inventory, not_scanned, skipped) that lie on no volume of
    the image and are not the image itself."""
    stray = []
    for key in ("results", "inventory", "not_scanned", "skipped"):
        for entry in report.get(key) or []:
            text = path_text(entry["path"])
            if text == image:
                continue
            if not any(text == f"{image}:{n}" or text.startswith(f"{image}:{n}/") for n in names):
                stray.append(f"{key} {text}")
    return stray


def wanted_reasons(vol: dict) -> set:
    """A partition starting inside the disk but running past its end may be refused as
    unreadable or found to hold no file system; one starting beyond the end is unreadable."""
    if vol.get("runs_past_end") and not vol.get("beyond_end"):
        return PAST_END_REASONS
    return REASONS[vol["error"]]


def in_report_order(img: dict) -> list:
    """The manifest's volumes in the order flscan lists them: partitions by start offset, an LVM2
    volume group's logical volumes in the order its metadata lists them (the manifest's)."""
    if img.get("volume_system") == "lvm2":
        return img["volumes"]
    return sorted(img["volumes"], key=lambda v: v["offset"])


def check_volumes(report: dict, img: dict) -> None:
    """The report's `volumes` (scanner/JSON.md) against how the image was built."""
    image = img["path"]
    listed = [v for v in report.get("volumes") or [] if path_text(v["image"]) == image]
    want = in_report_order(img)
    if not check([v["volume"] for v in listed] == [v["name"] for v in want],
                 f"{image}: volumes {[v['volume'] for v in listed]}, manifest {[v['name'] for v in want]}"):
        return
    for got, vol in zip(listed, want):
        where = f"{image}:{vol['name']}"
        check(path_text(got["path"]) == where, f"{where}: volume path {got['path']}")
        check(got["offset"] == vol["offset"] and got["length"] == vol["size"],
              f"{where}: offset/length {got['offset']}/{got['length']}, manifest {vol['offset']}/{vol['size']}")
        check(got["image_format"] == img["format"], f"{where}: image_format {got['image_format']}, manifest {img['format']}")
        if "lv" in vol:  # an LVM2 logical volume names its volume group and itself
            check(got["partition_type"] == f"LVM2 logical volume {vol['lv']}",
                  f"{where}: partition_type {got['partition_type']!r}, manifest {vol['lv']}")
        files = [path_text(f) for f in got.get("image_files") or []]
        check(files == img["image_files"], f"{where}: image_files {files}, manifest {img['image_files']}")
        # Every volume of a fixture can be opened again for the host evidence.
        check(got.get("host_error", "missing") is None, f"{where}: host_error {got.get('host_error', 'missing')!r}")
        if vol["error"] is None:
            check(got["status"] == "scanned" and got["filesystem"] == vol["fs"],
                  f"{where}: status {got['status']} filesystem {got['filesystem']!r}, manifest {vol['fs']}")
        elif vol["error"] == "truncated":
            check(got["filesystem"] == vol["fs"], f"{where}: filesystem {got['filesystem']!r}, manifest {vol['fs']}")
        else:
            wanted = wanted_reasons(vol)
            check(got["status"] == "error" and got["reason"] in wanted,
                  f"{where}: status {got['status']} reason {got['reason']}, manifest {vol['error']}")


def check_image_error(report: dict, img: dict) -> None:
    """An image that cannot be opened at all: one entry for it, naming the file the manifest names."""
    image, error = img["path"], img["image_error"]
    entries = [e for e in report.get("not_scanned") or [] if path_text(e["path"]) == image]
    if check(len(entries) == 1, f"{image}: not_scanned entries for the image {entries}"):
        check(entries[0]["reason"] == error["reason"], f"{image}: reason {entries[0]['reason']}, manifest {error['reason']}")
        check(error["names"] in entries[0]["detail"], f"{image}: detail does not name {error['names']}: {entries[0]['detail']}")
    check(not report.get("results") and not report.get("inventory"), f"{image}: results from an image that was not read")
    check(not report.get("volumes"), f"{image}: volumes {report.get('volumes')}")
    check(report["summary"]["complete"] is False, f"{image}: summary.complete is not false")


def tree_file_count(corpus_manifest: dict, tree: str) -> int:
    return sum(1 for f in corpus_manifest["files"] if f["path"].startswith(tree + "/"))


def main() -> int:
    flscan, images_dir = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2]).resolve()
    manifest = json.loads((images_dir / "manifest.json").read_text())
    corpus = (images_dir / manifest["corpus"]).resolve()
    corpus_manifest = json.loads((corpus / "manifest.json").read_text())

    # The trees, each scanned on its own (a PATH per installation, as a mounted volume would be).
    trees = sorted({v["source_tree"] for img in manifest["images"] for v in img["volumes"] if v["source_tree"]})
    tree_parts = {}
    for tree in trees:
        report = run_flscan(flscan, [tree], corpus, tree)
        if report is None:
            continue
        tree_parts[tree] = split(report, tree)
        tree_parts[tree]["summary"] = report["summary"]
        check(report["summary"]["files_seen"] == tree_file_count(corpus_manifest, tree),
              f"{tree}: files_seen {report['summary']['files_seen']}, manifest {tree_file_count(corpus_manifest, tree)}")
        check(not tree_parts[tree]["not_scanned"], f"{tree}: not scanned: {sorted(tree_parts[tree]['not_scanned'])[:5]}")
        against_manifest(tree_parts[tree], tree, corpus_manifest, tree, incomplete=False)

    for img in manifest["images"]:
        image = img["path"]
        report = run_flscan(flscan, [image], images_dir, image)
        if report is None:
            continue
        check(report["_returncode"] == img["expected_exit_code"],
              f"{image}: exit {report['_returncode']}, expected {img['expected_exit_code']} (images manifest)")
        check(path_text(report["roots"][0]) == image, f"{image}: roots {report['roots']}")
        if img.get("image_error") is not None:
            check_image_error(report, img)
            continue
        names = [v["name"] for v in img["volumes"]]
        on_volumes = [e for key in ("results", "inventory", "not_scanned", "skipped") for e in report.get(key) or []
                      if path_text(e["path"]).startswith(image + ":") or path_text(e["path"]) == image]
        if not on_volumes and not report.get("hosts"):
            failures.append(f"{image}: flscan did not read it as a disk image (no path IMAGE:<volume>/..., "
                            f"exit {report['_returncode']})")
            continue
        # Every file of every readable volume was seen, and the counters add up as over the trees.
        good = [v["source_tree"] for v in img["volumes"] if v["error"] is None]
        if not img["broken"]:
            summary = report["summary"]
            check(summary["files_seen"] == sum(tree_file_count(corpus_manifest, t) for t in good),
                  f"{image}: files_seen {summary['files_seen']}, manifest "
                  f"{sum(tree_file_count(corpus_manifest, t) for t in good)}")
            for counter in ("pe_files", "mz_files", "files_with_findings", "infected_files"):
                want = sum(tree_parts[t]["summary"][counter] for t in good if t in tree_parts)
                check(summary[counter] == want, f"{image}: summary.{counter} {summary[counter]}, trees {want}")
            kinds = {k: sum(tree_parts[t]["summary"]["findings_by_kind"][k] for t in good if t in tree_parts)
                     for k in summary["findings_by_kind"]}
            check(summary["findings_by_kind"] == kinds, f"{image}: findings_by_kind {summary['findings_by_kind']}, trees {kinds}")
        check_volumes(report, img)
        check_html_volumes(flscan, img, images_dir)
        stray = volume_of(report, image, names)
        check(not stray, f"{image}: paths on no volume of the manifest: {stray[:5]}")
        incomplete = not report["summary"]["complete"]
        check(incomplete == img["broken"], f"{image}: summary.complete {report['summary']['complete']}")
        image_level = [e for e in report.get("not_scanned") or [] if path_text(e["path"]) == image]
        for vol in img["volumes"]:
            where = f"{image}:{vol['name']}"
            part = split(report, where)
            tree = vol["source_tree"]
            if vol["error"] is None:
                check(not part["not_scanned"], f"{where}: a good volume has not_scanned {sorted(part['not_scanned'])[:5]}")
                if tree in tree_parts:
                    compare_volume(part, tree_parts[tree], where, incomplete)
                against_manifest(part, tree, corpus_manifest, where, incomplete)
                continue
            # A bad volume: its own not_scanned entry (the volume itself) with the manifest's reason.
            volume_entry = part["not_scanned"].get("")
            if vol["error"] == "truncated":
                check(bool(part["not_scanned"]) or bool(image_level),
                      f"{where}: truncated partition, but nothing under it is NOT SCANNED")
                for entry in part["not_scanned"].values():
                    check(entry["reason"] in TRUNCATED_REASONS, f"{where}: reason {entry['reason']} for a truncated volume")
                # What was read back is the tree's bytes, with the tree's verdicts.
                for key in ("results", "inventory"):
                    for rel, entry in part[key].items():
                        twin = tree_parts.get(tree, {}).get(key, {}).get(rel)
                        check(twin is not None and entry["sha256"] == twin["sha256"] and entry.get("state") == twin.get("state"),
                              f"{where}: {key} {rel} is not the tree's file")
                continue
            check(not part["results"] and not part["inventory"], f"{where}: results from a volume that cannot be read")
            if image_level and vol.get("slot") is not None and all(v["error"] for v in img["volumes"]):
                continue  # the whole table refused: one entry for the image
            wanted = wanted_reasons(vol)
            if check(volume_entry is not None, f"{where}: no not_scanned entry for the volume "
                                                f"(manifest: {vol['error']}); got {sorted(part['not_scanned'])[:5]}"):
                check(volume_entry["reason"] in wanted,
                      f"{where}: reason {volume_entry['reason']}, manifest says {vol['error']} ({sorted(wanted)})")
        if img["broken"] and all(v["error"] for v in img["volumes"]):
            check(not report.get("results") and not report.get("inventory"), f"{image}: results from an unreadable disk")

    return finish(f"image_scan_test: {len(manifest['images'])} images, {len(trees)} trees")


if __name__ == "__main__":
    sys.exit(main())
