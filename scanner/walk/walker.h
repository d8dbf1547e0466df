// The parallel directory walk (ripgrep's `ignore` walker in spirit): every directory and every
// regular file is one work item of a TBB parallel_for_each with a feeder, so idle threads steal
// whole directories or single files from busy ones. The walker decides what is read, skipped or
// not scannable; it never opens a regular file (the visitor does) and never opens FIFOs, sockets
// or devices at all.
//
// Nothing below a PATH operand is reached by its full path (issue 13, item 3): each directory is
// opened relative to the descriptor of its parent (openat, O_NOFOLLOW) and must be the directory
// the parent's listing recorded (st_dev, st_ino); its entries are examined with fstatat relative
// to it, and each FileEntry carries the directory's handle so that the visitor opens the file
// relative to the same descriptor. A directory swapped for a symlink (or another directory) once
// listed is reported as replaced, never followed. How descriptors stay bounded: dir_handle.h.
//
// Read order (issue 19, read_order.h): with WalkSettings::read_order listing, each regular file is
// a work item of its own, read whenever a thread takes it. In disk order (chosen per PATH operand)
// a directory's regular files that this walk reads (after --exclude and --shard) are held, in
// batches of at most limits::kMaxReadOrderBatch, instead of queued; each one's first physical byte
// is asked of the file system (ExtentProbe: an open relative to the directory, fstat, FIEMAP,
// close; no byte read, nothing the visitor checks changed), and the thread that listed the
// directory then hands them to WalkVisitor::file in that order, the arena's other threads taking
// the next file of the batch in turn (one atomic index) so the hashing stays parallel. Nothing else
// is opened: FIFOs, devices, excluded entries and other shards' files are handled as in listing order.
//
// What the walk does with each kind of entry (entries are examined with fstatat, no follow):
//   regular file            -> WalkVisitor::file
//   directory               -> opened and checked as above, listed, its entries new work items
//   FIFO, socket, device    -> skipped (never opened: opening a FIFO can block forever)
//   symlink                 -> skipped, unless follow_symlinks: then stat'ed and handled as its
//                              target (a dangling link is skipped as broken-symlink); the target
//                              opened must be the one stat'ed
//   other device (one_file_system, st_dev differs from the PATH operand's) -> skipped; a directory
//                              that is a mount point when opened though it was not when listed too
//   matching an exclude     -> skipped (a directory is not descended)
//   stat/open/list failure  -> not scanned, with errno text; a directory found changed when opened
//                              (now a symlink, another directory, another device) -> replaced
//   directory already on the current path (same st_dev/st_ino as an ancestor: a followed
//   symlink or a bind mount pointing upwards) -> not scanned (loop)
// PATH operands are stat'ed, i.e. followed when they are symlinks, and never excluded: the user
// named them. A PATH operand that is neither a regular file nor a directory is not skipped but
// NOT SCANNED special-file (a block device operand is a disk: the scan job opens it as an image
// before the walk). Loop detection compares against the ancestors of a directory only, so its outcome
// does not depend on thread timing; a directory reachable by two different non-looping paths is
// scanned under both (as find -L does).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/filesystem/path.hpp>

#include "engine/limits.h"
#include "scanner/walk/dir_handle.h"
#include "scanner/walk/file_reader.h"
#include "scanner/walk/read_order.h"
#include "scanner/report/report.h"
#include "scanner/report/shard.h"

namespace flscan::scanner {

struct WalkSettings {
  bool follow_symlinks = false;
  bool one_file_system = false;
  std::vector<std::string> excludes;
  std::size_t max_depth = limits::kMaxDirectoryDepth;
  // --shard K/N (shard.h): every shard walks every directory, but files, skipped entries and
  // listed directories are reported only by the shard owning their key; a file of another shard
  // is not scanned (file_in_other_shard; the scan job only sniffs it for a disk image). What the
  // walk itself cannot examine (a PATH that does not exist, an lstat, stat or listing failure, a
  // loop, too deep) is reported by every shard, since it hides files of every shard; `flscan
  // merge` keeps such entries once.
  std::optional<Shard> shard;
  // --read-order (read_order.h). Listing unless asked: the program passes the option (auto by default).
  ReadOrderMode read_order = ReadOrderMode::listing;
  // Where --read-order auto reads the block devices' queues; tests give a tree of their own.
  std::string sysfs_root = kSysfsRoot;
};

// A regular file found by the walk (by fstatat, or by stat through a followed symlink).
struct FileEntry {
  boost::filesystem::path path;  // the PATH operand joined with the names below it (for reports)
  bool via_symlink = false;      // the last component is a symlink the walk chose to follow
  std::string key;               // shard key (shard.h): relative to the PATH, or the PATH's name
  // Where to open it: `name` relative to `dir`'s descriptor (DirHandle::lease), never `path`. A
  // PATH operand that is a file has no `dir`: it is opened by `path`, as the user named it.
  std::shared_ptr<DirHandle> dir;
  std::string name;
  ExpectedFile expected;          // what the walk decided on (file_reader.h)
  std::uint64_t listed_size = 0;  // st_size as the listing saw it (before any open)
};

// Receives the walk's events. Called concurrently from TBB worker threads: implementations must
// be thread-safe (ScanJob keeps per-thread state). An exception thrown by a visitor is caught by
// the walker and reported as not_scanned(internal_error) for that entry.
class WalkVisitor {
 public:
  virtual ~WalkVisitor() = default;
  virtual void file(const FileEntry& entry) = 0;
  virtual void directory_listed(const boost::filesystem::path& path) = 0;
  virtual void skipped(const boost::filesystem::path& path, SkipReason reason, std::string detail) = 0;
  virtual void not_scanned(const boost::filesystem::path& path, NotScannedReason reason, std::string detail) = 0;
  // --shard: a regular file another shard owns; not scanned here (a disk image among them is
  // still examined, nested_image.h, since every shard lists its volumes and scans its own files).
  virtual void file_in_other_shard(const FileEntry& /*entry*/) {}
  // The read order chosen for a PATH operand that is a directory (read_order.h), before its
  // listing; `root` as given to walk().
  virtual void read_order_chosen(const boost::filesystem::path& /*root*/, const ReadOrderChoice& /*choice*/) {}
};

// --exclude matching (fnmatch(3) with FNM_PATHNAME, so '*', '?' and [...] never match '/'):
//  - a pattern without '/' is matched against the entry's name, at any depth;
//  - a pattern with '/' is matched against the entry's path relative to its PATH operand
//    ('/'-separated, no leading "./"); a leading "/" or "./" anchors it there and is dropped;
//  - trailing '/' characters are ignored.
class ExcludeMatcher {
 public:
  explicit ExcludeMatcher(const std::vector<std::string>& patterns);
  // The pattern (as the user wrote it) that excludes this entry, or nullptr.
  [[nodiscard]] const std::string* match(std::string_view name, std::string_view relative) const;
  [[nodiscard]] bool empty() const { return name_patterns_.empty() && path_patterns_.empty(); }

 private:
  struct Pattern {
    std::string glob;      // what fnmatch sees
    std::string original;  // what the user wrote, for the report
  };
  std::vector<Pattern> name_patterns_;
  std::vector<Pattern> path_patterns_;
};

class Walker {
 public:
  explicit Walker(WalkSettings settings);

  // Test hook: runs before a directory below a PATH operand is opened, after its parent listed it
  // (tests swap it or mount on it there). Never set by the program.
  std::function<void(const boost::filesystem::path&)> before_open_directory;

  // Walks every root in parallel on the calling thread's TBB arena and returns when all is done.
  // No exception leaves a TBB body. Returns how many events could not be reported at all because
  // the visitor threw even while an error was being reported (the caller counts the scan as
  // incomplete then).
  std::uint64_t walk(const std::vector<boost::filesystem::path>& roots, WalkVisitor& visitor) const;

 private:
  WalkSettings settings_;
  ExcludeMatcher excludes_;
};

}  // namespace flscan::scanner
