#!/usr/bin/env python3
"""The portable flscan (`make portable`, README "Portable binary") is one static executable that
runs in an otherwise empty root and scans there as the normal build does.

portable_test.py PORTABLE FLSCAN CORPUS_DIR IMAGES_DIR [BITLOCKER_ARCHIVE]

  - PORTABLE is a static ELF: no program interpreter and no dynamic section (what `file` calls
    "statically linked" and `ldd` "not a dynamic executable").
  - A new root (a new mount and PID namespace, chroot) holds only PORTABLE, in /scan the corpus
    tree windows/nt4-infected and NTFS disk image fixtures (mbr.raw: NTFS nt4-infected + FAT32 q321454;
    the same disk as E01, VMDK, VHDX and qcow2: libewf, libvmdk, libvhdi, libqcow linked in), and a
    /proc mounted in the namespace, as a rescue system has. There the portable flscan scans the
    tree and the images.
  - Its reports are checked against the corpus manifests: every file of the tree and of each image
    volume in its expected state (clean ones without result), each installation's verdict and
    infected programs, each image's exit code.
  - The normal build (FLSCAN) scans the same operands from the same directory: both JSON reports
    are equal once the run-specific fields are removed (version, timings, absolute paths).
  - With the shared BitLocker test images (BITLOCKER_ARCHIVE, when present): the BitLocker To Go
    volume opened with its password in the empty root (libbde, libbfio linked in), as by FLSCAN.
  - A LUKS2 volume (made here with cryptsetup, opened with its passphrase) is NOT SCANNED
    encrypted-volume in the portable build, which names libcryptsetup as not linked and why.

Needs root (unshare, chroot); exit 77 (skipped) when PORTABLE was not built (`make portable`).

portable_test.py --i686 BINARY FLSCAN CORPUS_DIR IMAGES_DIR: the i686 build (`make portable
ARCH=i686`) is a static ELF 32-bit Intel 80386 executable; this kernel cannot run it, qemu-i386
(qemu-user) can: it scans the NT4 tree and mbr.raw as the manifests and the normal build say
(main_i686); 77 when not built.
"""
import configparser
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_support import check, failures, finish, path_text, run_json  # noqa: E402

TREE = "windows/nt4-infected"
IMAGES = ["mbr.raw", "mbr.E01", "mbr.vmdk", "mbr.vhdx", "mbr.qcow2"]
TOGO = "bitlk-togo-aes-cbc-128.img"  # in the shared BitLocker test images (tests/e2e/image_bitlocker_test.py)
INFECTION_STATES = {"infected", "damaged", "dropper", "kernel-patched", "loader-patched"}
PT_INTERP, PT_DYNAMIC = 3, 2


EM_386, EM_X86_64 = 3, 62


def elf_program_headers(path: Path) -> tuple[int, list[int]] | None:
    """e_machine and the p_type of each program header of a little-endian ELF executable (32- or
    64-bit); None if not one."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] != 1:
        return None
    machine = int.from_bytes(data[0x12:0x14], "little")
    if data[4] == 2:
        phoff, phentsize, phnum = (int.from_bytes(data[a:b], "little") for a, b in ((0x20, 0x28), (0x36, 0x38), (0x38, 0x3A)))
    else:
        phoff, phentsize, phnum = (int.from_bytes(data[a:b], "little") for a, b in ((0x1C, 0x20), (0x2A, 0x2C), (0x2C, 0x2E)))
    return machine, [int.from_bytes(data[phoff + i * phentsize:phoff + i * phentsize + 4], "little") for i in range(phnum)]


def check_static(binary: Path, machine: int = EM_X86_64, file_says: str = "ELF 64-bit LSB executable, x86-64") -> None:
    """`binary` is a static executable for `machine`, and file(1) says so."""
    found = elf_program_headers(binary)
    if not check(found is not None, f"{binary}: not an ELF executable"):
        return
    check(found[0] == machine, f"{binary}: e_machine {found[0]}, expected {machine}")
    check(PT_INTERP not in found[1], f"{binary}: has a program interpreter (a dynamic executable)")
    check(PT_DYNAMIC not in found[1], f"{binary}: has a dynamic section")
    if shutil.which("file"):
        out = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True).stdout
        check("statically linked" in out and out.startswith(file_says), f"file(1) says: {out.strip()}")


def normalised(report: dict) -> dict:
    """The report without what differs from run to run or between two builds of one version."""
    report = json.loads(json.dumps(report))
    report.pop("flscan_version", None)
    report.pop("_returncode", None)
    facts = report.get("root_facts") or {}
    facts.pop("working_directory", None)
    for root in facts.get("roots") or []:
        root.pop("absolute", None)
        if root.get("kind") == "directory":
            # --read-order auto reads the PATH's block device in /sys, which the empty root has
            # not: there a directory is read in listing order, outside in disk order on a
            # rotational disk. Which order does not change what is found (e2e_read_order).
            root.pop("read_order", None)
            root.pop("read_order_reason", None)
    for key in ("elapsed_seconds", "bytes_per_second", "files_per_second"):
        (report.get("summary") or {}).pop(key, None)
    return report


def against_manifest(report: dict, prefix: str, tree: str, corpus: dict, where: str) -> None:
    """The files and the host report under `prefix` (a tree PATH or IMAGE:volume) hold `tree`'s
    expected states and verdict (corpus manifest)."""
    files = {f["path"][len(tree) + 1:]: f for f in corpus["files"] if f["path"].startswith(tree + "/")}
    check(len(files) > 0, f"{where}: the corpus manifest lists no file under {tree}")
    results = {}
    for entry in report.get("results") or []:
        text = path_text(entry["path"])
        if text.startswith(prefix + "/"):
            results[text[len(prefix) + 1:]] = entry
    for rel, f in files.items():
        result = results.get(rel)
        if f["expected"] == "clean":
            check(result is None, f"{where}: {rel} is clean by construction, reported {result and result.get('state')}")
        elif check(result is not None, f"{where}: {rel} ({f['expected']}) has no result"):
            check(result["state"] == f["expected"], f"{where}: {rel} state {result['state']}, manifest {f['expected']}")
            check(result["sha256"] == f["sha256"], f"{where}: {rel} bytes differ from the manifest")
    check(set(results) <= set(files), f"{where}: results for files not in the tree: {sorted(set(results) - set(files))[:5]}")
    entry = next(t for t in corpus["host_trees"] if t["root"] == tree)
    hosts = [h for h in report.get("hosts") or [] if path_text(h["root"]) == prefix]
    if check(len(hosts) == 1, f"{where}: {len(hosts)} host reports"):
        check(hosts[0]["verdict"] == entry["expected_verdict"],
              f"{where}: verdict {hosts[0]['verdict']}, manifest {entry['expected_verdict']}")
    system32 = entry["system32"]
    for program in entry["infected_programs"]:
        got = results.get(f"{system32}/{program}")
        check(got is not None and got["state"] == "infected", f"{where}: {system32}/{program} not reported infected")


def main_i686(binary: Path, flscan: Path, corpus_dir: Path, images_dir: Path) -> int:
    """`--i686 BINARY FLSCAN CORPUS_DIR IMAGES_DIR`: the 32-bit build (`make portable ARCH=i686`) is
    a static i386 executable. This kernel runs no 32-bit code: with qemu-user's qemu-i386 (which
    translates the program's instructions and system calls) it scans the NT4 tree and mbr.raw as
    the manifests say and as the normal build does; without qemu-i386 only its headers are checked."""
    if not binary.is_file():
        print(f"SKIP: {binary} not built (make portable ARCH=i686)")
        return 77
    check_static(binary, EM_386, "ELF 32-bit LSB executable, Intel 80386")
    qemu = shutil.which("qemu-i386")
    if qemu is None:
        print("note: no qemu-i386 (qemu-user): the i686 binary was not run")
        return finish("portable i686 binary (headers only)")
    corpus = json.loads((corpus_dir / "manifest.json").read_text())
    images = {i["path"]: i for i in json.loads((images_dir / "manifest.json").read_text())["images"]}
    with tempfile.TemporaryDirectory(prefix="flscan-i686-") as tmp:
        work = Path(tmp)
        shutil.copytree(corpus_dir / TREE, work / "nt4-infected", symlinks=True)
        subprocess.run(["cp", "--sparse=always", str(images_dir / "mbr.raw"), str(work / "mbr.raw")], check=True)
        operands = ["nt4-infected", "mbr.raw"]
        emulated = run_json([qemu, str(binary), "--json", "-", *operands], work, "i686 flscan under qemu-i386")
        normal = run_json([str(flscan), "--json", "-", *operands], work, "normal flscan")
        if emulated is None or normal is None:
            return finish("portable i686 binary")
        against_manifest(emulated, "nt4-infected", TREE, corpus, "i686 nt4-infected")
        for vol in images["mbr.raw"]["volumes"]:
            against_manifest(emulated, f"mbr.raw:{vol['name']}", vol["source_tree"], corpus, f"i686 mbr.raw:{vol['name']}")
        a, b = normalised(emulated), normalised(normal)
        for key in sorted(set(a) | set(b)):
            check(a.get(key) == b.get(key),
                  f"i686 {key} differs: i686 {json.dumps(a.get(key))[:1200]} normal {json.dumps(b.get(key))[:1200]}")
    return finish("portable i686 binary under qemu-i386: windows/nt4-infected and mbr.raw")


def main() -> int:
    if sys.argv[1] == "--i686":
        return main_i686(*(Path(a).resolve() for a in sys.argv[2:6]))
    portable, flscan, corpus_dir, images_dir = (Path(a).resolve() for a in sys.argv[1:5])
    bitlocker = Path(sys.argv[5]).resolve() if len(sys.argv) > 5 else None
    if not portable.is_file():
        print(f"SKIP: {portable} not built (make portable)")
        return 77
    if os.geteuid() != 0:
        print("SKIP: needs root (a new mount namespace and chroot)")
        return 77
    corpus = json.loads((corpus_dir / "manifest.json").read_text())
    images = json.loads((images_dir / "manifest.json").read_text())
    check_static(portable)

    with tempfile.TemporaryDirectory(prefix="flscan-portable-") as tmp:
        root = Path(tmp)
        # The inputs in /scan, the working directory of both runs: libewf 20140813 cannot open an E01
        # named by a relative path while the working directory is "/" (in either build).
        work = root / "scan"
        work.mkdir()
        shutil.copy2(portable, root / "flscan")
        shutil.copytree(corpus_dir / TREE, work / "nt4-infected", symlinks=True)
        for name in IMAGES:
            subprocess.run(["cp", "--sparse=always", str(images_dir / name), str(work / name)], check=True)
        (root / "proc").mkdir()
        operands = ["nt4-infected", *IMAGES]
        check(sorted(p.name for p in root.iterdir()) == ["flscan", "proc", "scan"]
              and sorted(p.name for p in work.iterdir()) == sorted(operands),
              f"the new root holds more than flscan and the inputs: {sorted(str(p) for p in root.rglob('*'))[:20]}")

        # The portable binary alone in the new root (no /lib, no /usr, no loader, no libtsk).
        inside = ["unshare", "--mount", "--pid", "--fork", "--mount-proc=/proc", f"--root={root}", "--wd=/scan",
                  "/flscan"]
        version = subprocess.run(inside + ["--version"], capture_output=True, text=True, timeout=60)
        check(version.returncode == 0 and "flscan" in version.stdout,
              f"--version in the empty root: exit {version.returncode}, {version.stdout!r} {version.stderr[-500:]!r}")
        alone = run_json(inside + ["--json", "-", *operands], None, "portable flscan in the empty root")
        normal = run_json([str(flscan), "--json", "-", *operands], work, "normal flscan")
        if alone is None or normal is None:
            return finish("portable binary")

        # Against the manifests: the tree, and each image's volumes (the tree's states and verdict).
        against_manifest(alone, "nt4-infected", TREE, corpus, "portable nt4-infected")
        by_path = {i["path"]: i for i in images["images"]}
        for name in IMAGES:
            for vol in by_path[name]["volumes"]:
                against_manifest(alone, f"{name}:{vol['name']}", vol["source_tree"], corpus, f"portable {name}:{vol['name']}")
            scanned = {v["volume"]: v["status"] for v in alone.get("volumes") or [] if path_text(v["image"]) == name}
            check(scanned == {v["name"]: "scanned" for v in by_path[name]["volumes"]},
                  f"portable {name}: volumes {scanned}")
        expected_exit = max(1, *(by_path[n]["expected_exit_code"] for n in IMAGES))
        check(alone["_returncode"] == expected_exit, f"portable exit {alone['_returncode']}, expected {expected_exit}")

        # Against the normal build: the same report.
        a, b = normalised(alone), normalised(normal)
        for key in sorted(set(a) | set(b)):
            check(a.get(key) == b.get(key),
                  f"{key} differs: portable {json.dumps(a.get(key))[:1200]} normal {json.dumps(b.get(key))[:1200]}")

        # libbde with the one libbfio.a (the archives localized apart): the real BitLocker To Go
        # volume of the shared test data, opened with its password (images.conf), when present.
        if bitlocker is not None and bitlocker.is_file():
            subprocess.run(["tar", "-xJf", str(bitlocker), "-C", str(work), TOGO, "images.conf"], check=True)
            conf = configparser.ConfigParser(interpolation=None)
            conf.read(work / "images.conf", encoding="utf-8")
            (work / "togo.pw").write_text(conf["bitlk-togo-aes-cbc-128"]["PW"] + "\n")
            args = ["--image", "--bitlocker-password", "togo.pw", "--json", "-", TOGO]
            opened = run_json(inside + args, None, "portable flscan on a BitLocker To Go volume")
            normal_bde = run_json([str(flscan), *args], work, "normal flscan on a BitLocker To Go volume")
            vols = (opened or {}).get("volumes") or []
            check(len(vols) == 1 and vols[0]["status"] == "scanned" and vols[0]["decrypted_with"] == "bitlocker-password",
                  f"BitLocker To Go in the portable build: {json.dumps(vols)[:800]}")
            if opened is not None and normal_bde is not None:
                check(normalised(opened) == normalised(normal_bde), "BitLocker To Go: the reports of the two builds differ")
        else:
            print(f"note: {bitlocker} absent: BitLocker not checked")

        # The one format the portable build lacks: a LUKS2 volume made here, opened with its
        # passphrase, is NOT SCANNED encrypted-volume, the missing library and why named.
        luks, key = work / "luks2.img", work / "luks.key"
        key.write_bytes(b"portable-test-passphrase")
        with open(luks, "wb") as f:
            f.truncate(20 * 1024 * 1024)
        made = subprocess.run(["cryptsetup", "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2",
                               "--pbkdf-force-iterations", "1000", "--key-file", str(key), str(luks)],
                              capture_output=True, text=True)
        if check(made.returncode == 0, f"cryptsetup luksFormat: {made.stderr[-500:]}"):
            locked = run_json(inside + ["--image", "--luks-passphrase-file", "luks.key", "--json", "-", "luks2.img"],
                              None, "portable flscan on a LUKS2 volume")
            vols = (locked or {}).get("volumes") or []
            check(len(vols) == 1 and vols[0]["reason"] == "encrypted-volume"
                  and "this portable build does not link" in vols[0]["detail"] and "libcryptsetup" in vols[0]["detail"],
                  f"LUKS2 in the portable build: {json.dumps(vols)[:800]}")
            check(locked is None or locked["_returncode"] == 2, "LUKS2 in the portable build: exit code not 2")
    return finish(f"portable binary: {len(IMAGES)} images and {TREE} in an empty root")


if __name__ == "__main__":
    sys.exit(main())
