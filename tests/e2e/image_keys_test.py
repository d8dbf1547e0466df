#!/usr/bin/env python3
"""LUKS1 and LUKS2 volumes opened with a passphrase give the same report as the tree inside them,
and the keys never show (issue 15, "encrypted volumes, when the responder has the key").

The fixtures are made here, without root, from the corpus tree windows/nt4-infected (its
expectations: the corpus manifest), by tools that are not flscan:
- a FAT16 volume of the tree (mkfs.fat + mcopy -s -m, as corpus/build_images.py does), 512-byte
  sectors, and one with 4096-byte sectors;
- `luks1-qemu.img`: qemu-img convert -O luks of the 512-byte volume (LUKS1; qemu's default
  cipher aes-xts-plain64 with a 512-bit key, checked in the header here);
- `luks2.img`: cryptsetup reencrypt --encrypt --type luks2 (offline, on the file: no
  device-mapper) of the 512-byte volume, aes-xts-plain64, PBKDF2 with few iterations;
- `luks2-4k.img`: the same of the 4096-byte volume with --sector-size 4096 (dm-crypt's IV is
  still counted in 512-byte sectors: a wrong rule gives garbage from the second sector on);
- `luks1-essiv.img`: cryptsetup reencrypt --type luks2 --cipher aes-cbc-essiv:sha256, then
  cryptsetup convert --type luks1;
- `luks1-ecb.img`: cryptsetup luksFormat --cipher aes-ecb (a cipher flscan does not decrypt);
- `damaged.img`: luks2.img with both copies of its JSON metadata overwritten;
- `lvm-luks.raw`: luks2.img as the one logical volume of an LVM2 physical volume (corpus/lvm_pv.py):
  LUKS on LVM, decrypted through the LV's mapping;
- `costly.img`: luks1-qemu.img whose key slot asks 2^31 - 1 PBKDF2 iterations (hours of key
  derivation): encrypted-volume saying so, at once, even with the right passphrase;
- `disk.raw`: an MBR disk (sfdisk) whose partition 1 holds luks2.img, and `disk.vhd` the same
  disk converted by qemu-img (a LUKS volume inside a partition of a container); `cut-disk.raw`
  the same with a partition 2 that starts past the end of the file (a raw file is an image only
  when a partition holds a filesystem or an encrypted volume: a wrong key must not turn it into
  a plain file passed as clean).
Then, with the right passphrase file, each volume is `scanned` with `decrypted_with`
"luks-passphrase", and its files, inventory and host report equal the directory scan of the tree,
file by file, and the corpus manifest; the exit code is the tree's (1: infected files). Without a
key: `encrypted-volume`, exit 2; with wrong passphrases only: `key-rejected`, exit 2; a wrong one
before the right one: opened; the unsupported cipher and the damaged header: `encrypted-volume`
saying why, exit 2. The passphrases never appear in the JSON, text, SARIF or HTML
reports or on stderr (the JSON's options name only their kinds); shards given different kinds of
keys are refused by flscan merge; a recovery password given on the command line is refused (exit 2) without
being repeated; a key file that cannot be opened is an error that does not repeat its name.

Usage: image_keys_test.py FLSCAN IMAGES_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
from e2e_support import check, finish, path_text  # noqa: E402
from image_scan_test import INFECTION_STATES, against_manifest, compare_volume, run_flscan, split  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "corpus"))
import lvm_pv  # noqa: E402  (the LVM2 on-disk format, as the image fixtures write it)
import qemu_luks  # noqa: E402  (qemu-img with an exact clock for its PBKDF benchmark)

TREE = "windows/nt4-infected"
SECTOR = 512
MIB = 1 << 20
# Distinct passphrases: each must be absent from every output.
PASS = {
    "luks1-qemu.img": "qemu-luks1-Passphrase-0x5f2e",
    "luks2.img": "cryptsetup-luks2-Passphrase-0x9a41",
    "luks2-4k.img": "cryptsetup-4k-Passphrase-0x17c3",
    "luks1-essiv.img": "cryptsetup-essiv-Passphrase-0x6d08",
    "luks1-ecb.img": "cryptsetup-ecb-Passphrase-0x2b95",
}
WRONG = "not-the-passphrase-0x3e77"
RECOVERY_LIKE = "235818-357951-253979-013365-241120-245575-342914-591910"
FAST_PBKDF = ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]


def run(command: list, **kwargs) -> None:
    r = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    if r.returncode != 0:
        raise SystemExit(f"fixture: {' '.join(map(str, command))} failed (exit {r.returncode}): {r.stdout}{r.stderr}")


def make_fat16(path: Path, size: int, sector: int, tree: Path) -> None:
    with open(path, "wb") as f:
        f.truncate(size)
    run(["mkfs.fat", "-F", 16, "-S", sector, "-s", 1, "-n", "NT4", "-i", "4e543416", path])
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    run(["mcopy", "-s", "-m", "-i", path, *sorted(tree.iterdir()), "::/"], env=env)


def secret_file(work: Path, name: str, text: str, newline: bool = False) -> Path:
    path = work / name
    path.write_text(text + ("\n" if newline else ""))
    return path


def reencrypt(volume: Path, out: Path, key: Path, extra: list) -> None:
    """cryptsetup encrypts a copy of `volume` in place, offline: the header takes room at the start
    (--reduce-device-size), so the copy gets 4 MiB more at its end first."""
    shutil.copy(volume, out)
    with open(out, "r+b") as f:
        f.truncate(out.stat().st_size + 4 * MIB)
    run(["cryptsetup", "reencrypt", "-q", "--encrypt", "--force-offline-reencrypt", "--reduce-device-size", "4M",
         "--key-file", key, *extra, out])


def make_fixtures(corpus: Path, work: Path) -> dict:
    tree = corpus / TREE
    fat512, fat4k = work / "fat512.img", work / "fat4k.img"
    make_fat16(fat512, 16 * MIB, 512, tree)
    make_fat16(fat4k, 20 * MIB, 4096, tree)
    keys = {name: secret_file(work, name + ".key", text) for name, text in PASS.items()}
    # qemu-img reads the secret from a file (never argv); its PBKDF is timed for 10 ms, on an exact
    # thread clock (qemu_luks: Debian 12's qemu-img otherwise fails now and then on its benchmark).
    qemu_luks.run(["convert", "-q", "-f", "raw", "-O", "luks", "--object",
                   f"secret,id=s0,file={keys['luks1-qemu.img']}", "-o", "key-secret=s0,iter-time=10",
                   fat512, work / "luks1-qemu.img"])
    header = (work / "luks1-qemu.img").read_bytes()[:592]
    assert header[:8] == b"LUKS\xba\xbe\x00\x01", "qemu-img did not write LUKS1"
    assert header[8:11] == b"aes" and header[40:51] == b"xts-plain64", f"qemu-img's cipher: {header[8:72]!r}"
    reencrypt(fat512, work / "luks2.img", keys["luks2.img"], ["--type", "luks2", *FAST_PBKDF])
    reencrypt(fat4k, work / "luks2-4k.img", keys["luks2-4k.img"],
              ["--type", "luks2", "--sector-size", "4096", *FAST_PBKDF])
    # cryptsetup encrypts offline into LUKS2 only (LUKS1 reencryption needs device-mapper): made as
    # LUKS2, then its header converted to LUKS1 (a header operation on the file).
    reencrypt(fat512, work / "luks1-essiv.img", keys["luks1-essiv.img"],
              ["--type", "luks2", "--cipher", "aes-cbc-essiv:sha256", "--key-size", "256", *FAST_PBKDF])
    run(["cryptsetup", "convert", "-q", "--type", "luks1", work / "luks1-essiv.img"])
    assert (work / "luks1-essiv.img").read_bytes()[:8] == b"LUKS\xba\xbe\x00\x01", "cryptsetup convert: not LUKS1"
    ecb = work / "luks1-ecb.img"
    with open(ecb, "wb") as f:
        f.truncate(8 * MIB)
    run(["cryptsetup", "luksFormat", "-q", "--type", "luks1", "--cipher", "aes-ecb", "--key-size", "256",
         "--pbkdf-force-iterations", "1000", "--key-file", keys["luks1-ecb.img"], ecb])
    for name, cipher, sector in (("luks2.img", "aes-xts-plain64", "512"), ("luks2-4k.img", "aes-xts-plain64", "4096"),
                                 ("luks1-essiv.img", "aes-cbc-essiv:sha256", None)):
        dump = subprocess.run(["cryptsetup", "luksDump", str(work / name)], capture_output=True, text=True).stdout
        mode = cipher.split("-", 1)[1]  # LUKS1's dump names cipher and mode apart, LUKS2's together
        assert mode in dump and "aes" in dump, f"{name}: cryptsetup luksDump does not show {cipher}:\n{dump}"
        if sector:
            assert f"sector: {sector} [bytes]" in dump.replace("\t", ""), f"{name}: not {sector}-byte sectors:\n{dump}"
    # An MBR disk with luks2.img as partition 1 (type 0x83), and the disk as a dynamic VHD.
    luks2 = work / "luks2.img"
    sectors = luks2.stat().st_size // SECTOR
    disk = work / "disk.raw"
    with open(disk, "wb") as f:
        f.truncate((2048 + sectors + 2048) * SECTOR)
    run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", disk], input=f"label: dos\nstart=2048, size={sectors}, type=83\n")
    with open(luks2, "rb") as src, open(disk, "r+b") as dst:
        dst.seek(2048 * SECTOR)
        shutil.copyfileobj(src, dst)
    run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", disk, work / "disk.vhd"])
    # The same, with a second partition that starts past the end of the file (the file cut after
    # partition 1): The Sleuth Kit refuses such a table, which flscan then reads through a padded
    # view and accepts for a raw file only when a partition holds a filesystem or an encrypted
    # volume, as partition 1 does whatever the key.
    cut = work / "cut-disk.raw"
    with open(cut, "wb") as f:
        f.truncate((2048 + sectors + 8192) * SECTOR)
    run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", cut],
        input=f"label: dos\nstart=2048, size={sectors}, type=83\nstart={2048 + sectors + 4096}, size=2048, type=83\n")
    with open(luks2, "rb") as src, open(cut, "r+b") as dst:
        dst.seek(2048 * SECTOR)
        shutil.copyfileobj(src, dst)
        dst.truncate((2048 + sectors) * SECTOR)
    # luks2.img with both copies of its JSON metadata overwritten (LUKS2 on-disk format: the JSON
    # area follows each 4096-byte binary header; hdr_size, big-endian at 8, locates the second).
    damaged = work / "damaged.img"
    shutil.copy(luks2, damaged)
    with open(damaged, "r+b") as f:
        hdr_size = int.from_bytes(f.read(16)[8:16], "big")
        for header in (0, hdr_size):
            f.seek(header + 4096)
            f.write(b"{garbage" * 64)
    # luks2.img as the one logical volume of an LVM2 physical volume (corpus/lvm_pv.py writes the
    # label and metadata as lvm2 does; 1 MiB extents from 1 MiB): LUKS on LVM, read through both.
    data = luks2.read_bytes()
    extents = (len(data) + MIB - 1) // MIB
    pv_id = lvm_pv.lvm_id("keys/lvm-luks.raw/pv0")
    pv_bytes = MIB + extents * MIB
    lvs = [lvm_pv.LogicalVolume("crypt", [lvm_pv.Segment(0, extents, stripes=[("pv0", 0)])])]
    text = lvm_pv.metadata_text("vgk", lvm_pv.lvm_id("keys/vgk"), MIB // SECTOR,
                                [("pv0", pv_id, pv_bytes // SECTOR, MIB // SECTOR, extents)], lvs)
    with open(work / "lvm-luks.raw", "wb") as f:
        f.truncate(pv_bytes)
        f.write(lvm_pv.pv_headers(pv_id, pv_bytes, MIB, text.encode()))
        f.seek(MIB)
        f.write(data)
    # luks1-qemu.img with its key slot asking 2^31 - 1 PBKDF2 iterations (LUKS1's header has no
    # checksum; key slot 0's iterations, big-endian at 0xD4): a key derivation of hours, refused.
    costly = work / "costly.img"
    shutil.copy(work / "luks1-qemu.img", costly)
    with open(costly, "r+b") as f:
        f.seek(0xD0)
        assert f.read(4) == b"\x00\xac\x71\xf3", "luks1-qemu.img: key slot 0 is not active"
        f.write((2**31 - 1).to_bytes(4, "big"))
    return keys


def outputs_hold(work: Path, command: list, secrets: list, what: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Runs flscan with every report written (text on stdout, JSON, SARIF, HTML) and checks that no
    secret appears in any of them or on stderr."""
    files = {fmt: work / f"out.{fmt}" for fmt in ("json", "sarif", "html")}
    for f in files.values():
        f.unlink(missing_ok=True)
    r = subprocess.run([*command[:1], "--json", str(files["json"]), "--sarif", str(files["sarif"]),
                        "--html", str(files["html"]), *command[1:]], cwd=work, capture_output=True,
                       input=stdin.encode() if stdin is not None else None, timeout=300)
    texts = {"stdout": r.stdout, "stderr": r.stderr}
    texts.update({fmt: f.read_bytes() if f.exists() else b"" for fmt, f in files.items()})
    for secret in secrets:
        for where, data in texts.items():
            check(secret.encode() not in data, f"{what}: the key text appears in {where}")
    return r


def main() -> int:
    flscan, images_dir = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2]).resolve()
    manifest = json.loads((images_dir / "manifest.json").read_text())
    corpus = (images_dir / manifest["corpus"]).resolve()
    corpus_manifest = json.loads((corpus / "manifest.json").read_text())
    infected = any(f["expected"] in INFECTION_STATES for f in corpus_manifest["files"] if f["path"].startswith(TREE + "/"))
    tree_exit = 1 if infected else 0

    tree_report = run_flscan(flscan, [TREE], corpus, TREE)
    if tree_report is None:
        return finish("image_keys_test")
    tree_part = split(tree_report, TREE)
    check(not tree_part["not_scanned"], f"{TREE}: not scanned: {sorted(tree_part['not_scanned'])[:5]}")
    against_manifest(tree_part, TREE, corpus_manifest, TREE, incomplete=False)

    with tempfile.TemporaryDirectory(prefix="flscan-keys-") as scratch:
        work = Path(scratch)
        keys = make_fixtures(corpus, work)
        wrong = secret_file(work, "wrong.key", WRONG)

        def volume(report: dict, image: str, name: str) -> dict:
            vols = {v["volume"]: v for v in report.get("volumes") or [] if path_text(v["image"]) == image}
            check(name in vols, f"{image}: no volume {name} in {sorted(vols)}")
            return vols.get(name, {})

        # The right passphrase (the last one of two for luks2.img: each is tried on every volume).
        opened = [("luks1-qemu.img", "vol", [keys["luks1-qemu.img"]], "fat16"),
                  ("luks2.img", "vol", [wrong, keys["luks2.img"]], "fat16"),
                  ("luks2-4k.img", "vol", [keys["luks2-4k.img"]], "fat16"),
                  ("luks1-essiv.img", "vol", [keys["luks1-essiv.img"]], "fat16"),
                  ("disk.raw", "p1", [keys["luks2.img"]], "fat16"),
                  ("disk.vhd", "p1", [keys["luks2.img"]], "fat16"),
                  ("cut-disk.raw", "p1", [keys["luks2.img"]], "fat16"),
                  ("lvm-luks.raw", "lv1", [keys["luks2.img"]], "fat16")]
        for image, name, key_files, fs in opened:
            args = [a for k in key_files for a in ("--luks-passphrase-file", str(k))]
            where = f"{image}:{name}"
            report = run_flscan(flscan, [*args, image], work, where)
            if report is None:
                continue
            check(report["options"].get("keys") == ["luks-passphrase"] * len(key_files),
                  f"{where}: options.keys {report['options'].get('keys')}")
            vol = volume(report, image, name)
            check(vol.get("status") == "scanned" and vol.get("decrypted_with") == "luks-passphrase" and
                  vol.get("filesystem") == fs, f"{where}: volume {vol}")
            check(report["_returncode"] == tree_exit, f"{where}: exit {report['_returncode']}, the tree's is {tree_exit}")
            part = split(report, where)
            compare_volume(part, tree_part, where, incomplete=False)
            against_manifest(part, TREE, corpus_manifest, where, incomplete=False)

        # Standard input, and a file whose passphrase ends in a newline (dropped).
        for args, stdin, what in ((["--luks-passphrase-file", "-"], PASS["luks2.img"], "passphrase on stdin"),
                                  (["--luks-passphrase-file", str(secret_file(work, "nl.key", PASS["luks2.img"], True))],
                                   None, "passphrase file ending in a newline")):
            r = subprocess.run([flscan, "--json", "-", *args, "luks2.img"], cwd=work, capture_output=True,
                               input=stdin.encode() if stdin else None, timeout=300)
            try:
                vol = volume(json.loads(r.stdout), "luks2.img", "vol")
            except ValueError:
                vol = {}
            check(vol.get("status") == "scanned" and r.returncode == tree_exit, f"{what}: exit {r.returncode}, volume {vol}")

        # No key, wrong keys only, a cipher flscan does not decrypt: never clean, exit 2.
        for image, args, reason, words in (
                ("luks2.img", [], "encrypted-volume", "LUKS"),
                ("luks1-qemu.img", [], "encrypted-volume", "LUKS"),
                ("luks2.img", ["--luks-passphrase-file", str(wrong), "--luks-passphrase-file", str(keys["luks1-qemu.img"])],
                 "key-rejected", "none of the 2 passphrase"),
                ("disk.vhd", ["--luks-passphrase-file", str(wrong)], "key-rejected", "LUKS2"),
                ("cut-disk.raw", ["--luks-passphrase-file", str(wrong)], "key-rejected", "LUKS2"),
                ("luks1-ecb.img", ["--luks-passphrase-file", str(keys["luks1-ecb.img"])], "encrypted-volume", "aes-ecb"),
                ("damaged.img", ["--luks-passphrase-file", str(keys["luks2.img"])], "encrypted-volume",
                 "cannot read the LUKS header"),
                ("costly.img", ["--luks-passphrase-file", str(keys["luks1-qemu.img"])], "encrypted-volume",
                 "2147483647 iterations")):
            name = "p1" if image in ("disk.vhd", "cut-disk.raw") else "vol"
            where = f"{image}:{name} {' '.join(a for a in args if a.startswith('--'))}"
            report = run_flscan(flscan, [*args, image], work, where)
            if report is None:
                continue
            vol = volume(report, image, name)
            check(vol.get("status") == "error" and vol.get("reason") == reason and vol.get("decrypted_with") is None,
                  f"{where}: volume {vol}, expected reason {reason}")
            check(words in (vol.get("detail") or ""), f"{where}: detail does not say {words!r}: {vol.get('detail')}")
            entries = {path_text(e["path"]): e["reason"] for e in report["not_scanned"]}
            check(entries.get(f"{image}:{name}") == reason, f"{where}: not_scanned {entries}")
            check(not report["results"] and report["_returncode"] == 2,
                  f"{where}: exit {report['_returncode']} with {len(report['results'])} results")

        # The key text in no report and not on stderr: right key, wrong key, and both on stdin.
        all_secrets = [*PASS.values(), WRONG]
        r = outputs_hold(work, [flscan, "--luks-passphrase-file", str(keys["luks2.img"]), "luks2.img", "disk.vhd"],
                         all_secrets, "right passphrase")
        check(r.returncode == tree_exit, f"right passphrase, all reports: exit {r.returncode}")
        r = outputs_hold(work, [flscan, "--luks-passphrase-file", str(wrong), "luks2.img"], all_secrets, "wrong passphrase")
        check(r.returncode == 2, f"wrong passphrase, all reports: exit {r.returncode}")
        r = outputs_hold(work, [flscan, "--luks-passphrase-file", "-", "luks2.img"], all_secrets, "stdin",
                         stdin=PASS["luks2.img"])
        check(r.returncode == tree_exit, f"stdin passphrase, all reports: exit {r.returncode}")

        # Shards given different kinds of keys are not one scan: flscan merge refuses them.
        for k, args in ((1, ["--luks-passphrase-file", str(keys["luks2.img"])]), (2, [])):
            subprocess.run([flscan, "--shard", f"{k}/2", "--json", f"s{k}.json", *args, "luks2.img"], cwd=work,
                           capture_output=True, timeout=300)
        r = subprocess.run([flscan, "merge", "--json", "merged.json", "s1.json", "s2.json"], cwd=work,
                           capture_output=True, timeout=60)
        check(r.returncode == 2 and b"different options" in r.stderr and not (work / "merged.json").exists(),
              f"merge of shards with and without a key: exit {r.returncode}, {r.stderr[-300:]!r}")

        # Keys are never taken from argv: a recovery password there is refused and not repeated;
        # a key file that cannot be opened is an error that does not repeat its argument.
        for args, what in ((["--bitlocker-recovery-password", RECOVERY_LIKE], "recovery password in argv"),
                           (["--luks-passphrase-file", RECOVERY_LIKE], "recovery password as a passphrase file"),
                           (["--luks-passphrase-file", "no-such-file-" + WRONG], "missing key file")):
            r = subprocess.run([flscan, *args, "luks2.img"], cwd=work, capture_output=True, timeout=60)
            stderr = r.stderr.decode("utf-8", "replace")
            check(r.returncode == 2 and not r.stdout, f"{what}: exit {r.returncode}, stdout {r.stdout[:200]!r}")
            check(RECOVERY_LIKE not in stderr and WRONG not in stderr, f"{what}: stderr repeats the argument: {stderr}")
            if "recovery" in what:
                check("put it in a file" in stderr, f"{what}: stderr does not say to put it in a file: {stderr}")
        r = subprocess.run([flscan, "--luks-passphrase-file", "-", "--luks-passphrase-file", "-", "luks2.img"],
                           cwd=work, capture_output=True, input=b"x\n", timeout=60)
        check(r.returncode == 2 and b"standard input" in r.stderr, f"stdin twice: exit {r.returncode} {r.stderr[:300]!r}")
    return finish("image_keys_test: LUKS1 (qemu-img) and LUKS2 (cryptsetup) volumes opened with passphrases")


if __name__ == "__main__":
    sys.exit(main())
