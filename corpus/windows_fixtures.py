#!/usr/bin/env python3
"""Real-format Windows host-evidence fixtures for flscan: a SYSTEM registry hive and a SysEvent.Evt.

Python 3 standard library only. Nothing here is Windows data: every byte is written from the
format descriptions below, so the files can be committed, regenerated and mutated freely.

Formats (cited by the comments in the code):
- REGF: libyal/libregf "Windows NT Registry File (REGF) format" -- 4096-byte base block with an
  XOR-32 checksum at 0x1FC, hive bins ("hbin", 4096-byte multiples), cells (int32 size, negative
  when allocated, 8-byte aligned) holding nk / vk / lf / lh / li / ri / sk records. hivex
  (lib/handle.c) additionally insists that every hbin is completely tiled by cells and that the
  root cell offset names an allocated nk cell.
- EVT: libyal/libevt "Windows Event Log (EVT) format" -- 0x30-byte header with signature "LfLe",
  EVENTLOGRECORDs (size, "LfLe", record number, times, event id, type, strings, source and
  computer names in UTF-16LE, size copy at the end) and the 0x28-byte end-of-file record
  (0x11111111 ... 0x44444444); the log is a ring over [0x30, max size).

Library API (corpus/build_corpus.py and the tests call these):
    write_system_hive(path, control_sets, current=1, *, default=None, last_known_good=None,
                      failed=None, extra_root_keys=None, minor_version=3)
    build_system_hive(...) -> HiveImage           # bytes + where each cell went, for mutations
    write_evt(path, records, *, dirty=False, max_size=0x10000, wrap=False, ...)
    build_evt(...) -> EvtImage
    write_hostile_hive(path, kind) / write_hostile_evt(path, kind)   # kinds: HOSTILE_*_KINDS
    write_scenario(name, path) / SCENARIOS           # the fixtures the C++ tests use
Values in control_sets: int -> REG_DWORD, str -> REG_SZ, ExpandSz(str) -> REG_EXPAND_SZ,
bytes -> REG_BINARY, MultiSz([...]) -> REG_MULTI_SZ, RawValue(type, bytes) -> anything;
a dict -> a subkey.

CLI:
    windows_fixtures.py list
    windows_fixtures.py scenario NAME OUT
    windows_fixtures.py all OUTDIR
    windows_fixtures.py hive --json SPEC.json OUT      # {"control_sets": {"1": {...}}, "current": 1}
    windows_fixtures.py evt --json SPEC.json OUT       # {"records": [{...}], "dirty": false}
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import struct
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

# --------------------------------------------------------------------------------------------
# Registry value types (winnt.h REG_*).
REG_NONE = 0
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_DWORD_BIG_ENDIAN = 5
REG_LINK = 6
REG_MULTI_SZ = 7
REG_QWORD = 11

# A fixed FILETIME (2002-03-01 00:00:00 UTC, the week of Q317218's last revision) so output is reproducible.
FIXED_FILETIME = (1014940800 + 11644473600) * 10_000_000

HBIN_SIZE = 0x1000
BASE_BLOCK_SIZE = 0x1000
NO_OFFSET = 0xFFFFFFFF


@dataclasses.dataclass(frozen=True)
class ExpandSz:
    """A REG_EXPAND_SZ value (how CreateService stores ImagePath)."""
    text: str


@dataclasses.dataclass(frozen=True)
class MultiSz:
    strings: Tuple[str, ...]

    def __init__(self, strings):
        object.__setattr__(self, "strings", tuple(strings))


@dataclasses.dataclass(frozen=True)
class RawValue:
    """Any type with exact data bytes: odd-length UTF-16, missing terminators, wrong types."""
    type: int
    data: bytes


def utf16z(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\x00\x00"


def encode_value(value: Any) -> Tuple[int, bytes]:
    """(REG_* type, data bytes) for a Python value."""
    if isinstance(value, RawValue):
        return value.type, bytes(value.data)
    if isinstance(value, bool):
        return REG_DWORD, struct.pack("<I", int(value))
    if isinstance(value, int):
        return REG_DWORD, struct.pack("<I", value & 0xFFFFFFFF)
    if isinstance(value, ExpandSz):
        return REG_EXPAND_SZ, utf16z(value.text)
    if isinstance(value, str):
        return REG_SZ, utf16z(value)
    if isinstance(value, MultiSz):
        return REG_MULTI_SZ, b"".join(utf16z(s) for s in value.strings) + b"\x00\x00"
    if isinstance(value, (bytes, bytearray)):
        return REG_BINARY, bytes(value)
    raise TypeError(f"cannot store {type(value).__name__} in a registry value")


@dataclasses.dataclass
class Key:
    """One registry key: ordered values and subkeys."""
    name: str
    values: Dict[str, Any] = dataclasses.field(default_factory=dict)
    subkeys: List["Key"] = dataclasses.field(default_factory=list)

    @staticmethod
    def from_dict(name: str, content: Dict[str, Any]) -> "Key":
        key = Key(name)
        for item_name, item in content.items():
            if isinstance(item, dict):
                key.subkeys.append(Key.from_dict(item_name, item))
            else:
                key.values[item_name] = item
        return key


def _is_ascii(text: str) -> bool:
    return all(ord(c) < 0x80 for c in text)


def _encode_name(text: str) -> Tuple[bytes, bool]:
    """(name bytes, compressed?) -- ASCII names are stored compressed (nk flag 0x20, vk flag 1)."""
    if _is_ascii(text):
        return text.encode("ascii"), True
    return text.encode("utf-16-le"), False


def _lh_hash(name: str) -> int:
    # libregf "LH sub key hash algorithm": h = h * 37 + upper(c) per UTF-16 code unit, mod 2^32.
    value = 0
    for unit in struct.unpack(f"<{len(name.encode('utf-16-le')) // 2}H", name.encode("utf-16-le")):
        value = (value * 37 + ord(chr(unit).upper()[0])) & 0xFFFFFFFF
    return value


def _lf_hint(name: str) -> bytes:
    # "lf" (NT4, hive 1.3): the hint is the first four characters of the name, zero padded.
    return (name.encode("ascii", "replace")[:4]).ljust(4, b"\x00")


def _security_descriptor() -> bytes:
    """Self-relative SECURITY_DESCRIPTOR: owner Administrators, group SYSTEM, DACL Everyone:F."""
    def sid(authority: int, *subs: int) -> bytes:
        return struct.pack("<BB", 1, len(subs)) + authority.to_bytes(6, "big") + b"".join(
            struct.pack("<I", s) for s in subs)

    owner = sid(5, 32, 544)
    group = sid(5, 18)
    everyone = sid(1, 0)
    ace = struct.pack("<BBHI", 0, 0, 8 + len(everyone), 0x000F003F) + everyone  # ACCESS_ALLOWED, KEY_ALL_ACCESS
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(ace), 1, 0) + ace
    header_len = 20
    owner_off = header_len
    group_off = owner_off + len(owner)
    dacl_off = group_off + len(group)
    control = 0x8004  # SE_SELF_RELATIVE | SE_DACL_PRESENT
    header = struct.pack("<BBHIIII", 1, 0, control, owner_off, group_off, 0, dacl_off)
    return header + owner + group + acl


class _CellAllocator:
    """Lays cells out in hive bins. Offsets are relative to the first hbin (REGF convention)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.bin_start = 0
        self.used = 0

    def _new_bin(self, min_size: int) -> None:
        self._close_bin()
        size = HBIN_SIZE
        while size - 0x20 < min_size:
            size += HBIN_SIZE
        self.bin_start = len(self.data)
        header = b"hbin" + struct.pack("<III", self.bin_start, size, 0) + struct.pack("<I", 0)
        header += struct.pack("<Q", FIXED_FILETIME if self.bin_start == 0 else 0) + struct.pack("<I", 0)
        assert len(header) == 0x20
        self.data += header + bytes(size - 0x20)
        self.used = 0x20

    def _close_bin(self) -> None:
        # hivex requires every hbin to be tiled by cells: the remainder becomes one free cell.
        if not self.data:
            return
        bin_size = struct.unpack_from("<I", self.data, self.bin_start + 8)[0]
        rest = bin_size - self.used
        if rest > 0:
            struct.pack_into("<i", self.data, self.bin_start + self.used, rest)
            self.used = bin_size

    def alloc(self, payload_len: int) -> int:
        cell_len = (4 + payload_len + 7) & ~7
        if cell_len < 8:
            cell_len = 8
        if not self.data:
            self._new_bin(cell_len)
        bin_size = struct.unpack_from("<I", self.data, self.bin_start + 8)[0]
        if self.used + cell_len > bin_size:
            self._new_bin(cell_len)
        offset = self.bin_start + self.used
        struct.pack_into("<i", self.data, offset, -cell_len)
        self.used += cell_len
        return offset

    def write(self, offset: int, payload: bytes) -> None:
        self.data[offset + 4:offset + 4 + len(payload)] = payload

    def finish(self) -> bytes:
        self._close_bin()
        return bytes(self.data)


@dataclasses.dataclass
class HiveImage:
    """A built hive and where its cells are, for hostile mutations.

    `cells` maps labels to *file* offsets of the cell's size field (hbin-relative + 0x1000):
    "nk:<path>", "subkeys:<path>", "values:<path>", "vk:<path>\\<value>", "data:<path>\\<value>",
    "sk". Paths are backslash-joined key names below the root ("" is the root).
    """
    data: bytearray
    cells: Dict[str, int]

    def fix_checksum(self) -> None:
        struct.pack_into("<I", self.data, 0x1FC, regf_checksum(self.data))

    def rel(self, label: str) -> int:
        """The hbin-relative offset of a cell, as stored in REGF offset fields."""
        return self.cells[label] - BASE_BLOCK_SIZE


def regf_checksum(data: bytes) -> int:
    # REGF base block: XOR-32 of the first 508 bytes; Windows maps 0 -> 1 and ~0 -> ~0 - 1.
    value = 0
    for (dword,) in struct.iter_unpack("<I", bytes(data[:0x1FC])):
        value ^= dword
    if value == 0xFFFFFFFF:
        value = 0xFFFFFFFE
    elif value == 0:
        value = 1
    return value


def build_hive(root: Key, *, minor_version: int = 3, file_name: str = "SYSTEM") -> HiveImage:
    """Serialises a key tree into a complete REGF file."""
    alloc = _CellAllocator()
    cells: Dict[str, int] = {}

    keys: List[Tuple[str, Key, int]] = []  # (path, key, parent path index)

    def collect(path: str, key: Key, parent: int) -> None:
        index = len(keys)
        keys.append((path, key, parent))
        for sub in key.subkeys:
            collect(f"{path}\\{sub.name}" if path else sub.name, sub, index)

    collect("", root, -1)

    # One shared sk cell, allocated first so that the root key is not at offset 0x20 -- it does
    # not matter to readers, but it keeps offsets non-trivial.
    sd = _security_descriptor()
    sk_off = alloc.alloc(2 + 2 + 4 + 4 + 4 + 4 + len(sd))
    cells["sk"] = sk_off

    nk_offsets: List[int] = []
    for path, key, _ in keys:
        name_bytes, _compressed = _encode_name(key.name)
        nk_offsets.append(alloc.alloc(0x4C + len(name_bytes)))
        cells[f"nk:{path}"] = nk_offsets[-1]

    for index, (path, key, parent) in enumerate(keys):
        name_bytes, compressed = _encode_name(key.name)
        # Subkey list. Windows keeps lists sorted by upper-cased name.
        children = sorted(
            [(i, k) for i, (p, k, par) in enumerate(keys) if par == index],
            key=lambda item: item[1].name.upper())
        subkeys_off = NO_OFFSET
        if children:
            if minor_version >= 5:
                entries = b"".join(struct.pack("<II", nk_offsets[i], _lh_hash(k.name)) for i, k in children)
                payload = b"lh" + struct.pack("<H", len(children)) + entries
            else:
                entries = b"".join(struct.pack("<I", nk_offsets[i]) + _lf_hint(k.name) for i, k in children)
                payload = b"lf" + struct.pack("<H", len(children)) + entries
            list_off = alloc.alloc(len(payload))
            alloc.write(list_off, payload)
            cells[f"subkeys:{path}"] = list_off
            subkeys_off = list_off
        # Values.
        value_offsets: List[int] = []
        largest_value_name = 0
        largest_value_data = 0
        for value_name, value in key.values.items():
            value_type, data = encode_value(value)
            vname, vcompressed = _encode_name(value_name)
            largest_value_name = max(largest_value_name, len(value_name))
            largest_value_data = max(largest_value_data, len(data))
            vk_off = alloc.alloc(0x14 + len(vname))
            vpath = f"{path}\\{value_name}"
            cells[f"vk:{vpath}"] = vk_off
            if len(data) <= 4:
                # Inline data: size with the top bit set, data in the offset field.
                size_field = 0x80000000 | len(data)
                data_field = struct.unpack("<I", data.ljust(4, b"\x00"))[0]
            else:
                data_off = alloc.alloc(len(data))
                alloc.write(data_off, data)
                cells[f"data:{vpath}"] = data_off
                size_field = len(data)
                data_field = data_off
            vk = b"vk" + struct.pack("<HIIIHH", len(vname), size_field, data_field, value_type,
                                     1 if vcompressed else 0, 0) + vname
            alloc.write(vk_off, vk)
            value_offsets.append(vk_off)
        values_off = NO_OFFSET
        if value_offsets:
            values_off = alloc.alloc(4 * len(value_offsets))
            alloc.write(values_off, b"".join(struct.pack("<I", o) for o in value_offsets))
            cells[f"values:{path}"] = values_off
        flags = 0x0020 if compressed else 0
        if parent < 0:
            flags |= 0x0004 | 0x0008  # KEY_HIVE_ENTRY | KEY_NO_DELETE
        largest_subkey_name = max((len(k.name) * 2 for _, k in children), default=0)
        nk = b"nk" + struct.pack(
            "<HQ15IHH",
            flags, FIXED_FILETIME, 0,
            nk_offsets[parent] if parent >= 0 else 0,
            len(children), 0, subkeys_off, NO_OFFSET,
            len(value_offsets), values_off, sk_off, NO_OFFSET,
            largest_subkey_name, 0, largest_value_name * 2, largest_value_data, 0,
            len(name_bytes), 0) + name_bytes
        assert len(nk) == 0x4C + len(name_bytes)
        alloc.write(nk_offsets[index], nk)

    sk = b"sk" + struct.pack("<HIIII", 0, sk_off, sk_off, len(keys), len(sd)) + sd
    alloc.write(sk_off, sk)

    bins = alloc.finish()
    header = bytearray(BASE_BLOCK_SIZE)
    struct.pack_into("<4sIIQIIIIIII", header, 0, b"regf", 1, 1, FIXED_FILETIME, 1, minor_version,
                     0, 1, nk_offsets[0], len(bins), 1)
    name16 = file_name.encode("utf-16-le")[:62]
    header[0x30:0x30 + len(name16)] = name16
    image = HiveImage(bytearray(header) + bytearray(bins),
                      {label: off + BASE_BLOCK_SIZE for label, off in cells.items()})
    image.fix_checksum()
    return image


def _control_set_key(number: int, content: Dict[str, Any], computer_name: Optional[str] = None) -> Key:
    """ControlSetNNN with Services\\<name> for each service in content (plus Control, and with
    computer_name Control\\ComputerName\\ComputerName, value ComputerName, as setup writes it)."""
    services = Key.from_dict("Services", content)
    control = Key("Control", subkeys=[Key("ServiceGroupOrder", {"List": MultiSz(["Base", "Extended base"])})])
    if computer_name is not None:
        control.subkeys.append(Key("ComputerName", subkeys=[
            Key("ComputerName", {"ComputerName": computer_name})]))
    return Key(f"ControlSet{number:03d}", subkeys=[control, services])


def build_system_hive(control_sets: Dict[int, Dict[str, Any]], current: Optional[int] = 1, *,
                      default: Optional[int] = None, last_known_good: Optional[int] = None,
                      failed: Optional[int] = 0, extra_root_keys: Optional[Dict[str, Any]] = None,
                      minor_version: int = 3, select: bool = True,
                      computer_name: Union[None, str, Dict[int, str]] = None) -> HiveImage:
    """A SYSTEM hive: ControlSetNNN\\Services\\<service> for each entry, and Select.

    control_sets: {number: {service name: {value name: value, subkey name: {...}}}}.
    current / default / last_known_good / failed: the Select values (None leaves one out).
    computer_name: the ComputerName value of every control set, or {number: name} per set (None,
    or a set missing from the dict: no ComputerName key).
    """
    root = Key("CMI-CreateHive{2A7FB991-7BBE-4F9D-B91E-7CB51D4737F5}")
    for number in sorted(control_sets):
        name = computer_name.get(int(number)) if isinstance(computer_name, dict) else computer_name
        root.subkeys.append(_control_set_key(int(number), control_sets[number], name))
    if select:
        values: Dict[str, Any] = {}
        if current is not None:
            values["Current"] = current
        chosen_default = default if default is not None else current
        if chosen_default is not None:
            values["Default"] = chosen_default
        if failed is not None:
            values["Failed"] = failed
        chosen_lkg = last_known_good if last_known_good is not None else current
        if chosen_lkg is not None:
            values["LastKnownGood"] = chosen_lkg
        root.subkeys.append(Key("Select", values))
    root.subkeys.append(Key("Setup", {"SystemSetupInProgress": 0}))
    for name, content in (extra_root_keys or {}).items():
        root.subkeys.append(Key.from_dict(name, content))
    return build_hive(root, minor_version=minor_version)


def write_system_hive(path, control_sets: Dict[int, Dict[str, Any]], current: Optional[int] = 1,
                      **kwargs) -> Path:
    """Writes a SYSTEM hive (see build_system_hive) to path and returns the path."""
    image = build_system_hive(control_sets, current, **kwargs)
    out = Path(path)
    out.write_bytes(bytes(image.data))
    return out


# Typical service entries (values as CreateService and NT4/2000 setup write them). ------------
def flc_service(image_path: str = r"%SystemRoot%\System32\flcss.exe", display_name: str = "FLC") -> Dict[str, Any]:
    """FunLove's service as the virus creates it (infection-model section 6)."""
    return {"Type": 0x20, "Start": 2, "ErrorControl": 1, "ImagePath": ExpandSz(image_path),
            "ObjectName": "LocalSystem", "DisplayName": display_name}


def spooler_service(image_path: str = r"%SystemRoot%\system32\spoolsv.exe") -> Dict[str, Any]:
    return {"Type": 0x110, "Start": 2, "ErrorControl": 1, "ImagePath": ExpandSz(image_path),
            "ObjectName": "LocalSystem", "DisplayName": "Print Spooler",
            "DependOnService": MultiSz(["RPCSS"]), "Group": "SpoolerGroup"}


def protected_storage_service(image_path: str = r"%SystemRoot%\system32\lsass.exe") -> Dict[str, Any]:
    return {"Type": 0x20, "Start": 2, "ErrorControl": 1, "ImagePath": ExpandSz(image_path),
            "ObjectName": "LocalSystem", "DisplayName": "Protected Storage"}


def ordinary_services() -> Dict[str, Any]:
    return {
        "EventLog": {"Type": 0x20, "Start": 2, "ErrorControl": 1,
                     "ImagePath": ExpandSz(r"%SystemRoot%\system32\services.exe"),
                     "ObjectName": "LocalSystem", "DisplayName": "Event Log"},
        "Spooler": spooler_service(),
        "ProtectedStorage": protected_storage_service(),
        "Tcpip": {"Type": 1, "Start": 1, "ErrorControl": 1,
                  "ImagePath": ExpandSz(r"system32\DRIVERS\tcpip.sys"), "DisplayName": "TCP/IP Protocol Driver",
                  "Parameters": {"EnableDHCP": 1}},
    }


# --------------------------------------------------------------------------------------------
# EVT
EVT_HEADER_SIZE = 0x30
EVT_EOF_SIZE = 0x28
EVENTLOG_ERROR_TYPE = 1
EVENT_ID_7024 = 0xC0001B70  # Service Control Manager 7024 with severity bits (infection-model 8)
EVENT_ID_7000 = 0xC0001B58
SCM_SOURCE = "Service Control Manager"
ELF_LOGFILE_HEADER_DIRTY = 0x1
ELF_LOGFILE_HEADER_WRAP = 0x2


@dataclasses.dataclass
class EvtRecord:
    event_id: int
    source: str = SCM_SOURCE
    strings: List[str] = dataclasses.field(default_factory=list)
    time_written: int = 1014940800
    time_generated: Optional[int] = None
    computer: str = "FLSCAN-NT4"
    event_type: int = EVENTLOG_ERROR_TYPE
    category: int = 0
    data: bytes = b""
    record_number: Optional[int] = None

    @staticmethod
    def from_dict(spec: Dict[str, Any]) -> "EvtRecord":
        fields = {f.name for f in dataclasses.fields(EvtRecord)}
        unknown = set(spec) - fields
        if unknown:
            raise ValueError(f"unknown EVT record fields: {sorted(unknown)}")
        spec = dict(spec)
        if "data" in spec and isinstance(spec["data"], str):
            spec["data"] = bytes.fromhex(spec["data"])
        return EvtRecord(**spec)


def event_7024_protected_storage(time_written: int, error: str = "2148270091") -> EvtRecord:
    """Q317218 / Q321454: 'The Protected Storage service terminated with service-specific error'."""
    return EvtRecord(EVENT_ID_7024, strings=["Protected Storage", error], time_written=time_written)


def event_7000(service: str, time_written: int, error: str = "%%2") -> EvtRecord:
    """'The <service> service failed to start due to the following error: %%2' (file not found)."""
    return EvtRecord(EVENT_ID_7000, strings=[service, error], time_written=time_written)


def encode_evt_record(record: EvtRecord, record_number: int) -> bytes:
    """One EVENTLOGRECORD (libevt EVT format, "Event record"), 4-byte aligned, size at both ends."""
    source = utf16z(record.source)
    computer = utf16z(record.computer)
    names = source + computer
    # The SID (none here) would follow the names 4-byte aligned; strings come next.
    strings_offset = 0x38 + len(names)
    strings_offset = (strings_offset + 3) & ~3
    strings = b"".join(utf16z(s) for s in record.strings)
    data_offset = strings_offset + len(strings)
    body_len = data_offset + len(record.data)
    padded = (body_len + 4 + 3) & ~3
    generated = record.time_generated if record.time_generated is not None else record.time_written
    header = struct.pack(
        "<I4sIIIIHHHHIIIIII",
        padded, b"LfLe", record_number, generated & 0xFFFFFFFF, record.time_written & 0xFFFFFFFF,
        record.event_id & 0xFFFFFFFF, record.event_type, len(record.strings), record.category, 0,
        0, strings_offset, 0, 0, len(record.data), data_offset)
    assert len(header) == 0x38
    out = bytearray(header + names)
    out += bytes(strings_offset - len(out))
    out += strings + record.data
    out += bytes(padded - 4 - len(out))
    out += struct.pack("<I", padded)
    assert len(out) == padded
    return bytes(out)


@dataclasses.dataclass
class EvtImage:
    data: bytearray
    record_offsets: List[int]     # file offset of each record's size field
    eof_offset: int
    first_offset: int


def _evt_header(first_offset: int, eof_offset: int, next_number: int, oldest_number: int,
                max_size: int, flags: int, retention: int = 0x93A80) -> bytes:
    return struct.pack("<I4sIIIIIIIIII", EVT_HEADER_SIZE, b"LfLe", 1, 1, first_offset, eof_offset,
                       next_number, oldest_number, max_size, flags, retention, EVT_HEADER_SIZE)


def build_evt(records: List[EvtRecord], *, dirty: bool = False, max_size: int = 0x10000,
              wrap: bool = False, first_record_number: int = 1,
              first_offset: Optional[int] = None) -> EvtImage:
    """An EVT log: header, the records in order, the end-of-file record, zero fill to max_size.

    wrap=True writes the records into the ring so that one of them straddles the end of the file
    and continues at 0x30 (ELF_LOGFILE_HEADER_WRAP is then set), as a full log does.
    """
    encoded = [encode_evt_record(r, r.record_number if r.record_number is not None
                                 else first_record_number + i) for i, r in enumerate(records)]
    total = sum(len(e) for e in encoded) + EVT_EOF_SIZE
    ring = max_size - EVT_HEADER_SIZE
    if total > ring:
        raise ValueError(f"records need {total} bytes, the ring holds {ring}: raise max_size")
    if first_offset is None:
        if wrap:
            # Start so that the middle record crosses the end of the file.
            if len(encoded) < 2:
                raise ValueError("wrap needs at least two records")
            before = sum(len(e) for e in encoded[: len(encoded) // 2])
            first_offset = max_size - before - len(encoded[len(encoded) // 2]) // 2
            first_offset &= ~3
        else:
            first_offset = EVT_HEADER_SIZE
    data = bytearray(max_size)

    def ring_write(offset: int, payload: bytes) -> int:
        for byte in payload:
            data[offset] = byte
            offset += 1
            if offset == max_size:
                offset = EVT_HEADER_SIZE
        return offset

    offsets = []
    cursor = first_offset
    for blob in encoded:
        offsets.append(cursor)
        cursor = ring_write(cursor, blob)
    eof_offset = cursor
    numbers = [struct.unpack_from("<I", e, 8)[0] for e in encoded]
    next_number = (numbers[-1] + 1) if numbers else first_record_number
    oldest = numbers[0] if numbers else first_record_number
    eof = struct.pack("<IIIIIIIIII", EVT_EOF_SIZE, 0x11111111, 0x22222222, 0x33333333, 0x44444444,
                      first_offset, eof_offset, next_number, oldest, EVT_EOF_SIZE)
    ring_write(eof_offset, eof)
    flags = (ELF_LOGFILE_HEADER_DIRTY if dirty else 0) | (ELF_LOGFILE_HEADER_WRAP if wrap else 0)
    data[0:EVT_HEADER_SIZE] = _evt_header(first_offset, eof_offset, next_number, oldest, max_size, flags)
    return EvtImage(data, offsets, eof_offset, first_offset)


def write_evt(path, records: List[Any], **kwargs) -> Path:
    """Writes an EVT log; records are EvtRecord or dicts of EvtRecord fields."""
    recs = [r if isinstance(r, EvtRecord) else EvtRecord.from_dict(r) for r in records]
    image = build_evt(recs, **kwargs)
    out = Path(path)
    out.write_bytes(bytes(image.data))
    return out


# --------------------------------------------------------------------------------------------
# Hostile variants. Each returns the bytes of a file that a careful reader must survive.
def _infected_hive() -> HiveImage:
    services = ordinary_services()
    services["FLC"] = flc_service()
    return build_system_hive({1: services, 2: ordinary_services()}, current=1)


def _patch_u32(image: HiveImage, file_offset: int, value: int, fix: bool = True) -> bytes:
    struct.pack_into("<I", image.data, file_offset, value & 0xFFFFFFFF)
    if fix:
        image.fix_checksum()
    return bytes(image.data)


def _hostile_hive_truncated() -> bytes:
    # Cut in the middle of the last hive bin: that hbin now extends past the end of the file.
    data = _infected_hive().data
    return bytes(data[: len(data) - HBIN_SIZE // 2 - 123])


def _hostile_hive_truncated_at_bin() -> bytes:
    # Cut cleanly after the first hive bin: the header still declares all of them, keys that
    # lived in the lost bins are dangling offsets.
    return bytes(_infected_hive().data[: BASE_BLOCK_SIZE + HBIN_SIZE])


def _hostile_hive_header_only() -> bytes:
    return bytes(_infected_hive().data[:BASE_BLOCK_SIZE])


def _hostile_hive_bad_checksum() -> bytes:
    image = _infected_hive()
    struct.pack_into("<I", image.data, 0x1FC, regf_checksum(image.data) ^ 0x5A5A5A5A)
    return bytes(image.data)


def _hostile_hive_garbage() -> bytes:
    # A valid base block followed by pseudo-random bytes instead of hive bins.
    image = _infected_hive()
    state = 0x1234567
    out = bytearray(image.data[:BASE_BLOCK_SIZE])
    for _ in range(len(image.data) - BASE_BLOCK_SIZE):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(state >> 16 & 0xFF)
    return bytes(out)


def _hostile_hive_root_offset_wrong() -> bytes:
    image = _infected_hive()
    return _patch_u32(image, 0x24, image.rel("nk:Select") + 8)  # into the middle of a cell


def _hostile_hive_root_offset_huge() -> bytes:
    image = _infected_hive()
    return _patch_u32(image, 0x24, 0xFFFFFFF0)


def _hostile_hive_bins_size_huge() -> bytes:
    image = _infected_hive()
    return _patch_u32(image, 0x28, 0x7FFFF000)


def _hostile_hive_cell_size_odd() -> bytes:
    # A cell whose size is not a multiple of 4 (hivex: "invalid size, bad registry").
    image = _infected_hive()
    off = image.cells["nk:ControlSet001\\Services\\FLC"]
    return _patch_u32(image, off, (-0x55) & 0xFFFFFFFF)


def _hostile_hive_cell_size_overruns_bin() -> bytes:
    image = _infected_hive()
    off = image.cells["nk:ControlSet001\\Services"]
    return _patch_u32(image, off, (-0x7FFFFFF8) & 0xFFFFFFFF)


def _hostile_hive_hbin_size_wrong() -> bytes:
    image = _infected_hive()
    return _patch_u32(image, BASE_BLOCK_SIZE + 8, 0x123)


def _hostile_hive_subkey_count_absurd() -> bytes:
    image = _infected_hive()
    off = image.cells["nk:ControlSet001\\Services"]
    return _patch_u32(image, off + 4 + 0x14, 0xFFFFFFFF)


def _hostile_hive_subkey_count_mismatch() -> bytes:
    # nk says 20000 children (below hivex's cap), the lf list says 5.
    image = _infected_hive()
    off = image.cells["nk:ControlSet001\\Services"]
    return _patch_u32(image, off + 4 + 0x14, 20000)


def _hostile_hive_lf_count_absurd() -> bytes:
    image = _infected_hive()
    off = image.cells["subkeys:ControlSet001\\Services"]
    struct.pack_into("<H", image.data, off + 4 + 2, 0xFFFF)
    image.fix_checksum()
    return bytes(image.data)


def _hostile_hive_subkey_list_wrong_offset() -> bytes:
    image = _infected_hive()
    off = image.cells["nk:ControlSet001\\Services"]
    return _patch_u32(image, off + 4 + 0x1C, image.rel("nk:ControlSet001\\Services") + 12)


def _hostile_hive_subkey_points_to_vk() -> bytes:
    image = _infected_hive()
    off = image.cells["subkeys:ControlSet001\\Services"]
    return _patch_u32(image, off + 4 + 4, image.rel("vk:Select\\Current"))


def _hostile_hive_loop_services_is_own_child() -> bytes:
    # Services' first subkey entry points back at ControlSet001 (a cycle in the key tree).
    image = _infected_hive()
    off = image.cells["subkeys:ControlSet001\\Services"]
    return _patch_u32(image, off + 4 + 4, image.rel("nk:ControlSet001"))


def _hostile_hive_loop_root_in_services() -> bytes:
    image = _infected_hive()
    # Services lists itself first and the root last (FLC, in the middle, stays in place).
    off = image.cells["subkeys:ControlSet001\\Services"]
    count = struct.unpack_from("<H", image.data, off + 4 + 2)[0]
    struct.pack_into("<I", image.data, off + 4 + 4 + 8 * (count - 1), image.rel("nk:"))
    return _patch_u32(image, off + 4 + 4, image.rel("nk:ControlSet001\\Services"))


def _hostile_hive_ri_self_loop() -> bytes:
    # Turn Services' lf list into an "ri" list whose entries point at itself (CVE-2021-3622 shape).
    image = _infected_hive()
    off = image.cells["subkeys:ControlSet001\\Services"]
    count = struct.unpack_from("<H", image.data, off + 4 + 2)[0]
    image.data[off + 4:off + 6] = b"ri"
    for i in range(count):
        struct.pack_into("<I", image.data, off + 4 + 4 + 4 * i, image.rel("subkeys:ControlSet001\\Services"))
    image.fix_checksum()
    return bytes(image.data)


def _hostile_hive_value_count_absurd() -> bytes:
    image = _infected_hive()
    off = image.cells["nk:ControlSet001\\Services\\FLC"]
    return _patch_u32(image, off + 4 + 0x24, 0xFFFFFF)


def _hostile_hive_value_list_wrong_offset() -> bytes:
    image = _infected_hive()
    off = image.cells["nk:ControlSet001\\Services\\FLC"]
    return _patch_u32(image, off + 4 + 0x28, 0x7FFFFFF0)


def _hostile_hive_value_data_len_huge() -> bytes:
    image = _infected_hive()
    off = image.cells["vk:ControlSet001\\Services\\FLC\\ImagePath"]
    return _patch_u32(image, off + 4 + 4, 0x7FFFFFFF)


def _hostile_hive_value_data_longer_than_cell() -> bytes:
    image = _infected_hive()
    off = image.cells["vk:ControlSet001\\Services\\FLC\\ImagePath"]
    return _patch_u32(image, off + 4 + 4, 3000)


def _hostile_hive_value_db_absurd_blocks() -> bytes:
    # The ImagePath data cell claims to be a big-data ("db") record with 0xFFFF segments whose
    # segment list is a tiny cell: a reader that trusts the count reads far past the list.
    image = _infected_hive()
    vk = image.cells["vk:ControlSet001\\Services\\FLC\\ImagePath"]
    data = image.cells["data:ControlSet001\\Services\\FLC\\ImagePath"]
    struct.pack_into("<I", image.data, vk + 4 + 4, 4000)
    image.data[data + 4:data + 6] = b"db"
    struct.pack_into("<HI", image.data, data + 4 + 2, 0xFFFF, image.rel("values:Select"))
    image.fix_checksum()
    return bytes(image.data)


def _hostile_hive_name_len_overruns_cell() -> bytes:
    image = _infected_hive()
    off = image.cells["nk:ControlSet001\\Services\\FLC"]
    struct.pack_into("<H", image.data, off + 4 + 0x48, 0xFFFF)
    image.fix_checksum()
    return bytes(image.data)


def _hostile_hive_odd_utf16_image_path() -> bytes:
    # ImagePath of odd length, no terminator, lone surrogate: decoded, never over-read.
    services = ordinary_services()
    services["FLC"] = flc_service()
    services["FLC"]["ImagePath"] = RawValue(REG_EXPAND_SZ, "C:\\WINNT\\System32\\flcss.exe".encode("utf-16-le") + b"\x41")
    services["FLC"]["DisplayName"] = RawValue(REG_SZ, b"\x00\xd8F\x00L\x00C\x00")
    services["FLC"]["Type"] = RawValue(REG_DWORD, b"\x20\x00")
    services["FLC"]["Start"] = RawValue(REG_SZ, utf16z("2"))
    return bytes(build_system_hive({1: services}, current=1).data)


def _hostile_hive_select_points_nowhere() -> bytes:
    services = ordinary_services()
    services["FLC"] = flc_service()
    return bytes(build_system_hive({1: services}, current=7, default=7, last_known_good=0xFFFFFFFF).data)


def _hostile_hive_many_control_sets() -> bytes:
    return bytes(build_system_hive({n: {"FLCSS": flc_service()} for n in range(1, 41)}, current=40).data)


def _hostile_hive_many_services() -> bytes:
    services = {f"Svc{n:05d}": {"Start": 3} for n in range(3000)}
    services["zz_FLC_late"] = flc_service()
    return bytes(build_system_hive({1: services}, current=1).data)


HOSTILE_HIVES: Dict[str, Callable[[], bytes]] = {
    "truncated": _hostile_hive_truncated,
    "truncated-at-bin": _hostile_hive_truncated_at_bin,
    "header-only": _hostile_hive_header_only,
    "bad-checksum": _hostile_hive_bad_checksum,
    "garbage-bins": _hostile_hive_garbage,
    "root-offset-mid-cell": _hostile_hive_root_offset_wrong,
    "root-offset-huge": _hostile_hive_root_offset_huge,
    "bins-size-huge": _hostile_hive_bins_size_huge,
    "cell-size-odd": _hostile_hive_cell_size_odd,
    "cell-size-overruns-bin": _hostile_hive_cell_size_overruns_bin,
    "hbin-size-wrong": _hostile_hive_hbin_size_wrong,
    "subkey-count-absurd": _hostile_hive_subkey_count_absurd,
    "subkey-count-mismatch": _hostile_hive_subkey_count_mismatch,
    "lf-count-absurd": _hostile_hive_lf_count_absurd,
    "subkey-list-wrong-offset": _hostile_hive_subkey_list_wrong_offset,
    "subkey-points-to-vk": _hostile_hive_subkey_points_to_vk,
    "loop-controlset-in-services": _hostile_hive_loop_services_is_own_child,
    "loop-root-in-services": _hostile_hive_loop_root_in_services,
    "ri-self-loop": _hostile_hive_ri_self_loop,
    "value-count-absurd": _hostile_hive_value_count_absurd,
    "value-list-wrong-offset": _hostile_hive_value_list_wrong_offset,
    "value-data-len-huge": _hostile_hive_value_data_len_huge,
    "value-data-longer-than-cell": _hostile_hive_value_data_longer_than_cell,
    "value-db-absurd-blocks": _hostile_hive_value_db_absurd_blocks,
    "name-len-overruns-cell": _hostile_hive_name_len_overruns_cell,
    "odd-utf16-values": _hostile_hive_odd_utf16_image_path,
    "select-points-nowhere": _hostile_hive_select_points_nowhere,
    "many-control-sets": _hostile_hive_many_control_sets,
    "many-services": _hostile_hive_many_services,
}
HOSTILE_HIVE_KINDS = tuple(HOSTILE_HIVES)


def write_hostile_hive(path, kind: str) -> Path:
    out = Path(path)
    out.write_bytes(HOSTILE_HIVES[kind]())
    return out


def _q317218_records() -> List[EvtRecord]:
    return [
        EvtRecord(0x8000178D, source="EventLog", strings=[], event_type=4, time_written=1014940000),
        event_7024_protected_storage(1014940800),
        event_7000("Spooler", 1014940805),
        event_7000("Messenger", 1014940806, "%%1058"),
        event_7024_protected_storage(1015027200),
    ]


def _hostile_evt_base() -> EvtImage:
    return build_evt(_q317218_records())


def _hostile_evt_truncated() -> bytes:
    image = _hostile_evt_base()
    return bytes(image.data[: image.record_offsets[2] + 30])


def _hostile_evt_header_only() -> bytes:
    return bytes(_hostile_evt_base().data[:EVT_HEADER_SIZE])


def _hostile_evt_record_size_absurd() -> bytes:
    image = _hostile_evt_base()
    struct.pack_into("<I", image.data, image.record_offsets[1], 0xFFFFFFF0)
    return bytes(image.data)


def _hostile_evt_record_size_tiny() -> bytes:
    image = _hostile_evt_base()
    struct.pack_into("<I", image.data, image.record_offsets[1], 8)
    return bytes(image.data)


def _hostile_evt_record_size_zero() -> bytes:
    image = _hostile_evt_base()
    struct.pack_into("<I", image.data, image.record_offsets[1], 0)
    return bytes(image.data)


def _hostile_evt_first_offset_past_eof() -> bytes:
    image = _hostile_evt_base()
    struct.pack_into("<I", image.data, 16, 0x7FFFFFF0)
    return bytes(image.data)


def _hostile_evt_eof_offset_wrong() -> bytes:
    image = _hostile_evt_base()
    struct.pack_into("<I", image.data, 20, image.record_offsets[2] + 6)
    return bytes(image.data)


def _hostile_evt_dirty_wrong_offsets() -> bytes:
    # libevt "Dirty file with invalid offset values": header dirty, offsets stale.
    image = build_evt(_q317218_records(), dirty=True)
    struct.pack_into("<II", image.data, 16, 0x30, image.record_offsets[1])
    return bytes(image.data)


def _hostile_evt_strings_count_absurd() -> bytes:
    image = _hostile_evt_base()
    struct.pack_into("<H", image.data, image.record_offsets[1] + 26, 0xFFFF)
    return bytes(image.data)


def _hostile_evt_strings_offset_outside() -> bytes:
    image = _hostile_evt_base()
    struct.pack_into("<I", image.data, image.record_offsets[1] + 36, 0xFFFFFF00)
    return bytes(image.data)


def _hostile_evt_strings_unterminated() -> bytes:
    # The last string of a record runs into the size copy without a terminator.
    image = _hostile_evt_base()
    off = image.record_offsets[1]
    size = struct.unpack_from("<I", image.data, off)[0]
    strings_offset = struct.unpack_from("<I", image.data, off + 36)[0]
    for i in range(off + strings_offset, off + size - 4):
        if image.data[i] == 0:
            image.data[i] = 0x41
    struct.pack_into("<I", image.data, off + 48, 0)
    return bytes(image.data)


def _hostile_evt_size_copy_mismatch() -> bytes:
    image = _hostile_evt_base()
    off = image.record_offsets[1]
    size = struct.unpack_from("<I", image.data, off)[0]
    struct.pack_into("<I", image.data, off + size - 4, size + 8)
    return bytes(image.data)


def _hostile_evt_header_size_wrong() -> bytes:
    image = _hostile_evt_base()
    struct.pack_into("<I", image.data, 0, 0x31)
    return bytes(image.data)


def _hostile_evt_garbage() -> bytes:
    state = 0xACE1
    out = bytearray(_hostile_evt_base().data[:EVT_HEADER_SIZE])
    for _ in range(0x10000 - EVT_HEADER_SIZE):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(state >> 16 & 0xFF)
    return bytes(out)


def _hostile_evt_many_records() -> bytes:
    records = [event_7000(f"Svc{n}", 1014940800 + n, "%%1058") for n in range(3000)]
    records.append(event_7000("Spooler", 1014949999))
    return bytes(build_evt(records, max_size=0x80000).data)


HOSTILE_EVTS: Dict[str, Callable[[], bytes]] = {
    "truncated": _hostile_evt_truncated,
    "header-only": _hostile_evt_header_only,
    "record-size-absurd": _hostile_evt_record_size_absurd,
    "record-size-tiny": _hostile_evt_record_size_tiny,
    "record-size-zero": _hostile_evt_record_size_zero,
    "first-offset-past-eof": _hostile_evt_first_offset_past_eof,
    "eof-offset-wrong": _hostile_evt_eof_offset_wrong,
    "dirty-wrong-offsets": _hostile_evt_dirty_wrong_offsets,
    "strings-count-absurd": _hostile_evt_strings_count_absurd,
    "strings-offset-outside": _hostile_evt_strings_offset_outside,
    "strings-unterminated": _hostile_evt_strings_unterminated,
    "size-copy-mismatch": _hostile_evt_size_copy_mismatch,
    "header-size-wrong": _hostile_evt_header_size_wrong,
    "garbage-records": _hostile_evt_garbage,
    "many-records": _hostile_evt_many_records,
}
HOSTILE_EVT_KINDS = tuple(HOSTILE_EVTS)


def write_hostile_evt(path, kind: str) -> Path:
    out = Path(path)
    out.write_bytes(HOSTILE_EVTS[kind]())
    return out


# --------------------------------------------------------------------------------------------
# Named scenarios: what the C++ tests (tests/host) read, each with the facts it promises.
def _scenario_hive_flc_cs001() -> bytes:
    """FLC (as the virus creates it) in ControlSet001 only; Select\\Current = 1, LastKnownGood = 2."""
    cs1 = ordinary_services()
    cs1["FLC"] = flc_service()
    return bytes(build_system_hive({1: cs1, 2: ordinary_services()}, current=1, last_known_good=2,
                                   failed=0).data)


def _scenario_hive_flcss_cs002_only() -> bytes:
    """FLCSS (lower-case key name) in ControlSet002 only; Current = 1, so it is not the live set."""
    cs2 = ordinary_services()
    cs2["flcss"] = flc_service(r"\SystemRoot\System32\FLCSS.EXE", display_name="FLCSS service")
    return bytes(build_system_hive({1: ordinary_services(), 2: cs2}, current=1, last_known_good=2).data)


def _scenario_hive_foo_image_path() -> bytes:
    """A service named Foo whose ImagePath is \\??\\C:\\WINNT\\system32\\FlCsS.exe; current = 2."""
    cs = ordinary_services()
    cs["Foo"] = flc_service(r"\??\C:\WINNT\system32\FlCsS.exe", display_name="Foo Helper")
    cs["Bar"] = flc_service(r"C:\WINNT\system32\notflcss.exe", display_name="Bar")
    return bytes(build_system_hive({2: cs}, current=2, default=2, last_known_good=2).data)


def _scenario_hive_clean() -> bytes:
    """No FunLove evidence; Spooler and ProtectedStorage present in both sets."""
    return bytes(build_system_hive({1: ordinary_services(), 2: ordinary_services()}, current=1).data)


def _scenario_hive_computer_name() -> bytes:
    """hive-clean with Control\\ComputerName\\ComputerName: "flscan-nt4" (any case) in ControlSet002,
    the current set, and "OLD-NAME" in ControlSet001 (issue 17: the current set's name counts)."""
    return bytes(build_system_hive({1: ordinary_services(), 2: ordinary_services()}, current=2,
                                   computer_name={1: "OLD-NAME", 2: "flscan-nt4"}).data)


def _scenario_hive_spooler_missing() -> bytes:
    """ControlSet001 without Spooler or ProtectedStorage; Spooler's ImagePath missing in set 2."""
    cs1 = ordinary_services()
    del cs1["Spooler"]
    del cs1["ProtectedStorage"]
    cs2 = ordinary_services()
    del cs2["Spooler"]["ImagePath"]
    cs2["ProtectedStorage"]["ImagePath"] = ExpandSz(r"%SystemRoot%\system32\pstores.exe")
    return bytes(build_system_hive({1: cs1, 2: cs2}, current=1).data)


def _scenario_hive_lh_unicode() -> bytes:
    """Hive 1.5 layout (lh lists) with a UTF-16 key name and an ASCII FLC service in set 1."""
    cs = ordinary_services()
    cs["Dienst\u00e9\u4e2d"] = {"Start": 3, "ImagePath": ExpandSz("C:\\Programme\\dienst.exe")}
    cs["FLC"] = flc_service()
    return bytes(build_system_hive({1: cs}, current=1, minor_version=5).data)


def _scenario_evt_q317218() -> bytes:
    """Records 1-5 (_q317218_records): 1 an EventLog information record; 2 and 5 the 7024
    Protected Storage / 2148270091 records, written 2002-03-01T00:00:00Z and 2002-03-02T00:00:00Z;
    3 the 7000 Spooler %%2 record (2002-03-01T00:00:05Z); 4 a 7000 Messenger %%1058 (not evidence)."""
    return bytes(build_evt(_q317218_records()).data)


def _scenario_evt_clean() -> bytes:
    """Only 7000 records for other services and a 7024 for another service."""
    return bytes(build_evt([
        event_7000("Messenger", 1014940806, "%%1058"),
        event_7000("Alerter", 1014940807, "%%2"),
        EvtRecord(EVENT_ID_7024, strings=["Print Spooler", "2148270091"], time_written=1014940808),
        EvtRecord(EVENT_ID_7024, source="Some Other Source", strings=["Protected Storage", "2148270091"],
                  time_written=1014940809),
    ]).data)


def _scenario_evt_variants() -> bytes:
    """7024 error written in hex and signed forms, display name in other case, 7000 for
    'Print Spooler' (Windows 2000/XP wording), and a 7024 Protected Storage with another error."""
    return bytes(build_evt([
        event_7024_protected_storage(1014940800, "0x800C000B"),
        EvtRecord(EVENT_ID_7024, strings=["PROTECTED STORAGE", "-2146697205"], time_written=1014940801),
        EvtRecord(EVENT_ID_7024, strings=["Protected Storage", "%%2"], time_written=1014940802),
        event_7000("Print Spooler", 1014940803),
        EvtRecord(0x00001B58, strings=["Spooler", "%%2"], time_written=1014940804),  # no severity bits
    ]).data)


def _scenario_evt_wrapped() -> bytes:
    """The Q317218 records in a wrapped log (a record straddles the end of the file)."""
    return bytes(build_evt(_q317218_records(), max_size=0x1000, wrap=True).data)


def _scenario_evt_dirty() -> bytes:
    """The Q317218 records, header flagged dirty (log not closed cleanly) but consistent."""
    return bytes(build_evt(_q317218_records(), dirty=True).data)


# Hives that are not SYSTEM hives, or SYSTEM hives that cannot rule FunLove out (issue 12). The
# root keys follow the layouts Windows NT 4.0-XP write (NTUSER.DAT's root is "$$$PROTO.HIV" there;
# SAM and SECURITY roots are named after the hive).
def _scenario_hive_ntuser() -> bytes:
    """An NTUSER.DAT layout: root $$$PROTO.HIV with AppEvents, Console, Control Panel, Environment,
    Keyboard Layout, Network, Printers, Software, UNICODE Program Groups (nine keys) -- no Select,
    no ControlSetNNN."""
    root = Key("$$$PROTO.HIV", subkeys=[
        Key("AppEvents", subkeys=[Key("Schemes", {"": ".Default"})]),
        Key("Console", {"ScreenBufferSize": 0x012C0050, "FaceName": ""}),
        Key("Control Panel", subkeys=[Key("Desktop", {"Wallpaper": "(None)"})]),
        Key("Environment", {"TEMP": ExpandSz(r"%USERPROFILE%\Local Settings\Temp")}),
        Key("Keyboard Layout", subkeys=[Key("Preload", {"1": "00000409"})]),
        Key("Network"),
        Key("Printers"),
        Key("Software", subkeys=[Key("Microsoft", subkeys=[Key("Windows NT", subkeys=[
            Key("CurrentVersion", subkeys=[Key("Winlogon", {"ParseAutoexec": "1"})])])])]),
        Key("UNICODE Program Groups"),
    ])
    return bytes(build_hive(root, file_name="ntuser.dat").data)


def _scenario_hive_sam() -> bytes:
    """A SAM layout: root SAM holding SAM\\Domains\\{Account,Builtin} and SAM\\RXACT."""
    root = Key("SAM", subkeys=[Key("SAM", subkeys=[
        Key("Domains", subkeys=[
            Key("Account", {"F": bytes(0x50)}, subkeys=[Key("Users", subkeys=[Key("000001F4", {"F": bytes(0x50)})]),
                                                       Key("Groups"), Key("Aliases")]),
            Key("Builtin", subkeys=[Key("Aliases")])]),
        Key("RXACT", {"": bytes(12)})])])
    return bytes(build_hive(root, file_name="SAM").data)


def _scenario_hive_security() -> bytes:
    """A SECURITY layout: root SECURITY holding Cache, Policy (PolAdtEv, Secrets, Accounts), RXACT, SAM."""
    root = Key("SECURITY", subkeys=[
        Key("Cache", {"NL$Control": bytes(8)}),
        Key("Policy", subkeys=[Key("PolAdtEv", {"": bytes(16)}), Key("Secrets"), Key("Accounts")]),
        Key("RXACT", {"": bytes(12)}),
        Key("SAM", {"C": bytes(8)})])
    return bytes(build_hive(root, file_name="SECURITY").data)


def _scenario_hive_no_control_set() -> bytes:
    """Select (Current = 1) and Setup under the root, but no ControlSetNNN key at all."""
    return bytes(build_system_hive({}, current=1).data)


def _scenario_hive_no_select_clean() -> bytes:
    """ControlSet001 with ordinary services (no FunLove) and no Select key."""
    return bytes(build_system_hive({1: ordinary_services()}, current=1, select=False).data)


def _scenario_hive_no_select_flc() -> bytes:
    """ControlSet001 with ordinary services and FLC, and no Select key."""
    services = ordinary_services()
    services["FLC"] = flc_service()
    return bytes(build_system_hive({1: services}, current=1, select=False).data)


def _scenario_hive_services_unreadable() -> bytes:
    """One control set, clean, whose Services key's subkey-list offset points into the middle of
    its own nk cell: hivex cannot list it, so no control set can be read."""
    image = build_system_hive({1: ordinary_services()}, current=1)
    off = image.cells["nk:ControlSet001\\Services"]
    return _patch_u32(image, off + 4 + 0x1C, image.rel("nk:ControlSet001\\Services") + 12)


def _scenario_hive_partial_clean() -> bytes:
    """Two clean control sets (Current = 1); ControlSet002's Services subkey list is unreadable
    (offset into its own nk cell), so the hive is read in part and no FunLove service is seen."""
    image = build_system_hive({1: ordinary_services(), 2: ordinary_services()}, current=1)
    off = image.cells["nk:ControlSet002\\Services"]
    return _patch_u32(image, off + 4 + 0x1C, image.rel("nk:ControlSet002\\Services") + 12)


def _scenario_hive_dirty() -> bytes:
    """hive-clean with base block sequence numbers 0x3A1 (primary, offset 4) and 0x3A0 (secondary,
    offset 8), checksum recomputed: a hive Windows had not finished writing."""
    image = build_system_hive({1: ordinary_services(), 2: ordinary_services()}, current=1)
    struct.pack_into("<II", image.data, 4, 0x3A1, 0x3A0)
    image.fix_checksum()
    return bytes(image.data)


SCENARIOS: Dict[str, Callable[[], bytes]] = {
    "hive-ntuser": _scenario_hive_ntuser,
    "hive-sam": _scenario_hive_sam,
    "hive-security": _scenario_hive_security,
    "hive-no-control-set": _scenario_hive_no_control_set,
    "hive-no-select-clean": _scenario_hive_no_select_clean,
    "hive-no-select-flc": _scenario_hive_no_select_flc,
    "hive-services-unreadable": _scenario_hive_services_unreadable,
    "hive-partial-clean": _scenario_hive_partial_clean,
    "hive-dirty": _scenario_hive_dirty,
    "hive-flc-cs001": _scenario_hive_flc_cs001,
    "hive-flcss-cs002-only": _scenario_hive_flcss_cs002_only,
    "hive-foo-image-path": _scenario_hive_foo_image_path,
    "hive-clean": _scenario_hive_clean,
    "hive-computer-name": _scenario_hive_computer_name,
    "hive-spooler-missing": _scenario_hive_spooler_missing,
    "hive-lh-unicode": _scenario_hive_lh_unicode,
    "evt-q317218": _scenario_evt_q317218,
    "evt-clean": _scenario_evt_clean,
    "evt-variants": _scenario_evt_variants,
    "evt-wrapped": _scenario_evt_wrapped,
    "evt-dirty": _scenario_evt_dirty,
}
for _kind, _fn in HOSTILE_HIVES.items():
    SCENARIOS[f"hostile-hive-{_kind}"] = _fn
for _kind, _fn in HOSTILE_EVTS.items():
    SCENARIOS[f"hostile-evt-{_kind}"] = _fn


def write_scenario(name: str, path) -> Path:
    out = Path(path)
    out.write_bytes(SCENARIOS[name]())
    return out


def scenario_file_name(name: str) -> str:
    """The file name `all` gives a scenario: NAME.hiv for hives, NAME.evt for event logs."""
    return name + (".hiv" if name.startswith(("hive-", "hostile-hive-")) else ".evt")


# --------------------------------------------------------------------------------------------
def _json_value(spec: Any) -> Any:
    """JSON -> value: {"expand_sz": s}, {"multi_sz": [...]}, {"binary_hex": h},
    {"raw": {"type": n, "hex": h}}, nested objects without those keys are subkeys."""
    if isinstance(spec, dict):
        if set(spec) == {"expand_sz"}:
            return ExpandSz(spec["expand_sz"])
        if set(spec) == {"multi_sz"}:
            return MultiSz(spec["multi_sz"])
        if set(spec) == {"binary_hex"}:
            return bytes.fromhex(spec["binary_hex"])
        if set(spec) == {"raw"}:
            return RawValue(int(spec["raw"]["type"]), bytes.fromhex(spec["raw"]["hex"]))
        return {k: _json_value(v) for k, v in spec.items()}
    return spec


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list scenario names")
    one = sub.add_parser("scenario", help="write one named scenario")
    one.add_argument("name", choices=sorted(SCENARIOS))
    one.add_argument("out")
    every = sub.add_parser("all", help="write every scenario into a directory")
    every.add_argument("outdir")
    hive = sub.add_parser("hive", help="write a SYSTEM hive from a JSON spec")
    hive.add_argument("--json", required=True)
    hive.add_argument("out")
    evt = sub.add_parser("evt", help="write an EVT log from a JSON spec")
    evt.add_argument("--json", required=True)
    evt.add_argument("out")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name in SCENARIOS:
            print(name)
    elif args.command == "scenario":
        write_scenario(args.name, args.out)
    elif args.command == "all":
        outdir = Path(args.outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        for name in SCENARIOS:
            write_scenario(name, outdir / scenario_file_name(name))
    elif args.command == "hive":
        spec = json.loads(Path(args.json).read_text())
        control_sets = {int(k): _json_value(v) for k, v in spec.pop("control_sets").items()}
        current = spec.pop("current", 1)
        write_system_hive(args.out, control_sets, current, **spec)
    elif args.command == "evt":
        spec = json.loads(Path(args.json).read_text())
        records = spec.pop("records")
        write_evt(args.out, records, **spec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
