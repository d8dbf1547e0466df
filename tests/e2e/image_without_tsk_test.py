#!/usr/bin/env python3
"""Disk images with a libtsk that cannot be used: flscan must say so, never call an image clean.

flscan loads The Sleuth Kit with dlopen(SONAME) on first use (scanner/image/tsk_runtime.cpp), which
searches LD_LIBRARY_PATH first. Here that finds STUB (tests/image/tsk_stub.cpp, copied under the
SONAME), a library lacking one of the functions flscan uses (tsk_fs_file_close), as another build
of The Sleuth Kit under the same name would. Then every fixture image, the raw ones included (by
content they only *may* be images: a 0x55AA boot signature), is NOT SCANNED `unreadable-image`
with a reason naming the missing function, no result lies inside any of them, the exit code is 2
(incomplete), and a directory named beside them is still scanned (its infected sample, from the
corpus manifest, is found: exit 1). Nothing aborts or crashes.

Usage: image_without_tsk_test.py FLSCAN STUB SONAME IMAGES_DIR CORPUS_DIR"""
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from e2e_support import check, failures, finish, path_text, run_json


def run(flscan: str, env: dict, args: list, cwd: Path) -> dict | None:
    return run_json([flscan, "--json", "-", *args], cwd, str(args), env)


def main() -> int:
    flscan, stub, soname = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2]), sys.argv[3]
    images_dir, corpus = Path(sys.argv[4]).resolve(), Path(sys.argv[5]).resolve()
    manifest = json.loads((images_dir / "manifest.json").read_text())
    images = [img["path"] for img in manifest["images"] if not img["broken"]]
    check(any(img.endswith(".raw") for img in images) and any(not img.endswith(".raw") for img in images),
          f"the fixtures should hold raw and container images: {images}")
    corpus_manifest = json.loads((corpus / "manifest.json").read_text())
    infected = next(f["path"] for f in corpus_manifest["files"]
                    if f["expected"] == "infected" and f["path"].endswith(".exe"))

    with tempfile.TemporaryDirectory() as tmp:
        libdir = Path(tmp) / "lib"
        libdir.mkdir()
        shutil.copy(stub, libdir / soname)
        tree = Path(tmp) / "tree"
        tree.mkdir()
        shutil.copy(corpus / infected, tree / "calc.exe")
        env = dict(os.environ, LD_LIBRARY_PATH=str(libdir))

        report = run(flscan, env, images, images_dir)
        if report is not None:
            check(report["_returncode"] == 2, f"images only: exit {report['_returncode']}, want 2 (incomplete)")
            entries = {path_text(e["path"]): e for e in report.get("not_scanned") or []}
            for image in images:
                entry = entries.get(image)
                if check(entry is not None, f"{image}: no not_scanned entry (got {sorted(entries)[:8]})"):
                    check(entry["reason"] == "unreadable-image", f"{image}: reason {entry['reason']}")
                    check("tsk_fs_file_close" in entry["detail"], f"{image}: detail {entry['detail']!r} does not name the function")
            inside = [path_text(e["path"]) for key in ("results", "inventory") for e in report.get(key) or []]
            check(not inside, f"results although no image could be read: {inside[:5]}")
            check(not report.get("volumes"), f"volumes listed: {report.get('volumes')}")

        report = run(flscan, env, [images[0], str(tree)], images_dir)
        if report is not None:
            check(report["_returncode"] == 1, f"image + tree: exit {report['_returncode']}, want 1 (the tree's infection)")
            found = {path_text(e["path"]): e.get("state") for e in report.get("results") or []}
            check(found.get(str(tree / "calc.exe")) == "infected", f"the tree's sample: {found}")
            check(any(path_text(e["path"]) == images[0] for e in report.get("not_scanned") or []),
                  f"{images[0]}: not NOT SCANNED beside a directory")

    return finish(f"image_without_tsk_test: {len(images)} images")


if __name__ == "__main__":
    sys.exit(main())
