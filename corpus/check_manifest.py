#!/usr/bin/env python3
"""Checks a built corpus against its manifest, independently of build_corpus.py.

    python3 corpus/check_manifest.py DIR

It shares no code with the builder: it re-reads every file with its own small PE reader and
checks that the bytes carry the evidence the manifest's expected state claims, straight from the
infection model (section 2 geometry, section 3 stub, section 4 markers, section 6 dropper header,
section 7 patterns), and that every file in DIR is listed. Exit status 0 when all checks pass,
1 otherwise (each failure printed on its own line). Python 3 standard library only.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

STATES = {"clean", "infected", "damaged", "remnant", "inoculated", "dropper", "decoy",
          "kernel-patched", "kernel-modified", "loader-patched"}
# CMake keeps these in its binary directory for corpus/, which is also where the corpus target
# writes the corpus; they are not samples.
CMAKE_OWNED = {"CMakeFiles", "CTestTestfile.cmake", "cmake_install.cmake", "Makefile"}
BODY_SIZE = 4099
MARKERS = {  # infection-model section 4, offset from B
    "mz": (0x000, bytes.fromhex("4D5A90000300000004000000FFFF0000B800")),
    "lfanew": (0x03C, bytes.fromhex("80000000")),
    "dos_stub": (0x040, bytes.fromhex("0E1FBA1000B409CD21B0F0E664EBFE90")),
    "string": (0x050, b"~Fun Loving Criminal~\r\r\n$"),
    "pe": (0x080, bytes.fromhex("504500004C010100")),
    "code": (0x200, bytes.fromhex("E8AA0800008DB3A70B00008B3C2483")),
}
KERNEL = {  # section 7: (original, patched)
    "nt4": (bytes.fromhex("8AC35F5E5B5DC22800"), bytes.fromhex("B0015F5E5B5DC22800")),
    "w2k": (bytes.fromhex("8A45145F5E5B5DC228"), bytes.fromhex("B001905F5E5B5DC228")),
}
LOADER = {
    "nt4": (bytes.fromhex("3B46587407"), bytes.fromhex("3B4658EB07")),
    "w2k": (bytes.fromhex("3B47587407"), bytes.fromhex("3B4758EB07")),
}
# Section 7: only an NT kernel counts. Wine's builtins carry one of these in the DOS stub.
WINE_MARKERS = (b"Wine builtin DLL", b"Wine placeholder DLL")
SUBSYSTEM_NATIVE = 1


def kernel_state(d: bytes, h: "Headers | None") -> str:
    """What section 7 makes of a file named ntoskrnl.exe: the virus overwrites the FIRST original
    SeAccessCheck sequence and never fixes the PE checksum. So patched bytes are its patch when no
    original precedes them and putting the original back gives the header's non-zero CheckSum;
    a checksum mismatch that no such patch explains, or such bytes under CheckSum 0, is
    kernel-modified; not an NT kernel (another
    subsystem, a Wine builtin) is no kernel at all."""
    if h is None or h.subsystem != SUBSYSTEM_NATIVE or any(m in d[0x40:h.lfanew] for m in WINE_MARKERS):
        return "clean"
    header = h.checksum
    if header == 0:
        # CheckSum 0: no checksum to undo the patch against. Patched bytes with no original before
        # them are then unconfirmed (kernel-modified); without them there is nothing to compare.
        for original, patched in KERNEL.values():
            first_original = d.find(original)
            at = d.find(patched)
            if at >= 0 and (first_original < 0 or at < first_original):
                return "kernel-modified"
        return "clean"
    if checksum(d, h.checksum_offset) == header:
        return "clean"
    for original, patched in KERNEL.values():
        first_original = d.find(original)
        at = d.find(patched)
        while at >= 0 and (first_original < 0 or at < first_original):
            undone = d[:at] + original + d[at + len(original):]
            if checksum(undone, h.checksum_offset) == header:
                return "kernel-patched"
            at = d.find(patched, at + 1)
    return "kernel-modified"


def loader_state(d: bytes) -> str:
    """Section 7 on NTLDR (no checksum): the first occurrence of the original or patched bytes decides."""
    for original, patched in LOADER.values():
        first_original, first_patched = d.find(original), d.find(patched)
        if first_patched >= 0 and (first_original < 0 or first_patched < first_original):
            return "loader-patched"
    return "clean"


class Headers:
    """What this checker needs from a PE; raises ValueError when the headers do not parse."""

    def __init__(self, d: bytes):
        def get(fmt: str, off: int) -> int:
            if off < 0 or off + struct.calcsize(fmt) > len(d):
                raise ValueError(f"read past end at {off:#x}")
            return struct.unpack_from(fmt, d, off)[0]

        if d[:2] != b"MZ":
            raise ValueError("no MZ")
        lfanew = get("<I", 0x3C)
        if get("<I", lfanew) != 0x4550:
            raise ValueError("no PE signature")
        nsec = get("<H", lfanew + 6)
        opt_size = get("<H", lfanew + 20)
        opt = lfanew + 24
        magic = get("<H", opt)
        if magic not in (0x10B, 0x20B):
            raise ValueError("unknown optional header magic")
        fixed = 0x60 if magic == 0x10B else 0x70
        if opt_size < fixed or opt + opt_size > len(d):
            raise ValueError("optional header size")
        self.machine = get("<H", lfanew + 4)
        self.file_characteristics = get("<H", lfanew + 22)
        self.timestamp = get("<I", lfanew + 8)
        self.entry = get("<I", opt + 16)
        self.size_of_image = get("<I", opt + 56)
        self.checksum_offset = opt + 64
        self.checksum = get("<I", opt + 64)
        self.subsystem = get("<H", opt + 68)
        self.lfanew = lfanew
        self.nsec = nsec
        self.sections = []
        table = opt + opt_size
        for i in range(min(nsec, 96)):
            at = table + 40 * i
            if at + 40 > len(d):
                break
            name = d[at:at + 8].rstrip(b"\0")
            vs, va, rs, rp = struct.unpack_from("<IIII", d, at + 8)
            ch = struct.unpack_from("<I", d, at + 36)[0]
            self.sections.append({"name": name, "vs": vs, "va": va, "rs": rs, "rp": rp, "ch": ch})

    def offset(self, rva: int) -> int | None:
        for s in self.sections:
            if s["va"] <= rva < s["va"] + max(s["vs"], s["rs"]) and rva - s["va"] < s["rs"]:
                return s["rp"] + rva - s["va"]
        return None

    def section(self, rva: int) -> dict | None:
        for s in self.sections:
            if s["va"] <= rva < s["va"] + max(s["vs"], s["rs"]):
                return s
        return None


def headers(d: bytes) -> Headers | None:
    try:
        return Headers(d)
    except ValueError:
        return None


def checksum(d: bytes, off: int) -> int:
    b = bytearray(d)
    b[off:off + 4] = b"\0\0\0\0"
    if len(b) & 1:
        b += b"\0"
    s = 0
    for (w,) in struct.iter_unpack("<H", bytes(b)):
        s += w
        s = (s & 0xFFFF) + (s >> 16)
    return (s + len(d)) & 0xFFFFFFFF


def stub_target(d: bytes, h: Headers) -> int | None:
    """Where a FunLove-shaped stub at the entry point calls, or None when there is no stub."""
    off = h.offset(h.entry)
    if off is None or off + 8 > len(d) or d[off:off + 4] != b"\x90\x90\x65\xE8":
        return None
    return (h.entry + 8 + struct.unpack_from("<i", d, off + 4)[0]) & 0xFFFFFFFF


def markers_present(d: bytes, b: int) -> dict[str, bool]:
    return {k: d[b + o:b + o + len(m)] == m for k, (o, m) in MARKERS.items()}


class Checker:
    def __init__(self, root: Path, manifest: dict):
        self.root = root
        self.files = {f["path"]: f for f in manifest["files"]}
        self.failures: list[str] = []

    def fail(self, path: str, what: str) -> None:
        self.failures.append(f"{path}: {what}")

    def data(self, path: str) -> bytes:
        return (self.root / path).read_bytes()

    def original_entry_bytes(self, made_from: str) -> bytes | None:
        if made_from not in self.files:
            return None
        d = self.data(made_from)
        h = headers(d)
        off = h.offset(h.entry) if h else None
        return d[off:off + 8] if off is not None else None

    # -- per state ------------------------------------------------------------------------
    def infection_geometry(self, path: str, f: dict, d: bytes, h: Headers, strict_size: bool) -> None:
        b = f["body_offset"]
        last = h.sections[-1]
        a = b - last["rp"]
        if a % 0x1000:
            self.fail(path, "B - L.PointerToRawData is not a multiple of 0x1000")
        target = stub_target(d, h)
        if target != last["va"] + a + 0x200 or target != f["stub_target_rva"]:
            self.fail(path, f"stub missing or call target {target} != L.VA + A + 0x200")
        if h.entry != f["entry_rva"]:
            self.fail(path, "entry_rva differs")
        if strict_size and len(d) != b + BODY_SIZE:
            self.fail(path, "size != B + 0x1003")
        if not path.startswith("malformed/"):
            if last["rs"] != a + 0x1000 or last["vs"] != a + 0x4000:
                self.fail(path, "L.SizeOfRawData / L.VirtualSize not A+0x1000 / A+0x4000")
            if h.size_of_image != last["va"] + a + 0x4000:
                self.fail(path, "SizeOfImage != L.VA + A + 0x4000")
            if last["ch"] & 0x8C000000 != 0x8C000000 or last["ch"] & 0x12000000:
                self.fail(path, "last section characteristics")
            es = h.section(h.entry)
            if es is None or not es["ch"] & 0x80000000:
                self.fail(path, "entry section not writable")
        original = self.original_entry_bytes(f["made_from"])
        if original is not None and original.hex() != f["saved_entry_bytes"]:
            self.fail(path, "saved_entry_bytes differ from the original's entry bytes")
        if f["made_from"] in self.files:
            size = self.files[f["made_from"]]["size"]
            if size != f["original_size"]:
                self.fail(path, "original_size differs from made_from's size")
            if strict_size and len(d) - size != f["growth"]:
                self.fail(path, "growth differs")
            if b < size:
                self.fail(path, "B lies inside the original file")

    def check_infected(self, path: str, f: dict, d: bytes, h: Headers | None) -> None:
        if h is None:
            return self.fail(path, "infected file does not parse")
        b = len(d) - BODY_SIZE
        if b != f["body_offset"]:
            self.fail(path, "body not at EOF - 4099")
        self.infection_geometry(path, f, d, h, strict_size=True)
        missing = [k for k, ok in markers_present(d, b).items() if not ok]
        if missing:
            self.fail(path, f"markers missing: {missing}")
        if d[b + 0xBA7:b + 0xBAF].hex() != f["saved_entry_bytes"]:
            self.fail(path, "saved bytes at B+0xBA7")
        if len(d) % 256 != 3:
            self.fail(path, "size % 256 != 3")

    def check_damaged(self, path: str, f: dict, d: bytes, h: Headers | None) -> None:
        if h is None:
            return self.fail(path, "damaged file does not parse")
        self.infection_geometry(path, f, d, h, strict_size=False)
        b = f["body_offset"]
        complete = len(d) == b + BODY_SIZE and all(markers_present(d, b).values())
        if complete:
            self.fail(path, "body is complete: that is infected, not damaged")

    def check_remnant(self, path: str, f: dict, d: bytes, h: Headers | None) -> None:
        if h is None:
            return self.fail(path, "remnant does not parse")
        b = f["body_offset"]
        if stub_target(d, h) is not None:
            self.fail(path, "stub still present")
        if len(d) != b + BODY_SIZE or any(d[b:]):
            self.fail(path, "the 4099 bytes at B are not all zero")
        last = h.sections[-1]
        a = b - last["rp"]
        if last["rs"] != a + 0x1000 or last["vs"] != a + 0x4000:
            self.fail(path, "geometry not visible in the last section header")
        original = self.original_entry_bytes(f["made_from"])
        off = h.offset(h.entry)
        if original is None or d[off:off + 8] != original:
            self.fail(path, "entry point bytes not restored")

    def check_inoculated(self, path: str, f: dict, d: bytes, h: Headers | None) -> None:
        if len(d) % 256 != 3:
            self.fail(path, "size % 256 != 3")
        if h is not None and stub_target(d, h) is not None:
            self.fail(path, "has a stub")

    def check_dropper(self, path: str, f: dict, d: bytes, h: Headers | None) -> None:
        if len(d) != 0x1200 or h is None:
            return self.fail(path, "not a 0x1200-byte PE")
        s = h.sections
        want = (h.lfanew, h.machine, h.file_characteristics, h.timestamp, h.checksum, h.subsystem,
                h.size_of_image, len(s))
        if want != (0x80, 0x14C, 0x010E, 0, 0, 2, 0x5000, 1):
            self.fail(path, f"header fingerprint {want}")
        elif (s[0]["name"], s[0]["vs"], s[0]["va"], s[0]["rs"], s[0]["rp"], s[0]["ch"]) != \
                (b".code", 0x4000, 0x1000, 0x1000, 0x200, 0xC0000020):
            self.fail(path, "section .code fingerprint")
        for off, blob in ((0x50, MARKERS["string"][1]), (0x250, MARKERS["string"][1]),
                          (0x400, MARKERS["code"][1])):
            if d[off:off + len(blob)] != blob:
                self.fail(path, f"bytes at {off:#x}")

    def check_not_infected(self, path: str, f: dict, d: bytes, h: Headers | None) -> None:
        """clean and decoy: no stub whose call lands at EOF-4099+0x200 with a body there."""
        if h is None or not h.sections:
            return
        target = stub_target(d, h)
        if target is None:
            return
        b = len(d) - BODY_SIZE
        last = h.sections[-1]
        if target == last["va"] + (b - last["rp"]) + 0x200:
            self.fail(path, "stub lands at B+0x200: that is an infection")
        if f["expected"] == "clean":
            self.fail(path, "clean file with a FunLove-shaped stub")

    def check_kernel(self, path: str, f: dict, d: bytes, h: Headers | None) -> None:
        original, patched = KERNEL[f["windows"]]
        off = f["pattern_offset"]
        got = d[off:off + len(original)]
        if got != (patched if f["patched"] else original):
            self.fail(path, "pattern bytes at pattern_offset")
        # pe_checksum_ok is None for CheckSum 0 ("not set"), as funlove_synth.checksum_state says.
        ok = None if h.checksum == 0 else checksum(d, h.checksum_offset) == h.checksum
        if ok != f["pe_checksum_ok"]:
            self.fail(path, "pe_checksum_ok differs")
        if "epilogue_offset" in f:
            at = f["epilogue_offset"]
            if d[at:at + len(patched)] != patched or at < off:
                self.fail(path, "no patched-looking epilogue after the original at epilogue_offset")
        state = kernel_state(d, h)
        if state != f["expected"]:
            self.fail(path, f"bytes say {state}")

    def check_loader(self, path: str, f: dict, d: bytes) -> None:
        original, patched = LOADER[f["windows"]]
        off = f["pattern_offset"]
        if d[off:off + 5] != (patched if f["patched"] else original):
            self.fail(path, "pattern bytes at pattern_offset")
        if "later_patched_offset" in f:
            at = f["later_patched_offset"]
            if d[at:at + 5] != patched or at < off:
                self.fail(path, "no patched bytes after the original at later_patched_offset")
        if loader_state(d) != f["expected"] or d[:2] == b"MZ":
            self.fail(path, f"state / not-a-PE: bytes say {loader_state(d)}")

    # -- driver ---------------------------------------------------------------------------
    def run(self) -> None:
        on_disk = {p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                   if p.is_file() and p.relative_to(self.root).parts[0] not in CMAKE_OWNED}
        on_disk.discard("manifest.json")
        for extra in sorted(on_disk - set(self.files)):
            self.fail(extra, "file not in the manifest")
        for path in sorted(self.files):
            f = self.files[path]
            if path not in on_disk:
                self.fail(path, "listed but missing")
                continue
            d = self.data(path)
            for key in ("expected", "malformed", "made_from", "how"):
                if key not in f:
                    self.fail(path, f"no {key}")
            if f["expected"] not in STATES:
                self.fail(path, f"unknown state {f['expected']}")
            if f["size"] != len(d) or f["sha256"] != hashlib.sha256(d).hexdigest():
                self.fail(path, "size or sha256 differ")
            if "copy_of" in f and self.files[f["copy_of"]]["sha256"] != f["sha256"]:
                self.fail(path, "copy_of is not byte-identical")
            h = headers(d)
            if f["malformed"] != (d[:2] == b"MZ" and h is None):
                self.fail(path, f"malformed is {f['malformed']} but the headers "
                                f"{'do not parse' if h is None else 'parse'}")
            if "pe_checksum_ok" in f and h is not None:
                ok = None if h.checksum == 0 else checksum(d, h.checksum_offset) == h.checksum
                if ok != f["pe_checksum_ok"]:
                    self.fail(path, "pe_checksum_ok differs")
            try:
                self.check_state(path, f, d, h)
            except KeyError as missing:
                self.fail(path, f"manifest lacks the fact {missing} its state needs")

    def check_state(self, path: str, f: dict, d: bytes, h: Headers | None) -> None:
        state = f["expected"]
        if f.get("role") == "kernel":
            self.check_kernel(path, f, d, h)
        elif f.get("role") == "loader":
            self.check_loader(path, f, d)
        elif state == "infected":
            self.check_infected(path, f, d, h)
        elif state == "damaged":
            self.check_damaged(path, f, d, h)
        elif state == "remnant":
            self.check_remnant(path, f, d, h)
        elif state == "inoculated":
            self.check_inoculated(path, f, d, h)
        elif state == "dropper":
            self.check_dropper(path, f, d, h)
        else:
            self.check_not_infected(path, f, d, h)
        if state == "decoy":
            has_stub = h is not None and stub_target(d, h) is not None
            if b"~Fun Loving Criminal~" not in d and not has_stub:
                self.fail(path, "decoy with neither the string nor a stub")


# -- host_trees (offline Windows volume trees, infection-model section 8) -----------------------
Q317218_PROGRAMS = (
    "calc", "ddeshare", "clock", "drwatsn", "eventvwr", "fontview", "grpconv", "llsmgr", "llssrv",
    "lsass", "mspaint", "nddagent", "nddeapir", "netdde", "ntbackup", "nwconv", "perfmon", "rasmon",
    "rasphone", "rdisk", "savedump", "services", "shrpubw", "srvrmngr", "tapisrv", "taskmgr",
    "userinit", "usermgr", "windisk", "winfile", "winlogon", "winmsd", "regsvr32",
)
SYMPTOM_VALUES = {"found", "not-found", "not-checkable-offline"}
SYMPTOM_NAMES = {"slowness", "event-7024", "event-7000", "sp-copy-errors", "flcss-service",
                 "flcss-process", "stop-c000021a"}
EVIDENCE_STATES = {"infected", "damaged", "dropper", "kernel-patched", "loader-patched"}


def nk_cells(d: bytes) -> list[tuple[int, int, str, int]]:
    """(cell offset, cell size, upper-cased name, subkey-list offset as stored) of every nk cell."""
    out = []
    off = 0x1000
    while off + 0x20 <= len(d) and d[off:off + 4] == b"hbin":
        size = struct.unpack_from("<I", d, off + 8)[0]
        cell = off + 0x20
        while cell + 4 <= off + size:
            csize = struct.unpack_from("<i", d, cell)[0]
            if csize == 0:
                break
            if csize < 0 and d[cell + 4:cell + 6] == b"nk":
                flags = struct.unpack_from("<H", d, cell + 6)[0]
                n = struct.unpack_from("<H", d, cell + 4 + 0x48)[0]
                raw = d[cell + 4 + 0x4C:cell + 4 + 0x4C + n]
                name = (raw.decode("latin-1") if flags & 0x20 else raw.decode("utf-16-le", "replace")).upper()
                out.append((cell, -csize, name, struct.unpack_from("<I", d, cell + 4 + 0x1C)[0]))
            cell += abs(csize)
        off += size
    return out


def hive_service_names(d: bytes) -> set[str]:
    """Names of every nk cell in a REGF hive, upper-cased (a raw walk over the hbins' cells)."""
    return {name for _, _, name, _ in nk_cells(d)}


def evt_records(d: bytes) -> list[tuple[int, str, list[str]]]:
    """(event id low 16 bits, source, strings) of each record of an unwrapped EVT log."""
    out = []
    off = struct.unpack_from("<I", d, 0x10)[0]
    end = struct.unpack_from("<I", d, 0x14)[0]
    while off < end and off + 0x38 <= len(d):
        size = struct.unpack_from("<I", d, off)[0]
        if d[off + 4:off + 8] != b"LfLe" or size < 0x38:
            break
        rec = d[off:off + size]
        event_id, = struct.unpack_from("<I", rec, 0x14)
        count, = struct.unpack_from("<H", rec, 0x1A)
        strings_at, = struct.unpack_from("<I", rec, 0x24)
        text = rec[0x38:].decode("utf-16-le", "replace")
        source = text.split("\0", 1)[0]
        strings = rec[strings_at:].decode("utf-16-le", "replace").split("\0")[:count]
        out.append((event_id & 0xFFFF, source, strings))
        off += size
    return out


def check_host_trees(checker: "Checker", trees: list) -> None:
    """Each host tree's symptoms and verdict re-derived from its files' bytes and manifest states."""
    files = checker.files
    for t in trees:
        root = t["root"]
        where = f"host_trees[{root}]"
        under = {p[len(root) + 1:]: f for p, f in files.items() if p.startswith(root + "/")}
        if not (checker.root / root / t["windows_dir"]).is_dir() or not under:
            checker.fail(where, "root or windows_dir missing")
            continue
        lower = {p.lower(): p for p in under}
        sys32 = t["system32"]
        if not sys32.lower().startswith(t["windows_dir"].lower() + "/"):
            checker.fail(where, "system32 not under windows_dir")

        def state(rel: str) -> str | None:
            actual = lower.get(rel.lower())
            return under[actual]["expected"] if actual else None

        symptoms = t["symptoms"]
        if set(symptoms) != SYMPTOM_NAMES or not set(symptoms.values()) <= SYMPTOM_VALUES:
            checker.fail(where, f"symptom names or values {symptoms}")
            continue
        programs = {f"{p}.exe": state(f"{sys32}/{p}.exe") for p in Q317218_PROGRAMS}
        infected = sorted(n for n, s in programs.items() if s == "infected")
        damaged = sorted(n for n, s in programs.items() if s == "damaged")
        if [n.lower() for n in t["infected_programs"]] != infected or \
                [n.lower() for n in t.get("damaged_programs", [])] != damaged:
            checker.fail(where, "infected_programs / damaged_programs differ from the files")
        hive = checker.data(f"{root}/{t['system_hive']}")
        names = hive_service_names(hive)
        flc = bool(names & {"FLC", "FLCSS"}) or "flcss.exe".encode("utf-16-le") in hive.lower()
        # Issue 17: the ComputerName value a live report is joined by is in the hive as UTF-16LE.
        if "computer_name" in t and (t["computer_name"] + "\0").encode("utf-16-le") not in hive:
            checker.fail(where, f"computer_name {t['computer_name']} not in the SYSTEM hive")
        events = evt_records(checker.data(f"{root}/{t['event_log']}"))
        scm = "Service Control Manager"
        e7024 = any(i == 7024 and s == scm and x[:2] == ["Protected Storage", "2148270091"] for i, s, x in events)
        e7000 = any(i == 7000 and s == scm and x[:2] == ["Spooler", "%%2"] for i, s, x in events)
        critical = [state(f"{sys32}/winlogon.exe"), state(f"{sys32}/csrss.exe")]
        stop = (any(s is None or s in ("infected", "damaged") for s in critical)
                or state(f"{sys32}/ntoskrnl.exe") == "kernel-patched" or state("NTLDR") == "loader-patched")
        yes = lambda flag: "found" if flag else "not-found"
        derived = {"slowness": "not-checkable-offline", "flcss-process": "not-checkable-offline",
                   "event-7024": yes(e7024), "event-7000": yes(e7000),
                   "sp-copy-errors": yes(bool(infected or damaged)), "flcss-service": yes(flc),
                   "stop-c000021a": yes(stop)}
        for name in sorted(SYMPTOM_NAMES):
            if derived[name] != symptoms[name]:
                checker.fail(where, f"symptom {name}: manifest {symptoms[name]}, files say {derived[name]}")
        evidence = flc or any(f["expected"] in EVIDENCE_STATES for f in under.values())
        verdict = "q317218" if evidence else ("q321454" if e7024 else "no-evidence")
        if verdict != t["expected_verdict"]:
            checker.fail(where, f"expected_verdict {t['expected_verdict']}, files say {verdict}")


def check_hive_samples(checker: "Checker", samples: list) -> None:
    """What flscan must make of each hives/ sample (issue 12), re-derived from the hive's bytes:
    which root-level keys exist, whether a Services key's subkey list points into its own cell
    (so no reader can list it), whether an FLC service is there, and the sequence numbers."""
    for t in samples:
        where = f"hive_samples[{t['root']}]"
        d = checker.data(t["system_hive"])
        cells = nk_cells(d)
        names = {name for _, _, name, _ in cells}
        select = "SELECT" in names
        control_sets = any(len(n) == 13 and n.startswith("CONTROLSET") and n[10:].isdigit() for n in names)
        services = [(cell, size, sub) for cell, size, name, sub in cells if name == "SERVICES"]
        unlistable = [cell <= sub + 0x1000 < cell + size for cell, size, sub in services]
        flc = bool(names & {"FLC", "FLCSS"})
        if not select and not control_sets:
            derived = ("error", "not a SYSTEM hive: no Select key and no ControlSetNNN key", "incomplete", 2)
        elif not control_sets:
            derived = ("error", "not a SYSTEM hive: no ControlSetNNN key", "incomplete", 2)
        elif services and all(unlistable):
            derived = ("error", "no readable control set", "incomplete", 2)
        elif not select:
            derived = ("read", None, "q317218", 1) if flc else ("error", "not a SYSTEM hive: no Select key",
                                                                  "incomplete", 2)
        elif any(unlistable) and not flc:
            derived = ("read", None, "incomplete", 2)
        else:
            derived = ("read", None, "q317218", 1) if flc else ("read", None, "no-evidence", 0)
        status, prefix, verdict, code = derived
        claimed = t["error_prefix"]
        if (t["hive_status"], t["expected_verdict"], t["exit_code"]) != (status, verdict, code) or \
                (prefix is None) != (claimed is None) or (prefix is not None and not claimed.startswith(prefix)):
            checker.fail(where, f"manifest says {t['hive_status']}/{claimed}/{t['expected_verdict']}/{t['exit_code']}, "
                                f"the bytes say {status}/{prefix}/{verdict}/{code}")
        if claimed and "; root holds " in claimed:
            for key in claimed.split("; root holds ", 1)[1].split(", "):
                if key.upper() not in names:
                    checker.fail(where, f"the error names root key {key}, which the hive does not hold")
        partial = status == "read" and (not select or any(unlistable))
        if t["partial"] != partial:
            checker.fail(where, f"partial is {t['partial']} but the bytes say {partial}")
        primary, secondary = struct.unpack_from("<II", d, 4)
        if t["dirty"] != (primary != secondary):
            checker.fail(where, f"dirty is {t['dirty']} but the sequence numbers are {primary} and {secondary}")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    root = Path(sys.argv[1])
    if not (root / "manifest.json").is_file():
        print(f"check_manifest: no manifest.json in {root} (build the `corpus` target first)", file=sys.stderr)
        return 1
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("schema_version") != 1:
        print("check_manifest: unknown schema_version", file=sys.stderr)
        return 1
    checker = Checker(root, manifest)
    checker.run()
    check_host_trees(checker, manifest.get("host_trees", []))
    check_hive_samples(checker, manifest.get("hive_samples", []))
    for failure in checker.failures:
        print(failure)
    print(f"check_manifest: {len(checker.files)} files, {len(checker.failures)} failures")
    return 1 if checker.failures else 0


if __name__ == "__main__":
    sys.exit(main())
