#!/usr/bin/env python3
"""The seeds of fuzz_vhd (fuzz/README.md), written as Microsoft's Virtual Hard Disk Image Format
Specification lays a dynamic VHD out: the footer copy at 0, the dynamic disk header at 512, the
block allocation table at 1536, then each allocated block as its sector bitmap (512 bytes) and its
data, and the footer at the end. Blocks of 4 KiB keep each seed under fuzz_vhd's -max_len.

    fuzz/vhd_seeds.py OUT_DIR

  mbr-fat12.vhd       the MBR/FAT12 seed of fuzz_image (corpus/fuzz_image/mbr-fat12-and-garbage.raw)
                      as a dynamic VHD, its all-zero blocks unallocated
  partial-bitmaps.vhd a dynamic VHD whose blocks' bitmaps mark only some sectors (the others hold
                      0xEE and read as zeros)
  differencing.vhd    a differencing VHD naming the parent "base.vhd" (looked up in /proc/self/fd:
                      refused), one block of its own
  qemu-empty.vhd      `qemu-img create -f vpc` of 1 MiB (2 MiB blocks, none allocated)
"""
import subprocess
import sys
from pathlib import Path

BLOCK = 4096


def be(value: int, width: int) -> bytes:
    return value.to_bytes(width, "big")


def with_checksum(block: bytearray, at: int) -> bytearray:
    block[at:at + 4] = bytes(4)
    block[at:at + 4] = be(~sum(block) & 0xFFFFFFFF, 4)
    return block


def vhd(disk_size: int, blocks: dict, disk_type: int = 3, parent: str = "") -> bytes:
    """blocks: block number -> (bitmap byte, BLOCK bytes of data)."""
    footer = bytearray(512)
    footer[0:8] = b"conectix"
    footer[8:12] = be(2, 4)
    footer[12:16] = be(0x00010000, 4)
    footer[16:24] = be(512, 8)
    footer[28:32] = b"fuzz"
    footer[40:48] = be(disk_size, 8)
    footer[48:56] = be(disk_size, 8)
    footer[60:64] = be(disk_type, 4)
    footer[68:84] = bytes(range(16))
    with_checksum(footer, 64)
    entries = (disk_size + BLOCK - 1) // BLOCK
    header = bytearray(1024)
    header[0:8] = b"cxsparse"
    header[8:16] = b"\xff" * 8
    header[16:24] = be(1536, 8)
    header[24:28] = be(0x00010000, 4)
    header[28:32] = be(entries, 4)
    header[32:36] = be(BLOCK, 4)
    name = parent.encode("utf-16-be")
    header[64:64 + len(name)] = name
    with_checksum(header, 36)
    bat = bytearray(b"\xff" * ((4 * entries + 511) // 512 * 512))
    data = bytearray()
    first = 1536 + len(bat)
    for number, (bitmap, content) in sorted(blocks.items()):
        assert len(content) == BLOCK
        bat[4 * number:4 * number + 4] = be((first + len(data)) // 512, 4)
        data += bytes([bitmap]) * (BLOCK // 512 // 8) + bytes(512 - BLOCK // 512 // 8) + content
    return bytes(footer + header + bat + data + footer)


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parent
    raw = (root / "corpus/fuzz_image/mbr-fat12-and-garbage.raw").read_bytes()
    raw += bytes(-len(raw) % 512)
    blocks = {i // BLOCK: (0xFF, raw[i:i + BLOCK].ljust(BLOCK, b"\0"))
              for i in range(0, len(raw), BLOCK) if any(raw[i:i + BLOCK])}
    (out / "mbr-fat12.vhd").write_bytes(vhd(len(raw), blocks))
    filler = bytes(range(256)) * (BLOCK // 256)
    (out / "partial-bitmaps.vhd").write_bytes(
        vhd(8 * BLOCK + 1536, {0: (0xA5, filler), 3: (0x0F, b"\xee" * BLOCK), 8: (0xC0, filler)}))
    (out / "differencing.vhd").write_bytes(vhd(4 * BLOCK, {1: (0x81, filler)}, 4, "base.vhd"))
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", str(out / "qemu-empty.vhd"), "1M"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
