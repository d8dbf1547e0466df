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
// Segments of a split raw set (NAME.000/.001 ... three digits, NAME.aa/.ab ... two letters):
// all the names the three-digit scheme can give.
inline constexpr std::size_t kMaxSplitSegments = 1000;

}  // namespace flscan::scanner::image::limits
