// Where host evidence is read from: a volume seen through a small read-only filesystem interface,
// so that the same lookups (windows_install.h, host_report.h) and readers (system_hive.h,
// event_log.h) work on a directory tree of this machine (LocalFs) and on a volume inside a disk
// image, whose files can only be listed and read through the image library.
//
// Paths are plain strings joined with '/' (join_path): the scan root as given, then the names as
// the listing spells them, e.g. "/mnt/c/WINNT/System32/config/SYSTEM" or, inside an image,
// "nt4.vhd:p1/WINNT/system32/config/SYSTEM". They are never reinterpreted (no normalisation, no
// case folding), so they compare equal to the scanner's result paths. An implementation maps them
// onto its own namespace; it answers only for paths at or below its roots.
//
// Nothing here writes: listing, examining and snapshotting leave the volume as it was (LocalFs
// opens with O_NOATIME where permitted, so access times do not change either).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "scanner/host/host_common.h"

namespace flscan::host {

// Entries listed per directory while looking for a name (a hostile tree or image cannot make a
// lookup run away; a Windows system32 directory holds a few thousand entries).
inline constexpr std::size_t kMaxEntriesListed = 65536;

// What a path names. `symlink`: a symbolic link (LocalFs never follows one below its root, issue
// 13); `other`: a device, FIFO or socket. `missing`: it does not exist or cannot be examined.
enum class EntryKind { missing, directory, regular, other, symlink };

// One directory's names, as stored (never "." or ".."), in the order the volume returns them.
struct DirectoryNames {
  std::vector<std::string> names;  // at most the max_entries asked for
  bool truncated = false;          // the directory holds more entries than max_entries
  std::string read_error;          // non-empty: the listing ended early on this error (names keeps
                                   // what was read before it)
};

// A read-only view of one or more volumes. Implementations are used from one thread at a time;
// every call is const and may be repeated.
class VolumeFs {
 public:
  VolumeFs() = default;
  VolumeFs(const VolumeFs&) = delete;
  VolumeFs& operator=(const VolumeFs&) = delete;
  virtual ~VolumeFs() = default;

  // The names in directory `dir`, at most `max_entries` of them (then `truncated`). A directory
  // that cannot be opened at all: HostError{dir, "cannot list: <cause>"}.
  [[nodiscard]] virtual tl::expected<DirectoryNames, HostError> list(const std::string& dir,
                                                                     std::size_t max_entries) const = 0;

  // What `path` names (see EntryKind).
  [[nodiscard]] virtual EntryKind kind(const std::string& path) const = 0;

  // A private in-memory copy of the regular file `path` (FileSnapshot: the readers hand its
  // library_path() to hivex/libevt). Larger than `max_bytes`, not a regular file, unreadable:
  // HostError{path, reason}, with the same reasons as FileSnapshot::take ("cannot open: …", "not a
  // regular file", "file is N bytes, more than the limit of M bytes; not read", "read error: …").
  // An image implementation builds it with FileSnapshot::from_reader.
  [[nodiscard]] virtual tl::expected<FileSnapshot, HostError> snapshot(const std::string& path,
                                                                       std::uint64_t max_bytes) const = 0;

  [[nodiscard]] bool is_directory(const std::string& path) const { return kind(path) == EntryKind::directory; }
  [[nodiscard]] bool is_regular_file(const std::string& path) const { return kind(path) == EntryKind::regular; }
};

// The directories and files of this machine below one root (a PATH operand, or the --windows-root
// directory), resolved as the walk resolves them (README, Safety; issue 13): the root is opened as
// the user named it, every directory below it with scanner::open_directory_beneath (openat
// O_NOFOLLOW | O_DIRECTORY per component) and the last name with openat(O_NOFOLLOW), so a symbolic
// link anywhere below the root is never followed, even with -L: it is EntryKind::symlink, and
// listing or snapshotting through it is a HostError saying so (kSymlinkNotFollowed). A path not
// below the root (the volume root above --windows-root) has its directory opened as named and its
// last name not followed; local_fs(), without a root, treats every path so. Listings O_NOATIME
// when permitted; snapshots non-blocking, regular files only (fstat), pread into a memory file.
class LocalFs final : public VolumeFs {
 public:
  LocalFs() = default;
  explicit LocalFs(std::string root);
  [[nodiscard]] tl::expected<DirectoryNames, HostError> list(const std::string& dir,
                                                             std::size_t max_entries) const override;
  [[nodiscard]] EntryKind kind(const std::string& path) const override;
  [[nodiscard]] tl::expected<FileSnapshot, HostError> snapshot(const std::string& path,
                                                               std::uint64_t max_bytes) const override;

 private:
  struct Parent;
  [[nodiscard]] bool is_root(const std::string& path) const;
  // The directory holding `path`'s last name, and that name; the error says why it cannot be opened.
  [[nodiscard]] tl::expected<Parent, std::string> open_parent(const std::string& path) const;
  std::string root_;  // without trailing '/'; empty: no root
};
// A LocalFs without a root (see LocalFs).
[[nodiscard]] const LocalFs& local_fs();

// `dir` + "/" + `name` (no second '/' when `dir` ends with one; `name` alone when `dir` is empty).
[[nodiscard]] std::string join_path(std::string_view dir, std::string_view name);

}  // namespace flscan::host
