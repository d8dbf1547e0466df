#!/usr/bin/env python3
"""Translates signatures/funlove.ndb into the two YARA rule files the benchmark runs.

    python3 bench/ndb2yara.py            # rewrites bench/funlove_pe.yar and bench/funlove_offsets.yar
    python3 bench/ndb2yara.py --check    # exit 1 when they are not what the .ndb gives

It handles what the shipped set uses: targets 0 and 1, offsets `*`, `n`, `EOF-n`, `EP+n`, and hex
made of bytes, `??`, `{n}` and `*`. Anything else stops it with an error, so a new signature that
needs another construct cannot be translated silently wrong.

- funlove_pe.yar: the usual YARA style. Each signature's pieces are hex strings; anchored ones use
  `at` (EP via the pe module's `pe.entry_point`, EOF-n as `filesize - n`); a `*` becomes a second
  string that must start at or after the end of the first one's match.
- funlove_offsets.yar: no module. The entry point's file offset is computed from the headers by
  offsets (e_lfanew, AddressOfEntryPoint, the section table), and every anchored byte is compared
  with uint32be/uint16be/uint8 reads. Only the part after a `*` (which can be anywhere) needs a
  string; with the shipped set that is the Stub's code bytes.

Where the translation is not exact (bench/README.md, "YARA rules"):
- ClamAV's target 1 is "starts with MZ"; for offsets relative to the headers (EP, EOF-n) ClamAV
  also requires its PE parser to accept the file. funlove_pe.yar uses `pe.is_pe`, the offsets file
  a check of the PE signature at e_lfanew: close, not identical on malformed files.
- ClamAV maps the entry point with section raw sizes and rounds PointerToRawData to
  FileAlignment on odd files; the offsets rule maps it through the first section whose raw data
  holds it, without rounding; the pe module does its own mapping.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NDB = HERE.parent / "signatures" / "funlove.ndb"
OUT_PE = HERE / "funlove_pe.yar"
OUT_OFFSETS = HERE / "funlove_offsets.yar"


def tokens(hexsig: str) -> list:
    """[('b', int|None) ... ('skip', n) ... ('star',)]: bytes (None for ??), fixed jumps, stars."""
    out, i = [], 0
    while i < len(hexsig):
        c = hexsig[i]
        if c == "*":
            out.append(("star",))
            i += 1
        elif c == "{":
            j = hexsig.index("}", i)
            body = hexsig[i + 1:j]
            if not body.isdigit():
                raise SystemExit(f"ndb2yara: jump {{{body}}} is not supported (only {{n}})")
            out.append(("skip", int(body)))
            i = j + 1
        elif hexsig[i:i + 2] == "??":
            out.append(("b", None))
            i += 2
        elif re.fullmatch(r"[0-9a-fA-F]{2}", hexsig[i:i + 2]):
            out.append(("b", int(hexsig[i:i + 2], 16)))
            i += 2
        else:
            raise SystemExit(f"ndb2yara: unsupported hex construct at {hexsig[i:i + 8]!r}")
    return out


def parts(hexsig: str) -> list[list[int | None]]:
    """The pieces between `*`, each as a list of bytes (None = any byte)."""
    result, cur = [], []
    for t in tokens(hexsig):
        if t[0] == "star":
            result.append(cur)
            cur = []
        elif t[0] == "skip":
            cur.extend([None] * t[1])
        else:
            cur.append(t[1])
    result.append(cur)
    return result


def yara_hex(piece: list[int | None]) -> str:
    out, run = [], 0
    for b in piece:
        if b is None:
            run += 1
            continue
        if run:
            out.append(" ".join(["??"] * run) if run <= 4 else f"[{run}]")
            run = 0
        out.append(f"{b:02X}")
    if run:  # YARA hex strings may end with ?? but not with a jump
        out.append(" ".join(["??"] * run))
    return "{ " + " ".join(out) + " }"


def compare_at(piece: list[int | None], off: str) -> list[str]:
    """uint reads comparing the fixed bytes of piece at file offset expression off."""
    conds, i = [], 0
    while i < len(piece):
        if piece[i] is None:
            i += 1
            continue
        n = 0
        while i + n < len(piece) and piece[i + n] is not None and n < 4:
            n += 1
        if n == 3:
            n = 2
        value = int.from_bytes(bytes(piece[i:i + n]), "big")
        fn = {4: "uint32be", 2: "uint16be", 1: "uint8"}[n]
        if off.isdigit():
            where = str(int(off) + i)
        else:
            where = f"{off} + {i}" if i else off
        conds.append(f"{fn}({where}) == 0x{value:0{2 * n}X}")
        i += n
    return conds


# The entry point's file offset, by offsets: section i (of NumberOfSections) holds the entry
# point's RVA within its raw data; EP offset = RVA - VirtualAddress + PointerToRawData.
PE_HDR = "uint32(0x3C)"
SEC = f"({PE_HDR} + 24 + uint16({PE_HDR} + 20) + 40 * i)"
EP_RVA = f"uint32({PE_HDR} + 40)"
EP_IN_SECTION = (f"uint32({SEC} + 12) <= {EP_RVA} and "
                 f"{EP_RVA} - uint32({SEC} + 12) < uint32({SEC} + 16)")
EP_OFF = f"({EP_RVA} - uint32({SEC} + 12) + uint32({SEC} + 20))"
PE_OK = f"uint32({PE_HDR}) == 0x00004550"


def rule_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def translate(line: str, lineno: int) -> tuple[str, str]:
    fields = line.split(":")
    if len(fields) != 4:
        raise SystemExit(f"ndb2yara: line {lineno}: only Name:Target:Offset:Hex lines are supported")
    name, target, offset, hexsig = fields
    if target not in ("0", "1", "*"):
        raise SystemExit(f"ndb2yara: line {lineno}: target {target} is not supported")
    ps = parts(hexsig)
    head, rest = ps[0], ps[1:]
    mz = ["uint16(0) == 0x5A4D"] if target == "1" else []

    # (offset expression in the pe-module rule, in the offsets rule, extra conditions each)
    if offset == "*":
        kind = "any"
    elif offset.isdigit():
        kind, n = "abs", int(offset)
    elif offset.startswith("EOF-") and offset[4:].isdigit():
        kind, n = "eof", int(offset[4:])
    elif offset.startswith("EP+") and offset[3:].isdigit():
        kind, n = "ep", int(offset[3:])
        if target != "1":
            raise SystemExit(f"ndb2yara: line {lineno}: EP offsets need target 1")
    else:
        raise SystemExit(f"ndb2yara: line {lineno}: offset {offset} is not supported")

    rn = rule_name(name)
    header = f"// {name}:{target}:{offset}:{hexsig}\n// signatures/funlove.ndb line {lineno}\n"

    # --- pe module ---------------------------------------------------------------------------
    strings = [f"        $p0 = {yara_hex(head)}"] + [f"        $p{k + 1} = {yara_hex(p)}" for k, p in enumerate(rest)]
    cond = list(mz)
    if kind == "any":
        if rest:
            raise SystemExit(f"ndb2yara: line {lineno}: unanchored signatures with * are not supported")
        cond.append("$p0")
    else:
        if kind == "abs":
            where = str(n)
        elif kind == "eof":
            cond += ["pe.is_pe", f"filesize >= {n}"]
            where = f"filesize - {n}"
        else:
            cond.append("pe.is_pe")
            where = f"pe.entry_point + {n}" if n else "pe.entry_point"
        cond.append(f"$p0 at {where}")
        # A piece after a `*` starts at or after the end of the previous piece's match. With
        # one `*` (all the shipped set has) this is exact; with more, each piece is checked
        # against the first match of the one before, which can miss matches.
        prev_end = f"{where} + {len(head)}"
        for k in range(1, len(ps)):
            cond.append(f"for any k in (1..#p{k}): (@p{k}[k] >= {prev_end})")
            prev_end = f"@p{k}[1] + {len(ps[k])}"
    pe_rule = (header + f"rule {rn}\n{{\n    strings:\n" + "\n".join(strings) + "\n    condition:\n        "
               + "\n        and ".join(cond) + "\n}\n")

    # --- offsets only ------------------------------------------------------------------------
    cond = list(mz)
    ostrings = [f"        $p{k + 1} = {yara_hex(p)}" for k, p in enumerate(rest)]
    if kind == "any":
        ostrings = [f"        $p0 = {yara_hex(head)}"]
        cond.append("$p0")
    elif kind == "abs":
        cond += compare_at(head, str(n))
        prev_end = f"{n} + {len(head)}"
    elif kind == "eof":
        cond += [PE_OK, f"filesize >= {n}"] + compare_at(head, f"filesize - {n}")
        prev_end = f"filesize - {n} + {len(head)}"
    else:
        off = f"{EP_OFF} + {n}" if n else EP_OFF
        inner = [EP_IN_SECTION] + compare_at(head, off)
        for k in range(1, len(ps)):
            if k > 1:
                raise SystemExit(f"ndb2yara: line {lineno}: more than one * after EP is not supported")
            inner.append(f"for any k in (1..#p1): (@p1[k] >= {off} + {len(head)})")
        cond += [PE_OK, "for any i in (0..uint16(" + PE_HDR + " + 6) - 1): (\n            "
                 + "\n            and ".join(inner) + ")"]
        rest = []
    if kind in ("abs", "eof"):
        for k in range(1, len(ps)):
            cond.append(f"for any k in (1..#p{k}): (@p{k}[k] >= {prev_end})")
            prev_end = f"@p{k}[1] + {len(ps[k])}"
    off_rule = header + f"rule {rn}\n{{\n"
    if ostrings:
        off_rule += "    strings:\n" + "\n".join(ostrings) + "\n"
    off_rule += "    condition:\n        " + "\n        and ".join(cond) + "\n}\n"
    return pe_rule, off_rule


PREAMBLE = """// Generated by bench/ndb2yara.py from signatures/funlove.ndb: do not edit, rerun it.
// The flscan benchmark runs this with `yara -p N -r`; bench/README.md says where it differs
// from ClamAV's reading of the same signatures.
"""


def render() -> tuple[str, str]:
    pe_rules, off_rules = [], []
    for lineno, line in enumerate(NDB.read_text(encoding="ascii").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        a, b = translate(line.strip(), lineno)
        pe_rules.append(a)
        off_rules.append(b)
    pe = PREAMBLE + "// Variant: strings, with the pe module for the entry point.\n\nimport \"pe\"\n\n" + "\n".join(pe_rules)
    off = PREAMBLE + ("// Variant: no module; headers and anchored bytes read by offsets, one string for\n"
                      "// what a `*` lets float.\n\n") + "\n".join(off_rules)
    return pe, off


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    pe, off = render()
    if a.check:
        ok = OUT_PE.read_text() == pe and OUT_OFFSETS.read_text() == off
        if not ok:
            print("ndb2yara: bench/*.yar are out of date: run python3 bench/ndb2yara.py", file=sys.stderr)
        return 0 if ok else 1
    OUT_PE.write_text(pe)
    OUT_OFFSETS.write_text(off)
    return 0


if __name__ == "__main__":
    sys.exit(main())
