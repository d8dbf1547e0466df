#!/usr/bin/env python3
"""Differential test: flscan's signature matcher against ClamAV's clamscan.

Builds a fixture directory (small binary files exercising every hex construct and offset kind of
tests/signatures/data/constructs.ndb, hand-made PE images, and synthetic inert FunLove samples
built from infection-model sections 2-4 and 6), writes .hdb/.hsb databases for some of them, then
runs clamscan and sigmatch_tool with the same databases over the same directory and compares the
sets of (file, signature) verdicts. Each fixture also declares which signatures it must trigger,
so the test fails when both tools agree on a wrong answer too. When the generated corpus exists
(its manifest.json is there), the same comparison runs over it with the shipped and test
databases.

A third part compares both tools, and Python's re module as an independent reference for the
documented semantics, on randomly generated patterns (fixed seed) over random small files. It
keeps to the shapes ClamAV 1.4 matches correctly: alternations there have members of one length
made of fixed bytes. ClamAV's "generic" alternations (members of different lengths, or with
wildcards) miss matches and report false ones in ways that depend on member order; flscan gives
them their documented meaning (signatures/README.md, "Where ClamAV differs").

Where flscan differs from clamscan on purpose (signatures/README.md, "Where ClamAV differs"), the
difference is listed (DEVIATIONS, corpus_deviations) and checked both ways: clamscan must still
report those pairs and flscan must not; every other pair must agree.

Exit codes: 0 pass, 1 a difference, 77 (CTest SKIP_RETURN_CODE) when clamscan is not installed.
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys

SKIP = 77

# clamscan options that make it a plain content matcher over exactly the given databases: no
# heuristics, no bytecode, no unpacking or normalising of containers and text, no size limits.
CLAMSCAN_OPTIONS = [
    "--no-summary", "--infected", "--allmatch", "--recursive",
    "--heuristic-alerts=no", "--bytecode=no", "--normalize=no",
    "--scan-archive=no", "--scan-mail=no", "--scan-ole2=no", "--scan-pdf=no", "--scan-html=no",
    "--scan-swf=no", "--scan-xmldocs=no", "--scan-hwp3=no", "--scan-onenote=no", "--scan-image=no",
    "--max-filesize=1000M", "--max-scansize=1000M",
]

STRING = b"~Fun Loving Criminal~"
CODE = bytes.fromhex("e8aa0800008db3a70b00008b3c2483")


def align(value, alignment):
    return (value + alignment - 1) // alignment * alignment


# --- PE images ---------------------------------------------------------------------------------

def build_pe(sections, entry_rva, overlay=b""):
    """A PE32 i386 GUI image. sections: (name, virtual_size, raw_bytes, characteristics); raw data
    is packed from 0x400 at 0x200 alignment, virtual addresses from 0x1000 at 0x1000 alignment."""
    raw_ptr, va = 0x400, 0x1000
    table = []
    for name, vsize, data, chars in sections:
        rsize = align(len(data), 0x200)
        table.append((name, vsize, va, rsize, raw_ptr, data, chars))
        raw_ptr += rsize
        va += align(max(vsize, rsize), 0x1000)
    image = bytearray(raw_ptr)
    image[0:2] = b"MZ"
    struct.pack_into("<H", image, 0x18, 0x40)
    struct.pack_into("<I", image, 0x3C, 0x80)
    image[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", image, 0x84, 0x14C, len(table), 0, 0, 0, 0xE0, 0x010F)
    opt = 0x98
    struct.pack_into("<HBBIIIIII", image, opt, 0x10B, 1, 0, 0x1000, 0, 0, entry_rva, 0x1000, 0x2000)
    struct.pack_into("<III", image, opt + 28, 0x400000, 0x1000, 0x200)
    struct.pack_into("<HHHHHH", image, opt + 40, 4, 0, 0, 0, 4, 0)
    struct.pack_into("<IIIH", image, opt + 56, va, 0x400, 0, 2)
    struct.pack_into("<IIIIII", image, opt + 72, 0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    for i, (name, vsize, sva, rsize, ptr, data, chars) in enumerate(table):
        struct.pack_into("<8sIIIIIIHHI", image, opt + 0xE0 + 40 * i, name.encode(), vsize, sva, rsize, ptr, 0, 0, 0, 0, chars)
        image[ptr:ptr + len(data)] = data
    return bytearray(image + overlay)


def put(buf, offset, data):
    if len(buf) < offset + len(data):
        buf.extend(bytes(offset + len(data) - len(buf)))
    buf[offset:offset + len(data)] = data
    return buf


def u32(buf, offset):
    return struct.unpack_from("<I", buf, offset)[0]


def body_markers():
    """The 0x1003-byte body of infection-model section 4: markers at their offsets, zeros elsewhere."""
    body = bytearray(0x1003)
    put(body, 0x00, bytes.fromhex("4d5a90000300000004000000ffff0000b800"))
    struct.pack_into("<I", body, 0x3C, 0x80)
    put(body, 0x40, bytes.fromhex("0e1fba1000b409cd21b0f0e664ebfe90"))
    put(body, 0x50, STRING + b"\r\r\n$")
    put(body, 0x80, bytes.fromhex("504500004c010100"))
    put(body, 0x200, CODE)
    return body


def infect(host):
    """Infection-model sections 2-3 applied to a PE from build_pe (entry point in section 0).
    Returns (file, B)."""
    f = bytearray(host)
    nsec = struct.unpack_from("<H", f, 0x86)[0]
    last = 0x98 + 0xE0 + 40 * (nsec - 1)
    l_vsize, l_va, l_ptr = u32(f, last + 8), u32(f, last + 12), u32(f, last + 20)
    size = len(f)
    base = l_vsize if size < l_ptr else max(l_vsize, size - l_ptr)
    a = align(base, 0x1000)
    b = l_ptr + a
    f.extend(bytes(b - len(f)))
    body = body_markers()
    ep_rva = u32(f, 0x98 + 16)
    first = 0x98 + 0xE0
    ep_off = u32(f, first + 20) + ep_rva - u32(f, first + 12)
    body[0xBA7:0xBA7 + 8] = f[ep_off:ep_off + 8]
    f.extend(body)
    struct.pack_into("<I", f, last + 16, a + 0x1000)
    struct.pack_into("<I", f, last + 8, a + 0x4000)
    struct.pack_into("<I", f, 0x98 + 56, l_va + a + 0x4000)
    struct.pack_into("<I", f, last + 36, (u32(f, last + 36) | 0x8C000000) & ~0x12000000 & 0xFFFFFFFF)
    struct.pack_into("<I", f, first + 36, u32(f, first + 36) | 0x80000000)
    rel = (l_va + a + 0x200) - (ep_rva + 8)
    f[ep_off:ep_off + 8] = bytes.fromhex("909065e8") + struct.pack("<i", rel)
    return f, b


def dropper():
    """FLCSS.EXE per infection-model section 6: 0x200 header + 0x1000 body = 4608 bytes."""
    f = bytearray(0x200)
    f[0:2] = b"MZ"
    struct.pack_into("<H", f, 0x18, 0x40)
    struct.pack_into("<I", f, 0x3C, 0x80)
    put(f, 0x50, STRING)
    put(f, 0x80, b"PE\0\0")
    struct.pack_into("<HHIIIHH", f, 0x84, 0x14C, 1, 0, 0, 0, 0xE0, 0x010E)
    opt = 0x98
    struct.pack_into("<HBBIIIIII", f, opt, 0x10B, 1, 0, 0x1000, 0, 0, 0x1200, 0x1000, 0x2000)
    struct.pack_into("<III", f, opt + 28, 0x400000, 0x1000, 0x200)
    struct.pack_into("<HHHHHH", f, opt + 40, 4, 0, 0, 0, 4, 0)
    struct.pack_into("<IIIH", f, opt + 56, 0x5000, 0x200, 0, 2)
    struct.pack_into("<IIIIII", f, opt + 72, 0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    struct.pack_into("<8sIIIIIIHHI", f, opt + 0xE0, b".code", 0x4000, 0x1000, 0x1000, 0x200, 0, 0, 0, 0, 0xC0000020)
    return f + body_markers()[:0x1000]


# --- fixtures ----------------------------------------------------------------------------------

def blob(size, placements, fill=0x00):
    """A binary file of `size` bytes (one 0xFF byte at the front keeps it from looking like text)
    with hex strings placed at offsets; negative offsets count from the end."""
    f = bytearray([fill]) * size
    f[0] = 0xFF
    for offset, hexdata in placements:
        data = bytes.fromhex(hexdata)
        at = offset if offset >= 0 else size + offset
        f[at:at + len(data)] = data
    return f


def construct_fixtures():
    """(file name, bytes, expected signature names) for constructs.ndb."""
    t = "Flscan.Test."
    cases = [
        ("bytes.hit", blob(200, [(50, "f1a1b2c3d4e5")]), {t + "Bytes"}),
        ("bytes.miss", blob(200, [(50, "f1a1b2c3d4e6")]), set()),
        ("anybyte.hit", blob(200, [(50, "f1a277c3d4")]), {t + "AnyByte"}),
        ("anybyte.miss", blob(200, [(50, "f1a277c3d5")]), set()),
        ("nibble.hit", blob(200, [(50, "f1a3b7c3d4"), (100, "f1a45bc3d4")]), {t + "HighNibble", t + "LowNibble"}),
        ("nibble.miss", blob(200, [(50, "f1a3a7c3d4"), (100, "f1a45cc3d4")]), set()),
        ("star.hit", blob(3000, [(50, "f1a5b6"), (2500, "c7d8e9")]), {t + "Star"}),
        ("star.miss", blob(3000, [(2500, "f1a5b6"), (50, "c7d8e9")]), set()),
        ("jump.hit", blob(200, [(50, "f1a6b60102030405c7d8")]), {t + "Jump"}),
        ("jump.miss", blob(200, [(50, "f1a6b6010203040506c7d8")]), set()),
        ("jumplong.hit", blob(1000, [(50, "f1a7b6"), (53 + 300, "c7d8")]), {t + "JumpLong"}),
        ("jumplong.miss", blob(1000, [(50, "f1a7b6"), (53 + 301, "c7d8")]), set()),
        ("range.hit", blob(200, [(50, "f1a8b6" + "11" * 8 + "c7d8"), (100, "f1a9b6c7d8")]), {t + "Range", t + "RangeMax"}),
        ("range.miss", blob(200, [(50, "f1a8b6" + "11" * 9 + "c7d8"), (100, "f1a8b6" + "11" * 3 + "c7d8"),
                                  (150, "f1a9b6" + "11" * 7 + "c7d8")]), set()),
        ("rangemin.hit", blob(1000, [(50, "f1aab6"), (553, "c7d8")]), {t + "RangeMin"}),
        ("rangemin.miss", blob(1000, [(50, "f1aab6" + "11" * 9 + "c7d8")]), set()),
        ("alt.hit", blob(400, [(20, "f1abb622c7d8"), (60, "f1acb62222c7d8"), (100, "f1adb6222222c7d8"),
                               (140, "f1aeb6112233c7"), (180, "f1afb61522c7d8")]),
         {t + "AltByte", t + "AltMulti", t + "AltVarLen", t + "AltBacktrack", t + "AltWild"}),
        ("alt.miss", blob(400, [(20, "f1abb644c7d8"), (60, "f1acb62211c7d8"), (100, "f1adb62222c7d8"),
                                (140, "f1aeb6112244c7"), (180, "f1afb62522c7d8")]), set()),
        ("mixed.hit", blob(600, [(40, "f1d00000bbbb77c5"), (300, "e1e20000e3e4")]), {t + "Mixed"}),
        ("mixed.miss", blob(600, [(40, "f1d00000bbbb77d5"), (300, "e1e20000e3e4")]), set()),
        ("wild.hit", blob(100, [(-6, "f1d1d2"), (3, "f1d3d4")]), {t + "TailWild", t + "LeadWild"}),
        ("wild.miss", blob(100, [(-5, "f1d1d2"), (2, "f1d3d4")]), set()),
        ("absolute.hit", blob(100, [(16, "f1b0b1b2"), (24, "f1b1b1b2")]), {t + "Absolute", t + "AbsoluteShift"}),
        ("absolute.miss", blob(100, [(17, "f1b0b1b2"), (25, "f1b1b1b2")]), set()),
        ("eof.hit", blob(100, [(-6, "f1b2b1b2")]), {t + "Eof"}),
        ("eofshift.hit", blob(100, [(-6, "f1b3b1b2")]), {t + "EofShift"}),
        ("eof.miss", blob(100, [(-7, "f1b2b1b2"), (-5, "f1b3b1b2")]), set()),
        ("eof.short", blob(5, [(1, "f1b2b1b2")]), set()),
        ("level", blob(100, [(10, "f1d5d6d7")]), {t + "InLevel"}),
        ("pe-target.notmz", blob(100, [(2, "f1c9c1c2"), (40, "f1c8c1c2"), (-4, "f1cac1c2")]), set()),
    ]
    # An MZ file whose PE headers do not parse: target 1 needs a valid PE in flscan, so nothing of
    # it matches (clamscan gives it PeAnywhere and PeAbsolute: DEVIATIONS); target 0 gets no EOF-n
    # offset there, in both tools.
    mz = blob(100, [(0, "4d5a"), (2, "f1c9c1c2"), (40, "f1c8c1c2"), (-4, "f1cac1c2"), (-6, "f1b2b1b2")])
    cases.append(("mz-not-pe", mz, set()))
    return cases


# Where flscan differs from clamscan on purpose (signatures/README.md, "Where ClamAV differs"):
# (fixture, signature) pairs clamscan reports and flscan must not. The test fails if clamscan stops
# reporting one of them too (the deviation would then be undocumented noise) or if any other pair
# differs.
TARGET1_NEEDS_PE = "target 1 applies to a valid PE only; clamscan gives it to every file starting with MZ"
DEVIATIONS = {
    ("mz-not-pe", "Flscan.Test.PeAnywhere"): TARGET1_NEEDS_PE,
    ("mz-not-pe", "Flscan.Test.PeAbsolute"): TARGET1_NEEDS_PE,
}


def target1_names(databases):
    """Names of the target-1 .ndb signatures in these databases."""
    names = set()
    for db in databases:
        if not db.endswith(".ndb"):
            continue
        with open(db) as f:
            for line in f:
                fields = line.strip().split(":")
                if len(fields) >= 4 and fields[1] == "1":
                    names.add(fields[0])
    return names


def corpus_deviations(clam, corpus, databases):
    """The documented deviation over the generated corpus: clamscan's target-1 matches on files the
    manifest says start with MZ but have no usable PE header (malformed: true, decided by
    corpus/check_manifest.py from the bytes, not by flscan)."""
    with open(os.path.join(corpus, "manifest.json")) as f:
        not_pe = {e["path"] for e in json.load(f)["files"] if e["malformed"]}
    t1 = target1_names(databases)
    return {(path, name) for path, name in clam if path in not_pe and name in t1}


def compare_with_deviations(label, clam, ours, deviations):
    """clamscan minus the documented deviations must equal flscan; each deviation must be seen."""
    ok = compare(label, clam - set(deviations), ours)
    for pair in sorted(set(deviations) - clam):
        print(f"  {label}: documented deviation not reported by clamscan any more: {pair[0]}: {pair[1]}")
        ok = False
    for pair in sorted(set(deviations) & ours):
        print(f"  {label}: flscan reports a pair it documents it does not: {pair[0]}: {pair[1]}")
        ok = False
    if deviations:
        print(f"  {label}: {len(deviations)} documented deviation(s) (target 1 needs a valid PE):")
        for path, name in sorted(deviations):
            print(f"    only clamscan, by design: {path}: {name}")
    return ok


def pe_fixtures():
    """Hand-made PE images for the EP/Sx/SL offsets (section raw data at 0x400, 0x800, 0xA00)."""
    t = "Flscan.Test."
    text = bytearray(0x400)
    data = bytearray(0x200)
    rsrc = bytearray(0x200)
    entry = 0x40  # EP at .text + 0x40: file offset 0x440, RVA 0x1040
    put(text, entry, bytes.fromhex("f1c0c1c2"))
    put(text, entry + 16, bytes.fromhex("f1c1c1c2"))
    put(text, entry - 8, bytes.fromhex("f1c2c1c2"))
    put(text, entry + 40, bytes.fromhex("f1c3c1c2"))
    put(text, 128, bytes.fromhex("f1c4c1c2"))
    put(data, 16, bytes.fromhex("f1c5c1c2"))
    put(data, 48, bytes.fromhex("f1c7c1c2"))
    put(rsrc, 32, bytes.fromhex("f1c6c1c2"))
    put(rsrc, 100, bytes.fromhex("f1c8c1c2"))
    sections = [(".text", 0x400, bytes(text), 0x60000020), (".data", 0x200, bytes(data), 0xC0000040),
                (".rsrc", 0x200, bytes(rsrc), 0x40000040)]
    hit = build_pe(sections, 0x1000 + entry, overlay=bytes.fromhex("00f1cac1c2"))
    hit_names = {t + n for n in ("Ep", "EpPlus", "EpMinus", "EpShift", "Section0", "Section1", "SectionLast",
                                 "SectionShift", "PeAnywhere", "PeEof")}
    # The same markers one byte off where the offset is exact.
    miss_text = bytearray(0x400)
    miss_data = bytearray(0x200)
    miss_rsrc = bytearray(0x200)
    put(miss_text, entry + 1, bytes.fromhex("f1c0c1c2"))
    put(miss_text, entry + 17, bytes.fromhex("f1c1c1c2"))
    put(miss_text, entry - 9, bytes.fromhex("f1c2c1c2"))
    put(miss_text, entry + 41, bytes.fromhex("f1c3c1c2"))
    put(miss_text, 129, bytes.fromhex("f1c4c1c2"))
    put(miss_data, 17, bytes.fromhex("f1c5c1c2"))
    put(miss_data, 49, bytes.fromhex("f1c7c1c2"))
    put(miss_rsrc, 33, bytes.fromhex("f1c6c1c2"))
    miss = build_pe([(".text", 0x400, bytes(miss_text), 0x60000020), (".data", 0x200, bytes(miss_data), 0xC0000040),
                     (".rsrc", 0x200, bytes(miss_rsrc), 0x40000040)], 0x1000 + entry, overlay=bytes.fromhex("f1cac1c200"))
    # EP-8 before the start of the file: an entry point at file offset 4 (inside the headers).
    early = build_pe(sections, 0x4)
    # Odd headers, where ClamAV does not use the raw header values (libclamav pe.c cli_peheader):
    # a .data PointerToRawData of 0x810 is read as 0x800 (rounded down to FileAlignment) ...
    misaligned = bytearray(hit)
    struct.pack_into("<I", misaligned, 0x98 + 0xE0 + 40 + 20, 0x810)
    misaligned[0x800:0x840] = bytes(0x40)
    put(misaligned, 0x800 + 16, bytes.fromhex("f1c5c1c2"))
    # ... and an entry point that maps into no section's file data makes ClamAV drop every
    # relative offset, EOF-n included.
    unmapped = bytearray(hit)
    struct.pack_into("<I", unmapped, 0x98 + 16, 0x9000)
    return [("pe.hit.exe", hit, hit_names), ("pe.miss.exe", miss, set()),
            ("pe.misaligned.exe", misaligned, {t + n for n in ("Ep", "EpPlus", "EpMinus", "EpShift", "Section0",
                                                               "Section1", "SectionLast", "PeAnywhere", "PeEof")}),
            ("pe.ep-unmapped.exe", unmapped, {t + "PeAnywhere"}),
            ("pe.early-ep.exe", early, {t + n for n in ("Section0", "Section1", "SectionLast", "SectionShift",
                                                        "PeAnywhere")})]


def funlove_fixtures():
    """Synthetic, inert FunLove samples (infection-model sections 2-6)."""
    f = "W32.FunLove.4099."
    host = build_pe([(".text", 0x1800, bytes([0xCC]) * 0x1800, 0x60000020),
                     (".data", 0x0800, bytes([0x11]) * 0x800, 0xC0000040)], 0x1000)
    infected, b = infect(host)
    padded_host = build_pe([(".text", 0x1800, bytes([0xCC]) * 0x1800, 0x60000020),
                            (".rsrc", 0x2345, bytes([0x22]) * 0x600, 0x40000040)], 0x1010)
    padded, _ = infect(padded_host)
    decoy_stub = bytearray(host)
    put(decoy_stub, 0x400, bytes.fromhex("909065e810000000"))
    decoy_string = bytearray(host)
    put(decoy_string, 0x900, STRING + b"\r\r\n$")
    remnant = bytearray(infected)
    remnant[b:] = bytes(len(remnant) - b)
    remnant[0x400:0x408] = host[0x400:0x408]
    damaged = infected[:b + 0x100]
    broken = bytearray(infected)
    struct.pack_into("<I", broken, 0x3C, 0x7FFFFFF0)
    all_four = {f + "Stub", f + "Body", f + "String", f + "Code"}
    return [
        ("funlove/clean.exe", host, set()),
        ("funlove/infected.exe", infected, all_four),
        ("funlove/infected-padded.scr", padded, all_four),
        ("funlove/flcss.exe", dropper(), {f + "Dropper"}),
        ("funlove/renamed-dropper.dat", dropper(), {f + "Dropper"}),
        ("funlove/decoy-stub.exe", decoy_stub, set()),
        ("funlove/decoy-string.exe", decoy_string, set()),
        ("funlove/remnant.exe", remnant, set()),
        ("funlove/damaged.exe", damaged, set()),
        ("funlove/broken-headers.exe", broken, set()),
    ]


def hash_fixtures():
    """Files for the hash databases, and the .hdb/.hsb text that names them."""
    hashed = blob(300, [(10, "0102030405")])
    other = blob(301, [(10, "0102030405")])
    md5 = hashlib.md5(hashed).hexdigest()
    sha = hashlib.sha256(hashed).hexdigest()
    sha_other = hashlib.sha256(other).hexdigest()
    hdb = (f"{md5}:{len(hashed)}:Flscan.Test.Md5Sized\n"
           f"{md5}:{len(hashed) + 1}:Flscan.Test.Md5WrongSize\n"
           f"{md5}:*:Flscan.Test.Md5AnySize:73\n")
    hsb = (f"{sha}:{len(hashed)}:Flscan.Test.Sha256Sized\n"
           f"{sha_other}:*:Flscan.Test.Sha256AnySize:73\n"
           f"{md5}:{len(hashed)}:Flscan.Test.Md5InHsb\n")
    # Md5InHsb has the digest and size of Md5Sized and is loaded later (the .hsb comes after the
    # .hdb): ClamAV keeps one name per digest and size, the last, and so does flscan.
    files = [("hash/hashed.bin", hashed, {"Flscan.Test.Md5AnySize", "Flscan.Test.Sha256Sized", "Flscan.Test.Md5InHsb"}),
             ("hash/other.bin", other, {"Flscan.Test.Sha256AnySize"})]
    # A list of many sizes (issue 19: flscan hashes only files of a listed size): noise lines for
    # sizes 1..399, a file of a listed size that matches, one whose digest is listed with another
    # size (no match), and an MD5 listed only in the .hsb's size set (the .hdb must not match).
    rng = random.Random(19)
    listed = blob(150, [(5, "0a0b0c")])
    off_size = blob(1000, [(5, "0d0e0f")])
    md5_only = blob(222, [(5, "101112")])
    hsb += "".join(f"{rng.randbytes(32).hex()}:{n}:Flscan.Test.Noise{n}\n" for n in range(1, 400))
    hsb += (f"{hashlib.sha256(listed).hexdigest()}:{len(listed)}:Flscan.Test.ManySizes\n"
            f"{hashlib.sha256(off_size).hexdigest()}:{len(off_size) - 1}:Flscan.Test.OffSize\n"
            f"{hashlib.sha256(md5_only).hexdigest()}:{len(md5_only) + 1}:Flscan.Test.Md5OnlyOtherSize\n")
    hdb += f"{hashlib.md5(md5_only).hexdigest()}:{len(md5_only) - 1}:Flscan.Test.Md5OffSize\n"
    files += [("hash/listed-size.bin", listed, {"Flscan.Test.ManySizes"}),
              ("hash/off-size.bin", off_size, set()),
              ("hash/md5-off-size.bin", md5_only, set())]
    return files, hdb, hsb


# --- random patterns ---------------------------------------------------------------------------

def random_patterns(seed, count):
    """ClamAV-loadable patterns over the alphabet A, B, C (data also has NUL bytes)."""
    rng = random.Random(seed)

    def fixed():
        return "%02x" % rng.choice([0x41, 0x42, 0x43])

    def element():
        kind = rng.randrange(9)
        if kind < 3:
            return fixed()
        if kind == 3:
            return "??"
        if kind == 4:
            return rng.choice(["4?", "?1", "?2"])
        if kind == 5:
            low = rng.randrange(3)
            high = max(1, low + rng.randrange(3))
            return rng.choice(["{%d-%d}" % (low, high), "{-%d}" % high, "{%d}" % high])
        if kind == 6:
            length = rng.randrange(1, 3)
            members = ["".join(fixed() for _ in range(length)) for _ in range(rng.randrange(2, 4))]
            return "(" + "|".join(members) + ")"
        return rng.choice(["*", "{1-}"])

    patterns = []
    for _ in range(count):
        pattern = fixed() + fixed()
        for _ in range(rng.randrange(5)):
            e = element()
            pattern += e
            if e[0] in "{*":  # every part needs two fixed bytes of its own (ClamAV)
                pattern += fixed() + fixed()
        if len(pattern) <= 4:  # ClamAV refuses fully fixed patterns under 3 bytes
            pattern += fixed()
        patterns.append(pattern)
    files = [bytes([0xFF]) + bytes(rng.choice(b"ABC\0") for _ in range(rng.randrange(10, 80))) for _ in range(60)]
    return patterns, files


def many_rules(seed, count):
    """A database like bench/run.py's make_ndb (issue 19: 1,000 rules search their anchors in one
    pass of the literal index): unanchored literals, wildcards, `*` jumps, alternatives, EOF
    offsets, and patterns whose fixed runs are 2 or 3 bytes (they search alone). Target 0, so
    every file is a candidate. Returns the lines and, per rule, a function making bytes that match
    it (and its EOF distance, 0 for `*`)."""
    rng = random.Random(seed)

    def raw(lo, hi):
        return bytes(rng.randrange(256) for _ in range(rng.randrange(lo, hi + 1)))

    lines, makers = [], []
    for i in range(count):
        r = rng.random()
        eof = 0
        if r < 0.45:
            lit = raw(16, 48)
            sig, make = lit.hex(), (lambda lit=lit: lit)
            kind = "Any"
        elif r < 0.6:
            p0, p1, p2, n = raw(4, 11), raw(4, 11), raw(4, 11), rng.randrange(1, 100)
            sig = f"{p0.hex()}??{p1.hex()}{{{n}}}{p2.hex()}"
            make = lambda p0=p0, p1=p1, p2=p2, n=n: p0 + raw(1, 1) + p1 + raw(n, n) + p2
            kind = "Wild"
        elif r < 0.7:
            a, b = raw(6, 15), raw(6, 15)
            sig, make = f"{a.hex()}*{b.hex()}", (lambda a=a, b=b: a + raw(0, 40) + b)
            kind = "Star"
        elif r < 0.8:
            x, y, z, w = raw(6, 6), raw(2, 2), raw(2, 2), raw(6, 6)
            sig = f"{x.hex()}({y.hex()}|{z.hex()}){w.hex()}"
            make = lambda x=x, y=y, z=z, w=w: x + rng.choice([y, z]) + w
            kind = "Alt"
        elif r < 0.9:
            a, b, c = raw(2, 3), raw(2, 3), raw(2, 3)
            sig = f"{a.hex()}??{b.hex()}??{c.hex()}"
            make = lambda a=a, b=b, c=c: a + raw(1, 1) + b + raw(1, 1) + c
            kind = "Short"
        else:
            lit, eof = raw(8, 24), rng.randrange(64, 4096)
            sig, make = lit.hex(), (lambda lit=lit: lit)
            kind = "Eof"
        offset = f"EOF-{eof}" if eof else "*"
        lines.append(f"Flscan.Many.{kind}.{i}:0:{offset}:{sig}\n")
        makers.append((f"Flscan.Many.{kind}.{i}", make, eof))
    return lines, makers


def plant_many(rng, base, picks):
    """`base` with the picked rules' bytes appended (each after random filler; an EOF rule at its
    distance from the end): the names that must match."""
    data = bytearray(base)
    names = set()
    eof_rule = None
    for name, make, eof in picks:
        if eof:
            eof_rule = (name, make, eof)
            continue
        data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) + make()
        names.add(name)
    if eof_rule is not None:
        name, make, eof = eof_rule
        instance = make()
        data += bytes(rng.randrange(256) for _ in range(eof))
        data[len(data) - eof:len(data) - eof + len(instance)] = instance
        names.add(name)
    return bytes(data), names


def pattern_regex(pattern):
    """The documented meaning of a hex pattern as a Python bytes regex (the third opinion)."""
    out, i = b"", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out, i = out + b".*", i + 1
        elif c == "{":
            j = pattern.index("}", i)
            body, i = pattern[i + 1:j], j + 1
            low, _, high = body.partition("-")
            out += b".{%s,%s}" % ((low or "0").encode(), high.encode()) if "-" in body else b".{%s}" % body.encode()
        elif c in "(|)":
            out, i = out + {"(": b"(?:", "|": b"|", ")": b")"}[c], i + 1
        else:
            hi, lo, i = pattern[i], pattern[i + 1], i + 2
            if hi == "?" and lo == "?":
                out += b"."
            elif hi == "?":
                out += b"[" + b"".join(re.escape(bytes([h * 16 + int(lo, 16)])) for h in range(16)) + b"]"
            elif lo == "?":
                out += b"[" + b"".join(re.escape(bytes([int(hi, 16) * 16 + l])) for l in range(16)) + b"]"
            else:
                out += re.escape(bytes([int(hi + lo, 16)]))
    return re.compile(out, re.S)


# --- running both tools ------------------------------------------------------------------------

def parse_found(output, root):
    """{(relative path, name)} from 'path: NAME FOUND' lines; ClamAV's .UNOFFICIAL suffix dropped."""
    found = set()
    for line in output.splitlines():
        if not line.endswith(" FOUND"):
            continue
        path, name = line[:-len(" FOUND")].rsplit(": ", 1)
        if name.endswith(".UNOFFICIAL"):
            name = name[:-len(".UNOFFICIAL")]
        found.add((os.path.relpath(path, root), name))
    return found


def run_clamscan(clamscan, databases, root):
    cmd = [clamscan] + CLAMSCAN_OPTIONS + [arg for db in databases for arg in ("-d", db)] + [root]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode not in (0, 1):
        sys.exit(f"clamscan failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return parse_found(proc.stdout, root)


def run_tool(tool, databases, root):
    cmd = [tool] + [arg for db in databases for arg in ("-d", db)] + [root]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode not in (0, 1):
        sys.exit(f"sigmatch_tool failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    if "LIMIT HIT" in proc.stdout:
        sys.exit(f"sigmatch_tool hit a matching limit:\n{proc.stdout}")
    return parse_found(proc.stdout, root)


def compare(label, theirs, ours, their_name="clamscan"):
    only_theirs, only_ours = theirs - ours, ours - theirs
    for path, name in sorted(only_theirs):
        print(f"  {label}: only {their_name}: {path}: {name}")
    for path, name in sorted(only_ours):
        print(f"  {label}: only flscan: {path}: {name}")
    return not only_theirs and not only_ours


def compare_three(label, what, clamscan, tool, database, root, reference, reference_name):
    """clamscan and flscan with one database over `root`, against each other and a reference."""
    clam = run_clamscan(clamscan, [database], root)
    ours = run_tool(tool, [database], root)
    print(f"{label}: {what}, clamscan {len(clam)} verdicts, flscan {len(ours)} verdicts, "
          f"{reference_name} {len(reference)}")
    agree = compare(label, clam, ours)
    return compare(label, reference, ours, their_name=reference_name) and agree


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", required=True, help="sigmatch_tool binary")
    parser.add_argument("--source-dir", required=True, help="the flscan source tree")
    parser.add_argument("--work-dir", required=True, help="scratch directory (recreated)")
    parser.add_argument("--corpus-dir", help="generated corpus to compare over as well, if built")
    args = parser.parse_args()

    clamscan = shutil.which("clamscan")
    if clamscan is None:
        print("clamscan not installed: skipping the differential test")
        return SKIP

    work = os.path.abspath(args.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    fixtures = os.path.join(work, "fixtures")
    os.makedirs(fixtures)
    hashed_files, hdb, hsb = hash_fixtures()
    all_fixtures = construct_fixtures() + pe_fixtures() + funlove_fixtures() + hashed_files
    expected = set()
    for name, data, names in all_fixtures:
        path = os.path.join(fixtures, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(bytes(data))
        expected |= {(name, n) for n in names}
    databases_dir = os.path.join(work, "databases")
    os.makedirs(databases_dir)
    for name, text in (("hashes.hdb", hdb), ("hashes.hsb", hsb)):
        with open(os.path.join(databases_dir, name), "w") as out:
            out.write(text)
    databases = [
        os.path.join(args.source_dir, "signatures", "funlove.ndb"),
        os.path.join(args.source_dir, "tests", "signatures", "data", "constructs.ndb"),
        os.path.join(databases_dir, "hashes.hdb"),
        os.path.join(databases_dir, "hashes.hsb"),
    ]

    ok = True
    clam = run_clamscan(clamscan, databases, fixtures)
    ours = run_tool(args.tool, databases, fixtures)
    print(f"fixtures: {len(all_fixtures)} files, clamscan {len(clam)} verdicts, flscan {len(ours)} verdicts, "
          f"expected {len(expected)}")
    ok &= compare_with_deviations("fixtures", clam, ours, DEVIATIONS)
    if ours != expected:
        ok = False
        for path, name in sorted(expected - ours):
            print(f"  fixtures: expected but not found by flscan: {path}: {name}")
        for path, name in sorted(ours - expected):
            print(f"  fixtures: found by flscan, not expected:   {path}: {name}")

    patterns, random_files = random_patterns(20261122, 120)
    random_dir = os.path.join(work, "random")
    os.makedirs(random_dir)
    random_db = os.path.join(databases_dir, "random.ndb")
    with open(random_db, "w") as out:
        out.write("".join(f"Flscan.Random.{i}:0:*:{p}\n" for i, p in enumerate(patterns)))
    reference = set()
    for k, data in enumerate(random_files):
        name = f"r{k:03d}.bin"
        with open(os.path.join(random_dir, name), "wb") as out:
            out.write(data)
        reference |= {(name, f"Flscan.Random.{i}") for i, p in enumerate(patterns) if pattern_regex(p).search(data)}
    ok &= compare_three("random", f"{len(patterns)} patterns x {len(random_files)} files", clamscan, args.tool,
                        random_db, random_dir, reference, "re module")

    # 1,000 rules (the literal index's one-pass search), planted into random files and into copies
    # of corpus samples (their bytes followed by the planted ones).
    corpus = args.corpus_dir
    have_corpus = corpus and os.path.isfile(os.path.join(corpus, "manifest.json"))
    lines, makers = many_rules(20261205, 1000)
    many_db = os.path.join(databases_dir, "many.ndb")
    with open(many_db, "w") as out:
        out.write("".join(lines))
    rng = random.Random(1205)
    bases = [bytes(rng.randrange(256) for _ in range(rng.randrange(100, 20000))) for _ in range(20)]
    if have_corpus:
        with open(os.path.join(corpus, "manifest.json")) as f:
            # Not the malformed MZ files: neither ClamAV nor flscan has EOF offsets for them.
            samples = sorted(e["path"] for e in json.load(f)["files"] if e["size"] <= 512 * 1024 and not e["malformed"])
        for path in samples[:: max(1, len(samples) // 20)][:20]:
            with open(os.path.join(corpus, path), "rb") as f:
                bases.append(f.read())
    many_dir = os.path.join(work, "many")
    os.makedirs(many_dir)
    planted = set()
    for k, base in enumerate(bases):
        picks = [makers[rng.randrange(len(makers))] for _ in range(rng.randrange(0, 8))]
        data, names = plant_many(rng, base, picks)
        name = f"m{k:03d}.bin"
        with open(os.path.join(many_dir, name), "wb") as out:
            out.write(data)
        planted |= {(name, n) for n in names}
    ok &= compare_three("1,000 rules", f"{len(bases)} files", clamscan, args.tool, many_db, many_dir, planted, "planted")

    if have_corpus:
        corpus_dbs = databases[:2] + [os.path.join(args.source_dir, "tests", "signatures", "data", "marker.ndb")]
        clam = run_clamscan(clamscan, corpus_dbs, corpus)
        ours = run_tool(args.tool, corpus_dbs, corpus)
        print(f"corpus {corpus}: clamscan {len(clam)} verdicts, flscan {len(ours)} verdicts")
        deviations = corpus_deviations(clam, corpus, corpus_dbs)
        # The corpus's DOS program carrying the marker (decoy/dos_string.exe) must exercise it.
        if ("decoy/dos_string.exe", "Flscan.Test.MarkerPe") not in deviations:
            print("  corpus: decoy/dos_string.exe is not among the documented deviations")
            ok = False
        ok &= compare_with_deviations("corpus", clam, ours, deviations)
    else:
        print(f"corpus not built ({corpus}): compared the fixtures only")

    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
