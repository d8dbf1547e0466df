// The listing of one volume's files: a sequential walk of its directory tree through TSK, on one
// thread, with its own TSK handles (tsk_handle.h). The files it lists are scanned afterwards in
// parallel (scan_job.cpp), each opened by its metadata address on the worker's own handles.
//
// What is listed: allocated names only (deleted names, and allocated names whose metadata entry is
// not allocated, are not read); the default data stream of each regular file (NTFS alternate data
// streams are not read); no TSK virtual entries ($MBR, $FAT1, $OrphanFiles, ...) and, on NTFS, no
// system file (metadata address below 16: $MFT, $LogFile, $Extend, ... — the files a mounted
// volume hides too). Symlinks and other special names are skipped as the directory walk skips them.
//
// Hostile trees: each directory is entered at most once per path from the root (a directory whose
// metadata address is already on the current path is a loop, reported NOT SCANNED `loop`), depth,
// entries per directory, names and files per volume are capped (limits.h); a directory TSK cannot
// open is NOT SCANNED `unlistable-directory` with TSK's error text. The walk never recurses on the
// C++ stack.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <tsk/libtsk.h>

#include "scanner/report/report.h"
#include "scanner/walk/walker.h"

namespace flscan::scanner::image {

// A file's data start when it has no allocated run to name (resident, sparse or unreadable data):
// such files are read after the others.
inline constexpr std::uint64_t kUnknownDataStart = UINT64_MAX;

struct ListedFile {
  TSK_INUM_T inum = 0;  // metadata address
  std::string path;     // inside the volume: names joined with '/', no leading '/'
  // Where the file's data starts, in bytes from the start of the image the filesystem was opened
  // in (its first allocated run), or kUnknownDataStart: the scan reads files in this order, so a
  // disk or an image is read front to back instead of seeking back and forth (issue 19).
  std::uint64_t data_start = kUnknownDataStart;
};

// What the walk found besides files. Paths are full report paths (`<volume path>/<path>`).
struct VolumeListing {
  std::vector<ListedFile> files;
  std::vector<NotScannedEntry> not_scanned;
  std::vector<SkippedEntry> skipped;
  std::uint64_t directories = 0;  // directories listed (owned by this shard)
  std::uint64_t files_other_shards = 0;
};

struct WalkOptions {
  const ExcludeMatcher* excludes = nullptr;  // --exclude, matched against the path inside the volume
  // True when this run owns the entry with this path inside the volume (--shard); null: all.
  std::function<bool(std::string_view path_in_volume)> owns;
};

// Lists the files of `fs`, whose report paths start with `volume_path` (`IMAGE:p1`).
[[nodiscard]] VolumeListing list_volume(TSK_FS_INFO* fs, const std::string& volume_path, const WalkOptions& options);

}  // namespace flscan::scanner::image
