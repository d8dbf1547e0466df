#!/usr/bin/env python3
"""The disk-image fixtures (corpus/build_images.py) checked without flscan, with The Sleuth Kit's
command-line tools (Debian package sleuthkit: img_stat, img_cat, mmls, fsstat, fls, icat):

1. every image opens in the container format its manifest entry names, and a container said to
   hold the same disk as a raw image gives back exactly the raw image's bytes (img_cat);
2. the partition table lists exactly the manifest's volumes (slot, start, length, type) and an
   image without a table has none;
3. every good volume has the manifest's file system, and holds every directory and file of its
   source tree with the same name (case included) and the same bytes (SHA-256 of icat's output
   against the tree on disk and against the corpus manifest), and nothing else (files are read
   from the raw images; a container is read through its listing and its identical disk bytes);
4. every broken volume is broken as the manifest says: the disk ends inside the truncated
   partition and some of its files are lost while others read back; garbage entries hold no file
   system or lie beyond the end of the disk; the unknown volume has no file system; the
   encrypted one starts with a BitLocker volume header;
5. the containers The Sleuth Kit does not read (issue 15) are proven with qemu-img and by their
   bytes: qcow2 and VHDX images hold exactly mbr.raw's bytes (`qemu-img compare`, following
   backing files), in the format, version and compression their manifest entry says (`qemu-img
   info`, `qemu-img check`'s compressed clusters); a parent chain is the files the manifest lists
   (`qemu-img info --backing-chain`) and its top holds no data of its own (`qemu-img map`: every
   byte comes from a backing file), the middle of the three-file chain only the second partition;
   the differencing VHD (qemu-img reads none) has disk type 4, no block of its own, and names its
   parent by the name and unique id of the parent's footer; the differencing VHDX says HasParent,
   has an empty BAT and a parent locator naming its parent and its DataWriteGuid; a split set's segments, concatenated,
   are mbr.raw (and The Sleuth Kit opens their list as that disk); the broken ones miss the file
   their manifest names (a backing file, a middle segment), have a VDI backing file, or are
   encrypted with LUKS.

5. every LVM2 image (manifest `volume_system` "lvm2", written by corpus/lvm_pv.py): lvm2's own
   `pvck --dump headers` finds the label, the metadata area and the text with right checksums, and
   `pvck --dump metadata` gives the metadata text, whose segments (read here from that text) are
   the manifest's; each good logical volume, put back together from those extents, holds its
   source tree exactly as in 3.; a bad one is bad as the manifest says (a segment type other than
   striped, a stripe on a PV not in the image, extents past the PV). Without lvm2 (package lvm2)
   the pvck checks are left out and the text is read from the metadata area directly.

Usage: image_fixtures_test.py IMAGES_DIR
The corpus is found through the images manifest (`corpus`, relative to IMAGES_DIR)."""
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import uuid
import sys
import tempfile
from pathlib import Path

TSK_FORMAT = {"raw": "raw", "vhd": "vhd", "vmdk": "vmdk", "ewf": "ewf"}
IMG_STAT_TYPE = {"raw": "raw", "vhd": "vhdi", "vmdk": "vmdk", "ewf": "ewf"}
FS_NAME = {"ntfs": "NTFS", "fat32": "FAT32"}
MBR_TYPE_TEXT = {"0x07": "(0x07)", "0x0c": "(0x0c)", "0x8e": "(0x8e)"}

failures: list[str] = []


def check(condition: bool, text: str) -> bool:
    if not condition:
        failures.append(text)
    return condition


def tsk(*args, binary=False) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, timeout=120, text=not binary)


_sha_cache: dict[Path, str] = {}


def sha256_file(path: Path) -> str:
    if path in _sha_cache:
        return _sha_cache[path]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    _sha_cache[path] = digest.hexdigest()
    return _sha_cache[path]


def partitions(image: Path, fmt: str) -> list[dict] | None:
    """Allocated partitions as mmls lists them, or None when mmls finds no table."""
    r = tsk("mmls", "-a", "-i", TSK_FORMAT[fmt], image)
    if r.returncode != 0:
        return None
    out = []
    for line in r.stdout.splitlines():
        m = re.match(r"^\d+:\s+(\d+)(?::(\d+))?\s+(\d+)\s+(\d+)\s+(\d+)\s+(.*)$", line)
        if m:
            slot = int(m.group(2)) if m.group(2) is not None else int(m.group(1))
            out.append({"slot": slot, "start": int(m.group(3)), "length": int(m.group(5)),
                        "description": m.group(6).strip()})
    return out


def listing(image: Path, fmt: str, sector: int) -> tuple[dict, dict] | None:
    """fls -r -p of the volume at `sector`: ({file path: inode}, {dir path: inode}), file-system
    metadata ($MFT, $FAT1, $OrphanFiles ...) and the FAT volume label entry left out."""
    r = tsk("fls", "-r", "-p", "-i", TSK_FORMAT[fmt], "-o", sector, image)
    if r.returncode != 0:
        return None
    files, dirs = {}, {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(\S)/(\S) (\*? ?)(\S+):\t(.*)$", line)
        if not check(m is not None, f"{image}@{sector}: fls line not understood: {line!r}"):
            continue
        kind, deleted, inode, name = m.group(2), m.group(3).strip(), m.group(4), m.group(5)
        if name.endswith("(Volume Label Entry)") or any(p.startswith("$") for p in name.split("/")):
            continue
        check(deleted == "", f"{image}@{sector}: deleted entry {name}")
        if kind == "d":
            dirs[name] = inode
        else:
            check(kind == "r", f"{image}@{sector}: {name} has type {kind}")
            files[name] = inode
    return files, dirs


def icat(image: Path, fmt: str, sector: int, inode: str) -> bytes | None:
    r = tsk("icat", "-i", TSK_FORMAT[fmt], "-o", sector, image, inode, binary=True)
    return r.stdout if r.returncode == 0 else None


def tree_contents(corpus: Path, tree: str) -> tuple[dict, set]:
    root = corpus / tree
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    dirs = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}
    return files, dirs


def check_good_volume(image: Path, fmt: str, vol: dict, corpus: Path, manifest_sha: dict, where: str,
                      read_files: bool) -> None:
    sector = vol["offset"] // 512
    r = tsk("fsstat", "-i", TSK_FORMAT[fmt], "-o", sector, image)
    if not check(r.returncode == 0, f"{where}: fsstat failed: {r.stderr.strip()}"):
        return
    fs_type = re.search(r"^File System Type: (\S+)", r.stdout, re.M)
    check(fs_type is not None and fs_type.group(1) == FS_NAME[vol["fs"]],
          f"{where}: file system {fs_type.group(1) if fs_type else None}, manifest says {vol['fs']}")
    listed = listing(image, fmt, sector)
    if not check(listed is not None, f"{where}: fls failed"):
        return
    files, dirs = listed
    tree_files, tree_dirs = tree_contents(corpus, vol["source_tree"])
    check(set(files) == set(tree_files), f"{where}: files differ from {vol['source_tree']}: "
          f"only in the image {sorted(set(files) - set(tree_files))[:5]}, "
          f"only in the tree {sorted(set(tree_files) - set(files))[:5]}")
    check(set(dirs) == tree_dirs, f"{where}: directories differ: image {sorted(dirs)}, tree {sorted(tree_dirs)}")
    if not read_files:  # a container whose disk bytes equal a raw image checked file by file
        return
    for rel in sorted(set(files) & set(tree_files)):
        data = icat(image, fmt, sector, files[rel])
        if not check(data is not None, f"{where}: icat {rel} failed"):
            continue
        digest = hashlib.sha256(data).hexdigest()
        check(digest == sha256_file(tree_files[rel]), f"{where}: {rel} differs from the tree's file")
        check(digest == manifest_sha.get(f"{vol['source_tree']}/{rel}"),
              f"{where}: {rel} differs from the corpus manifest's sha256")


def check_truncated_volume(image: Path, fmt: str, vol: dict, corpus: Path, size: int, where: str) -> None:
    end = vol["offset"] + vol["size"]
    check(vol["offset"] < size < end, f"{where}: the disk ({size} bytes) does not end inside the partition "
                                      f"[{vol['offset']}, {end})")
    check(vol["offset"] + vol["data_start"] < size < vol["offset"] + vol["data_end"],
          f"{where}: the cut is not inside the file data")
    sector = vol["offset"] // 512
    r = tsk("fsstat", "-i", TSK_FORMAT[fmt], "-o", sector, image)
    check(r.returncode == 0 and "FAT32" in r.stdout, f"{where}: boot sector and FATs should still be readable")
    # What a reader can still get back is a subset of the tree, byte for byte; some is lost.
    tree_files, _ = tree_contents(corpus, vol["source_tree"])
    listed = listing(image, fmt, sector) or ({}, {})
    intact = 0
    for rel, inode in listed[0].items():
        data = icat(image, fmt, sector, inode)
        if rel in tree_files and data is not None and hashlib.sha256(data).hexdigest() == sha256_file(tree_files[rel]):
            intact += 1
    check(intact < len(tree_files), f"{where}: every file still reads back whole; the cut lost nothing")
    check(intact >= 1, f"{where}: nothing before the cut reads back")


def check_bad_volume(image: Path, fmt: str, vol: dict, size: int, where: str) -> None:
    sector = vol["offset"] // 512
    if vol.get("beyond_end"):
        check(vol["offset"] >= size, f"{where}: said to start beyond the end of the disk")
        return
    r = tsk("fsstat", "-i", TSK_FORMAT[fmt], "-o", sector, image)
    check(r.returncode != 0, f"{where}: The Sleuth Kit finds a file system in a volume said to have none")
    with open(image, "rb") as f:
        f.seek(vol["offset"])
        head = f.read(512)
    if vol["error"] == "encrypted-volume":
        check(head[3:11] == b"-FVE-FS-" and head[510:512] == b"\x55\xaa",
              f"{where}: no BitLocker volume header (-FVE-FS- at 3, 55 AA at 510)")
    elif vol["error"] == "unknown-filesystem":
        check(head[3:11] != b"-FVE-FS-" and head[3:7] != b"NTFS" and head[82:87] != b"FAT32",
              f"{where}: starts like a known file system")
    if vol.get("runs_past_end"):
        check(vol["offset"] + vol["size"] > size, f"{where}: said to run past the end of the disk")


def pv_bytes(image: Path, img: dict, work: Path) -> Path:
    """The physical volume's bytes as a file of their own (sparse)."""
    out = work / "pv.raw"
    with open(image, "rb") as src, open(out, "wb") as dst:
        dst.truncate(img["pv_size"])
        for at in range(0, img["pv_size"], 1 << 20):
            src.seek(img["pv_offset"] + at)
            block = src.read(min(1 << 20, img["pv_size"] - at))
            if any(block):
                os.pwrite(dst.fileno(), block, at)
    return out


def metadata_text(pv: Path, where: str, garbage: bool) -> str | None:
    """The committed metadata text: pvck's when lvm2 is installed (it checks every checksum, and
    says when it cannot parse the text, as it must for the garbage one), else read per lvm2's
    layout.h (label in sector 1: pv_header at +32, its metadata area list after the data area
    list; mda_header raw_locn[0] at +40)."""
    env = dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1")
    if shutil.which("lvm"):
        r = subprocess.run(["lvm", "pvck", "--dump", "headers", str(pv)], capture_output=True, text=True, env=env,
                           timeout=60)
        problems = [line.strip() for line in r.stdout.splitlines() if "CHECK:" in line]
        want = [p for p in problems if "failed to parse metadata text" in p] if garbage else []
        check(problems == want and (not garbage or want), f"{where}: pvck --dump headers: {problems}")
        if garbage:
            return None
        r = subprocess.run(["lvm", "pvck", "--dump", "metadata", str(pv)], capture_output=True, text=True, env=env,
                           timeout=60)
        if not check(r.returncode == 0 and "\n  ---\n" in r.stdout, f"{where}: pvck --dump metadata failed"):
            return None
        return r.stdout.split("\n  ---\n", 1)[1].rsplit("\n  ---", 1)[0]
    data = pv.read_bytes()[:1 << 20]
    check(data[512:520] == b"LABELONE" and data[536:544] == b"LVM2 001", f"{where}: no LVM2 label in sector 1")
    at = 512 + 32 + 32 + 8
    while struct.unpack_from("<QQ", data, at) != (0, 0):
        at += 16
    mda_offset, _ = struct.unpack_from("<QQ", data, at + 16)
    offset, size = struct.unpack_from("<QQ", data, mda_offset + 40)
    text = data[mda_offset + offset:mda_offset + offset + size].rstrip(b"\0").decode()
    if garbage:
        check("logical_volumes" not in text and "physical_volumes" not in text,
              f"{where}: the garbage metadata reads as a volume group")
        return None
    return text


def section(text: str, name: str) -> list[str] | None:
    """The lines inside the first section `name { ... }` of `text`, by counting braces."""
    lines = [line.strip() for line in text.splitlines()]
    try:
        start = lines.index(name + " {")
    except ValueError:
        return None
    depth = 0
    for i in range(start, len(lines)):
        depth += lines[i].endswith("{") - (lines[i] == "}")
        if depth == 0:
            return lines[start + 1:i]
    return None


def lvm_segments(text: str, lv: str, extent: int, pe_start: int) -> tuple[list, list, list]:
    """The segments of logical volume `lv` in `text` as ([LV offset, PV offset, length] of each
    linear one on pv0, [types], [PV keys])."""
    lvs = section(text, "logical_volumes")
    body = section("\n".join(lvs or []), lv)
    if body is None:
        return [], [], []
    linear, types, pvs = [], [], []
    for name in [line[:-2] for line in body if re.fullmatch(r"segment\d+ \{", line)]:
        seg = "\n".join(section("\n".join(body), name))
        fields = dict(re.findall(r"^(\w+) = (.*)$", seg, re.M))
        types.append(fields["type"].strip('"'))
        stripes = re.findall(r'"(\w+)", (\d+)', seg)
        pvs += [key for key, _ in stripes]
        if len(stripes) == 1:
            linear.append([int(fields["start_extent"]) * extent, pe_start + int(stripes[0][1]) * extent,
                           int(fields["extent_count"]) * extent])
    return linear, types, pvs


def check_lvm_image(image: Path, img: dict, corpus: Path, manifest_sha: dict) -> None:
    where = img["path"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pv = pv_bytes(image, img, work)
        # The garbage metadata: checksums right, a text that is not a volume group.
        text = metadata_text(pv, where, garbage=img["vg"] is None)
        if text is None:
            return
        check(text.startswith(img["vg"] + " {"), f"{where}: volume group {text[:40]!r}, manifest {img['vg']}")
        pe_count = int(re.search(r"^pv0 \{.*?^pe_count = (\d+)", text, re.M | re.S).group(1))
        pe_start = int(re.search(r"^pv0 \{.*?^pe_start = (\d+)", text, re.M | re.S).group(1)) * 512
        extent = int(re.search(r"^extent_size = (\d+)", text, re.M).group(1)) * 512
        check(extent == img["extent_size"], f"{where}: extent size {extent}")
        for vol in img["volumes"]:
            vwhere = f"{where}:{vol['name']}"
            lv_name = vol["lv"].split("/", 1)[1]
            linear, types, pvs = lvm_segments(text, lv_name, extent, pe_start)
            got = [[o, img["pv_offset"] + p, n] for o, p, n in linear]
            if vol["error"] is None:
                check(types and set(types) == {"striped"} and set(pvs) == {"pv0"} and got == vol["segments"],
                      f"{vwhere}: segments {got} {types} {pvs}, manifest {vol['segments']}")
                check(all(p + n <= pe_start + pe_count * extent for _, p, n in linear), f"{vwhere}: past the PV")
                lv_file = work / "lv.raw"
                with open(image, "rb") as src, open(lv_file, "wb") as dst:
                    dst.truncate(vol["size"])
                    for lv_offset, at, length in vol["segments"]:
                        src.seek(at)
                        dst.seek(lv_offset)
                        dst.write(src.read(length))
                check(vol["offset"] == vol["segments"][0][1], f"{vwhere}: offset is not the first extent's")
                check_good_volume(lv_file, "raw", dict(vol, offset=0), corpus, manifest_sha, vwhere, read_files=True)
            elif vol["error"] == "unsupported-image":
                check(types and "striped" not in types, f"{vwhere}: segment types {types}")
            else:
                on_other = any(p != "pv0" for p in pvs)
                past = any(p + n > pe_start + pe_count * extent for _, p, n in linear)
                check(vol["error"] == "unreadable-image" and (on_other or past),
                      f"{vwhere}: neither on another PV nor past the PV ({types} {pvs} {linear})")
                if on_other:
                    check(re.search(r"^pv1 \{", text, re.M) is not None, f"{vwhere}: the other PV is not listed")
def qemu_json(*args) -> dict | list | None:
    r = subprocess.run(["qemu-img", *map(str, args), "--output=json"], capture_output=True, text=True, timeout=120)
    return json.loads(r.stdout) if r.returncode == 0 else None


def check_vhd_differencing(images_dir: Path, img: dict, where: str) -> None:
    """The differencing VHD as the VHD specification lays it out (qemu-img cannot read one)."""
    data = (images_dir / img["path"]).read_bytes()
    parent_path = images_dir / img["image_files"][1]
    parent_footer = parent_path.read_bytes()[-512:]
    check(data[:8] == b"conectix" and data[-512:-504] == b"conectix", f"{where}: no VHD footer")
    check(int.from_bytes(data[60:64], "big") == 4, f"{where}: disk type is not 4 (differencing)")
    header_at = int.from_bytes(data[16:24], "big")
    header = data[header_at:header_at + 1024]
    check(header[:8] == b"cxsparse", f"{where}: no dynamic header")
    bat_at, entries = int.from_bytes(header[16:24], "big"), int.from_bytes(header[28:32], "big")
    check(data[bat_at:bat_at + 4 * entries] == b"\xff" * 4 * entries, f"{where}: holds blocks of its own")
    check(header[40:56] == parent_footer[68:84], f"{where}: parent unique id is not {parent_path.name}'s")
    name = header[64:576].decode("utf-16-be").rstrip("\0")
    check(name == parent_path.name, f"{where}: parent name {name!r}, manifest {parent_path.name}")


def check_vhdx_differencing(images_dir: Path, img: dict, where: str) -> None:
    """The differencing VHDX as MS-VHDX lays it out (qemu-img reads none): HasParent, a parent
    locator whose parent_linkage is the parent's DataWriteGuid and whose paths name the parent,
    and an empty BAT."""
    data = (images_dir / img["path"]).read_bytes()
    parent = (images_dir / img["image_files"][1]).read_bytes()
    meta, _ = vhdx_region(data, "8B7CA206")
    count = struct.unpack_from("<H", data, meta + 10)[0]
    items = {}
    for i in range(count):
        at = meta + 32 + 32 * i
        items[str(uuid.UUID(bytes_le=data[at:at + 16])).upper()] = struct.unpack_from("<II", data, at + 16)
    params = items.get("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
    check(params is not None and struct.unpack_from("<I", data, meta + params[0] + 4)[0] & 2,
          f"{where}: the file parameters do not say HasParent")
    locator = items.get("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
    if check(locator is not None, f"{where}: no parent locator"):
        at = meta + locator[0]
        pairs = {}
        for i in range(struct.unpack_from("<H", data, at + 18)[0]):
            ko, vo, kl, vl = struct.unpack_from("<IIHH", data, at + 20 + 12 * i)
            pairs[data[at + ko:at + ko + kl].decode("utf-16-le")] = data[at + vo:at + vo + vl].decode("utf-16-le")
        headers = [parent[o:o + 4096] for o in (64 * 1024, 128 * 1024)]
        current = max(headers, key=lambda h: struct.unpack_from("<Q", h, 8)[0] if h[:4] == b"head" else -1)
        linkage = "{" + str(uuid.UUID(bytes_le=current[32:48])) + "}"
        check(pairs.get("parent_linkage") == linkage, f"{where}: parent_linkage {pairs.get('parent_linkage')}, parent {linkage}")
        name = Path(img["image_files"][1]).name
        check(pairs.get("relative_path", "").endswith("\\" + name), f"{where}: relative_path {pairs.get('relative_path')}")
    bat, length = vhdx_region(data, "2DC27766")
    check(not any(data[bat:bat + length]), f"{where}: the BAT lists blocks of its own")


def vhdx_region(blob: bytes, prefix: str) -> tuple[int, int]:
    """(offset, length) of a VHDX region from the region table at 192 KiB (MS-VHDX 2.2.2)."""
    count = struct.unpack_from("<I", blob, 192 * 1024 + 8)[0]
    for i in range(count):
        at = 192 * 1024 + 16 + 32 * i
        if str(uuid.UUID(bytes_le=blob[at:at + 16])).upper().startswith(prefix):
            return struct.unpack_from("<QI", blob, at + 16)
    return 0, 0


def check_libyal_container(images_dir: Path, img: dict, raw_sha: dict, where: str) -> None:
    """A container flscan reads through libqcow or libvhdi, proven with qemu-img."""
    image = images_dir / img["path"]
    fmt = img["format"]
    if fmt == "vhd":
        check_vhd_differencing(images_dir, img, where)
        return
    if fmt == "vhdx" and len(img["image_files"]) > 1:
        check_vhdx_differencing(images_dir, img, where)
        return
    info = qemu_json("info", "-U", "--backing-chain", image)
    if not check(isinstance(info, list) and info, f"{where}: qemu-img info failed"):
        return
    check(info[0]["format"] == fmt, f"{where}: qemu-img says {info[0]['format']}, manifest {fmt}")
    chain = [Path(i["filename"]).name for i in info]
    check(chain == [Path(f).name for f in img["image_files"]], f"{where}: backing chain {chain}, manifest {img['image_files']}")
    if "v2" in img["path"]:
        check(info[0]["format-specific"]["data"]["compat"] == "0.10", f"{where}: not qcow2 version 2 (compat 0.10)")
    if "compressed" in img["path"]:
        checked = qemu_json("check", image)
        check(checked is not None and checked.get("compressed-clusters", 0) > 0, f"{where}: no compressed cluster")
    r = subprocess.run(["qemu-img", "compare", "-U", "-f", fmt, "-F", "raw", image, images_dir / img["same_disk_as"]],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"{where}: qemu-img compare with {img['same_disk_as']}: {r.stdout.strip()} {r.stderr.strip()}")
    if len(img["image_files"]) > 1:
        mapped = qemu_json("map", "-U", image) or []
        own = [m for m in mapped if m["depth"] == 0 and m["data"]]
        check(mapped and not own, f"{where}: holds data of its own: {own[:3]}")
    if len(img["image_files"]) == 3:
        mid = images_dir / img["image_files"][1]
        p2 = img["volumes"][1]
        mapped = qemu_json("map", "-U", mid) or []
        own = [(m["start"], m["length"]) for m in mapped if m["depth"] == 0 and m["data"]]
        check(own and all(p2["offset"] <= s and s + n <= p2["offset"] + p2["size"] for s, n in own),
              f"{where}: the middle file should hold the second partition only: {own[:3]}")
        base_data = [m for m in mapped if m["depth"] == 1 and m["data"]]
        check(bool(base_data), f"{where}: nothing is read from the base file")


def check_split_set(images_dir: Path, img: dict, raw_sha: dict, where: str) -> None:
    segments = [images_dir / f for f in img["image_files"]]
    check(len(segments) > 1 and all(s.parent == segments[0].parent for s in segments),
          f"{where}: segments not beside each other: {img['image_files']}")
    digest = hashlib.sha256()
    for s in segments:
        digest.update(s.read_bytes())
    check(digest.hexdigest() == raw_sha.get(img["same_disk_as"]), f"{where}: the segments are not {img['same_disk_as']}")
    cat = tsk("img_cat", "-i", "raw", *segments, binary=True)
    check(cat.returncode == 0 and hashlib.sha256(cat.stdout).hexdigest() == raw_sha.get(img["same_disk_as"]),
          f"{where}: The Sleuth Kit does not read the segments as {img['same_disk_as']}")


def check_broken_container(images_dir: Path, img: dict, where: str) -> None:
    image = images_dir / img["path"]
    error = img["image_error"]
    if img["format"] == "raw-split":
        check(not (image.parent / error["names"]).exists(), f"{where}: {error['names']} exists")
        later = sorted(p.name for p in image.parent.iterdir())
        check(later and later[0] == image.name and later[-1] > error["names"],
              f"{where}: no segment after the missing {error['names']}: {later}")
        return
    info = qemu_json("info", "-U", image)
    if not check(info is not None, f"{where}: qemu-img info failed"):
        return
    if error is None:  # encrypted by its container
        check(info.get("encrypted") is True and info["format-specific"]["data"]["encrypt"]["format"] == "luks",
              f"{where}: not a LUKS-encrypted qcow2")
        return
    check(Path(info.get("backing-filename", "")).name == error["names"],
          f"{where}: backing file {info.get('backing-filename')}, manifest {error['names']}")
    backing = image.parent / error["names"]
    if error["reason"] == "unreadable-image":
        check(not backing.exists(), f"{where}: the backing file {error['names']} exists")
    else:
        backing_info = qemu_json("info", "-U", backing)
        check(info.get("backing-filename-format") == "vdi" and backing_info is not None and
              backing_info["format"] == "vdi", f"{where}: the backing file is not a VDI beside it")


def main() -> int:
    images_dir = Path(sys.argv[1])
    manifest = json.loads((images_dir / "manifest.json").read_text())
    corpus = (images_dir / manifest["corpus"]).resolve()
    corpus_manifest = json.loads((corpus / "manifest.json").read_text())
    check(manifest["corpus_manifest_sha256"] == hashlib.sha256((corpus / "manifest.json").read_bytes()).hexdigest(),
          "the images were built from another corpus build (corpus_manifest_sha256)")
    manifest_sha = {f["path"]: f["sha256"] for f in corpus_manifest["files"]}
    raw_sha: dict[str, str] = {}
    seen = set()
    for img in manifest["images"]:
        image = images_dir / img["path"]
        fmt = img["format"]
        where = img["path"]
        seen.add(fmt)
        if not check(image.is_file(), f"{where}: missing"):
            continue
        check(image.stat().st_size == img["size"], f"{where}: size differs from the manifest")
        # Formats The Sleuth Kit does not read, parent chains, split sets, images that cannot be
        # opened (issue 15): proven by qemu-img and by their bytes.
        if img.get("image_error") is not None or fmt not in TSK_FORMAT or len(img["image_files"]) > 1:
            if img.get("image_error") is not None or img["broken"]:
                check_broken_container(images_dir, img, where)
            elif fmt == "raw-split":
                check_split_set(images_dir, img, raw_sha, where)
            else:
                check_libyal_container(images_dir, img, raw_sha, where)
            continue
        r = tsk("img_stat", "-i", TSK_FORMAT[fmt], image)
        check(r.returncode == 0 and re.search(rf"Image Type:\s+{IMG_STAT_TYPE[fmt]}\b", r.stdout) is not None,
              f"{where}: img_stat does not open it as {fmt}: {r.stdout[:200]} {r.stderr[:200]}")
        if fmt == "raw":
            raw_sha[img["path"]] = sha256_file(image)
            disk_size = image.stat().st_size
        else:
            cat = tsk("img_cat", "-i", TSK_FORMAT[fmt], image, binary=True)
            disk_size = len(cat.stdout)
            if check(cat.returncode == 0, f"{where}: img_cat failed"):
                check(img["same_disk_as"] in raw_sha and hashlib.sha256(cat.stdout).hexdigest() == raw_sha[img["same_disk_as"]],
                      f"{where}: does not hold the same disk bytes as {img['same_disk_as']}")
        if img.get("volume_system") == "lvm2":
            if fmt != "raw":  # its disk bytes are a raw image's (above), which is checked in full
                continue
            if img["partition_table"] != "none":
                parts = partitions(image, fmt) or []
                check([(p["start"] * 512, p["length"] * 512) for p in parts] == [(img["pv_offset"], img["pv_size"])],
                      f"{where}: the PV is not the one partition: {parts}")
                if img["partition_table"] == "mbr":
                    check(parts and parts[0]["description"].endswith("(0x8e)"), f"{where}: not type 0x8e: {parts}")
                else:  # the type GUID, from the primary entry array (LBA 2, first entry)
                    with open(image, "rb") as f:
                        f.seek(2 * 512)
                        guid = f.read(16)
                    check(guid == bytes.fromhex("79d3d6e607f5c244a23c238f2a3df928"),
                          f"{where}: the partition's type is not Linux LVM: {guid.hex()}")
            check_lvm_image(image, img, corpus, manifest_sha)
            check(img["broken"] == any(v["error"] for v in img["volumes"]), f"{where}: broken flag")
            continue
        parts = partitions(image, fmt)
        if img["partition_table"] == "none":
            check(parts is None, f"{where}: mmls finds a partition table in an image said to have none")
            check([v["name"] for v in img["volumes"]] == ["vol"] and img["volumes"][0]["offset"] == 0,
                  f"{where}: a volume without table is `vol` at offset 0")
        elif check(parts is not None, f"{where}: mmls finds no partition table"):
            r = tsk("mmls", "-i", TSK_FORMAT[fmt], image)
            table = {"mbr": "DOS Partition Table", "gpt": "GUID Partition Table"}[img["partition_table"]]
            check(table in r.stdout, f"{where}: not a {table}")
            got = sorted((p["slot"], p["start"] * 512, p["length"] * 512) for p in parts)
            want = sorted((v["slot"], v["offset"], v["size"]) for v in img["volumes"])
            check(got == want, f"{where}: partitions {got}, manifest {want}")
            by_start = sorted(img["volumes"], key=lambda v: v["offset"])
            check([v["name"] for v in by_start] == [f"p{i}" for i in range(1, len(by_start) + 1)],
                  f"{where}: volume names are not p1.. in start-offset order")
            for p in parts:
                vol = next((v for v in img["volumes"] if v["slot"] == p["slot"]), None)
                if vol and img["partition_table"] == "mbr":
                    check(p["description"].endswith(MBR_TYPE_TEXT[vol["table_type"]]),
                          f"{where}: slot {p['slot']} type {p['description']}, manifest {vol['table_type']}")
        for vol in img["volumes"]:
            vwhere = f"{where}:{vol['name']}"
            if vol["error"] is None:
                check(vol["source_tree"] is not None, f"{vwhere}: a good volume without source tree")
                check_good_volume(image, fmt, vol, corpus, manifest_sha, vwhere, read_files=fmt == "raw")
            elif vol["error"] == "truncated":
                check_truncated_volume(image, fmt, vol, corpus, disk_size, vwhere)
            else:
                check_bad_volume(image, fmt, vol, disk_size, vwhere)
                if vol.get("table_type") == "0x8e":  # no LVM2 label in the partition's first four sectors
                    with open(image, "rb") as f:
                        f.seek(vol["offset"])
                        head = f.read(2048)
                    check(b"LABELONE" not in head, f"{vwhere}: an LVM2 label in a partition said to hold none")
        if img["broken"]:
            check(any(v["error"] for v in img["volumes"]), f"{where}: broken, but no volume has an error")
        else:
            check(all(v["error"] is None for v in img["volumes"]), f"{where}: a good image with a bad volume")
    check(seen == set(TSK_FORMAT) | {"qcow2", "vhdx", "raw-split"}, f"formats covered: {sorted(seen)}")
    kinds = {v["error"] for img in manifest["images"] for v in img["volumes"]}
    check({"truncated", "unknown-filesystem", "unreadable-image", "encrypted-volume", "unsupported-image"} <= kinds,
          f"broken kinds covered: {sorted(k for k in kinds if k)}")
    trees = {t["root"] for t in corpus_manifest["host_trees"]}
    used = {v["source_tree"] for img in manifest["images"] for v in img["volumes"] if v["source_tree"]}
    check(used == trees, f"trees used {sorted(used)}, corpus host_trees {sorted(trees)}")
    for f in failures:
        print("FAIL:", f)
    print(f"image_fixtures_test: {len(manifest['images'])} images, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
