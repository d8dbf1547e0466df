#!/usr/bin/env python3
"""Builds flscan's synthetic, inert W32.FunLove.4099 test corpus.

    python3 corpus/build_corpus.py --out DIR

Every sample is made here from benign programs (corpus/src/, compiled with i686-w64-mingw32-gcc)
or from bytes written by this script. Infected samples apply the geometry, entry-point stub and
body layout of the infection model (sections 2-4) with an INERT body: the documented marker bytes
at their offsets, the host's saved entry-point bytes at B+0xBA7, zeros elsewhere. No sample holds
working virus code. DIR/manifest.json records, for every file, the state a scanner must report
and how the file was made; expected states come from how a file was built, never from a scanner.

The build is deterministic: fixed sources, -Wl,--no-insert-timestamp, no randomness except a
fixed-seed generator (SHA-256 in counter mode). Python 3 standard library only. See README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

# A build must not leave __pycache__ in the source tree, so this import comes after the flag.
sys.dont_write_bytecode = True
from funlove_synth import (BODY_SIZE, FUNLOVE_STRING, KERNEL_PATTERNS, NTLDR_PATTERNS, STUB_SIZE,
                           Infection, Pe,
                           checksum_state, find_unique, infect, make_body, make_disinfected,
                           make_dropper, make_ntldr, make_pe32plus, make_remnant, prng_bytes, put32,
                           with_checksum, without_checksum, zero_range)
import windows_fixtures as wf

HERE = Path(__file__).resolve().parent
SRC_DIR = HERE / "src"
GENERATOR = "corpus/build_corpus.py"
SCHEMA_VERSION = 1
DEFAULT_CC = "i686-w64-mingw32-gcc"

STATES = frozenset({
    "clean", "infected", "damaged", "remnant", "inoculated", "dropper", "decoy",
    "kernel-patched", "kernel-modified", "loader-patched",
})

# ---------------------------------------------------------------------------------------------
# Compiling the benign programs
# ---------------------------------------------------------------------------------------------
COMMON_FLAGS = ("-O2", "-s", "-fno-ident", "-Wall", "-Wextra", "-Wl,--no-insert-timestamp")
BIG_BLOB_SIZE = 3 * 1024 * 1024


@dataclass(frozen=True)
class Program:
    key: str                  # name used below
    source: str               # file in corpus/src
    output: str               # compiled file name
    flags: tuple = ()
    checksum: bool = True     # write a correct PE checksum; False: CheckSum 0
    how: str = ""


PROGRAMS = (
    Program("tiny_gui", "tiny_gui.c", "tiny_gui.exe",
            ("-mwindows", "-nostdlib", "-nostartfiles", "-fno-asynchronous-unwind-tables",
             "-Wl,--disable-reloc-section", "-Wl,-T,one_section.ld", "-Wl,-e,_tiny_entry@4"),
            checksum=False,
            how="compiled without C runtime into one section (.text, one_section.ld), CheckSum 0"),
    Program("gui_hello", "gui_hello.c", "gui_hello.exe", ("-mwindows",),
            how="compiled as a GUI program (Subsystem 2), correct PE checksum"),
    Program("gui_aligned", "gui_hello.c", "gui_aligned.exe",
            ("-mwindows", "-Wl,--file-alignment,0x1000"), checksum=False,
            how="gui_hello.c linked with FileAlignment 0x1000 so the last section's raw size is a "
                "multiple of 0x1000 (infection needs no padding), CheckSum 0"),
    Program("console_tool", "console_tool.c", "console_tool.exe", ("-mconsole",), checksum=False,
            how="compiled as a console program (Subsystem 3), CheckSum 0"),
    Program("gui_sections", "gui_sections.c", "gui_sections.exe", ("-mwindows",),
            how="compiled as a GUI program with extra sections .mydata and .fldata, correct PE checksum"),
    Program("gui_bss_last", "gui_bss_last.c", "gui_bss_last.exe",
            ("-mwindows", "-Wl,--disable-reloc-section", "-Wl,-T,zbss_last.ld"),
            how="compiled as a GUI program whose last section .zbss is uninitialised-only "
                "(PointerToRawData 0, zbss_last.ld), correct PE checksum"),
    Program("big_gui", "big_gui.c", "big_gui.exe", ("-mwindows",),
            how="compiled as a GUI program with 3 MiB of fixed-seed data in section .bigdata, "
                "correct PE checksum"),
    Program("plugin", "plugin_dll.c", "plugin.dll", ("-shared", "-Wl,--kill-at"),
            how="compiled as a DLL with two exports, correct PE checksum"),
    Program("control", "control_ocx.c", "control.ocx", ("-shared", "-Wl,--kill-at"), checksum=False,
            how="compiled as a DLL with the four COM server exports and named .ocx, CheckSum 0"),
    Program("screensaver", "screensaver.c", "screensaver.scr", ("-mwindows",), checksum=False,
            how="compiled as a GUI program and named .scr, CheckSum 0"),
    Program("decoy_string", "decoy_string.c", "decoy_string.exe", ("-mwindows",),
            how="compiled as a GUI program whose .rdata holds the text ~Fun Loving Criminal~"),
    Program("decoy_stub", "decoy_stub.c", "decoy_stub.exe",
            ("-mwindows", "-nostdlib", "-nostartfiles", "-Wl,-e,_decoy_entry", "-lkernel32"),
            how="compiled without C runtime; its entry point starts 90 90 65 E8 and calls its own "
                "main function in .text"),
    Program("kernel_nt4", "kernel_standin.c", "ntoskrnl_nt4.exe",
            ("-DFL_NT4", "-nostdlib", "-nostartfiles", "-Wl,--subsystem,native",
             "-Wl,-e,_KiSystemStartupStandin@4", "-Wl,--image-base,0x80400000"),
            how="kernel_standin.c -DFL_NT4: a native-subsystem stand-in holding the NT4 original "
                "SeAccessCheck bytes, correct PE checksum"),
    Program("kernel_w2k", "kernel_standin.c", "ntoskrnl_w2k.exe",
            ("-DFL_W2K", "-nostdlib", "-nostartfiles", "-Wl,--subsystem,native",
             "-Wl,-e,_KiSystemStartupStandin@4", "-Wl,--image-base,0x80400000"),
            how="kernel_standin.c -DFL_W2K: a native-subsystem stand-in holding the Windows 2000 "
                "original SeAccessCheck bytes, correct PE checksum"),
    # Issue 12: a kernel that also holds a legitimate `mov al, 1` / pop / ret 28h function ending.
    Program("kernel_nt4_legit", "kernel_standin.c", "ntoskrnl_nt4_legit.exe",
            ("-DFL_NT4", "-DFL_LEGIT_EPILOGUE", "-nostdlib", "-nostartfiles", "-Wl,--subsystem,native",
             "-Wl,-e,_KiSystemStartupStandin@4", "-Wl,--image-base,0x80400000"),
            how="kernel_standin.c -DFL_NT4 -DFL_LEGIT_EPILOGUE: the NT4 stand-in whose .text holds, after "
                "the intact original SeAccessCheck bytes, a second function ending B0 01 5F 5E 5B 5D C2 28 00 "
                "(mov al,1; pops; ret 28h), correct PE checksum"),
    Program("kernel_w2k_legit", "kernel_standin.c", "ntoskrnl_w2k_legit.exe",
            ("-DFL_W2K", "-DFL_LEGIT_EPILOGUE", "-nostdlib", "-nostartfiles", "-Wl,--subsystem,native",
             "-Wl,-e,_KiSystemStartupStandin@4", "-Wl,--image-base,0x80400000"),
            how="kernel_standin.c -DFL_W2K -DFL_LEGIT_EPILOGUE: the Windows 2000 stand-in whose .text "
                "holds, after the intact original SeAccessCheck bytes, a second function ending "
                "B0 01 90 5F 5E 5B 5D C2 28 00 (mov al,1; nop; pops; ret 28h), correct PE checksum"),
    # Wine's ntoskrnl.exe is a DLL of the console subsystem (Debian libwine 8.0, i386 and amd64).
    Program("kernel_wine", "kernel_standin.c", "ntoskrnl_wine.exe",
            ("-DFL_NT4", "-nostdlib", "-nostartfiles", "-shared", "-Wl,--subsystem,console",
             "-Wl,-e,_KiSystemStartupStandin@4"),
            how="kernel_standin.c -DFL_NT4 linked as Wine links its ntoskrnl.exe: a DLL "
                "(IMAGE_FILE_DLL) of the console subsystem (3), correct PE checksum"),
)


def compile_programs(work: Path, cc: str) -> dict[str, bytes]:
    """Compiles every Program in `work` (a scratch copy of corpus/src), in parallel."""
    if shutil.which(cc) is None:
        sys.exit(f"build_corpus: {cc} not found (Debian package gcc-mingw-w64-i686)")
    for source in sorted(SRC_DIR.iterdir()):
        if source.is_file():
            shutil.copyfile(source, work / source.name)
    (work / "big_blob.bin").write_bytes(prng_bytes("flscan-corpus big_gui", BIG_BLOB_SIZE))

    def build(program: Program) -> tuple[str, bytes]:
        # Libraries (-l) go after the source; everything else before it.
        options = [f for f in program.flags if not f.startswith("-l")]
        libraries = [f for f in program.flags if f.startswith("-l")]
        command = [cc, *COMMON_FLAGS, *options, program.source, *libraries, "-o", program.output]
        result = subprocess.run(command, cwd=work, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"build_corpus: compiling {program.source} failed:\n{' '.join(command)}\n{result.stderr}")
        if result.stderr.strip():
            print(f"build_corpus: warnings from {program.source}:\n{result.stderr}", file=sys.stderr)
        data = (work / program.output).read_bytes()
        data = with_checksum(data) if program.checksum else without_checksum(data)
        return program.key, data

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(build, PROGRAMS))


# ---------------------------------------------------------------------------------------------
# The corpus: files in memory plus their manifest entries
# ---------------------------------------------------------------------------------------------
@dataclass
class Entry:
    path: str
    data: bytes
    expected: str
    made_from: str
    how: str
    malformed: bool = False
    facts: dict = field(default_factory=dict)


class Corpus:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.host_trees: list[dict] = []
        self.hive_samples: list[dict] = []

    def add(self, path: str, data: bytes, expected: str, made_from: str, how: str,
            malformed: bool = False, **facts) -> bytes:
        assert expected in STATES, expected
        assert path not in self.entries, f"duplicate {path}"
        assert how and "\n" not in how
        self.entries[path] = Entry(path, data, expected, made_from, how, malformed, facts)
        return data

    def copy(self, path: str, of: str, how: str, **facts) -> bytes:
        """A byte-identical copy of another entry under a new name."""
        src = self.entries[of]
        merged = {k: v for k, v in src.facts.items() if k != "copy_of"}
        merged.update(facts)
        return self.add(path, src.data, src.expected, src.made_from, how, src.malformed,
                        copy_of=of, **merged)

    def manifest(self) -> dict:
        files = []
        for path in sorted(self.entries):
            e = self.entries[path]
            record = {"path": e.path, "expected": e.expected, "malformed": e.malformed,
                      "made_from": e.made_from, "how": e.how}
            record.update(e.facts)
            record["size"] = len(e.data)
            record["sha256"] = hashlib.sha256(e.data).hexdigest()
            ok = checksum_state(e.data) if not e.malformed else None
            if ok is not None and "pe_checksum_ok" not in record:
                record["pe_checksum_ok"] = ok
            files.append(record)
        return {"schema_version": SCHEMA_VERSION, "generator": GENERATOR, "files": files,
                "host_trees": self.host_trees, "hive_samples": self.hive_samples}


def src(name: str) -> str:
    return f"corpus/src/{name}"


# ---------------------------------------------------------------------------------------------
# Categories
# ---------------------------------------------------------------------------------------------
def add_clean(c: Corpus, programs: dict[str, bytes]) -> dict[str, str]:
    """clean/: every compiled host (the originals of every infected file) and a PE32+.
    Returns program key -> corpus path."""
    paths = {}
    for program in PROGRAMS:
        if program.key.startswith("kernel_") or program.key.startswith("decoy_"):
            continue
        path = f"clean/{program.output}"
        c.add(path, programs[program.key], "clean", src(program.source), program.how)
        paths[program.key] = path
    # An overlay host: gui_hello plus 0x5A1 bytes of appended data (small enough that the virus's
    # "large overlay" filter, section 1, would not skip it), checksum recomputed.
    overlay = b"FLSCAN-OVERLAY\0\0" + prng_bytes("flscan-corpus overlay", 0x5A1 - 16)
    data = with_checksum(programs["gui_hello"] + overlay)
    c.add("clean/gui_overlay.exe", data, "clean", paths["gui_hello"],
          "clean/gui_hello.exe with a 0x5A1-byte overlay appended after the last section, "
          "PE checksum recomputed", overlay_size=len(overlay))
    paths["gui_overlay"] = "clean/gui_overlay.exe"
    c.add("clean/pe32plus_console.exe", make_pe32plus(), "clean", GENERATOR,
          "hand-written minimal PE32+ (AMD64) console image, one .text section holding "
          "xor eax, eax; ret")
    return paths


def add_infected(c: Corpus, hosts: dict[str, str]) -> dict[str, Infection]:
    """infected/: sections 2-4 applied to each host."""
    notes = {
        "tiny_gui": "a one-section host, so the entry-point section is the last section; no padding needed",
        "gui_hello": "the standard GUI host, zero padding between the old end of file and B",
        "gui_aligned": "a FileAlignment 0x1000 host, so no padding and growth exactly 4099",
        "console_tool": "a console program (Subsystem 3), which the virus itself never infects",
        "gui_sections": "a host with extra sections .mydata and .fldata",
        "gui_bss_last": "its last section is uninitialised-only (PointerToRawData 0), which the "
                        "virus itself skips, so B = A by the section 2 formula",
        "big_gui": "a 3 MiB host",
        "plugin": "a DLL host, the stub overwrites its DLL entry point",
        "control": "an .ocx (DLL) host",
        "screensaver": "a .scr host",
        "gui_overlay": "a host with an overlay, which becomes part of the last section",
    }
    infections = {}
    for key, note in notes.items():
        host_path = hosts[key]
        inf = infect(c.entries[host_path].data)
        name = host_path.split("/", 1)[1]
        c.add(f"infected/{name}", inf.data, "infected", host_path,
              f"{host_path} infected per infection-model sections 2-4 with the inert body; {note}",
              **inf.facts())
        infections[key] = inf
    assert infections["gui_aligned"].facts()["growth"] == BODY_SIZE
    assert infections["tiny_gui"].facts()["growth"] == BODY_SIZE
    assert infections["gui_hello"].facts()["growth"] > BODY_SIZE
    assert Pe(c.entries[hosts["gui_hello"]].data).checksum != 0
    # Infected files renamed: detection must not depend on the name.
    c.copy("infected/gui_hello_renamed.txt", "infected/gui_hello.exe",
           "infected/gui_hello.exe copied under a .txt name")
    c.copy("infected/gui_hello_no_extension", "infected/gui_hello.exe",
           "infected/gui_hello.exe copied under a name without extension")
    return infections


def add_damaged(c: Corpus, infections: dict[str, Infection]) -> None:
    """damaged/: stub and geometry present, body truncated or partly zeroed (section 5)."""
    hello = infections["gui_hello"]
    b = hello.body_offset
    host = "clean/gui_hello.exe"
    cuts = (
        (0x1000, "cut at B+0x1000: every marker present, only the 3 trailing bytes missing"),
        (0x300, "cut at B+0x300: MZ header, string and code start present, saved bytes lost"),
        (0x100, "cut at B+0x100: MZ header and string present, code start lost"),
        (0x10, "cut at B+0x10: only the first 16 bytes of the body left"),
    )
    for cut, what in cuts:
        c.add(f"damaged/gui_hello_cut_{cut:#x}.exe", hello.data[:b + cut], "damaged", host,
              f"infected/gui_hello.exe truncated, {what}", **hello.facts(), body_bytes_present=cut)
    zeroed = (
        ("string_zeroed", 0x050, 25, "the string at B+0x50 (and its 0D 0D 0A 24) zeroed, code start present"),
        ("code_zeroed", 0x200, 15, "the code start at B+0x200 zeroed, MZ header and string present"),
        ("header_zeroed", 0x000, 0x200, "the embedded header B..B+0x200 (MZ, DOS stub, string, PE) "
                                       "zeroed, code start present"),
        ("body_zeroed", 0x000, BODY_SIZE, "all 4099 body bytes zeroed while the stub stays at the "
                                          "entry point (not a remnant: the entry point was not restored)"),
    )
    for name, offset, length, what in zeroed:
        c.add(f"damaged/gui_hello_{name}.exe", zero_range(hello.data, b + offset, length), "damaged",
              host, f"infected/gui_hello.exe with {what}", **hello.facts())
    plugin = infections["plugin"]
    c.add("damaged/plugin_cut_0x300.dll", plugin.data[:plugin.body_offset + 0x300], "damaged",
          "clean/plugin.dll", "infected/plugin.dll truncated at B+0x300", **plugin.facts(),
          body_bytes_present=0x300)


def add_remnants_and_repairs(c: Corpus, infections: dict[str, Infection]) -> None:
    """remnant/ (old Norton repair, section 5) and repaired/ (section 9 disinfection: clean)."""
    for key, host in (("gui_hello", "clean/gui_hello.exe"), ("gui_aligned", "clean/gui_aligned.exe"),
                      ("plugin", "clean/plugin.dll")):
        inf = infections[key]
        name = host.split("/", 1)[1]
        c.add(f"remnant/{name}", make_remnant(inf), "remnant", host,
              f"infected/{name} with the 4099 body bytes at B zeroed in place and the 8 entry-point "
              "bytes restored; section headers left as the virus set them", **inf.facts())
    for key, host in (("gui_hello", "clean/gui_hello.exe"), ("console_tool", "clean/console_tool.exe"),
                      ("gui_overlay", "clean/gui_overlay.exe")):
        inf = infections[key]
        name = host.split("/", 1)[1]
        c.add(f"repaired/{name}", make_disinfected(inf), "clean", host,
              f"infected/{name} disinfected per infection-model section 9 (saved bytes back at the "
              "entry point, L.SizeOfRawData -= 0x1000, truncated at B, checksum recomputed if non-zero)",
              repair_of=f"infected/{name}", body_offset=inf.body_offset)


def add_inoculated(c: Corpus, hosts: dict[str, str], infections: dict[str, Infection]) -> None:
    """inoculated/: clean files padded with zeros so size % 256 == 3 (section 5)."""
    def pad_to_3(data: bytes) -> bytes:
        return data + bytes((3 - len(data)) % 256)

    hello = c.entries[hosts["gui_hello"]].data
    c.add("inoculated/gui_hello.exe", pad_to_3(hello), "inoculated", hosts["gui_hello"],
          "clean/gui_hello.exe with zero bytes appended until size % 256 == 3")
    console = c.entries[hosts["console_tool"]].data
    c.add("inoculated/console_tool.exe", console + bytes(0x103), "inoculated", hosts["console_tool"],
          "clean/console_tool.exe with 0x103 zero bytes appended (size % 256 == 3)")
    plugin = c.entries[hosts["plugin"]].data
    assert len(plugin) % 256 == 0
    c.add("inoculated/plugin.dll", plugin + bytes(BODY_SIZE), "inoculated", hosts["plugin"],
          "clean/plugin.dll with 4099 zero bytes appended and headers untouched (looks like a "
          "zeroed body, but no section 2 geometry)")
    repaired = make_disinfected(infections["gui_sections"])
    c.add("inoculated/gui_sections_repaired.exe", pad_to_3(repaired), "inoculated", hosts["gui_sections"],
          "infected/gui_sections.exe disinfected per section 9 then padded with zero bytes to "
          "size % 256 == 3, as later Norton repairs did")
    for path, entry in c.entries.items():
        if path.startswith("inoculated/"):
            assert len(entry.data) % 256 == 3


def add_dropper(c: Corpus) -> None:
    """dropper/: FLCSS.EXE per section 6, and the same bytes renamed."""
    data = make_dropper()
    assert len(data) == 0x1200
    c.add("dropper/flcss.exe", data, "dropper", GENERATOR,
          "FLCSS.EXE written per infection-model section 6: 0x200-byte header with the documented "
          "fingerprint followed by the first 0x1000 bytes of the inert body")
    c.copy("dropper/notepad_helper.dat", "dropper/flcss.exe",
           "dropper/flcss.exe copied under an unrelated name")


def add_decoys(c: Corpus, programs: dict[str, bytes], hosts: dict[str, str]) -> None:
    """decoy/: FunLove-looking pieces without an infection (section 5: not infected)."""
    c.add("decoy/decoy_string.exe", programs["decoy_string"], "decoy", src("decoy_string.c"),
          "compiled clean GUI program whose .rdata holds ~Fun Loving Criminal~")
    stub = programs["decoy_stub"]
    pe = Pe(stub)
    entry_offset = pe.rva_to_offset(pe.entry_rva)
    assert stub[entry_offset:entry_offset + 4] == b"\x90\x90\x65\xE8"
    target = pe.entry_rva + 8 + struct.unpack_from("<i", stub, entry_offset + 4)[0]
    c.add("decoy/decoy_stub.exe", stub, "decoy", src("decoy_stub.c"),
          "compiled clean program whose entry point is 90 90 65 E8 rel32 with the call landing "
          "on its own main function in .text", entry_rva=pe.entry_rva, stub_target_rva=target)
    text = ("Notes on W32.FunLove.4099 (1999).\r\n"
            "The virus body carries the text ~Fun Loving Criminal~ followed by CR CR LF $.\r\n"
            "This file only quotes it and is not infected.\r\n").encode()
    c.add("decoy/funlove_notes.txt", text, "decoy", GENERATOR,
          "a text file quoting ~Fun Loving Criminal~")
    hello = c.entries[hosts["gui_hello"]].data
    assert len(hello) % 256 == 0
    block = bytearray(BODY_SIZE)
    block[0x50:0x50 + len(FUNLOVE_STRING)] = FUNLOVE_STRING
    padded = hello + bytes(block)
    assert len(padded) % 256 == 3 and padded.find(FUNLOVE_STRING) == len(padded) - 4019
    c.add("decoy/padded_string.exe", padded, "decoy", hosts["gui_hello"],
          "clean/gui_hello.exe with 4099 bytes appended, zero except ~Fun Loving Criminal~ at "
          "EOF-4019 (size % 256 == 3, headers untouched, no stub)", also=["inoculated"])
    pe = Pe(hello)
    saved = hello[pe.rva_to_offset(pe.entry_rva):][:STUB_SIZE]
    appended = hello + make_body(saved)
    c.add("decoy/appended_body.exe", appended, "decoy", hosts["gui_hello"],
          "clean/gui_hello.exe with the whole inert body appended at EOF and headers and entry "
          "point untouched (no stub, no section 2 geometry)", also=["inoculated"])
    c.add("decoy/dos_string.exe", make_dos_program(), "decoy", GENERATOR,
          "a DOS MZ program (0x20-byte header, no PE header: e_lfanew 0) that prints "
          "~Fun Loving Criminal~ CR CR LF $ with INT 21h AH=09h; MZ but not a PE, so target-1 "
          "signatures do not apply to it (issue 12)", malformed=True)


def make_dos_program() -> bytes:
    """A 0x60-byte DOS .EXE: header of 2 paragraphs, no relocations, CS:IP = 0:0, SS:SP = 0:0x100;
    code at file 0x20: push cs / pop ds / mov dx,0x20 / mov ah,9 / int 21h / mov ax,4C00h / int 21h,
    the message at load offset 0x20 (file 0x40). e_lfanew (file 0x3C) lies in the zero padding
    after the code, so it is 0 and names the DOS header itself: no "PE\\0\\0" anywhere."""
    size = 0x60
    header = struct.pack("<2sHHHHHHHHHHHHH", b"MZ", size % 512, (size + 511) // 512, 0, 2, 0x10, 0xFFFF,
                         0, 0x100, 0, 0, 0, 0x1C, 0)
    code = bytes.fromhex("0e1f" "ba2000" "b409" "cd21" "b8004c" "cd21")
    message = FUNLOVE_STRING + b"\r\r\n$"
    data = bytearray(size)
    data[:len(header)] = header
    data[0x20:0x20 + len(code)] = code
    data[0x40:0x40 + len(message)] = message
    assert data[0x3C:0x40] == bytes(4) and b"PE\0\0" not in data
    return bytes(data)


def add_kernels(c: Corpus, programs: dict[str, bytes]) -> dict[str, str]:
    """kernel/: ntoskrnl.exe / ntkrnlmp.exe stand-ins (section 7)."""
    paths = {}

    def add(folder: str, name: str, data: bytes, expected: str, made_from: str, how: str,
            version: str, patched: bool, offset: int, **facts) -> None:
        path = f"kernel/{folder}/{name}"
        c.add(path, data, expected, made_from, how, role="kernel", windows=version,
              patched=patched, pattern_offset=offset, pe_checksum_ok=checksum_state(data), **facts)
        paths[folder] = path

    for version, key in (("nt4", "kernel_nt4"), ("w2k", "kernel_w2k")):
        clean = programs[key]
        original, patch = KERNEL_PATTERNS[version]
        offset = find_unique(clean, original)
        for pair in KERNEL_PATTERNS.values():
            assert clean.find(pair[1]) < 0
        assert checksum_state(clean) is True
        made = src("kernel_standin.c")
        label = "NT4" if version == "nt4" else "Windows 2000"
        program = next(p for p in PROGRAMS if p.key == key)
        add(f"{version}-clean", "ntoskrnl.exe", clean, "clean", made, program.how,
            version, False, offset)
        patched = bytearray(clean)
        patched[offset:offset + len(patch)] = patch
        patched = bytes(patched)
        assert checksum_state(patched) is False
        clean_path = paths[f"{version}-clean"]
        add(f"{version}-patched", "ntoskrnl.exe", patched, "kernel-patched", clean_path,
            f"{clean_path} with the section 7 {label} patch applied and the checksum left stale, "
            "as the virus does", version, True, offset)
        # Section 7 / issue 12: the virus never fixes the checksum, so patched-looking bytes in a
        # kernel whose checksum matches as it stands are not its patch.
        add(f"{version}-patched-checksum-fixed", "ntoskrnl.exe", with_checksum(patched),
            "clean", clean_path,
            f"{clean_path} with the section 7 {label} patched bytes written and the PE checksum then "
            "recomputed: the checksum matches as the file stands, which FunLove never leaves, so "
            "the bytes are not its patch", version, True, offset)
        # CheckSum 0 ("not set"): an NT kernel is always checksummed (NTLDR checks it), so the
        # patched bytes can be neither confirmed nor ruled out: suspicious, not FunLove evidence.
        add(f"{version}-patched-checksum-zero", "ntoskrnl.exe", without_checksum(patched),
            "kernel-modified", clean_path,
            f"{clean_path} with the section 7 {label} patched bytes written and CheckSum then set "
            "to 0: nothing to undo the patch against, so it is not confirmed", version, True, offset)
        text_at = find_unique(clean, b"flscan corpus ntoskrnl")
        modified = bytearray(clean)
        modified[text_at] ^= 0x20   # 'f' -> 'F': an unrelated change, checksum not fixed
        modified = bytes(modified)
        assert checksum_state(modified) is False
        add(f"{version}-modified", "ntoskrnl.exe", modified, "kernel-modified", clean_path,
            f"{clean_path} with one byte of its version text changed (not the section 7 bytes) "
            "and the checksum left stale", version, False, offset)
        # Patched and changed elsewhere: undoing the patch does not restore the checksum.
        both = bytearray(patched)
        both[text_at] ^= 0x20
        both = bytes(both)
        assert checksum_state(both) is False
        add(f"{version}-patched-then-modified", "ntoskrnl.exe", both, "kernel-modified", clean_path,
            f"{clean_path} with the section 7 {label} patch applied and one byte of its version text "
            "changed, checksum left stale: with the original bytes put back the checksum still "
            "differs, so the patch is not confirmed", version, True, offset)
        # Issue 12's false positive: the intact original first, a legitimate function ending that
        # reads like the patched bytes later, correct checksum.
        legit = programs[f"{key}_legit"]
        legit_offset = find_unique(legit, original)
        epilogue = find_unique(legit, patch)
        assert legit_offset < epilogue and checksum_state(legit) is True
        add(f"{version}-legit-epilogue", "ntoskrnl.exe", legit, "clean", made,
            next(p for p in PROGRAMS if p.key == f"{key}_legit").how +
            f" at {epilogue:#x}, after the original at {legit_offset:#x}: a clean kernel",
            version, False, legit_offset, epilogue_offset=epilogue)
    # Section 7, "only an NT kernel counts": Wine's ntoskrnl.exe. winebuild stamps the marker into
    # the DOS stub after linking (so the checksum is stale), as in Debian's libwine 8.0 files.
    wine = bytearray(programs["kernel_wine"])
    assert wine[0x3C:0x40] == (0x80).to_bytes(4, "little") and Pe(bytes(wine)).subsystem == 3
    wine[0x40:0x60] = b"Wine builtin DLL".ljust(0x20, b"\0")
    wine = bytes(wine)
    assert checksum_state(wine) is False
    add("wine-builtin", "ntoskrnl.exe", wine, "clean", src("kernel_standin.c"),
        next(p for p in PROGRAMS if p.key == "kernel_wine").how + ", then 'Wine builtin DLL' written "
        "at 0x40 as winebuild does, leaving the checksum stale: not an NT kernel, so no kernel finding",
        "nt4", False, find_unique(wine, KERNEL_PATTERNS["nt4"][0]))
    # The multiprocessor kernel's name (section 7: check ntkrnlmp.exe too).
    for state, folder in (("clean", "w2k-clean"), ("kernel-patched", "w2k-patched")):
        source = paths[folder]
        entry = c.entries[source]
        mp_folder = folder.replace("w2k-", "w2k-mp-")
        path = f"kernel/{mp_folder}/ntkrnlmp.exe"
        c.add(path, entry.data, state, entry.made_from,
              f"{source} copied under the multiprocessor kernel's name ntkrnlmp.exe",
              copy_of=source, **entry.facts)
        paths[mp_folder] = path
    return paths


def add_loaders(c: Corpus) -> dict[str, str]:
    """loader/: NTLDR stand-ins (section 7): not PEs, raw blobs with the 5-byte pattern."""
    paths = {}
    for version in ("nt4", "w2k"):
        label = "NT4" if version == "nt4" else "Windows 2000"
        for patched in (False, True):
            data, offset = make_ntldr(version, patched)
            folder = f"{version}-{'patched' if patched else 'clean'}"
            state = "loader-patched" if patched else "clean"
            what = "patched" if patched else "original"
            path = f"loader/{folder}/NTLDR"
            c.add(path, data, state, GENERATOR,
                  f"NTLDR stand-in: fixed-seed filler (not a PE) with the section 7 {label} "
                  f"{what} bytes at {offset:#x}",
                  role="loader", windows=version, patched=patched, pattern_offset=offset)
            paths[folder] = path
        # Section 7 / issue 12: the virus patches the first original, so patched-looking bytes
        # after an intact original are not its patch.
        data, offset = make_ntldr(version, False)
        later = offset + 0x1000
        data = data[:later] + NTLDR_PATTERNS[version][1] + data[later + 5:]
        folder = f"{version}-later-patched-looking"
        path = f"loader/{folder}/NTLDR"
        c.add(path, data, "clean", GENERATOR,
              f"NTLDR stand-in: fixed-seed filler (not a PE) with the section 7 {label} original bytes "
              f"at {offset:#x} and the patched bytes written later at {later:#x}: the virus would have "
              "patched the first, so the file is clean",
              role="loader", windows=version, patched=False, pattern_offset=offset, later_patched_offset=later)
        paths[folder] = path
    return paths


def add_malformed(c: Corpus, hosts: dict[str, str], infections: dict[str, Infection]) -> None:
    """malformed/: hostile or broken headers. `malformed` is true when the DOS header, PE
    signature, COFF header or optional header cannot be read or identified (no usable PE image);
    oddities past that point (section table, section data, entry point) are anomalies a parser
    records and goes on from, so those files keep malformed false. See README.md."""
    base_path = hosts["gui_hello"]
    base = c.entries[base_path].data
    pe = Pe(base)
    lfanew = pe.e_lfanew
    first, second, last = pe.sections[0], pe.sections[1], pe.sections[-1]

    def edit(*changes: tuple[int, str, int]) -> bytes:
        out = bytearray(base)
        for offset, fmt, value in changes:
            struct.pack_into(fmt, out, offset, value)
        return bytes(out)

    sec_field = {"vsize": 8, "va": 12, "raw_size": 16, "raw_ptr": 20, "chars": 36}
    cases = [
        # name, data, malformed, how
        ("empty.exe", b"", False, "zero-length file (not a PE candidate: no MZ)"),
        ("mz_only.exe", b"MZ", True, "the two bytes MZ and nothing else"),
        ("dos_header_truncated.exe", base[:0x30], True, "cut at 0x30, before e_lfanew"),
        ("e_lfanew_past_eof.exe", edit((0x3C, "<I", len(base) + 0x100)), True,
         "e_lfanew points 0x100 bytes past the end of file"),
        ("e_lfanew_negative.exe", edit((0x3C, "<I", 0xFFFFFFFC)), True,
         "e_lfanew is 0xFFFFFFFC (-4 as a signed value)"),
        ("e_lfanew_huge.exe", edit((0x3C, "<I", 0x7FFFFFFF)), True, "e_lfanew is 0x7FFFFFFF"),
        ("e_lfanew_zero.exe", edit((0x3C, "<I", 0)), True,
         "e_lfanew is 0, so the PE signature would be the MZ header itself"),
        ("pe_signature_wrong.exe", edit((lfanew, "<I", 0x00005850)), True,
         "PE signature changed to PX\\0\\0"),
        ("pe_signature_ne.exe", edit((lfanew, "<I", 0x0000454E)), True,
         "PE signature changed to NE\\0\\0 (a 16-bit New Executable tag)"),
        ("coff_header_truncated.exe", base[:lfanew + 12], True, "cut inside the COFF header"),
        ("optional_header_truncated.exe", base[:lfanew + 24 + 0x40], True,
         "cut inside the optional header, before CheckSum"),
        ("optional_magic_unknown.exe", edit((pe.opt, "<H", 0x0999)), True,
         "optional header Magic 0x0999 (neither PE32 nor PE32+)"),
        ("size_of_optional_header_zero.exe", edit((pe.coff + 16, "<H", 0)), True,
         "SizeOfOptionalHeader 0 in an image"),
        ("size_of_optional_header_ffff.exe", edit((pe.coff + 16, "<H", 0xFFFF)), True,
         "SizeOfOptionalHeader 0xFFFF: the declared optional header runs past the end of file"),
        ("number_of_sections_zero.exe", edit((pe.coff + 2, "<H", 0)), False,
         "NumberOfSections 0: no section holds the entry point"),
        ("number_of_sections_65535.exe", edit((pe.coff + 2, "<H", 0xFFFF)), False,
         "NumberOfSections 65535: the declared table runs far past the end of file"),
        ("section_table_past_eof.exe", base[:pe.section_table], False,
         "cut right after the optional header: the whole section table is missing"),
        ("section_table_truncated.exe", base[:pe.section_table + 40 + 20], False,
         "cut in the middle of the second section header"),
        ("section_raw_pointer_past_eof.exe",
         edit((last.header_offset + sec_field["raw_ptr"], "<I", len(base) + 0x10000)), False,
         "last section's PointerToRawData points 64 KiB past the end of file"),
        ("section_raw_size_past_eof.exe",
         edit((last.header_offset + sec_field["raw_size"], "<I", 0x7FFFFE00)), False,
         "last section's SizeOfRawData is 0x7FFFFE00, far past the end of file"),
        ("section_raw_end_overflows.exe",
         edit((last.header_offset + sec_field["raw_ptr"], "<I", 0xFFFFFE00),
              (last.header_offset + sec_field["raw_size"], "<I", 0x400)), False,
         "last section's PointerToRawData + SizeOfRawData overflows 32 bits"),
        ("entry_point_outside_sections.exe", edit((pe.opt + 16, "<I", 0x7FFFFFF0)), False,
         "AddressOfEntryPoint 0x7FFFFFF0, in no section and beyond SizeOfImage"),
        ("entry_point_in_header.exe", edit((pe.opt + 16, "<I", 0x40)), False,
         "AddressOfEntryPoint 0x40, inside the headers (the DOS stub)"),
        ("overlapping_sections.exe",
         edit((second.header_offset + sec_field["va"], "<I", first.virtual_address),
              (second.header_offset + sec_field["raw_ptr"], "<I", first.pointer_to_raw_data)), False,
         "second section header given the first section's VirtualAddress and PointerToRawData"),
        ("file_alignment_zero.exe", edit((pe.opt + 36, "<I", 0)), False, "FileAlignment 0"),
        ("section_alignment_zero.exe", edit((pe.opt + 32, "<I", 0)), False, "SectionAlignment 0"),
        ("huge_virtual_size.exe",
         edit((last.header_offset + sec_field["vsize"], "<I", 0xFFFFF000)), False,
         "last section's VirtualSize 0xFFFFF000 (align_up in the section 2 formula would overflow 32 bits)"),
        ("size_of_headers_huge.exe", edit((pe.opt + 60, "<I", 0xFFFFFFFF)), False,
         "SizeOfHeaders 0xFFFFFFFF"),
        ("number_of_rva_and_sizes_huge.exe", edit((pe.opt + 92, "<I", 0xFFFFFFFF)), False,
         "NumberOfRvaAndSizes 0xFFFFFFFF"),
        ("section_name_unprintable.exe",
         edit((first.header_offset, "<Q", 0x00FF7F1B090A0D01)), False,
         "first section's name is the bytes 01 0D 0A 09 1B 7F FF 00"),
    ]
    for name, data, malformed, how in cases:
        handmade = len(data) <= 2
        c.add(f"malformed/{name}", data, "clean", GENERATOR if handmade else base_path,
              how if handmade else f"{base_path} changed: {how}", malformed=malformed)
    # An infected file whose last section header claims raw data beyond EOF: the stub still lands
    # at B+0x200 with the body intact at EOF-4099, so it is still infected (section 5).
    inf = infections["gui_hello"]
    out = bytearray(inf.data)
    put32(out, inf.last_section_header + 16, 0x7FFFF000)
    c.add("malformed/infected_last_section_past_eof.exe", bytes(out), "infected", base_path,
          "infected/gui_hello.exe with the last section's SizeOfRawData raised to 0x7FFFF000 "
          "(raw data claimed far beyond EOF); stub and body intact", **inf.facts())
    assert sum(1 for p in c.entries if p.startswith("malformed/")) >= 20


def add_demo(c: Corpus, kernels: dict[str, str], loaders: dict[str, str]) -> None:
    """demo/: a small tree shaped like a Windows 2000 volume for `make demo`."""
    sys32 = "demo/WINNT/System32"
    copies = (
        ("demo/NTLDR", loaders["w2k-patched"]),
        (f"{sys32}/ntoskrnl.exe", kernels["w2k-patched"]),
        # Q317218's programs, infected (section 8).
        (f"{sys32}/calc.exe", "infected/gui_hello.exe"),
        (f"{sys32}/taskmgr.exe", "infected/gui_sections.exe"),
        (f"{sys32}/winlogon.exe", "infected/tiny_gui.exe"),
        (f"{sys32}/mspaint.exe", "damaged/gui_hello_cut_0x300.exe"),
        (f"{sys32}/logon.scr", "infected/screensaver.scr"),
        (f"{sys32}/flcss.exe", "dropper/flcss.exe"),
        (f"{sys32}/regsvr32.exe", "remnant/gui_hello.exe"),
        (f"{sys32}/sol.exe", "inoculated/gui_hello.exe"),
        (f"{sys32}/notepad.exe", "clean/gui_hello.exe"),
        (f"{sys32}/cmd.exe", "clean/console_tool.exe"),
        (f"{sys32}/fltools.dll", "clean/plugin.dll"),
        ("demo/Program Files/Tools/tool.exe", "clean/tiny_gui.exe"),
        ("demo/Program Files/Tools/launcher.exe", "decoy/decoy_stub.exe"),
        ("demo/Documents/funlove-notes.txt", "decoy/funlove_notes.txt"),
    )
    for path, of in copies:
        c.copy(path, of, f"{of} copied into the demo volume as {path[len('demo/'):]}")
    readme = ("Demo volume for flscan.\r\n"
              "WINNT\\System32 holds clean, infected, damaged, remnant and inoculated stand-ins,\r\n"
              "the dropper flcss.exe and a patched kernel; NTLDR at the root is patched too.\r\n"
              "Every file is synthetic and inert; see corpus/README.md.\r\n").encode()
    c.add("demo/Documents/readme.txt", readme, "clean", GENERATOR, "a plain text file")


# ---------------------------------------------------------------------------------------------
# windows/: offline Windows volume trees with host evidence (infection-model sections 6-8)
# ---------------------------------------------------------------------------------------------
# The 33 programs Q317218 says a Service Pack reinstall cannot copy (infection-model section 8).
Q317218_PROGRAMS = (
    "calc", "ddeshare", "clock", "drwatsn", "eventvwr", "fontview", "grpconv", "llsmgr", "llssrv",
    "lsass", "mspaint", "nddagent", "nddeapir", "netdde", "ntbackup", "nwconv", "perfmon", "rasmon",
    "rasphone", "rdisk", "savedump", "services", "shrpubw", "srvrmngr", "tapisrv", "taskmgr",
    "userinit", "usermgr", "windisk", "winfile", "winlogon", "winmsd", "regsvr32",
)
assert len(Q317218_PROGRAMS) == 33
# Small clean GUI hosts the tree programs are copies of, in rotation.
TREE_CLEAN_HOSTS = ("clean/tiny_gui.exe", "clean/gui_hello.exe", "clean/screensaver.scr",
                    "clean/gui_bss_last.exe")
SYMPTOMS = ("slowness", "event-7024", "event-7000", "sp-copy-errors", "flcss-service",
            "flcss-process", "stop-c000021a")
T0 = 1014940800  # 2002-03-01T00:00:00Z, the fixtures' reference time
EVENTLOG_6005 = 0x80001775  # EventLog "The Event log service was started" (information)
EVENTLOG_6006 = 0x80001776  # EventLog "The Event log service was stopped" (information)


@dataclass
class HostTree:
    root: str                 # corpus path of the volume root
    windows: str              # nt4 / w2k: which kernel and loader stand-ins
    system32: str             # path of System32 under the root, in the tree's own case
    config: str               # path of the config folder under the root
    hive_name: str
    evt_name: str
    programs: dict            # file name in System32 -> corpus path copied
    missing: tuple            # Q317218 programs deliberately absent
    control_sets: dict        # hive content
    events: list              # EvtRecord list
    computer: str
    how: str
    ntldr_patched: bool = False
    ntldr: str = ""           # loader/ folder to copy as NTLDR; default {windows}-clean / -patched
    # Issue 20: the $STANDARD_INFORMATION times ntfs_populate gives files of the tree when it is
    # put in an NTFS volume: path below the root -> (created, modified, accessed, mft_changed),
    # POSIX seconds. Files not named keep the time they were copied at (all four agree).
    ntfs_times: dict = field(default_factory=dict)


# Issue 20 (infection-model section 7a): the NT4 infected tree's history, as its NTFS image
# fixtures carry it. Programs were installed at ORIGINAL (all four times); FunLove first ran at
# T0 - 3600 (flcss.exe created), patched the kernel and NTLDR (write times not restored), then
# infected programs: their created/modified/accessed times restored to ORIGINAL, their MFT change
# time the infection; usermgr.exe a day later. The FLC key's last write is the hive builder's
# fixed time, T0 (windows_fixtures.FIXED_FILETIME).
NT4_ORIGINAL = 838382400  # 1996-07-26T12:00:00Z
NT4_DROPPER_CREATED = T0 - 3600
NT4_KERNEL_PATCHED = T0 - 3590
NT4_NTLDR_PATCHED = T0 - 3580
NT4_INFECTED_AT = {"calc.exe": T0 - 3500, "taskmgr.exe": T0 - 3440, "winlogon.exe": T0 - 3380,
                   "services.exe": T0 - 3320, "usermgr.exe": T0 + 86500}


def nt4_infected_times(system32: str, programs: dict) -> dict:
    times = {"NTLDR": (NT4_ORIGINAL, NT4_NTLDR_PATCHED, NT4_NTLDR_PATCHED, NT4_NTLDR_PATCHED)}
    for name in programs:
        path = f"{system32}/{name}"
        if name == "flcss.exe":
            times[path] = (NT4_DROPPER_CREATED,) * 4
        elif name == "ntoskrnl.exe":
            times[path] = (NT4_ORIGINAL, NT4_KERNEL_PATCHED, NT4_KERNEL_PATCHED, NT4_KERNEL_PATCHED)
        elif name in NT4_INFECTED_AT:
            times[path] = (NT4_ORIGINAL, NT4_ORIGINAL, NT4_ORIGINAL, NT4_INFECTED_AT[name])
        else:  # clean: times that agree
            times[path] = (NT4_ORIGINAL,) * 4
    return times


def iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _tree_services(spooler: str, pstore: str, flc: bool) -> dict:
    services = wf.ordinary_services()
    services["Spooler"] = wf.spooler_service(spooler)
    services["ProtectedStorage"] = wf.protected_storage_service(pstore)
    services["Messenger"] = {"Type": 0x20, "Start": 2, "ErrorControl": 1,
                             "ImagePath": wf.ExpandSz(r"%SystemRoot%\System32\services.exe"),
                             "ObjectName": "LocalSystem", "DisplayName": "Messenger"}
    if flc:
        services["FLC"] = wf.flc_service(r"%SystemRoot%\System32\flcss.exe")
    return services


def _tree_symptoms(c: Corpus, t: HostTree, hive: bytes, events: list) -> tuple[dict, dict]:
    """The Q317218 symptoms the tree shows offline, derived from what was put in it."""
    on_disk = {name.lower(): name for name in t.programs}

    def state(name: str) -> str | None:
        """Expected state of System32\<name> (names compared case-insensitively), None if absent."""
        actual = on_disk.get(name.lower())
        return c.entries[t.programs[actual]].expected if actual else None

    # Keyed by the name on disk, or the lower-case name when absent.
    programs = {on_disk.get(f"{p}.exe", f"{p}.exe"): state(f"{p}.exe") for p in Q317218_PROGRAMS}
    bad = {"infected", "damaged"}
    ps_7024 = any((r.event_id & 0xFFFF) == 7024 and r.source == wf.SCM_SOURCE
                  and r.strings[:2] == ["Protected Storage", "2148270091"] for r in events)
    spooler_7000 = any((r.event_id & 0xFFFF) == 7000 and r.source == wf.SCM_SOURCE
                       and r.strings[:2] == ["Spooler", "%%2"] for r in events)
    flc_service = any(name.upper() in ("FLC", "FLCSS")
                      or str(getattr(svc.get("ImagePath"), "text", "")).lower().endswith("flcss.exe")
                      for cs in t.control_sets.values() for name, svc in cs.items())
    assert flc_service == (b"f\0l\0c\0s\0s\0.\0e\0x\0e\0" in hive)
    critical = [state(name) for name in ("winlogon.exe", "csrss.exe")]
    kernel = state("ntoskrnl.exe")
    stop = any(s is None or s in bad for s in critical) or kernel == "kernel-patched" or t.ntldr_patched
    found = lambda flag: "found" if flag else "not-found"
    symptoms = {
        "slowness": "not-checkable-offline",
        "event-7024": found(ps_7024),
        "event-7000": found(spooler_7000),
        "sp-copy-errors": found(any(s in bad for s in programs.values())),
        "flcss-service": found(flc_service),
        "flcss-process": "not-checkable-offline",
        "stop-c000021a": found(stop),
    }
    return symptoms, programs


def _tree_timeline(c: Corpus, t: HostTree) -> dict:
    """Issue 20: the tree's NTFS times and, from them and the hive and log put in the tree, what
    its NTFS image's report must say: each file's infection time (MFT change later than the
    restored write time) and the installation's timeline in time order (then the kind order of
    scanner/host/timeline.h)."""
    if not t.ntfs_times:
        return {}
    kind_order = ["dropper-created", "service-key-written", "kernel-patched", "loader-patched",
                  "first-infected", "last-infected", "event-7024", "event-7000"]
    state = {path: c.entries[f"{t.root}/{path}"].expected for path in t.ntfs_times}
    infected_at = {path: times[3] for path, times in t.ntfs_times.items()
                   if state[path] in ("infected", "damaged") and times[3] > times[1] + 2}
    events = []
    for path, (created, modified, _accessed, _changed) in t.ntfs_times.items():
        if state[path] == "dropper":
            events.append((created, "dropper-created", path))
        elif state[path] in ("kernel-patched", "loader-patched"):
            events.append((modified, state[path], path))
    ordered = sorted(infected_at.items(), key=lambda item: item[1])
    if ordered:
        events.append((ordered[0][1], "first-infected", ordered[0][0]))
    if len(ordered) > 1:
        events.append((ordered[-1][1], "last-infected", ordered[-1][0]))
    key_time = wf.FIXED_FILETIME // 10_000_000 - 11644473600
    for number, services in sorted(t.control_sets.items()):
        if "FLC" in services:
            events.append((key_time, "service-key-written", f"{t.config}/{t.hive_name}"))
    for r in t.events:
        if (r.event_id & 0xFFFF) == 7024 and r.strings[:2] == ["Protected Storage", "2148270091"]:
            events.append((r.time_written, "event-7024", f"{t.config}/{t.evt_name}"))
        elif (r.event_id & 0xFFFF) == 7000 and r.strings[:2] == ["Spooler", "%%2"]:
            events.append((r.time_written, "event-7000", f"{t.config}/{t.evt_name}"))
    events.sort(key=lambda e: (e[0], kind_order.index(e[1])))
    days: dict = {}
    for when in infected_at.values():
        days[iso(when)[:10]] = days.get(iso(when)[:10], 0) + 1
    return {
        "ntfs_times": {path: dict(zip(("created", "modified", "accessed", "mft_changed"), map(iso, times)))
                       for path, times in sorted(t.ntfs_times.items())},
        "expected_infected_at": {path: iso(when) for path, when in sorted(infected_at.items())},
        "expected_timeline": [{"time": iso(when), "kind": kind, "path": path} for when, kind, path in events],
        "expected_spread": {"files": len(infected_at),
                            "first": iso(ordered[0][1]) if ordered else None,
                            "last": iso(ordered[-1][1]) if ordered else None,
                            "per_day": [{"day": d, "files": n} for d, n in sorted(days.items())],
                            "bursts": []},
    }


def add_windows_trees(c: Corpus, kernels: dict[str, str], loaders: dict[str, str]) -> None:
    """windows/: three offline volume trees (NTLDR, WINNT\\System32 with Q317218's 33 programs,
    the kernel, config\\SYSTEM and config\\SysEvent.Evt), each with its expected host verdict and
    Q317218 symptoms in the manifest's host_trees list."""
    def programs_for(infected: dict[str, str], casing=str.lower, skip=()) -> dict[str, str]:
        out = {}
        for i, name in enumerate(Q317218_PROGRAMS):
            if name in skip:
                continue
            out[casing(f"{name}.exe")] = infected.get(name, TREE_CLEAN_HOSTS[i % len(TREE_CLEAN_HOSTS)])
        return out

    # 1. NT4, infected: every kind of evidence Q317218 lists that an offline scan can see.
    nt4_infected = programs_for({
        "calc": "infected/gui_hello.exe", "taskmgr": "infected/gui_sections.exe",
        "winlogon": "infected/tiny_gui.exe", "services": "infected/screensaver.scr",
        "usermgr": "damaged/gui_hello_cut_0x300.exe",
    })
    nt4_infected.update({"pstores.exe": "clean/gui_hello.exe", "spoolss.exe": "clean/tiny_gui.exe",
                         "csrss.exe": "clean/tiny_gui.exe", "flcss.exe": "dropper/flcss.exe",
                         "ntoskrnl.exe": kernels["nt4-patched"]})
    pstores = r"%SystemRoot%\System32\pstores.exe"
    trees = [
        HostTree(
            root="windows/nt4-infected", windows="nt4", system32="WINNT/System32",
            config="WINNT/System32/config", hive_name="SYSTEM", evt_name="SysEvent.Evt",
            programs=nt4_infected, missing=(),
            control_sets={1: _tree_services(r"%SystemRoot%\System32\spoolss.exe", pstores, True),
                          2: _tree_services(r"%SystemRoot%\System32\spoolss.exe", pstores, True)},
            ntldr_patched=True,
            ntfs_times=nt4_infected_times("WINNT/System32", nt4_infected),
            events=[
                wf.EvtRecord(EVENTLOG_6005, source="EventLog", event_type=4, time_written=T0 - 800),
                wf.event_7024_protected_storage(T0),
                wf.event_7000("Spooler", T0 + 5),
                wf.event_7000("Messenger", T0 + 6, "%%1058"),
                wf.EvtRecord(EVENTLOG_6006, source="EventLog", event_type=4, time_written=T0 + 3600),
                wf.EvtRecord(EVENTLOG_6005, source="EventLog", event_type=4, time_written=T0 + 86000),
                wf.event_7024_protected_storage(T0 + 86400),
            ],
            computer="FLSCAN-NT4",
            how="NT4 volume infected as Q317218 describes: patched NTLDR and ntoskrnl.exe (stale "
                "checksum), flcss.exe dropper and the FLC service in both control sets, calc, taskmgr, "
                "winlogon and services infected, usermgr damaged, two 7024 Protected Storage "
                "2148270091 records and a 7000 Spooler %%2 record in SysEvent.Evt"),
    ]
    # 2. Windows 2000, clean, but with Q321454's Protected Storage event (corrupt PS data).
    w2k_programs = programs_for({})
    w2k_programs.update({"spoolsv.exe": "clean/gui_hello.exe", "csrss.exe": "clean/tiny_gui.exe",
                         "ntoskrnl.exe": kernels["w2k-legit-epilogue"]})
    lsass = r"%SystemRoot%\System32\lsass.exe"
    trees.append(HostTree(
        root="windows/q321454", windows="w2k", system32="WINNT/System32",
        config="WINNT/System32/config", hive_name="SYSTEM", evt_name="SysEvent.Evt",
        programs=w2k_programs, missing=(), ntldr="w2k-later-patched-looking",
        control_sets={1: _tree_services(r"%SystemRoot%\System32\spoolsv.exe", lsass, False),
                      2: _tree_services(r"%SystemRoot%\System32\spoolsv.exe", lsass, False)},
        events=[
            wf.EvtRecord(EVENTLOG_6005, source="EventLog", event_type=4, time_written=T0 - 800),
            wf.event_7024_protected_storage(T0),
            wf.event_7000("Messenger", T0 + 6, "%%1058"),
            wf.event_7000("Alerter", T0 + 7, "%%2"),
            wf.event_7024_protected_storage(T0 + 86400),
        ],
        computer="FLSCAN-W2K",
        how="Windows 2000 volume with no FunLove evidence (clean programs, kernel and NTLDR, no FLC "
            "service) whose SysEvent.Evt holds the 7024 Protected Storage 2148270091 event that "
            "Q321454 attributes to corrupt Protected Storage data; the only 7000 error-2 record is "
            "for Alerter; its clean ntoskrnl.exe and NTLDR each hold patched-looking bytes after the "
            "intact original (issue 12), which are not FunLove's patch"))
    # 3. NT4, clean, upper-case file names and a lower-case config folder as a mounted NTFS
    # volume may show them; nwconv.exe absent (not installed), which is no evidence.
    clean_programs = programs_for({}, casing=str.upper, skip=("nwconv",))
    clean_programs.update({"PSTORES.EXE": "clean/gui_hello.exe", "SPOOLSS.EXE": "clean/tiny_gui.exe",
                           "CSRSS.EXE": "clean/tiny_gui.exe", "ntoskrnl.exe": kernels["nt4-clean"]})
    trees.append(HostTree(
        root="windows/clean", windows="nt4", system32="WINNT/system32",
        config="WINNT/system32/CONFIG", hive_name="system", evt_name="SYSEVENT.EVT",
        programs=clean_programs, missing=("nwconv.exe",),
        control_sets={1: _tree_services(r"%SystemRoot%\System32\spoolss.exe", pstores, False),
                      2: _tree_services(r"%SystemRoot%\System32\spoolss.exe", pstores, False)},
        events=[
            wf.EvtRecord(EVENTLOG_6005, source="EventLog", event_type=4, time_written=T0 - 800),
            wf.event_7000("Messenger", T0 + 6, "%%1058"),
            wf.event_7000("Alerter", T0 + 7, "%%2"),
            wf.EvtRecord(EVENTLOG_6006, source="EventLog", event_type=4, time_written=T0 + 3600),
        ],
        computer="FLSCAN-NT4",
        how="NT4 volume with nothing to find: clean programs, kernel and NTLDR, no FLC service, no "
            "7024 or Spooler 7000 records; upper-case program names, a lower-case system32 and "
            "config\\system as a mounted volume may show them, and nwconv.exe not installed"))

    for t in trees:
        ntldr = loaders[t.ntldr or f"{t.windows}-{'patched' if t.ntldr_patched else 'clean'}"]
        c.copy(f"{t.root}/NTLDR", ntldr, f"{ntldr} copied to the volume root of {t.root}")
        for name in sorted(t.programs):
            of = t.programs[name]
            c.copy(f"{t.root}/{t.system32}/{name}", of, f"{of} copied into {t.root} as {t.system32}/{name}")
        hive = bytes(wf.build_system_hive(t.control_sets, current=1, last_known_good=2,
                                          computer_name=t.computer).data)
        c.add(f"{t.root}/{t.config}/{t.hive_name}", hive, "clean", "corpus/windows_fixtures.py",
              "SYSTEM registry hive (REGF) written by windows_fixtures.build_system_hive: "
              "ControlSet001 (Select\\Current 1) and ControlSet002 with services "
              + ", ".join(sorted(t.control_sets[1]))
              + f"; Control\\ComputerName\\ComputerName\\ComputerName {t.computer} in both")
        for record in t.events:
            record.computer = t.computer
        evt = bytes(wf.build_evt(t.events).data)
        c.add(f"{t.root}/{t.config}/{t.evt_name}", evt, "clean", "corpus/windows_fixtures.py",
              "System event log (EVT) written by windows_fixtures.build_evt with "
              + "; ".join(f"{r.event_id & 0xFFFF} {r.source} {' '.join(r.strings)}".strip()
                          for r in t.events))
        symptoms, programs = _tree_symptoms(c, t, hive, t.events)
        # FunLove evidence: the FLC service, or any file of the tree that is infected, damaged,
        # the dropper, or a patched kernel / loader (the symptoms above all follow from these).
        evidence = symptoms["flcss-service"] == "found" or any(
            c.entries[e].expected in ("infected", "damaged", "dropper", "kernel-patched", "loader-patched")
            for e in c.entries if e.startswith(t.root + "/"))
        verdict = ("q317218" if evidence else
                   "q321454" if symptoms["event-7024"] == "found" else "no-evidence")
        c.host_trees.append({
            "root": t.root, "windows_dir": "WINNT", "windows": t.windows,
            "system32": t.system32, "system_hive": f"{t.config}/{t.hive_name}",
            "event_log": f"{t.config}/{t.evt_name}",
            # The SYSTEM hive's ComputerName (a live report is joined by it, issue 17) and the
            # newest record of SysEvent.Evt (ISO 8601 UTC; live records after it are what it lacks).
            "computer_name": t.computer,
            "event_log_newest": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                              time.gmtime(max(r.time_written for r in t.events))),
            "expected_verdict": verdict, "symptoms": symptoms,
            "infected_programs": sorted(n for n, s in programs.items() if s == "infected"),
            "damaged_programs": sorted(n for n, s in programs.items() if s == "damaged"),
            "missing_programs": sorted(t.missing),
            **_tree_timeline(c, t),
            "how": t.how,
        })
        assert all(programs[m] is None for m in t.missing)
        assert sorted(n for n, s in programs.items() if s is None) == sorted(t.missing)
        assert set(SYMPTOMS) == set(symptoms)
    assert [t["expected_verdict"] for t in c.host_trees] == ["q317218", "q321454", "no-evidence"]


# ---------------------------------------------------------------------------------------------
# hives/: installations whose config/SYSTEM is no SYSTEM hive, one read in part, or one not closed
# cleanly (issue 12). Only the hive is there: what is checked is how flscan treats it.
# ---------------------------------------------------------------------------------------------
# (folder, windows_fixtures scenario, hive status, error prefix, verdict, exit code); "read" hives
# whose verdict is not no-evidence are read in part (partial-clean: a Services list hivex refuses;
# no-select-flc: no Select key).
HIVE_SAMPLES = (
    ("ntuser-as-system", "hive-ntuser", "error",
     "not a SYSTEM hive: no Select key and no ControlSetNNN key; root holds AppEvents, Console", "incomplete", 2),
    ("sam-as-system", "hive-sam", "error",
     "not a SYSTEM hive: no Select key and no ControlSetNNN key; root holds SAM", "incomplete", 2),
    ("security-as-system", "hive-security", "error",
     "not a SYSTEM hive: no Select key and no ControlSetNNN key; root holds Cache, Policy, RXACT, SAM",
     "incomplete", 2),
    ("no-control-set", "hive-no-control-set", "error",
     "not a SYSTEM hive: no ControlSetNNN key; root holds Select, Setup", "incomplete", 2),
    ("no-select", "hive-no-select-clean", "error",
     "not a SYSTEM hive: no Select key; root holds ControlSet001, Setup", "incomplete", 2),
    ("services-unreadable", "hive-services-unreadable", "error", "no readable control set", "incomplete", 2),
    ("partial-clean", "hive-partial-clean", "read", None, "incomplete", 2),
    ("no-select-flc", "hive-no-select-flc", "read", None, "q317218", 1),
    ("dirty", "hive-dirty", "read", None, "no-evidence", 0),
)


def add_hive_samples(c: Corpus) -> None:
    """hives/NAME/WINNT/system32/config/SYSTEM for each HIVE_SAMPLES entry, with what flscan must
    make of it in the manifest's hive_samples list."""
    for folder, scenario, status, error, verdict, exit_code in HIVE_SAMPLES:
        data = wf.SCENARIOS[scenario]()
        doc = " ".join((wf.SCENARIOS[scenario].__doc__ or "").split())
        path = f"hives/{folder}/WINNT/system32/config/SYSTEM"
        c.add(path, data, "clean", "corpus/windows_fixtures.py",
              f"registry hive written by windows_fixtures.py scenario {scenario}: {doc}")
        primary, secondary = struct.unpack_from("<II", data, 4)
        c.hive_samples.append({
            "root": f"hives/{folder}", "system_hive": path, "scenario": scenario,
            "hive_status": status, "error_prefix": error, "expected_verdict": verdict,
            "exit_code": exit_code, "dirty": primary != secondary,
            "partial": status == "read" and verdict != "no-evidence",
            "how": doc,
        })


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------
# Top-level names the corpus writes, and names CMake keeps in its binary directory for corpus/
# (which is also where the `corpus` target puts the corpus: ${CMAKE_BINARY_DIR}/corpus).
CORPUS_TOP = frozenset({
    "clean", "infected", "damaged", "remnant", "repaired", "inoculated", "dropper", "decoy",
    "kernel", "loader", "malformed", "demo", "windows", "hives", "manifest.json",
})
CMAKE_OWNED = frozenset({"CMakeFiles", "CTestTestfile.cmake", "cmake_install.cmake", "Makefile"})


def prepare_out_dir(out: Path) -> None:
    """Removes a previous corpus from `out`, leaving CMake's own files; refuses a directory that
    holds anything else, or corpus-like folders without a manifest of ours."""
    if not out.exists():
        out.mkdir(parents=True)
        return
    names = {entry.name for entry in out.iterdir()}
    unknown = sorted(names - CORPUS_TOP - CMAKE_OWNED)
    if unknown:
        sys.exit(f"build_corpus: {out} holds files the corpus did not write ({', '.join(unknown[:5])}); "
                 "refusing to clear it")
    ours = False
    manifest = out / "manifest.json"
    if manifest.is_file():
        try:
            ours = json.loads(manifest.read_text(encoding="utf-8")).get("generator") == GENERATOR
        except (ValueError, OSError):
            ours = False
    if names & CORPUS_TOP and not ours:
        sys.exit(f"build_corpus: {out} holds corpus-like folders but no manifest from {GENERATOR}; "
                 "refusing to clear it")
    for name in sorted(names & CORPUS_TOP):
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()


def write_corpus(c: Corpus, out: Path) -> None:
    assert {path.split("/", 1)[0] for path in c.entries} <= CORPUS_TOP
    for path in sorted(c.entries):
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(c.entries[path].data)
        os.chmod(target, 0o644)
    # The manifest is written last: the CMake target uses it as its output file.
    text = json.dumps(c.manifest(), indent=2) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    # Every file of the corpus is in the manifest, and nothing else is in the corpus folders.
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*")
               if p.is_file() and p.relative_to(out).parts[0] not in CMAKE_OWNED}
    expected = set(c.entries) | {"manifest.json"}
    assert on_disk == expected, sorted(on_disk ^ expected)


def build(out: Path, cc: str) -> Corpus:
    c = Corpus()
    with tempfile.TemporaryDirectory(prefix="flscan-corpus-") as scratch:
        programs = compile_programs(Path(scratch), cc)
    hosts = add_clean(c, programs)
    infections = add_infected(c, hosts)
    add_damaged(c, infections)
    add_remnants_and_repairs(c, infections)
    add_inoculated(c, hosts, infections)
    add_dropper(c)
    add_decoys(c, programs, hosts)
    kernels = add_kernels(c, programs)
    loaders = add_loaders(c)
    add_malformed(c, hosts, infections)
    add_demo(c, kernels, loaders)
    add_windows_trees(c, kernels, loaders)
    add_hive_samples(c)
    prepare_out_dir(out)
    write_corpus(c, out)
    return c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="directory to (re)create")
    parser.add_argument("--cc", default=DEFAULT_CC, help=f"the mingw-w64 i686 C compiler ({DEFAULT_CC})")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args()
    started = time.monotonic()
    c = build(args.out, args.cc)
    if not args.quiet:
        counts: dict[str, int] = {}
        for entry in c.entries.values():
            counts[entry.expected] = counts.get(entry.expected, 0) + 1
        summary = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
        print(f"build_corpus: {len(c.entries)} files in {args.out} ({summary}) "
              f"in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
