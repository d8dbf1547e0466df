#!/usr/bin/env python3
"""Disk images found inside a scanned directory are opened and scanned like a PATH (issue 15).

The images and their manifest come from corpus/build_images.py (image_fixtures_test.py proves
them without flscan); a qcow2 of gpt.raw is made here with qemu-img. The tree scanned:

    snapshots/tool.exe          a PE the corpus manifest says is clean
    snapshots/notes.txt         text
    snapshots/vm/mbr.vhd        dynamic VHD  \
    snapshots/vm/mbr.E01        E01           > copies of the corpus images
    snapshots/vm/gpt.raw        raw GPT disk /
    snapshots/vm/gpt.qcow2      qemu-img convert -O qcow2 gpt.raw
    snapshots/vm/link.vhd       symlink -> mbr.vhd

Required:
- `flscan snapshots`: for every image and each of its volumes (the images manifest), the files
  under `snapshots/vm/IMAGE:VOL/` equal those of `flscan IMAGE` under `IMAGE:VOL/`, file by file
  (results, inventory, not_scanned, skipped, and the Q317218 host report of the installation in
  the volume), and match the corpus manifest (states, verdicts, symptoms); the report's volumes
  name the image by its walk path with the manifest's partitions, offsets, lengths, container
  format and filesystem; files_seen counts the walk's files plus every volume's files (corpus
  manifest); the qcow2 is NOT SCANNED unsupported-image naming qcow2 (or, once flscan opens
  qcow2, its volumes are gpt.raw's); nothing else is NOT SCANNED; the symlink is skipped and not
  opened; the exit code is 1 (the manifest's infected volumes); the text summary counts the
  images opened;
- `--no-nested-images`: each image NOT SCANNED image-not-opened naming its format (the qcow2
  unsupported-image), no volume, no result, no host report, exit 2 (incomplete);
- a symlink to an image is skipped without -L; with -L it is followed like any file and the
  image opened under the link's name, equal to the image scanned as PATH;
- a FIFO named `pipe.vhd` is skipped (never opened) and the scan ends;
- the broken images of the manifest (truncated, garbage partitions, unknown filesystem,
  BitLocker) and an E01 cut to its first 128 KiB, in a directory: each good volume equal to the
  image's scan as PATH and to the corpus manifest, each bad one NOT SCANNED with the manifest's
  reason (the cut E01: unreadable-image), the same entries as the image's scan as PATH.

Expected values come from the manifests (how the images were built) and from scanning each
image as a PATH (the equality the issue asks for), never from earlier output of this test.
Usage: nested_image_test.py FLSCAN IMAGES_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True  # nothing written next to the sources
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import check, finish, path_text  # noqa: E402
from image_scan_test import (against_manifest, check_volumes, compare_volume, run_flscan, split,  # noqa: E402
                             wanted_reasons)

NESTED = ["mbr.vhd", "mbr.E01", "gpt.raw"]
MAX_NESTED = 256  # scanner/image/limits.h, kMaxNestedImages
FORMAT_WORD = {"vhd": "VHD", "ewf": "E01", "raw": "raw"}


def tree_file_count(corpus_manifest: dict, tree: str) -> int:
    return sum(1 for f in corpus_manifest["files"] if f["path"].startswith(tree + "/"))


def entries(report: dict, key: str) -> dict:
    return {path_text(e["path"]): e for e in report.get(key) or []}


def compare_image(report: dict, walk_path: str, operand: dict, img: dict, corpus_manifest: dict,
                  incomplete: bool, files: list | None = None) -> None:
    """The image's volumes and files in the directory scan against its scan as PATH and the manifests;
    `files`: the files the image is made of in the walk (default: the image alone)."""
    check_volumes(report, dict(img, path=walk_path, image_files=files or [walk_path]))
    for vol in img["volumes"]:
        where = f"{walk_path}:{vol['name']}"
        nested = split(report, where)
        alone = split(operand, f"{img['path']}:{vol['name']}")
        if vol["error"] is None:
            compare_volume(nested, alone, where, incomplete)
            if vol["source_tree"]:
                against_manifest(nested, vol["source_tree"], corpus_manifest, where, incomplete)
            continue
        # A bad volume: the entries the image's scan as PATH gives, the manifest's reason for it.
        for key in ("results", "inventory", "not_scanned", "skipped"):
            check(nested[key] == alone[key], f"{where}: {key} differ from the image scanned as PATH: "
                                             f"{sorted(nested[key])[:5]} / {sorted(alone[key])[:5]}")
        if vol["error"] != "truncated":
            entry = nested["not_scanned"].get("")
            check(entry is not None and entry["reason"] in wanted_reasons(vol),
                  f"{where}: not_scanned {entry}, manifest {vol['error']}")


def main() -> int:
    flscan, images_dir = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2]).resolve()
    manifest = json.loads((images_dir / "manifest.json").read_text())
    corpus = (images_dir / manifest["corpus"]).resolve()
    corpus_manifest = json.loads((corpus / "manifest.json").read_text())
    by_path = {img["path"]: img for img in manifest["images"]}
    clean_pe = next(f for f in corpus_manifest["files"] if f["expected"] == "clean" and f["path"].endswith(".exe"))

    with tempfile.TemporaryDirectory(prefix="flscan-nested-") as scratch:
        work = Path(scratch)
        vm = work / "snapshots" / "vm"
        vm.mkdir(parents=True)
        for name in NESTED:
            shutil.copy(images_dir / name, vm / name)
        subprocess.run(["qemu-img", "convert", "-q", "-O", "qcow2", str(images_dir / "gpt.raw"), str(vm / "gpt.qcow2")],
                       check=True)
        os.symlink("mbr.vhd", vm / "link.vhd")
        shutil.copy(corpus / clean_pe["path"], work / "snapshots" / "tool.exe")
        (work / "snapshots" / "notes.txt").write_text("not an image\n")

        operands = {name: run_flscan(flscan, [name], images_dir, name) for name in NESTED}
        report = run_flscan(flscan, ["snapshots"], work, "snapshots")
        if report is None or any(r is None for r in operands.values()):
            return finish("nested_image_test")

        # 1. Opened by default, each image equal to its scan as PATH.
        qcow2 = "snapshots/vm/gpt.qcow2"
        qcow2_opened = any(path_text(v["image"]) == qcow2 for v in report.get("volumes") or [])
        not_scanned = entries(report, "not_scanned")
        if qcow2_opened:
            check_volumes(report, dict(by_path["gpt.raw"], path=qcow2, format="qcow2", image_files=[qcow2]))
            check(not not_scanned, f"snapshots: not_scanned {sorted(not_scanned)}")
        else:
            entry = not_scanned.get(qcow2)
            if check(entry is not None, f"snapshots: no not_scanned entry for the qcow2 ({sorted(not_scanned)})"):
                check(entry["reason"] == "unsupported-image" and "qcow2" in entry["detail"],
                      f"{qcow2}: {entry['reason']} {entry['detail']}")
            check(set(not_scanned) == {qcow2}, f"snapshots: not_scanned {sorted(not_scanned)}, expected only the qcow2")
        incomplete = not qcow2_opened
        check(report["summary"]["complete"] is not incomplete, f"snapshots: summary.complete {report['summary']['complete']}")
        for name in NESTED:
            compare_image(report, f"snapshots/vm/{name}", operands[name], by_path[name], corpus_manifest, incomplete)
        images = [path_text(v["image"]) for v in report.get("volumes") or []]
        check(set(images) == {f"snapshots/vm/{n}" for n in NESTED} | ({qcow2} if qcow2_opened else set()),
              f"snapshots: volumes of {sorted(set(images))}")
        # Every result lies in an image (tool.exe is clean by construction, notes.txt is text).
        stray = [p for p in entries(report, "results") if not any(p.startswith(f"snapshots/vm/{n}:") for n in NESTED)
                 and not (qcow2_opened and p.startswith(qcow2 + ":"))]
        check(not stray, f"snapshots: results outside the images: {stray[:5]}")
        skipped = entries(report, "skipped")
        check({p: e["reason"] for p, e in skipped.items()} == {"snapshots/vm/link.vhd": "symlink"},
              f"snapshots: skipped {sorted(skipped)}")
        # The walk's files (the images among them) and every file of every volume.
        walk_files = len(NESTED) + 3  # the qcow2, tool.exe, notes.txt
        inside = sum(tree_file_count(corpus_manifest, v["source_tree"]) for n in NESTED
                     for v in by_path[n]["volumes"] if v["error"] is None)
        if qcow2_opened:
            inside += sum(tree_file_count(corpus_manifest, v["source_tree"]) for v in by_path["gpt.raw"]["volumes"])
        check(report["summary"]["files_seen"] == walk_files + inside,
              f"snapshots: files_seen {report['summary']['files_seen']}, manifests {walk_files + inside}")
        want_exit = 1 if any(by_path[n]["expected_exit_code"] == 1 for n in NESTED) else (2 if incomplete else 0)
        check(report["_returncode"] == want_exit, f"snapshots: exit {report['_returncode']}, expected {want_exit}")
        hosts = {path_text(h["root"]) for h in report.get("hosts") or []}
        want_hosts = {f"snapshots/vm/{n}:{v['name']}" for n in NESTED for v in by_path[n]["volumes"]
                      if v["error"] is None and v["source_tree"]}
        check(want_hosts <= hosts, f"snapshots: host reports {sorted(hosts)}, expected {sorted(want_hosts)}")
        text = subprocess.run([flscan, "--progress", "never", "snapshots"], cwd=work, capture_output=True, timeout=300)
        opened = len(NESTED) + (1 if qcow2_opened else 0)
        line = f"Images:       {opened} disk images opened, {opened} of them found inside scanned directories"
        check(line.encode() in text.stdout, f"snapshots: text summary has no line {line!r}")
        check(report["summary"].get("images_opened") == opened and report["summary"].get("images_in_directories") == opened,
              f"snapshots: summary images_opened {report['summary'].get('images_opened')}, "
              f"images_in_directories {report['summary'].get('images_in_directories')}, expected {opened}")

        # 1b. A qcow2 snapshot and a split raw set in a directory: the files they name are looked
        # up in the walk's directory, as beside a PATH (the snapshot's backing file, the segments).
        chains = work / "chains"
        chains.mkdir()
        members = {"mbr-snapshot.qcow2": by_path["mbr-snapshot.qcow2"], "split/mbr.001": by_path["split/mbr.001"]}
        for img in members.values():
            for f in img["image_files"]:
                shutil.copy(images_dir / f, chains / Path(f).name)
        chained = run_flscan(flscan, ["chains"], work, "chains")
        if chained is not None:
            got = entries(chained, "not_scanned")
            for rel, img in members.items():
                walk_path = f"chains/{Path(rel).name}"
                check(walk_path not in got, f"chains: {walk_path} NOT SCANNED: {got.get(walk_path)}")
                alone = run_flscan(flscan, [rel], images_dir, rel)
                if alone is not None:
                    compare_image(chained, walk_path, alone, img, corpus_manifest, False,
                                  [f"chains/{Path(f).name}" for f in img["image_files"]])

        # 2. --no-nested-images: each image NOT SCANNED, nothing read inside.
        off = run_flscan(flscan, ["--no-nested-images", "snapshots"], work, "--no-nested-images snapshots")
        if off is not None:
            check(off["_returncode"] == 2, f"--no-nested-images: exit {off['_returncode']}, expected 2")
            got = entries(off, "not_scanned")
            want = {f"snapshots/vm/{n}": ("image-not-opened", FORMAT_WORD[by_path[n]["format"]]) for n in NESTED}
            want[qcow2] = ("unsupported-image", "qcow2") if not qcow2_opened else ("image-not-opened", "qcow")
            check(set(got) == set(want), f"--no-nested-images: not_scanned {sorted(got)}, expected {sorted(want)}")
            for path, (reason, word) in want.items():
                if path in got:
                    check(got[path]["reason"] == reason and word in got[path]["detail"],
                          f"--no-nested-images: {path}: {got[path]['reason']} {got[path]['detail']}")
            check(not off.get("volumes") and not off["results"] and not off.get("hosts"),
                  "--no-nested-images: volumes, results or host reports from images not opened")
            check(off["summary"]["complete"] is False, "--no-nested-images: summary.complete is not false")

        # 3. A symlink to an image elsewhere: skipped without -L, opened under its own name with -L.
        linked = work / "linked"
        linked.mkdir()
        os.symlink(vm / "mbr.vhd", linked / "link.vhd")
        plain = run_flscan(flscan, ["linked"], work, "linked")
        if plain is not None:
            check(not plain.get("volumes") and plain["_returncode"] == 0,
                  f"linked: a symlink to an image was opened without -L (exit {plain['_returncode']})")
            check(entries(plain, "skipped").get("linked/link.vhd", {}).get("reason") == "symlink",
                  f"linked: skipped {sorted(entries(plain, 'skipped'))}")
        followed = run_flscan(flscan, ["-L", "linked"], work, "-L linked")
        if followed is not None:
            img = by_path["mbr.vhd"]
            compare_image(followed, "linked/link.vhd", operands["mbr.vhd"], img, corpus_manifest, False)
            check(followed["_returncode"] == img["expected_exit_code"],
                  f"-L linked: exit {followed['_returncode']}, manifest {img['expected_exit_code']}")

        # 4. A FIFO named like an image is never opened.
        fifo = work / "fifo"
        fifo.mkdir()
        os.mkfifo(fifo / "pipe.vhd")
        (fifo / "notes.txt").write_text("text\n")
        piped = run_flscan(flscan, ["fifo"], work, "fifo")  # run_json's timeout catches a hang
        if piped is not None:
            check(piped["_returncode"] == 0 and entries(piped, "skipped").get("fifo/pipe.vhd", {}).get("reason") == "fifo",
                  f"fifo: exit {piped['_returncode']}, skipped {sorted(entries(piped, 'skipped'))}")

        # 5. Broken images, and an E01 cut short, inside a directory.
        broken_dir = work / "broken"
        broken_dir.mkdir()
        # Not the broken images whose fault is another file beside them (a missing parent or
        # segment): copied here alone, without the files beside them, they are different images
        # (section 1b covers the files an image names, looked up in the walk's directory).
        broken = [img for img in manifest["images"] if img["broken"] and not (img.get("image_error") or {}).get("names")]
        for img in broken:
            shutil.copy(images_dir / img["path"], broken_dir / Path(img["path"]).name)
        with open(images_dir / "mbr.E01", "rb") as whole:
            (broken_dir / "cut.E01").write_bytes(whole.read(128 * 1024))
        shutil.copy(broken_dir / "cut.E01", work / "cut.E01")
        scanned = run_flscan(flscan, ["broken"], work, "broken")
        cut_alone = run_flscan(flscan, ["cut.E01"], work, "cut.E01")
        if scanned is not None and cut_alone is not None:
            for img in broken:
                alone = run_flscan(flscan, [img["path"]], images_dir, img["path"])
                if alone is not None:
                    compare_image(scanned, f"broken/{Path(img['path']).name}", alone, img, corpus_manifest, True)
            cut = split(scanned, "broken/cut.E01:vol")["not_scanned"].get("")
            check(cut is not None and cut["reason"] == "unreadable-image", f"broken/cut.E01: not_scanned {cut}")
            check(cut == split(cut_alone, "cut.E01:vol")["not_scanned"].get(""),
                  f"broken/cut.E01: {cut} differs from the E01 scanned as PATH")
            want_exit = 1 if any(img["expected_exit_code"] == 1 for img in broken) else 2
            check(scanned["_returncode"] == want_exit, f"broken: exit {scanned['_returncode']}, expected {want_exit}")

        # 6. More images than flscan opens in one scan (limits::kMaxNestedImages, 256): the first
        # 256 by path are opened, the others image-not-opened, the same in every run and shard.
        many = work / "many"
        many.mkdir()
        fat = work / "one-fat.img"
        subprocess.run(["mkfs.fat", "-C", str(fat), "128"], check=True, capture_output=True)
        names = [f"img{i:03d}.img" for i in range(MAX_NESTED + 4)]
        for name in reversed(names):  # created last to first: directory order is not path order
            shutil.copy(fat, many / name)
        want_opened = {f"many/{n}" for n in names[:MAX_NESTED]}
        want_refused = {f"many/{n}" for n in names[MAX_NESTED:]}
        runs = [run_flscan(flscan, ["-j", "2", "many"], work, f"many (run {i + 1})") for i in range(2)]
        for i, r in enumerate(runs):
            if r is None:
                continue
            opened = {path_text(v["image"]) for v in r.get("volumes") or []}
            refused = {p for p, e in entries(r, "not_scanned").items() if e["reason"] == "image-not-opened"}
            check(opened == want_opened, f"many (run {i + 1}): {len(opened)} images opened, "
                                         f"not the first {MAX_NESTED} by path: {sorted(opened ^ want_opened)[:4]}")
            check(refused == want_refused, f"many (run {i + 1}): image-not-opened {sorted(refused)}")
        shards = [work / f"many-{k}.json" for k in (1, 2)]
        for k, out in enumerate(shards, start=1):
            subprocess.run([flscan, "--shard", f"{k}/2", "--progress", "never", "--json", str(out), "many"], cwd=work,
                           capture_output=True, timeout=600)
        merged = subprocess.run([flscan, "merge", "--json", "-", *map(str, shards)], cwd=work, capture_output=True,
                                timeout=600)
        if check(merged.returncode == 2 and merged.stdout, f"many: merge of the shards: exit {merged.returncode} "
                                                            f"{merged.stderr.decode(errors='replace')[:300]}"):
            report = json.loads(merged.stdout)
            check({path_text(v["image"]) for v in report.get("volumes") or []} == want_opened,
                  "many: the merged shards did not open the first images by path")
    return finish("nested_image_test")


if __name__ == "__main__":
    sys.exit(main())
