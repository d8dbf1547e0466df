"""The infection model as byte transforms, for building synthetic samples (no I/O here).

Constants and layouts from infection-model.md sections 2-4 (geometry, stub, body), 6 (the dropper)
and 7 (kernel and loader patch), a minimal PE reader/editor that trusts its input (it only reads
files the corpus builder made), the PE checksum, and the functions that infect a host with the
INERT body, zero or restore it, and write the dropper, a PE32+ and NTLDR stand-ins. Used by
build_corpus.py; check_manifest.py deliberately does not import it.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# Infection model constants (numbers are the model's; section numbers cite infection-model.md)
# ---------------------------------------------------------------------------------------------
BODY_SIZE = 0x1003              # section 2: 0x1000 bytes plus 3 trailing bytes
BODY_CODE = 0x200               # section 3: the stub's call lands at B+0x200
SAVED_BYTES = 0xBA7             # section 3: the 8 original entry-point bytes
STUB_SIZE = 8
LAST_SECTION_SET = 0x8C000000   # section 2: write, not-paged, not-cached
LAST_SECTION_CLEAR = 0x12000000  # section 2: shared and discardable
ENTRY_SECTION_SET = 0x80000000  # section 2: write
FUNLOVE_STRING = b"~Fun Loving Criminal~"

# Section 4: the documented body markers, (offset from B, bytes).
BODY_MARKERS = (
    (0x000, bytes.fromhex("4D5A9000030000000400" "0000FFFF0000B800")),
    (0x03C, bytes.fromhex("80000000")),
    (0x040, bytes.fromhex("0E1FBA1000B409CD21B0F0E664EBFE90")),
    (0x050, FUNLOVE_STRING + bytes.fromhex("0D0D0A24")),
    (0x080, bytes.fromhex("504500004C010100")),
    (0x200, bytes.fromhex("E8AA0800008DB3A70B00008B3C2483")),
)

# Section 7: NTLDR and ntoskrnl.exe patch patterns, original and patched.
NTLDR_PATTERNS = {
    "nt4": (bytes.fromhex("3B46587407"), bytes.fromhex("3B4658EB07")),
    "w2k": (bytes.fromhex("3B47587407"), bytes.fromhex("3B4758EB07")),
}
KERNEL_PATTERNS = {
    "nt4": (bytes.fromhex("8AC35F5E5B5DC22800"), bytes.fromhex("B0015F5E5B5DC22800")),
    "w2k": (bytes.fromhex("8A45145F5E5B5DC228"), bytes.fromhex("B001905F5E5B5DC228")),
}

# Section 4 says the strings and the patch tables come "later" without offsets. The corpus puts
# them here (all after the saved bytes, which end at 0xBAF); README.md documents the choice.
BODY_STRINGS = (
    (0xC00, b"NTLDR\0"),
    (0xC10, b"WINNT\\System32\\ntoskrnl.exe\0"),
    (0xC30, b"flcss.exe\0"),
    (0xC40, b"FLC\0"),
)
BODY_PATCH_TABLE_OFFSET = 0xC50


def body_patch_table() -> bytes:
    """The kernel patch tables of section 7 as the body carries them: for each target, original
    then patched bytes (NTLDR NT4, NTLDR 2000, ntoskrnl NT4, ntoskrnl 2000)."""
    out = b""
    for table in (NTLDR_PATTERNS, KERNEL_PATTERNS):
        for version in ("nt4", "w2k"):
            out += table[version][0] + table[version][1]
    return out


def make_body(saved_entry_bytes: bytes) -> bytes:
    """The inert 0x1003-byte body (section 4): markers, saved host bytes, strings, zeros."""
    assert len(saved_entry_bytes) == STUB_SIZE
    body = bytearray(BODY_SIZE)
    pieces = list(BODY_MARKERS) + [(SAVED_BYTES, saved_entry_bytes)] + list(BODY_STRINGS)
    pieces.append((BODY_PATCH_TABLE_OFFSET, body_patch_table()))
    for offset, blob in pieces:
        assert not any(body[offset:offset + len(blob)]), f"body pieces overlap at {offset:#x}"
        body[offset:offset + len(blob)] = blob
    return bytes(body)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def prng_bytes(seed: str, size: int) -> bytes:
    """Fixed-seed generator: SHA-256(seed || counter) blocks. Same bytes on every Python."""
    seed_bytes = seed.encode()
    blocks = []
    for counter in range((size + 31) // 32):
        blocks.append(hashlib.sha256(seed_bytes + counter.to_bytes(8, "little")).digest())
    return b"".join(blocks)[:size]


def u16(data: bytes, offset: int) -> int:
    return struct.unpack_from("<H", data, offset)[0]


def u32(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]


def put16(data: bytearray, offset: int, value: int) -> None:
    struct.pack_into("<H", data, offset, value & 0xFFFF)


def put32(data: bytearray, offset: int, value: int) -> None:
    struct.pack_into("<I", data, offset, value & 0xFFFFFFFF)


def find_unique(data: bytes, needle: bytes) -> int:
    first = data.find(needle)
    assert first >= 0, f"pattern {needle.hex()} not found"
    assert data.find(needle, first + 1) < 0, f"pattern {needle.hex()} occurs twice"
    return first


# ---------------------------------------------------------------------------------------------
# A minimal PE reader/editor for files this script built (it trusts its input: asserts, no caps)
# ---------------------------------------------------------------------------------------------
@dataclass
class Section:
    name: str
    virtual_size: int
    virtual_address: int
    size_of_raw_data: int
    pointer_to_raw_data: int
    characteristics: int
    header_offset: int


class Pe:
    def __init__(self, data: bytes):
        assert data[:2] == b"MZ"
        self.e_lfanew = u32(data, 0x3C)
        assert data[self.e_lfanew:self.e_lfanew + 4] == b"PE\0\0"
        self.coff = self.e_lfanew + 4
        self.machine = u16(data, self.coff)
        self.number_of_sections = u16(data, self.coff + 2)
        self.size_of_optional_header = u16(data, self.coff + 16)
        self.opt = self.coff + 20
        magic = u16(data, self.opt)
        assert magic in (0x10B, 0x20B)
        self.entry_rva = u32(data, self.opt + 16)
        self.file_alignment = u32(data, self.opt + 36)
        self.size_of_image_offset = self.opt + 56
        self.checksum_offset = self.opt + 64
        self.checksum = u32(data, self.checksum_offset)
        self.subsystem = u16(data, self.opt + 68)
        table = self.opt + self.size_of_optional_header
        self.section_table = table
        self.sections = []
        for index in range(self.number_of_sections):
            at = table + 40 * index
            name = data[at:at + 8].rstrip(b"\0").decode("latin-1")
            vsize, va, raw_size, raw_ptr = struct.unpack_from("<IIII", data, at + 8)
            chars = u32(data, at + 36)
            self.sections.append(Section(name, vsize, va, raw_size, raw_ptr, chars, at))

    def section_for_rva(self, rva: int) -> Section:
        for section in self.sections:
            span = max(section.virtual_size, section.size_of_raw_data)
            if section.virtual_address <= rva < section.virtual_address + span:
                return section
        raise AssertionError(f"rva {rva:#x} in no section")

    def rva_to_offset(self, rva: int) -> int:
        section = self.section_for_rva(rva)
        delta = rva - section.virtual_address
        assert delta < section.size_of_raw_data, "rva not backed by file data"
        return section.pointer_to_raw_data + delta


def pe_checksum(data: bytes, checksum_offset: int) -> int:
    """imagehlp CheckSumMappedFile: one's-complement sum of little-endian 16-bit words with the
    CheckSum field counted as zero, folded to 16 bits, plus the file length."""
    buf = bytearray(data)
    buf[checksum_offset:checksum_offset + 4] = bytes(4)
    if len(buf) % 2:
        buf.append(0)
    total = sum(struct.unpack(f"<{len(buf) // 2}H", buf))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (total + len(data)) & 0xFFFFFFFF


def with_checksum(data: bytes) -> bytes:
    """`data` with a correct OptionalHeader.CheckSum."""
    pe = Pe(data)
    out = bytearray(data)
    put32(out, pe.checksum_offset, pe_checksum(data, pe.checksum_offset))
    return bytes(out)


def without_checksum(data: bytes) -> bytes:
    pe = Pe(data)
    out = bytearray(data)
    put32(out, pe.checksum_offset, 0)
    return bytes(out)


def checksum_state(data: bytes) -> bool | None:
    """True/False when the file is a PE whose CheckSum is non-zero, else None (0 means "not
    set"; malformed headers have no trustworthy CheckSum field)."""
    try:
        pe = Pe(data)
        if pe.checksum_offset + 4 > len(data) or pe.checksum == 0:
            return None
    except (AssertionError, struct.error):
        return None
    return pe_checksum(data, pe.checksum_offset) == pe.checksum


# ---------------------------------------------------------------------------------------------
# Infection (sections 2-4), and what later became of infected files (sections 5, 9)
# ---------------------------------------------------------------------------------------------
@dataclass
class Infection:
    host: bytes
    data: bytes
    body_offset: int        # B
    entry_rva: int
    entry_offset: int
    stub_target_rva: int
    saved_bytes: bytes
    last_section_header: int

    def facts(self) -> dict:
        return {
            "body_offset": self.body_offset,
            "entry_rva": self.entry_rva,
            "stub_target_rva": self.stub_target_rva,
            "growth": len(self.data) - len(self.host),
            "original_size": len(self.host),
            "saved_entry_bytes": self.saved_bytes.hex(),
        }


def infect(host: bytes) -> Infection:
    """Applies infection-model sections 2-4 exactly, with the inert body."""
    pe = Pe(host)
    last = pe.sections[-1]
    size = len(host)
    # Section 2: base, A, B.
    if size < last.pointer_to_raw_data:
        base = last.virtual_size
    else:
        base = max(last.virtual_size, size - last.pointer_to_raw_data)
    a = align_up(base, 0x1000)
    b = last.pointer_to_raw_data + a
    assert b >= size
    entry_offset = pe.rva_to_offset(pe.entry_rva)
    entry_section = pe.section_for_rva(pe.entry_rva)
    assert entry_offset + STUB_SIZE <= entry_section.pointer_to_raw_data + entry_section.size_of_raw_data
    saved = host[entry_offset:entry_offset + STUB_SIZE]
    # Section 3: the call lands at the body's code, B+0x200.
    target = last.virtual_address + a + BODY_CODE
    rel32 = target - (pe.entry_rva + STUB_SIZE)

    out = bytearray(host)
    out += bytes(b - size)              # zero padding up to B
    out += make_body(saved)             # new size = B + 0x1003
    put32(out, last.header_offset + 16, a + 0x1000)   # L.SizeOfRawData
    put32(out, last.header_offset + 8, a + 0x4000)    # L.VirtualSize
    put32(out, pe.size_of_image_offset, last.virtual_address + a + 0x4000)
    chars = (last.characteristics | LAST_SECTION_SET) & ~LAST_SECTION_CLEAR
    put32(out, last.header_offset + 36, chars)
    entry_chars = u32(out, entry_section.header_offset + 36) | ENTRY_SECTION_SET
    put32(out, entry_section.header_offset + 36, entry_chars)
    out[entry_offset:entry_offset + STUB_SIZE] = b"\x90\x90\x65\xE8" + struct.pack("<i", rel32)
    assert len(out) == b + BODY_SIZE
    return Infection(host, bytes(out), b, pe.entry_rva, entry_offset, target, saved, last.header_offset)


def make_remnant(inf: Infection) -> bytes:
    """Old Norton repair (section 5): the 4099 viral bytes zeroed in place, the entry point
    restored; headers (the geometry) left as the virus set them."""
    out = bytearray(inf.data)
    out[inf.body_offset:inf.body_offset + BODY_SIZE] = bytes(BODY_SIZE)
    out[inf.entry_offset:inf.entry_offset + STUB_SIZE] = inf.saved_bytes
    return bytes(out)


def make_disinfected(inf: Infection) -> bytes:
    """Section 9 disinfection: saved bytes back at the entry point, L.SizeOfRawData -= 0x1000,
    truncate at B, recompute the checksum when it was non-zero."""
    out = bytearray(inf.data[:inf.body_offset])
    out[inf.entry_offset:inf.entry_offset + STUB_SIZE] = inf.saved_bytes
    raw_size = u32(out, inf.last_section_header + 16)
    put32(out, inf.last_section_header + 16, raw_size - 0x1000)
    pe = Pe(bytes(out))
    if pe.checksum != 0:
        put32(out, pe.checksum_offset, pe_checksum(bytes(out), pe.checksum_offset))
    return bytes(out)


def zero_range(data: bytes, start: int, length: int) -> bytes:
    out = bytearray(data)
    out[start:start + length] = bytes(length)
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Hand-made files: the dropper (section 6), a PE32+ and the NTLDR stand-ins (section 7)
# ---------------------------------------------------------------------------------------------
def make_dropper() -> bytes:
    """FLCSS.EXE per section 6: a 0x200-byte header + the first 0x1000 bytes of the body."""
    header = bytearray(0x200)
    # DOS header: the body's embedded header bytes, then e_lfarlc 0x40 and e_lfanew 0x80.
    for offset, blob in BODY_MARKERS:
        if offset < 0x80:
            header[offset:offset + len(blob)] = blob
    put16(header, 0x18, 0x40)
    # PE signature and COFF header.
    header[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", header, 0x84, 0x14C, 1, 0, 0, 0, 0xE0, 0x010E)
    # PE32 optional header (0xE0 bytes, 16 empty data directories).
    opt = 0x98
    struct.pack_into(
        "<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII", header, opt,
        0x10B, 0, 0,              # Magic, linker version
        0x1000, 0, 0,             # SizeOfCode, SizeOfInitializedData, SizeOfUninitializedData
        0x1200,                   # AddressOfEntryPoint: the code start at file offset 0x400
        0x1000, 0x1000,           # BaseOfCode, BaseOfData
        0x400000, 0x1000, 0x200,  # ImageBase, SectionAlignment, FileAlignment
        4, 0, 0, 0, 4, 0,         # OS, image and subsystem versions
        0,                        # Win32VersionValue
        0x5000, 0x200,            # SizeOfImage, SizeOfHeaders
        0,                        # CheckSum
        2, 0,                     # Subsystem (Windows GUI), DllCharacteristics
        0x100000, 0x1000, 0x100000, 0x1000,  # stack and heap reserve/commit
        0, 16)                    # LoaderFlags, NumberOfRvaAndSizes
    # Section table: one section .code.
    table = opt + 0xE0
    struct.pack_into("<8sIIIIIIHHI", header, table, b".code", 0x4000, 0x1000, 0x1000, 0x200,
                     0, 0, 0, 0, 0xC0000020)
    return bytes(header) + make_body(bytes(STUB_SIZE))[:0x1000]


def make_pe32plus() -> bytes:
    """A minimal clean PE32+ (x64 console program: xor eax, eax; ret), written by hand because
    the x86_64 cross compiler is not a corpus dependency."""
    data = bytearray(0x400)
    data[0:2] = b"MZ"
    put16(data, 0x18, 0x40)
    put32(data, 0x3C, 0x80)
    data[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", data, 0x84, 0x8664, 1, 0, 0, 0, 0xF0, 0x0023)  # no relocations
    opt = 0x98
    struct.pack_into(
        "<HBBIIIII", data, opt, 0x20B, 0, 0, 0x200, 0, 0, 0x1000, 0x1000)
    struct.pack_into("<QII", data, opt + 24, 0x140000000, 0x1000, 0x200)
    struct.pack_into("<HHHHHHI", data, opt + 40, 6, 0, 0, 0, 6, 0, 0)
    struct.pack_into("<IIIHH", data, opt + 56, 0x2000, 0x200, 0, 3, 0x8100)  # NX, TS-aware
    struct.pack_into("<QQQQII", data, opt + 72, 0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    struct.pack_into("<8sIIIIIIHHI", data, opt + 0xF0, b".text", 3, 0x1000, 0x200, 0x200,
                     0, 0, 0, 0, 0x60000020)
    data[0x200:0x203] = bytes.fromhex("31C0C3")
    return bytes(data)


NTLDR_LAYOUT = {  # version: (file size, pattern offset): sizes near the real NTLDRs
    "nt4": (0x26000, 0x1C35A),
    "w2k": (0x34000, 0x21B7D),
}


def make_ntldr(version: str, patched: bool) -> tuple[bytes, int]:
    """An NTLDR stand-in: not a PE, just fixed-seed filler with section 7's 5-byte pattern."""
    size, offset = NTLDR_LAYOUT[version]
    data = bytearray(prng_bytes(f"flscan-corpus NTLDR {version}", size))
    intro = b"\xEB\x3E" + f"flscan corpus NTLDR stand-in ({version}), not a loader\0".encode()
    data[0:len(intro)] = intro
    for pair in NTLDR_PATTERNS.values():
        for pattern in pair:
            assert data.find(pattern) < 0, "filler holds a pattern by chance: change the seed"
    original, patch = NTLDR_PATTERNS[version]
    data[offset:offset + 5] = patch if patched else original
    return bytes(data), offset
