"""An LVM2 physical volume written byte by byte, without root, device-mapper or lvm2's tools (which
need a block device): the label, one metadata area holding the volume group's metadata text, and
the data area whose extents the logical volumes map.

The on-disk format follows lvm2's own definitions:
- lib/label/label.h, struct label_header: "LABELONE" in sector 1, sector_xl, crc_xl (over the
  rest of the 512-byte sector from offset_xl), offset_xl = 32, type "LVM2 001";
- lib/format_text/layout.h, struct pv_header: the PV's 32-character id, the device size, then
  the data areas and the metadata areas, each a list of {offset, size} u64 pairs ended by a zero
  pair; struct mda_header (512 bytes at the metadata area's start): checksum_xl, FMTT_MAGIC
  " LVM2 x[5A%r0N*>", version 1, start, size, raw_locns[] {offset, size, checksum, flags};
- lib/misc/crc.c, calc_crc: CRC-32 (polynomial 0xEDB88320) from INITIAL_CRC 0xf597a6cf with no
  final inversion;
- lib/format_text/export.c: the metadata text ("vg { ... physical_volumes { pv0 { ... } }
  logical_volumes { lv { segment1 { start_extent, extent_count, type, stripe_count, stripes =
  [ "pv0", first_extent ] } } } }"), extent_size and pe_start in 512-byte sectors.
The libyal libvslvm documentation ("Logical Volume Manager (LVM) format") describes the same
structures. Everything here is little-endian.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

SECTOR = 512
LABEL_SECTOR = 1
INITIAL_CRC = 0xF597A6CF
FMTT_MAGIC = b"\x20\x4c\x56\x4d\x32\x20\x78\x5b\x35\x41\x25\x72\x30\x4e\x2a\x3e"  # " LVM2 x[5A%r0N*>"
MDA_OFFSET = 4096  # the metadata area right after the label's 4 KiB, as pvcreate places it


def calc_crc(data: bytes, initial: int = INITIAL_CRC) -> int:
    """lvm2's calc_crc: zlib's CRC-32 without its pre- and post-inversion."""
    return zlib.crc32(data, initial ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def lvm_id(seed: str) -> str:
    """A 32-character LVM id (letters and digits), fixed by `seed`, in lvm2's 6-4-4-4-4-4-6 text form."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    digest = b""
    counter = 0
    while len(digest) < 32:
        digest += zlib.crc32(f"{seed}/{counter}".encode()).to_bytes(4, "little")
        counter += 1
    raw = "".join(alphabet[b % len(alphabet)] for b in digest[:32])
    cuts = (6, 4, 4, 4, 4, 4, 6)
    parts, at = [], 0
    for n in cuts:
        parts.append(raw[at:at + n])
        at += n
    return "-".join(parts)


@dataclass
class Segment:
    start_extent: int          # first extent of the LV this segment covers
    extent_count: int
    type: str = "striped"      # "striped" (stripe_count 1: linear), or any other lvm2 type
    stripes: list = field(default_factory=list)  # [(pv key, first extent on that PV)]
    stripe_size: int = 0       # sectors, for stripe_count > 1
    extra: str = ""            # more lines inside the segment (a thin segment's pool, ...)


@dataclass
class LogicalVolume:
    name: str
    segments: list
    visible: bool = True


def metadata_text(vg: str, vg_id: str, extent_sectors: int, pvs: list, lvs: list) -> str:
    """The volume group's metadata as lvm2 writes it. pvs: [(key, id, dev_size sectors,
    pe_start sectors, pe_count)]."""
    out = [f"{vg} {{", f'id = "{vg_id}"', "seqno = 1", 'format = "lvm2"',
           'status = ["RESIZEABLE", "READ", "WRITE"]', "flags = []", f"extent_size = {extent_sectors}",
           "max_lv = 0", "max_pv = 0", "metadata_copies = 0", "", "physical_volumes {", ""]
    for key, pv_id, dev_size, pe_start, pe_count in pvs:
        out += [f"{key} {{", f'id = "{pv_id}"', 'device = "/dev/flscan-fixture"', 'status = ["ALLOCATABLE"]',
                "flags = []", f"dev_size = {dev_size}", f"pe_start = {pe_start}", f"pe_count = {pe_count}", "}"]
    out += ["}", "", "logical_volumes {", ""]
    for lv in lvs:
        status = '["READ", "WRITE", "VISIBLE"]' if lv.visible else '["READ", "WRITE"]'
        out += [f"{lv.name} {{", f'id = "{lvm_id(vg + "/" + lv.name)}"', f"status = {status}", "flags = []",
                'creation_host = "flscan-fixture"', "creation_time = 1700000000",
                f"segment_count = {len(lv.segments)}", ""]
        for i, seg in enumerate(lv.segments, start=1):
            out += [f"segment{i} {{", f"start_extent = {seg.start_extent}", f"extent_count = {seg.extent_count}",
                    "", f'type = "{seg.type}"']
            if seg.stripes:
                out.append(f"stripe_count = {len(seg.stripes)}")
                if len(seg.stripes) > 1:
                    out.append(f"stripe_size = {seg.stripe_size}")
                out += ["", "stripes = ["] + [f'"{key}", {first}' + ("," if j + 1 < len(seg.stripes) else "")
                                               for j, (key, first) in enumerate(seg.stripes)] + ["]"]
            if seg.extra:
                out.append(seg.extra)
            out.append("}")
        out.append("}")
    out += ["}", "}", "# Generated by flscan's corpus/lvm_pv.py", "", 'contents = "Text Format Volume Group"',
            "version = 1", "", 'description = "flscan test fixture"', "", 'creation_host = "flscan-fixture"',
            "creation_time = 1700000000", ""]
    return "\n".join(out)


def pv_headers(pv_id: str, device_bytes: int, pe_start_bytes: int, text: bytes) -> bytes:
    """The first pe_start_bytes of the PV: label in sector 1, metadata area from 4 KiB holding
    `text` (the metadata, written with its terminating NUL as lvm2 does)."""
    mda_size = pe_start_bytes - MDA_OFFSET
    head = bytearray(pe_start_bytes)
    # pv_header: id, device size, data areas {pe_start, 0 = to the end}, metadata areas.
    pv = pv_id.replace("-", "").encode()
    assert len(pv) == 32
    pv_header = pv + struct.pack("<Q", device_bytes)
    pv_header += struct.pack("<QQQQ", pe_start_bytes, 0, 0, 0)
    pv_header += struct.pack("<QQQQ", MDA_OFFSET, mda_size, 0, 0)
    label = bytearray(SECTOR)
    label[32:32 + len(pv_header)] = pv_header
    label[0:8] = b"LABELONE"
    struct.pack_into("<QII", label, 8, LABEL_SECTOR, 0, 32)
    label[24:32] = b"LVM2 001"
    struct.pack_into("<I", label, 16, calc_crc(bytes(label[20:])))
    head[LABEL_SECTOR * SECTOR:(LABEL_SECTOR + 1) * SECTOR] = label
    # mda_header, then the text in the circular buffer right after it.
    body = text + b"\0"
    assert SECTOR + len(body) <= mda_size
    mda = bytearray(SECTOR)
    mda[4:20] = FMTT_MAGIC
    struct.pack_into("<IQQ", mda, 20, 1, MDA_OFFSET, mda_size)
    struct.pack_into("<QQII", mda, 40, SECTOR, len(body), calc_crc(body), 0)
    struct.pack_into("<I", mda, 0, calc_crc(bytes(mda[4:])))
    head[MDA_OFFSET:MDA_OFFSET + SECTOR] = mda
    head[MDA_OFFSET + SECTOR:MDA_OFFSET + SECTOR + len(body)] = body
    return bytes(head)
