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

// Disk images met during a directory walk (issue 15, nested_image.h). A file smaller than this is
// never opened as one there (a raw candidate is then a plain file, a container signature NOT
// SCANNED image-not-opened): it cannot hold a partition table and a filesystem with files worth a
// volume, and in a --shard scan every shard reads the first bytes of every file at least this large
// that another shard owns, to split an image's files by their keys as every shard must.
inline constexpr std::uint64_t kMinNestedImageBytes = 64 * 1024;
// Images opened during one walk: each holds a descriptor for the whole scan, and each worker
// thread opens its own handle of it (tsk_handle.h). Past it, image-not-opened.
inline constexpr std::size_t kMaxNestedImages = 256;

}  // namespace flscan::scanner::image::limits
