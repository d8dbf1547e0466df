#!/usr/bin/env python3
"""Builds flscan's disk-image fixtures from the corpus's offline Windows trees, without root.

    python3 corpus/build_images.py --corpus CORPUS_DIR --out DIR --ntfs-populate PATH

CORPUS_DIR is a corpus written by build_corpus.py; its windows/* trees (manifest.json
`host_trees`) are copied, byte for byte and with their names' case, into NTFS and FAT32 volumes
that sit in MBR and GPT partition tables, in raw, VHD, VMDK and E01 containers, and in the
logical volumes of an LVM2 physical volume (bare, in an MBR or GPT partition, in a VHD; written
by lvm_pv.py, with broken ones: unsupported and unmappable LVs, garbage metadata, an LVM-type
partition without PV). Next to them go
broken images: one cut short inside its second partition, one with a garbage partition table,
one with a partition of random bytes, one with a BitLocker-looking partition. DIR/manifest.json
says, for every image, its format and, for every volume, its name in flscan's paths (p1, p2 ...
in start-offset order; `vol` without a partition table), file system, byte offset and size, and
either the corpus tree it was populated from or the error a reader must report for it. Like the
corpus manifest, every expectation comes from how an image was built, never from a scanner.

Nothing is mounted: NTFS volumes are made by `mkntfs` on a plain file and filled by
ntfs_populate (corpus/ntfs_populate.c, libntfs-3g); FAT32 volumes by `mkfs.fat` on a plain file
and filled by `mcopy` (mtools); partition tables are written by `sfdisk` on the image file (or
by this script, for the garbage one); volumes are copied in at their offsets, skipping zero
blocks so images stay sparse; `qemu-img convert` makes VHD and VMDK, `ewfacquire` E01.
See corpus/README.md, "Disk images".
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.dont_write_bytecode = True
from funlove_synth import prng_bytes  # noqa: E402  (fixed-seed filler, shared with the corpus)
import lvm_pv  # noqa: E402  (an LVM2 physical volume written without lvm2's tools)
import qemu_luks  # noqa: E402  (qemu-img with an exact clock for its PBKDF benchmark)

GENERATOR = "corpus/build_images.py"
CORPUS_GENERATOR = "corpus/build_corpus.py"
SCHEMA_VERSION = 1
SECTOR = 512
MIB = 1 << 20
ALIGN = 2048                      # first partition at 1 MiB, as fdisk and Windows place it
NTFS_SECTORS = 8 * MIB // SECTOR  # 8 MiB: room for a ~0.8 MB tree plus NTFS metadata
# FAT32 needs at least 65525 clusters (fatgen103, "FAT type determination"; mtools and The
# Sleuth Kit decide the type the same way): 33 MiB with one 512-byte sector per cluster.
FAT32_SECTORS = 33 * MIB // SECTOR
GPT_TAIL = 2048                   # room after the last partition for the backup GPT (33 sectors)
BASIC_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"  # GPT "Microsoft basic data"
GPT_LINUX_LVM = "E6D6D379-F507-44C2-A23C-238F2A3DF928"  # GPT "Linux LVM"
TYPE_NTFS, TYPE_FAT32_LBA, TYPE_LVM = 0x07, 0x0C, 0x8E
# LVM2 fixtures: 1 MiB extents, the data area from 1 MiB (pvcreate's default pe_start).
LVM_EXTENT = MIB
LVM_PE_START = MIB
# BitLocker's boot sector (libyal/libbde, "BitLocker Drive Encryption (BDE) format", volume
# header): "-FVE-FS-" at offset 3 and the BitLocker identifier GUID at 0xA0 (Windows 7 layout).
FVE_SIGNATURE = b"-FVE-FS-"
BITLOCKER_GUID = bytes.fromhex("3bd66749292ed84a8399f6a339e3d001")  # 4967D63B-2E29-4AD8-8399-F6A339E3D001
COPY_BLOCK = 64 * 1024

TOOLS = {  # program -> Debian package
    "mkntfs": "ntfs-3g", "mkfs.fat": "dosfstools", "mcopy": "mtools", "sfdisk": "fdisk",
    "qemu-img": "qemu-utils", "qemu-io": "qemu-utils", "ewfacquire": "ewf-tools",
}


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"build_images: {' '.join(map(str, command))} failed (exit {result.returncode}):\n"
                 f"{result.stdout}{result.stderr}")
    return result


# ---------------------------------------------------------------------------------------------
# Volumes
# ---------------------------------------------------------------------------------------------
def make_ntfs(path: Path, sectors: int, start: int, label: str, tree: Path | None, populate: Path,
              times: dict | None = None) -> None:
    """An NTFS volume file of `sectors` sectors whose boot sector says it starts at LBA `start`.
    `times` (the corpus manifest's host tree `ntfs_times`, issue 20): the $STANDARD_INFORMATION
    times ntfs_populate sets on those files."""
    with open(path, "wb") as f:
        f.truncate(sectors * SECTOR)
    # -F: a file, not a block device; -f: do not zero the volume (keeps it sparse); -T: all
    # timestamps 1970 (fewer differences between builds); geometry fields for a disk's partition.
    run(["mkntfs", "-F", "-f", "-q", "-T", "-s", SECTOR, "-c", 4096, "-p", start, "-H", 255, "-S", 63,
         "-L", label, path])
    if tree is not None and times:
        times_file = path.with_suffix(".times")
        times_file.write_text("".join(
            f"{rel}\t" + "\t".join(str(calendar.timegm(time.strptime(t[k], "%Y-%m-%dT%H:%M:%SZ")))
                                   for k in ("created", "modified", "accessed", "mft_changed")) + "\n"
            for rel, t in sorted(times.items())))
        run([populate, path, tree, times_file])
    elif tree is not None:
        run([populate, path, tree])


def make_fat32(path: Path, sectors: int, start: int, label: str, serial: int, tree: Path | None) -> None:
    """A FAT32 volume file (one 512-byte sector per cluster) whose boot sector says it starts at
    LBA `start`, holding `tree`'s files (mcopy -s -m: recursive, modification times kept; names
    that are not upper-case 8.3 get VFAT long names, so case is kept)."""
    with open(path, "wb") as f:
        f.truncate(sectors * SECTOR)
    run(["mkfs.fat", "-F", 32, "-s", 1, "-S", SECTOR, "-h", start, "-n", label, "-i", f"{serial:08X}", path])
    if tree is not None:
        names = sorted(p.name for p in tree.iterdir())
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
        run(["mcopy", "-s", "-m", "-i", path, *[tree / n for n in names], "::/"], env=env)


def splice(image: Path, offset: int, volume: Path) -> None:
    """Writes `volume` into `image` at `offset`, skipping all-zero blocks (the image stays sparse)."""
    zero = bytes(COPY_BLOCK)
    with open(volume, "rb") as src, open(image, "r+b") as dst:
        position = 0
        while True:
            block = src.read(COPY_BLOCK)
            if not block:
                break
            if block != zero[:len(block)]:
                os.pwrite(dst.fileno(), block, offset + position)
            position += len(block)


def new_image(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)


def sfdisk(image: Path, script: str) -> None:
    run(["sfdisk", "--no-reread", "--no-tell-kernel", "-q", "--wipe", "never", image], input=script)


# ---------------------------------------------------------------------------------------------
# The manifest model
# ---------------------------------------------------------------------------------------------
@dataclass
class Volume:
    name: str                 # p1, p2 ... (start-offset order) or vol
    fs: str                   # ntfs, fat32, unknown, bitlocker, none
    offset: int               # bytes from the start of the disk
    size: int                 # bytes the partition table (or the file) gives it
    source_tree: str | None = None   # corpus-relative tree the volume holds, byte for byte
    error: str | None = None  # the per-volume error a reader must report (see README)
    slot: int | None = None   # partition table entry (0-based), when there is a table
    table_type: str | None = None    # MBR type byte (0x07) or GPT type GUID
    how: str = ""
    facts: dict = field(default_factory=dict)

    def record(self) -> dict:
        out = {"name": self.name, "fs": self.fs, "offset": self.offset, "size": self.size,
               "source_tree": self.source_tree, "error": self.error}
        if self.slot is not None:
            out["slot"] = self.slot
        if self.table_type is not None:
            out["table_type"] = self.table_type
        out.update(self.facts)
        out["how"] = self.how
        return out


@dataclass
class Image:
    path: str                 # relative to the images directory
    format: str               # raw, vhd, vmdk, ewf
    partition_table: str      # mbr, gpt, none
    volumes: list
    how: str
    broken: bool = False
    same_disk_as: str | None = None   # a container holding the same disk bytes as this raw image
    facts: dict = field(default_factory=dict)
    # The files the image is made of, in order (relative to the images directory): the image,
    # then its parent (backing) files; or the segments of a split raw set. None: the image alone.
    image_files: list | None = None
    # An image that cannot be opened at all (no volumes): {"reason": NOT SCANNED reason of the
    # image, "names": a file name its detail must give}.
    image_error: dict | None = None


# ---------------------------------------------------------------------------------------------
# The images
# ---------------------------------------------------------------------------------------------
class Builder:
    def __init__(self, corpus: Path, out: Path, scratch: Path, populate: Path, ntfs_times: dict) -> None:
        self.corpus, self.out, self.scratch, self.populate = corpus, out, scratch, populate
        self.ntfs_times = ntfs_times  # tree -> its host tree's ntfs_times (corpus manifest)
        self.images: list[Image] = []
        self.serial = 0x464C0000

    def tree(self, rel: str) -> Path:
        return self.corpus / rel

    def volume_file(self, fs: str, tree: str | None, start: int, sectors: int, label: str) -> Path:
        path = self.scratch / f"vol-{len(list(self.scratch.iterdir()))}.{fs}"
        source = self.tree(tree) if tree else None
        if fs == "ntfs":
            make_ntfs(path, sectors, start, label, source, self.populate, self.ntfs_times.get(tree))
        else:
            self.serial += 1
            make_fat32(path, sectors, start, label, self.serial, source)
        return path

    def partitioned(self, rel: str, label: str, parts: list, how: str, tail: int = 0) -> Image:
        """parts: [(fs, tree, sectors, volume label)], laid out from 1 MiB in this order."""
        start = ALIGN
        layout = []
        for fs, tree, sectors, vlabel in parts:
            layout.append((fs, tree, start, sectors, vlabel))
            start += sectors
        size = (start + tail) * SECTOR
        image = self.out / rel
        new_image(image, size)
        if label == "mbr":
            script = "label: dos\nlabel-id: 0x464c5343\nunit: sectors\n\n" + "".join(
                f"start={s}, size={n}, type={TYPE_NTFS if fs == 'ntfs' else TYPE_FAT32_LBA:x}\n"
                for fs, _, s, n, _ in layout)
        else:
            script = ("label: gpt\nlabel-id: 464C5343-4E41-4745-8000-000000000000\nunit: sectors\n"
                      f"first-lba: {ALIGN}\n\n" + "".join(
                          f"start={s}, size={n}, type={BASIC_DATA}, "
                          f"uuid=464C5343-4E41-4745-8000-{i + 1:012X}, name=\"{v}\"\n"
                          for i, (_, _, s, n, v) in enumerate(layout)))
        sfdisk(image, script)
        volumes = []
        for i, (fs, tree, s, n, vlabel) in enumerate(layout):
            splice(image, s * SECTOR, self.volume_file(fs, tree, s, n, vlabel))
            volumes.append(Volume(
                f"p{i + 1}", fs, s * SECTOR, n * SECTOR, tree, slot=i,
                table_type=(f"0x{TYPE_NTFS if fs == 'ntfs' else TYPE_FAT32_LBA:02x}" if label == "mbr" else BASIC_DATA),
                how=f"{'mkntfs + ntfs_populate' if fs == 'ntfs' else 'mkfs.fat -F 32 + mcopy -s'} "
                    f"of {tree}, volume label {vlabel}"))
        img = Image(rel, "raw", label, volumes, how)
        self.images.append(img)
        return img

    def good_images(self) -> None:
        self.mbr = self.partitioned(
            "mbr.raw", "mbr",
            [("ntfs", "windows/nt4-infected", NTFS_SECTORS, "NT4"),
             ("fat32", "windows/q321454", FAT32_SECTORS, "W2K")],
            "MBR disk (sfdisk): NTFS partition type 0x07 with windows/nt4-infected, FAT32 (LBA) "
            "partition type 0x0c with windows/q321454")
        self.partitioned(
            "gpt.raw", "gpt",
            [("ntfs", "windows/clean", NTFS_SECTORS, "clean"),
             ("fat32", "windows/nt4-infected", FAT32_SECTORS, "nt4")],
            "GPT disk (sfdisk, protective MBR, backup table at the end): two Microsoft basic data "
            "partitions, NTFS with windows/clean and FAT32 with windows/nt4-infected", tail=GPT_TAIL)
        # A bare FAT32 volume: the whole file is the file system, no partition table.
        path = self.out / "fat32-volume.raw"
        volume = self.volume_file("fat32", "windows/clean", 0, FAT32_SECTORS, "CLEAN")
        new_image(path, FAT32_SECTORS * SECTOR)
        splice(path, 0, volume)
        self.images.append(Image(
            "fat32-volume.raw", "raw", "none",
            [Volume("vol", "fat32", 0, FAT32_SECTORS * SECTOR, "windows/clean",
                    how="mkfs.fat -F 32 + mcopy -s of windows/clean (upper-case 8.3 program names, "
                        "lower-case system32, CONFIG/system), volume label CLEAN")],
            "a FAT32 volume without partition table (a partition dumped on its own)"))
        # The MBR disk in the container formats flscan reads through The Sleuth Kit.
        raw = self.out / "mbr.raw"
        run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on",
             raw, self.out / "mbr.vhd"])
        run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicSparse",
             raw, self.out / "mbr.vmdk"])
        # -u unattended; -c empty-block: deflate only blocks of zeros (the rest stored as is);
        # fixed case data; -q quiet. Writes mbr.E01 (one segment).
        run(["ewfacquire", "-u", "-q", "-t", self.out / "mbr", "-f", "encase6", "-c", "deflate:empty-block",
             "-C", "flscan", "-D", "flscan test image: mbr.raw", "-e", "flscan", "-E", "1", "-N",
             "synthetic, inert", "-m", "fixed", "-M", "physical", "-S", str(64 * MIB), raw])
        for rel, fmt, how in (("mbr.vhd", "vhd", "qemu-img convert -O vpc (dynamic VHD) of mbr.raw"),
                              ("mbr.vmdk", "vmdk", "qemu-img convert -O vmdk (monolithicSparse) of mbr.raw"),
                              ("mbr.E01", "ewf", "ewfacquire -f encase6 of mbr.raw (EWF/E01, empty blocks compressed)")):
            assert (self.out / rel).is_file(), rel
            self.images.append(Image(rel, fmt, "mbr", [Volume(**vars(v)) for v in self.mbr.volumes],
                                     how, same_disk_as="mbr.raw"))

    def lvm_pv(self, rel: str, vg: str, lvs: list, pe_count: int, table: str, broken: bool, how: str,
               other_pvs: list = (), fill: dict | None = None) -> Image:
        """An LVM2 physical volume (corpus/lvm_pv.py) holding `lvs`, bare or as the one partition
        of an MBR (type 0x8e) or GPT (Linux LVM) disk: `table` none, mbr or gpt. fill: {LV name: (fs, tree, volume label)}; an LV not in it is
        left as zeros. Volumes in the manifest: the LVs in metadata order, named lv1, lv2 ...
        (p1.lv1 ... in the partition), offset the first extent's byte in the image (the PV's
        start when the LV cannot be mapped, length 0 then)."""
        fill = fill or {}
        pv_id = lvm_pv.lvm_id(f"{rel}/pv0")
        pv_bytes = LVM_PE_START + pe_count * LVM_EXTENT
        pvs = [("pv0", pv_id, pv_bytes // SECTOR, LVM_PE_START // SECTOR, pe_count)] + list(other_pvs)
        text = lvm_pv.metadata_text(vg, lvm_pv.lvm_id(f"{rel}/{vg}"), LVM_EXTENT // SECTOR, pvs, lvs)
        partition = table != "none"
        pv_at = ALIGN * SECTOR if partition else 0
        image = self.out / rel
        new_image(image, pv_at + pv_bytes + (GPT_TAIL * SECTOR if table == "gpt" else 0))
        if table == "mbr":
            sfdisk(image, "label: dos\nlabel-id: 0x464c5345\nunit: sectors\n\n"
                          f"start={ALIGN}, size={pv_bytes // SECTOR}, type={TYPE_LVM:x}\n")
        elif table == "gpt":
            sfdisk(image, "label: gpt\nlabel-id: 464C5343-4E41-4745-8000-00000000004C\nunit: sectors\n"
                          f"first-lba: {ALIGN}\n\nstart={ALIGN}, size={pv_bytes // SECTOR}, type={GPT_LINUX_LVM}, "
                          'uuid=464C5343-4E41-4745-8000-00000000004D, name="pv"\n')
        with open(image, "r+b") as f:
            os.pwrite(f.fileno(), lvm_pv.pv_headers(pv_id, pv_bytes, LVM_PE_START, text.encode()), pv_at)
        prefix = "p1." if partition else ""
        volumes = []
        for i, lv in enumerate(lvs, start=1):
            segments = []  # [LV byte offset, image byte offset, length] of each linear segment on pv0
            mappable = all(seg.type == "striped" and len(seg.stripes) == 1 and seg.stripes[0][0] == "pv0" and
                           seg.stripes[0][1] + seg.extent_count <= pe_count for seg in lv.segments)
            for seg in lv.segments:
                if mappable:
                    segments.append([seg.start_extent * LVM_EXTENT,
                                     pv_at + LVM_PE_START + seg.stripes[0][1] * LVM_EXTENT,
                                     seg.extent_count * LVM_EXTENT])
            size = sum(seg.extent_count for seg in lv.segments) * LVM_EXTENT if mappable else 0
            facts = {"lv": f"{vg}/{lv.name}", "segments": segments}
            if lv.name in fill:
                fs, tree, vlabel = fill[lv.name]
                volume = self.volume_file(fs, tree, 0, size // SECTOR, vlabel)
                data = volume.read_bytes()
                with open(image, "r+b") as f:
                    for lv_offset, at, length in segments:
                        piece = data[lv_offset:lv_offset + length]
                        for block in range(0, length, COPY_BLOCK):
                            chunk = piece[block:block + COPY_BLOCK]
                            if any(chunk):
                                os.pwrite(f.fileno(), chunk, at + block)
                volumes.append(Volume(f"{prefix}lv{i}", fs, segments[0][1], size, tree, facts=facts,
                                      how=f"LVM2 logical volume {vg}/{lv.name} in {len(segments)} segment(s): "
                                          f"{'mkntfs + ntfs_populate' if fs == 'ntfs' else 'mkfs.fat -F 32 + mcopy -s'}"
                                          f" of {tree}, volume label {vlabel}"))
            else:
                kinds = sorted({seg.type for seg in lv.segments})
                on_other = any(key != "pv0" for seg in lv.segments for key, _ in seg.stripes)
                error = ("unsupported-image" if kinds != ["striped"] else "unreadable-image")
                what = (f"segment type {', '.join(kinds)}" if kinds != ["striped"] else
                        "a segment on another physical volume of the group, not in the image" if on_other else
                        "extents past the end of the physical volume")
                volumes.append(Volume(f"{prefix}lv{i}", "none", pv_at, 0, None, error=error, facts=facts,
                                      how=f"LVM2 logical volume {vg}/{lv.name}: {what}"))
        img = Image(rel, "raw", table, volumes, how, broken=broken,
                    facts={"volume_system": "lvm2", "pv_offset": pv_at, "pv_size": pv_bytes, "vg": vg,
                           "extent_size": LVM_EXTENT})
        self.images.append(img)
        return img

    def lvm_images(self) -> None:
        """LVM2: the infected NT4 tree's NTFS volume in two non-contiguous segments around a FAT32
        volume, as a bare PV and as the 0x8e partition of an MBR disk."""
        seg = lvm_pv.Segment
        ntfs_extents = NTFS_SECTORS * SECTOR // LVM_EXTENT
        fat_extents = FAT32_SECTORS * SECTOR // LVM_EXTENT
        head = 3  # the NTFS volume's first extents, then the FAT32 volume, then the NTFS volume's rest
        lvs = [lvm_pv.LogicalVolume("root", [seg(0, head, stripes=[("pv0", 0)]),
                                             seg(head, ntfs_extents - head, stripes=[("pv0", head + fat_extents)])]),
               lvm_pv.LogicalVolume("data", [seg(0, fat_extents, stripes=[("pv0", head)])])]
        fill = {"root": ("ntfs", "windows/nt4-infected", "NT4"), "data": ("fat32", "windows/clean", "CLEAN")}
        pe_count = ntfs_extents + fat_extents + 1
        self.lvm_pv("lvm.raw", "vg0", lvs, pe_count, "none", False,
                    "a bare LVM2 physical volume (written by corpus/lvm_pv.py): LV vg0/root NTFS with "
                    "windows/nt4-infected in two segments around LV vg0/data FAT32 with windows/clean", fill=fill)
        mbr = self.lvm_pv("lvm-mbr.raw", "vg0", lvs, pe_count, "mbr", False,
                          "MBR disk whose one partition (type 0x8e) is the LVM2 physical volume of lvm.raw's "
                          "layout", fill=fill)
        self.lvm_pv("lvm-gpt.raw", "vg0", lvs, pe_count, "gpt", False,
                    "GPT disk whose one partition (type Linux LVM) is the LVM2 physical volume of lvm.raw's layout",
                    fill=fill)
        # The same disk in a container: the PV is found through the container's reads.
        run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on",
             self.out / "lvm-mbr.raw", self.out / "lvm-mbr.vhd"])
        self.images.append(Image("lvm-mbr.vhd", "vhd", "mbr", [Volume(**vars(v)) for v in mbr.volumes],
                                 "qemu-img convert -O vpc (dynamic VHD) of lvm-mbr.raw", same_disk_as="lvm-mbr.raw",
                                 facts=dict(mbr.facts)))

    def broken_lvm_images(self) -> None:
        seg = lvm_pv.Segment
        ntfs_extents = NTFS_SECTORS * SECTOR // LVM_EXTENT
        pe_count = ntfs_extents + 2
        lvs = [lvm_pv.LogicalVolume("good", [seg(0, ntfs_extents, stripes=[("pv0", 0)])]),
               lvm_pv.LogicalVolume("thin1", [seg(0, 4, type="thin",
                                                  extra='thin_pool = "pool"\ntransaction_id = 0\ndevice_id = 1')]),
               lvm_pv.LogicalVolume("elsewhere", [seg(0, 2, stripes=[("pv1", 0)])]),
               lvm_pv.LogicalVolume("past", [seg(0, 20, stripes=[("pv0", ntfs_extents)])])]
        other = [("pv1", lvm_pv.lvm_id("broken/lvm-mixed.raw/pv1"), 2048 * 64, 2048, 63)]
        self.lvm_pv("broken/lvm-mixed.raw", "vgb", lvs, pe_count, "none", True,
                    "bare LVM2 physical volume: NTFS with windows/q321454 in a linear LV, a thin LV, an LV on a "
                    "second physical volume that is not in the image, an LV whose extents run past the PV",
                    other_pvs=other, fill={"good": ("ntfs", "windows/q321454", "GOOD")})
        # Metadata whose checksums are right but whose text is not LVM2 metadata.
        pv_id = lvm_pv.lvm_id("broken/lvm-garbage.raw/pv0")
        pv_bytes = LVM_PE_START + 4 * LVM_EXTENT
        path = self.out / "broken/lvm-garbage.raw"
        new_image(path, pv_bytes)
        garbage = b"vg0 {\nextent_size = = [\n" + prng_bytes("flscan-images lvm garbage", 256).hex().encode()
        with open(path, "r+b") as f:
            f.write(lvm_pv.pv_headers(pv_id, pv_bytes, LVM_PE_START, garbage))
        self.images.append(Image(
            "broken/lvm-garbage.raw", "raw", "none",
            [Volume("vol", "none", 0, pv_bytes, None, error="unreadable-image",
                    how="LVM2 label and metadata area with valid checksums around a metadata text that is not "
                        "LVM2 metadata (an unclosed section, '= =', random hex)")],
            "bare LVM2 physical volume whose metadata text is garbage", broken=True,
            facts={"volume_system": "lvm2", "pv_offset": 0, "pv_size": pv_bytes, "vg": None, "extent_size": None}))
        # An MBR partition of LVM's type holding no physical volume.
        path = self.out / "broken/lvm-not-pv.raw"
        sectors = MIB // SECTOR
        new_image(path, (ALIGN + sectors) * SECTOR)
        sfdisk(path, "label: dos\nlabel-id: 0x464c5346\nunit: sectors\n\n"
                     f"start={ALIGN}, size={sectors}, type={TYPE_LVM:x}\n")
        with open(path, "r+b") as f:
            os.pwrite(f.fileno(), prng_bytes("flscan-images lvm not pv", MIB), ALIGN * SECTOR)
        self.images.append(Image(
            "broken/lvm-not-pv.raw", "raw", "mbr",
            [Volume("p1", "unknown", ALIGN * SECTOR, MIB, None, error="unknown-filesystem", slot=0, table_type="0x8e",
                    how="1 MiB of fixed-seed random bytes in a partition of type 0x8e (Linux LVM): no LVM2 label")],
            "MBR disk whose partition of type 0x8e is no LVM2 physical volume", broken=True))

    def qemu(self, *args, cwd: Path | None = None) -> None:
        run(["qemu-img", *args], cwd=cwd)

    def container_images(self) -> None:
        """The MBR disk in the containers flscan reads through libqcow and libvhdi, split into a
        raw set, and as parent chains (issue 15). Each holds the same disk bytes as mbr.raw."""
        raw = self.out / "mbr.raw"
        same = dict(same_disk_as="mbr.raw")

        def add(rel: str, fmt: str, how: str, files: list | None = None) -> None:
            assert (self.out / rel).is_file(), rel
            self.images.append(Image(rel, fmt, "mbr", [Volume(**vars(v)) for v in self.mbr.volumes], how,
                                     image_files=files, **same))

        self.qemu("convert", "-q", "-f", "raw", "-O", "qcow2", raw, self.out / "mbr.qcow2")
        add("mbr.qcow2", "qcow2", "qemu-img convert -O qcow2 (version 3, compat=1.1) of mbr.raw")
        self.qemu("convert", "-q", "-c", "-f", "raw", "-O", "qcow2", raw, self.out / "mbr-compressed.qcow2")
        add("mbr-compressed.qcow2", "qcow2", "qemu-img convert -c -O qcow2 (compressed clusters) of mbr.raw")
        self.qemu("convert", "-q", "-f", "raw", "-O", "qcow2", "-o", "compat=0.10", raw, self.out / "mbr-v2.qcow2")
        add("mbr-v2.qcow2", "qcow2", "qemu-img convert -O qcow2 -o compat=0.10 (qcow2 version 2) of mbr.raw")
        self.qemu("convert", "-q", "-f", "raw", "-O", "vhdx", raw, self.out / "mbr.vhdx")
        add("mbr.vhdx", "vhdx", "qemu-img convert -O vhdx (dynamic VHDX) of mbr.raw")
        # A snapshot holding nothing of its own: every byte read comes from its backing file.
        self.qemu("create", "-q", "-f", "qcow2", "-b", "mbr.qcow2", "-F", "qcow2", "mbr-snapshot.qcow2",
                  cwd=self.out)
        add("mbr-snapshot.qcow2", "qcow2", "qemu-img create -b mbr.qcow2 -F qcow2: an empty qcow2 snapshot of "
            "mbr.qcow2 (no cluster of its own)", ["mbr-snapshot.qcow2", "mbr.qcow2"])
        # Three files: base holds the disk with its second partition zeroed, mid only the second
        # partition (written into it by qemu-io), top nothing of its own.
        chain = self.out / "chain"
        chain.mkdir()
        over_raw = self.out / "chain-raw"
        over_raw.mkdir()
        base_raw = over_raw / "base.raw"  # also the raw base of the chain over a raw file below
        p2 = self.mbr.volumes[1]
        new_image(base_raw, raw.stat().st_size)
        data = raw.read_bytes()
        with open(base_raw, "r+b") as f:
            for at in range(0, len(data), COPY_BLOCK):
                block = data[at:at + COPY_BLOCK]
                if any(block) and not (p2.offset <= at < p2.offset + p2.size):
                    os.pwrite(f.fileno(), block, at)
        self.qemu("convert", "-q", "-f", "raw", "-O", "qcow2", base_raw, chain / "base.qcow2")
        self.qemu("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2", cwd=chain)
        # The second partition's runs of non-zero 64 KiB blocks, one qemu-io write each (the
        # zeros in between read as zeros from base, whose second partition is all zero).
        commands, at, end = [], p2.offset, p2.offset + p2.size
        while at < end:
            if not any(data[at:at + COPY_BLOCK]):
                at += COPY_BLOCK
                continue
            start = at
            while at < end and any(data[at:at + COPY_BLOCK]):
                at += COPY_BLOCK
            piece = self.scratch / f"chain-{start}.bin"
            piece.write_bytes(data[start:at])
            commands += ["-c", f"write -q -s {piece} {start} {at - start}"]
        run(["qemu-io", "-f", "qcow2", *commands, chain / "mid.qcow2"])
        self.qemu("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2", cwd=chain)
        add("chain/top.qcow2", "qcow2", "qemu-img create -b mid.qcow2: empty snapshot of chain/mid.qcow2, itself "
            "a snapshot of chain/base.qcow2 (mbr.raw with its second partition zeroed) into which qemu-io wrote "
            "the second partition",
            ["chain/top.qcow2", "chain/mid.qcow2", "chain/base.qcow2"])
        # The same over a raw base (as OpenStack lays out instance disks over _base images): base.raw
        # is mbr.raw with p2 zeroed, mid.qcow2 holds p2, top.qcow2 nothing.
        self.qemu("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "mid.qcow2", cwd=over_raw)
        run(["qemu-io", "-f", "qcow2", *commands, over_raw / "mid.qcow2"])
        self.qemu("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2", cwd=over_raw)
        add("chain-raw/top.qcow2", "qcow2", "qemu-img create -b mid.qcow2: empty snapshot of chain-raw/mid.qcow2, "
            "itself a snapshot of the raw chain-raw/base.raw (mbr.raw with its second partition zeroed) into which "
            "qemu-io wrote the second partition", ["chain-raw/top.qcow2", "chain-raw/mid.qcow2", "chain-raw/base.raw"])
        # A differencing VHD: qemu-img cannot make one, so an empty dynamic VHD of the same size is
        # turned into one as the VHD specification lays it out (disk type 4, the parent's unique
        # id and name in the dynamic header); no block of its own.
        child = self.out / "mbr-diff.vhd"
        parent = (self.out / "mbr.vhd").read_bytes()
        self.qemu("create", "-q", "-f", "vpc", "-o", "subformat=dynamic,force_size=on", child, str(len(data)))
        make_differencing_vhd(child, parent[-512:], "mbr.vhd")
        add("mbr-diff.vhd", "vhd", "qemu-img create -f vpc (empty dynamic VHD of mbr.raw's size) made a "
            "differencing VHD of mbr.vhd (disk type 4, parent unique id and name \"mbr.vhd\"; no block of its own)",
            ["mbr-diff.vhd", "mbr.vhd"])
        child = self.out / "mbr-diff.vhdx"
        self.qemu("create", "-q", "-f", "vhdx", child, str(len(data)))
        make_differencing_vhdx(child, self.out / "mbr.vhdx", "mbr.vhdx")
        add("mbr-diff.vhdx", "vhdx", "qemu-img create -f vhdx (empty dynamic VHDX of mbr.raw's size) made a "
            "differencing VHDX of mbr.vhdx (HasParent, a parent locator naming mbr.vhdx; no block of its own)",
            ["mbr-diff.vhdx", "mbr.vhdx"])
        # Split raw sets, as FTK Imager (.001, .002 ...) and split(1) (.aa, .ab ...) name them.
        for directory, names in (("split", ["mbr.001", "mbr.002", "mbr.003"]),
                                 ("split-letters", ["mbr.aa", "mbr.ab", "mbr.ac"])):
            write_segments(data, self.out / directory, names)
            add(f"{directory}/{names[0]}", "raw-split", f"mbr.raw cut into {len(names)} segments of at most "
                f"{SPLIT_SEGMENT // MIB} MiB: {', '.join(names)}", [f"{directory}/{n}" for n in names])

    def broken_containers(self) -> None:
        """Images that cannot be opened as a whole (issue 15): `image_error` gives the reason."""
        data = (self.out / "mbr.raw").read_bytes()

        def add(rel: str, fmt: str, reason: str, names: str, how: str, volumes: list | None = None) -> None:
            assert (self.out / rel).is_file(), rel
            self.images.append(Image(rel, fmt, "none", volumes or [], how, broken=True,
                                     image_error=None if volumes else {"reason": reason, "names": names}))

        self.qemu("create", "-q", "-f", "qcow2", "-u", "-b", "base-gone.qcow2", "-F", "qcow2",
                  self.out / "broken/orphan.qcow2", str(len(data)))
        add("broken/orphan.qcow2", "qcow2", "unreadable-image", "base-gone.qcow2",
            "qemu-img create -u -b base-gone.qcow2: a qcow2 snapshot whose backing file does not exist")
        self.qemu("create", "-q", "-f", "vdi", self.out / "broken/base.vdi", str(4 * MIB))
        self.qemu("create", "-q", "-f", "qcow2", "-b", "base.vdi", "-F", "vdi", "vdi-backed.qcow2",
                  cwd=self.out / "broken")
        add("broken/vdi-backed.qcow2", "qcow2", "unsupported-image", "base.vdi",
            "qemu-img create -b base.vdi -F vdi: a qcow2 whose backing file is a VirtualBox VDI (a backing file "
            "is read only as qcow2 or raw)")
        names = ["mbr.001", "mbr.002", "mbr.003"]
        write_segments(data, self.out / "broken/split-gap", names)
        (self.out / "broken/split-gap/mbr.002").unlink()
        add("broken/split-gap/mbr.001", "raw-split", "unreadable-image", "mbr.002",
            "mbr.raw cut into mbr.001, mbr.002, mbr.003, then mbr.002 removed")
        # qemu-img times its PBKDF on an exact thread clock (qemu_luks: Debian 12's qemu-img
        # otherwise fails now and then on its benchmark).
        qemu_luks.run(["create", "-q", "--object", "secret,id=s0,data=flscan-test", "-f", "qcow2", "-o",
                       "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10",
                       self.out / "broken/luks.qcow2", "4M"])
        add("broken/luks.qcow2", "qcow2", "encrypted-volume", "", "qemu-img create -f qcow2 -o "
            "encrypt.format=luks: a 4 MiB qcow2 encrypted with LUKS (crypt_method 2)",
            [Volume("vol", "none", 0, 4 * MIB, None, error="encrypted-volume",
                    how="the whole disk, encrypted by its qcow2 container")])

    def broken_images(self) -> None:
        # 1. The MBR disk cut short in the middle of the files of its second (FAT32) partition:
        # the first partition is whole; the second's boot sector and FATs are there, but the data
        # of the files mcopy wrote last is gone.
        raw = (self.out / "mbr.raw").read_bytes()
        p1, p2 = self.mbr.volumes
        used_end = p2.offset + p2.size
        while used_end > p2.offset and raw[used_end - SECTOR:used_end] == bytes(SECTOR):
            used_end -= SECTOR
        first_data = p2.offset + fat32_data_offset(raw[p2.offset:p2.offset + SECTOR])
        cut = (first_data + (used_end - first_data) // 2) // SECTOR * SECTOR
        assert p2.offset < first_data < cut < used_end < p2.offset + p2.size
        path = self.out / "broken/mbr-truncated.raw"
        new_image(path, cut)
        with open(path, "r+b") as f:
            for at in range(0, cut, COPY_BLOCK):
                block = raw[at:min(at + COPY_BLOCK, cut)]
                if any(block):
                    os.pwrite(f.fileno(), block, at)
        self.images.append(Image(
            "broken/mbr-truncated.raw", "raw", "mbr",
            [Volume(**vars(p1)),
             Volume("p2", "fat32", p2.offset, p2.size, "windows/q321454", error="truncated", slot=1,
                    table_type=p2.table_type,
                    facts={"bytes_present": cut - p2.offset, "data_start": first_data - p2.offset,
                           "data_end": used_end - p2.offset},
                    how="mbr.raw's FAT32 partition, the file cut at byte "
                        f"{cut:#x}: boot sector and FATs present, half of the file data gone")],
            "mbr.raw cut short in the middle of the file data of its second partition "
            "(the partition table still gives the full size)", broken=True,
            facts={"cut_at": cut, "full_size": len(raw)}))

        # 2. A partition table of garbage with a valid 55 AA: two entries overlapping each other
        # (random bytes inside), one that runs far beyond the end of the disk, one that starts
        # beyond it. The first two slots point inside the disk (The Sleuth Kit rejects a table
        # whose slot 0 or 1 starts beyond the end).
        size = 4 * MIB
        entries = [  # slot: (type, start, sectors)
            (TYPE_NTFS, 4096, 4096), (TYPE_NTFS, 6144, 1024),
            (TYPE_NTFS, 2048, 0x00F00000), (TYPE_FAT32_LBA, 0x40000000, 2048),
        ]
        mbr = bytearray(SECTOR)
        mbr[0:16] = b"\xeb\xfeFLSCAN-GARBAGE"
        for slot, (kind, start, count) in enumerate(entries):
            mbr[446 + 16 * slot:462 + 16 * slot] = struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", kind,
                                                                b"\xfe\xff\xff", start, count)
        mbr[510:512] = b"\x55\xaa"
        path = self.out / "broken/mbr-garbage.raw"
        new_image(path, size)
        with open(path, "r+b") as f:
            f.write(mbr)
            f.seek(4096 * SECTOR)
            f.write(prng_bytes("flscan-images garbage", 4096 * SECTOR))
        by_start = sorted(range(len(entries)), key=lambda s: entries[s][1])
        volumes = []
        for ordinal, slot in enumerate(by_start, start=1):
            kind, start, count = entries[slot]
            beyond = start * SECTOR >= size
            past_end = (start + count) * SECTOR > size
            volumes.append(Volume(
                f"p{ordinal}", "unknown", start * SECTOR, count * SECTOR, None,
                error="unreadable-image" if beyond else "unknown-filesystem", slot=slot,
                table_type=f"0x{kind:02x}",
                facts={"overlaps": [f"p{o}" for o, s in enumerate(by_start, start=1) if s != slot and
                                    overlap(entries[s], (kind, start, count))],
                       "beyond_end": beyond, "runs_past_end": past_end},
                how=("starts beyond the end of the disk" if beyond else
                     ("zeros then random bytes, runs far past the end of the disk" if past_end else
                      "fixed-seed random bytes, overlapping another entry"))))
        self.images.append(Image(
            "broken/mbr-garbage.raw", "raw", "mbr", volumes,
            "4 MiB disk whose MBR (valid 55 AA) lists overlapping partitions of random bytes and "
            "partitions beyond the end of the disk; no file system anywhere", broken=True))

        # 3. A good NTFS partition and one of random bytes (type byte 0x07, content no file system).
        self.with_bad_second("broken/unknown-fs.raw", "windows/q321454", "unknown", "unknown-filesystem",
                             prng_bytes("flscan-images unknown filesystem", MIB),
                             "1 MiB of fixed-seed random bytes (partition type 0x07, no file system)",
                             "MBR disk: NTFS with windows/q321454, then a partition of random bytes")
        # 4. A good NTFS partition and a BitLocker-encrypted one (only its boot sector is real).
        self.with_bad_second("broken/bitlocker.raw", "windows/nt4-infected", "bitlocker", "encrypted-volume",
                             bitlocker_volume(2 * MIB),
                             "BitLocker volume header (EB 58 90 \"-FVE-FS-\", BitLocker GUID at 0xA0, "
                             "55 AA) followed by fixed-seed random bytes standing for the ciphertext",
                             "MBR disk: NTFS with windows/nt4-infected, then a BitLocker-encrypted partition")

    def with_bad_second(self, rel: str, tree: str, fs: str, error: str, content: bytes, what: str, how: str) -> None:
        start2 = ALIGN + NTFS_SECTORS
        sectors2 = len(content) // SECTOR
        image = self.out / rel
        new_image(image, (start2 + sectors2) * SECTOR)
        sfdisk(image, "label: dos\nlabel-id: 0x464c5344\nunit: sectors\n\n"
                      f"start={ALIGN}, size={NTFS_SECTORS}, type=7\nstart={start2}, size={sectors2}, type=7\n")
        splice(image, ALIGN * SECTOR, self.volume_file("ntfs", tree, ALIGN, NTFS_SECTORS, "GOOD"))
        with open(image, "r+b") as f:
            os.pwrite(f.fileno(), content, start2 * SECTOR)
        self.images.append(Image(rel, "raw", "mbr", [
            Volume("p1", "ntfs", ALIGN * SECTOR, NTFS_SECTORS * SECTOR, tree, slot=0, table_type="0x07",
                   how=f"mkntfs + ntfs_populate of {tree}, volume label GOOD"),
            Volume("p2", fs, start2 * SECTOR, sectors2 * SECTOR, None, error=error, slot=1,
                   table_type="0x07", how=what)], how, broken=True))


def overlap(a: tuple, b: tuple) -> bool:
    return a[1] < b[1] + b[2] and b[1] < a[1] + a[2]


def fat32_data_offset(boot: bytes) -> int:
    """Byte offset of cluster 2 in a FAT32 volume (fatgen103: BPB_RsvdSecCnt, BPB_NumFATs,
    BPB_FATSz32)."""
    bytes_per_sector, = struct.unpack_from("<H", boot, 11)
    reserved, = struct.unpack_from("<H", boot, 14)
    fats = boot[16]
    fat_size, = struct.unpack_from("<I", boot, 36)
    return (reserved + fats * fat_size) * bytes_per_sector


def bitlocker_volume(size: int) -> bytes:
    data = bytearray(prng_bytes("flscan-images bitlocker ciphertext", size))
    boot = bytearray(SECTOR)
    boot[0:3] = b"\xeb\x58\x90"
    boot[3:11] = FVE_SIGNATURE
    struct.pack_into("<HB", boot, 11, SECTOR, 8)   # bytes per sector, sectors per cluster
    boot[21] = 0xF8                                # media descriptor
    struct.pack_into("<I", boot, 28, ALIGN + NTFS_SECTORS)  # hidden sectors
    boot[0xA0:0xB0] = BITLOCKER_GUID
    boot[510:512] = b"\x55\xaa"
    data[0:SECTOR] = boot
    return bytes(data)


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------
OWN_NAMES = frozenset({"manifest.json", "mbr.raw", "gpt.raw", "fat32-volume.raw", "mbr.vhd", "mbr.vmdk",
                       "mbr.E01", "lvm.raw", "lvm-mbr.raw", "lvm-gpt.raw", "lvm-mbr.vhd", "broken", "mbr.qcow2",
                       "mbr-compressed.qcow2", "mbr-v2.qcow2", "mbr.vhdx", "mbr-snapshot.qcow2", "chain", "chain-raw",
                       "mbr-diff.vhd", "mbr-diff.vhdx", "split", "split-letters"})


SPLIT_SEGMENT = 16 * MIB


def write_segments(data: bytes, directory: Path, names: list) -> None:
    """`data` cut into segments of SPLIT_SEGMENT bytes named `names`, written sparsely."""
    assert (len(data) + SPLIT_SEGMENT - 1) // SPLIT_SEGMENT == len(names)
    for i, name in enumerate(names):
        segment = data[i * SPLIT_SEGMENT:(i + 1) * SPLIT_SEGMENT]
        new_image(directory / name, len(segment))
        with open(directory / name, "r+b") as f:
            for at in range(0, len(segment), COPY_BLOCK):
                if any(segment[at:at + COPY_BLOCK]):
                    os.pwrite(f.fileno(), segment[at:at + COPY_BLOCK], at)


def vhd_checksum(block: bytes | bytearray, at: int) -> bytes:
    """The VHD checksum (ones' complement of the byte sum) of `block` with its field at `at` zeroed."""
    zeroed = bytes(block[:at]) + bytes(4) + bytes(block[at + 4:])
    return ((~sum(zeroed)) & 0xFFFFFFFF).to_bytes(4, "big")


def make_differencing_vhd(path: Path, parent_footer: bytes, parent_name: str) -> None:
    """Turns the empty dynamic VHD `path` into a differencing disk of the VHD whose footer is
    `parent_footer` (Microsoft's Virtual Hard Disk Image Format Specification): disk type 4 in the
    footer (its copy at 0 and the last 512 bytes), and in the dynamic header the parent's unique
    id (footer +68) and time stamp (footer +24) at +40 and +56 and its name in UTF-16BE at +64."""
    assert parent_footer[:8] == b"conectix"
    data = bytearray(path.read_bytes())
    for at in (0, len(data) - 512):
        footer = data[at:at + 512]
        assert footer[:8] == b"conectix", f"{path}: no footer at {at}"
        footer[60:64] = (4).to_bytes(4, "big")
        footer[64:68] = vhd_checksum(footer, 64)
        data[at:at + 512] = footer
    header_at = int.from_bytes(data[16:24], "big")
    header = data[header_at:header_at + 1024]
    assert header[:8] == b"cxsparse"
    bat_at, entries = int.from_bytes(header[16:24], "big"), int.from_bytes(header[28:32], "big")
    assert data[bat_at:bat_at + 4 * entries] == b"\xff" * 4 * entries, "the VHD holds blocks of its own"
    header[40:56] = parent_footer[68:84]
    header[56:60] = parent_footer[24:28]
    name = parent_name.encode("utf-16-be")
    header[64:64 + 512] = name + bytes(512 - len(name))
    header[36:40] = vhd_checksum(header, 36)
    data[header_at:header_at + 1024] = header
    path.write_bytes(bytes(data))


def vhdx_region(blob: bytes | bytearray, prefix: str) -> tuple[int, int]:
    """(offset, length) of the region whose GUID starts with `prefix`, from the VHDX region table
    at 192 KiB (MS-VHDX 2.2.2)."""
    count = struct.unpack_from("<I", blob, 192 * 1024 + 8)[0]
    for i in range(count):
        at = 192 * 1024 + 16 + 32 * i
        if str(uuid.UUID(bytes_le=bytes(blob[at:at + 16]))).upper().startswith(prefix):
            return struct.unpack_from("<QI", blob, at + 16)
    raise AssertionError(f"no VHDX region {prefix}")


def vhdx_data_write_guid(blob: bytes) -> str:
    """The DataWriteGuid of a VHDX's current header (the valid one with the higher sequence
    number; MS-VHDX 2.2.2.1), as a parent locator's parent_linkage writes it."""
    headers = [blob[at:at + 4096] for at in (64 * 1024, 128 * 1024)]
    current = max(headers, key=lambda h: struct.unpack_from("<Q", h, 8)[0] if h[:4] == b"head" else -1)
    return "{" + str(uuid.UUID(bytes_le=bytes(current[32:48]))) + "}"


def make_differencing_vhdx(path: Path, parent_path: Path, parent_name: str) -> None:
    """Turns the empty dynamic VHDX `path` into a differencing disk of `parent_path` (MS-VHDX):
    HasParent in the file parameters metadata item, and a parent locator item (type
    B04AEFB7-D19E-4A81-B789-25B8E9445913) with parent_linkage (the parent's DataWriteGuid),
    relative_path and absolute_win32_path, added to the metadata table (the metadata region has
    no checksum); every BAT entry PAYLOAD_BLOCK_NOT_PRESENT (0; qemu-img writes ZERO, 2, which in
    a differencing disk would mean zeros instead of the parent's bytes): no block of its own."""
    data = bytearray(path.read_bytes())
    parent = parent_path.read_bytes()[:320 * 1024]
    linkage = vhdx_data_write_guid(parent)
    meta, meta_len = vhdx_region(data, "8B7CA206")
    assert data[meta:meta + 8] == b"metadata"
    count = struct.unpack_from("<H", data, meta + 10)[0]
    end = 0
    for i in range(count):
        at = meta + 32 + 32 * i
        item = str(uuid.UUID(bytes_le=bytes(data[at:at + 16]))).upper()
        offset, length = struct.unpack_from("<II", data, at + 16)
        end = max(end, offset + length)
        if item.startswith("CAA16737"):  # file parameters: HasParent
            flags = struct.unpack_from("<I", data, meta + offset + 4)[0]
            struct.pack_into("<I", data, meta + offset + 4, flags | 2)
    pairs = [("parent_linkage", linkage), ("relative_path", ".\\" + parent_name),
             ("absolute_win32_path", "C:\\VMs\\" + parent_name)]
    strings = b""
    entries = b""
    base = 20 + 12 * len(pairs)
    for key, value in pairs:
        k, v = key.encode("utf-16-le"), value.encode("utf-16-le")
        entries += struct.pack("<IIHH", base + len(strings), base + len(strings) + len(k), len(k), len(v))
        strings += k + v
    locator = uuid.UUID("B04AEFB7-D19E-4A81-B789-25B8E9445913").bytes_le + struct.pack("<HH", 0, len(pairs)) + entries + strings
    offset = (end + 4095) // 4096 * 4096
    assert offset + len(locator) <= meta_len
    data[meta + offset:meta + offset + len(locator)] = locator
    at = meta + 32 + 32 * count
    data[at:at + 32] = uuid.UUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C").bytes_le + struct.pack("<IIII", offset, len(locator), 4, 0)
    struct.pack_into("<H", data, meta + 10, count + 1)
    bat, bat_len = vhdx_region(data, "2DC27766")
    data[bat:bat + bat_len] = bytes(bat_len)
    path.write_bytes(bytes(data))

def prepare_out_dir(out: Path) -> None:
    """Clears a previous build; refuses a directory holding anything this script did not write."""
    if not out.exists():
        out.mkdir(parents=True)
        return
    names = {p.name for p in out.iterdir()}
    unknown = sorted(names - OWN_NAMES)
    if unknown:
        sys.exit(f"build_images: {out} holds files it did not write ({', '.join(unknown[:5])}); refusing to clear it")
    manifest = out / "manifest.json"
    if names and not (manifest.is_file() and
                      json.loads(manifest.read_text(encoding="utf-8")).get("generator") == GENERATOR):
        sys.exit(f"build_images: {out} is not empty and has no manifest from {GENERATOR}; refusing to clear it")
    manifest.unlink(missing_ok=True)  # first: an interrupted rebuild must not look finished
    for name in sorted(names - {"manifest.json"}):
        target = out / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()


def corpus_facts(corpus: Path) -> dict:
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("generator") != CORPUS_GENERATOR:
        sys.exit(f"build_images: {corpus}/manifest.json was not written by {CORPUS_GENERATOR}")
    return manifest


def write_manifest(b: Builder, corpus_manifest: dict) -> None:
    trees = {t["root"]: t for t in corpus_manifest["host_trees"]}
    files = corpus_manifest["files"]
    records = []
    for img in b.images:
        path = b.out / img.path
        for v in img.volumes:
            if v.source_tree is not None:
                assert v.source_tree in trees, v.source_tree
        sources = {v.source_tree for v in img.volumes if v.source_tree and v.error is None}
        # Exit code the documented rules give (scanner/JSON.md, Exit codes): 1 when a volume that
        # is scanned holds FunLove evidence (an infection-severity state, or an FLC service),
        # else 2 when some volume cannot be read, else 0.
        infection = {"infected", "damaged", "dropper", "kernel-patched", "loader-patched"}
        evidence = any(f["expected"] in infection for f in files
                       if any(f["path"].startswith(s + "/") for s in sources)) or \
            any(trees[s]["symptoms"]["flcss-service"] == "found" for s in sources)
        errors = any(v.error for v in img.volumes) or img.image_error is not None
        record = {"path": img.path, "format": img.format, "partition_table": img.partition_table,
                  "size": path.stat().st_size, "broken": img.broken, "same_disk_as": img.same_disk_as,
                  "expected_exit_code": 1 if evidence else 2 if errors else 0,
                  "image_files": img.image_files or [img.path], "image_error": img.image_error,
                  "volumes": [v.record() for v in img.volumes], "how": img.how}
        record.update(img.facts)
        records.append(record)
    manifest = {
        "schema_version": SCHEMA_VERSION, "generator": GENERATOR, "sector_size": SECTOR,
        "corpus": os.path.relpath(b.corpus, b.out),
        "corpus_manifest_sha256": hashlib.sha256((b.corpus / "manifest.json").read_bytes()).hexdigest(),
        "images": records,
    }
    (b.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, type=Path, help="a corpus written by build_corpus.py")
    parser.add_argument("--out", required=True, type=Path, help="directory to (re)create")
    parser.add_argument("--ntfs-populate", required=True, type=Path, help="the ntfs_populate program")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args()
    started = time.monotonic()
    missing = [f"{tool} ({package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        sys.exit(f"build_images: missing {', '.join(missing)}; run .ci/install-deps.sh")
    corpus = args.corpus.resolve()
    corpus_manifest = corpus_facts(corpus)
    out = args.out.resolve()
    prepare_out_dir(out)
    with tempfile.TemporaryDirectory(prefix="flscan-images-") as scratch:
        ntfs_times = {t["root"]: t["ntfs_times"] for t in corpus_manifest["host_trees"] if "ntfs_times" in t}
        b = Builder(corpus, out, Path(scratch), args.ntfs_populate.resolve(), ntfs_times)
        b.good_images()
        b.lvm_images()
        b.container_images()
        b.broken_images()
        b.broken_lvm_images()
        b.broken_containers()
    write_manifest(b, corpus_manifest)  # last: the CMake target's output file
    if not args.quiet:
        apparent = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        on_disk = sum(p.stat().st_blocks * 512 for p in out.rglob("*") if p.is_file())
        print(f"build_images: {len(b.images)} images in {out} ({apparent / MIB:.0f} MiB apparent, "
              f"{on_disk / MIB:.1f} MiB on disk) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
