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

// Bytes read from one key file (--luks-passphrase-file, --bitlocker-*): passphrases are short,
// a BitLocker .BEK startup key file is about 150 bytes; a larger file is refused (a wrong file).
inline constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
// Key files read in one run (the key options are repeatable; each key is tried on every
// encrypted volume, and each try may cost a key derivation).
inline constexpr std::size_t kMaxKeyFiles = 64;
// The bytes of a LUKS volume's key slot areas copied for libcryptsetup (LUKS1: 8 slots of about
// 128 KiB at most; LUKS2: 32 slots, 258 KiB each by default, its keyslots area 128 MiB at most).
inline constexpr std::uint64_t kMaxLuksHeaderBytes = 128ull * 1024 * 1024;

}  // namespace flscan::scanner::image::limits
