// Every cap on a loop or allocation that the structures inside a disk image can drive (style guide
// habit 2): a crafted partition table or directory tree must not make flscan loop, recurse or
// allocate without bound. The Sleuth Kit has caps of its own inside each filesystem's parser;
// these bound what flscan does with what it returns.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flscan::scanner::image::limits {

// Partitions examined per volume system. MBR with extended partitions: Linux stops at 60; GPT
// holds 128 entries by default.
inline constexpr std::size_t kMaxPartitions = 256;
// Regular files listed per volume. The list is held in memory for the parallel scan (about 100
// bytes per file); a Windows system volume holds 100k-1M files.
inline constexpr std::uint64_t kMaxFilesPerVolume = 4'000'000;
// Directory entries examined per volume, over the whole walk: bounds a crafted tree in which many
// names point at the same directories (each visit is new work though no loop is formed).
inline constexpr std::uint64_t kMaxDirectoryEntriesPerVolume = 16'000'000;
// Entries examined in one directory (TSK has already loaded it; a real one holds < 100k).
inline constexpr std::size_t kMaxEntriesPerDirectory = 1'000'000;
// Directory nesting below the volume root. The walk keeps an explicit stack, so this is a cap
// on work and path length, not on the C++ stack; NTFS paths are at most 32767 UTF-16 units.
inline constexpr std::size_t kMaxDirectoryDepth = 1024;
// Longest path inside a volume kept (bytes of UTF-8).
inline constexpr std::size_t kMaxPathBytes = 64 * 1024;
// Data runs of one file examined to check that its data lies inside the image.
inline constexpr std::size_t kMaxRunsChecked = 1'000'000;
// Leading runs of one file looked through for its first allocated one (its place in the read
// order, volume_walk.h); a file whose first this many runs are all sparse is read last.
inline constexpr std::size_t kMaxRunsForReadOrder = 64;

// LVM2 physical volumes (lvm_metadata.h). Metadata text read from a metadata area: lvm2's default
// area is about 1 MiB and its text a few KiB per logical volume.
inline constexpr std::uint64_t kMaxLvmMetadataBytes = 8 * 1024 * 1024;
// Sections, keys and array values of the metadata text, over the whole text, and sections nested
// in one another (lvm2's own nesting is 4: vg, logical_volumes, lv, segment).
inline constexpr std::size_t kMaxLvmConfigNodes = 500'000;
inline constexpr std::size_t kMaxLvmConfigDepth = 16;
// Metadata areas and data areas a pv_header may list (lvm2 writes at most two metadata areas).
inline constexpr std::size_t kMaxLvmAreas = 8;
// Physical volumes of a volume group, logical volumes listed per PV, segments per logical volume
// and stripes per segment (lvm2's MAX_STRIPES is 128). The LVs count over the whole image: a
// partition table whose partitions all hold one PV lists its LVs once per partition.
inline constexpr std::size_t kMaxLvmPhysicalVolumes = 4096;
inline constexpr std::size_t kMaxLvmLogicalVolumes = 1024;
inline constexpr std::size_t kMaxLvmSegments = 4096;
inline constexpr std::size_t kMaxLvmStripes = 128;

// Disk images met during a directory walk (issue 15, nested_image.h). A file smaller than this is
// never opened as one there (a raw candidate is then a plain file, a container signature NOT
// SCANNED image-not-opened): it cannot hold a partition table and a filesystem with files worth a
// volume, and in a --shard scan every shard reads the first bytes of every file at least this large
// that another shard owns, to split an image's files by their keys as every shard must.
inline constexpr std::uint64_t kMinNestedImageBytes = 64 * 1024;
// Images opened during one walk: each holds a descriptor for the whole scan, and each worker
// thread opens its own handle of it (tsk_handle.h). Past it, image-not-opened.
inline constexpr std::size_t kMaxNestedImages = 256;

// Bytes of a libyal library's error text kept (libyal_error.h): its backtrace holds one line per
// function the error went through, each with on-disk values.
inline constexpr std::size_t kMaxLibyalErrorBytes = 4096;
// Files in the chain of a qcow2 or differencing VHD/VHDX, the image named as PATH included
// (image_files.h). Snapshot chains made by libvirt or Hyper-V are a few files to a few dozen;
// each file is one more set of handles per reading thread.
inline constexpr std::size_t kMaxImageChainDepth = 64;
// Bytes of a parent (backing) file name read from an image: qemu keeps at most 1023, a VHDX
// parent locator value is a Windows path (32767 UTF-16 units at most).
inline constexpr std::size_t kMaxParentNameBytes = 64 * 1024;
// Dynamic and differencing VHDs, whose blocks flscan finds itself (libyal_chain.h,
// load_vhd_chain). A block is a power of two from one sector (qemu's smallest) to this; Virtual PC
// and Hyper-V write 512 KiB or 2 MiB blocks, and a block's sector bitmap (one bit per sector) is
// held per reading thread, 8 KiB at this size.
inline constexpr std::uint32_t kMaxVhdBlockBytes = 256u * 1024 * 1024;
// Entries of a block allocation table read (4 bytes each, once per image, shared by the reading
// threads): a VHD holds at most 2040 GiB, 4,177,920 blocks of 512 KiB.
inline constexpr std::uint64_t kMaxVhdBatEntries = 1ull << 22;
// Segments of a split raw set (NAME.000/.001 ... three digits, NAME.aa/.ab ... two letters):
// all the names the three-digit scheme can give.
inline constexpr std::size_t kMaxSplitSegments = 1000;

// Bytes read from one key file (--luks-passphrase-file, --bitlocker-*): passphrases are short,
// a BitLocker .BEK startup key file is about 150 bytes; a larger file is refused (a wrong file).
inline constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
// Key files read in one run (the key options are repeatable; each key is tried on every
// encrypted volume, and each try may cost a key derivation).
inline constexpr std::size_t kMaxKeyFiles = 64;
// The bytes of a LUKS volume's key slot areas copied for libcryptsetup (LUKS1: 8 slots of about
// 128 KiB at most; LUKS2: 32 slots, 258 KiB each by default, its keyslots area 128 MiB at most).
inline constexpr std::uint64_t kMaxLuksHeaderBytes = 128ull * 1024 * 1024;
// The key derivation a LUKS header may ask of flscan, per key tried: every count in the header
// (PBKDF2 iterations of a key slot or of the key digest, Argon2 passes) and Argon2's memory.
// cryptsetup times PBKDF2 at about 2 s (a few million iterations on today's CPUs) and caps
// Argon2 at 1 GiB by default; a crafted header asking 2^31 iterations would hold the scan for
// hours. Above these, the volume stays encrypted-volume, saying why.
inline constexpr std::uint64_t kMaxLuksKdfIterations = 20'000'000;
inline constexpr std::uint64_t kMaxLuksArgon2MemoryKiB = 1024 * 1024;

}  // namespace flscan::scanner::image::limits
