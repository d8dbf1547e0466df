// Path-based system calls that work for paths of any length, and directory listing that leaves
// access times alone.
//
// Long paths: the kernel refuses a path of PATH_MAX (4096) bytes or more with ENAMETOOLONG, yet a
// tree can be nested deeper than that (each name may have up to NAME_MAX = 255 bytes), and what
// lies below is exactly where something could hide from a scanner that only opens full paths.
// These functions behave like open(2), fstatat(2) and readlink(2) on the whole path. A path
// shorter than PATH_MAX goes to the kernel in one call; a longer one is resolved piece by piece:
// each leading piece shorter than PATH_MAX (cut at a '/') is opened with openat(O_PATH |
// O_DIRECTORY) relative to the previous one, and the call is made relative to the last. Symlinks
// in leading components are followed exactly as a one-call lookup follows them, so the result is
// the same file. On failure they return -1 with errno set, as the system calls do.
//
// Access times: reading a directory (getdents) updates its atime, on relatime mounts whenever
// the atime is not newer than the mtime. DirectoryReader and the walk (dir_handle.cpp) open
// directories with O_NOATIME, which the kernel allows to the owner and to CAP_FOWNER (root); for
// anyone else they fall back to a plain open, and the directory's atime may then change. Regular files are the reader's
// business (file_reader.cpp, host_common.cpp, volume_fs.cpp, and quarantine.cpp for the originals it copies), which
// open them through open_noatime_at too. Symbolic links have no such escape: readlink and following a link update the
// link's own atime on a read-write mount.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace flscan::scanner {

// open(2) for a path of any length. `flags` and `mode` as for open.
[[nodiscard]] int open_path(const char* path, int flags, mode_t mode = 0);

// fstatat(AT_FDCWD, path, st, at_flags) for a path of any length: at_flags 0 is stat(2),
// AT_SYMLINK_NOFOLLOW is lstat(2).
[[nodiscard]] int stat_path(const char* path, struct stat* st, int at_flags);

// readlink(2) for a path of any length (no terminating NUL is written, as readlink).
[[nodiscard]] ssize_t readlink_path(const char* path, char* buffer, std::size_t size);

// Opening a directory below a trusted one without following symbolic links (issue 13): what the
// quarantine, repair and restore use before they create, rename or remove anything, so that a
// user who can write to the tree cannot redirect them by swapping a directory for a symlink.
struct BeneathOptions {
  // Create a missing component with mkdirat (mode 0755 less the umask) and open what is there.
  bool create_missing = false;
  // When not empty: every component opened must be owned by one of these users.
  std::vector<uid_t> owners;
};

struct BeneathError {
  std::string where;   // the components up to the one that failed, as given ("" for the start)
  int error = 0;       // the errno of the failed call, 0 when `reason` alone says what is wrong
  std::string reason;  // "is a symbolic link (not followed)", "is owned by uid 1000", errno text...
  [[nodiscard]] std::string describe() const;  // "<where> <reason>"
};

// Opens the directory `relative` (names separated by '/') below the directory `dir_fd`, one
// openat(O_NOFOLLOW | O_DIRECTORY) per component: a symbolic link anywhere is refused, never
// followed, and so is a ".." component (the result is always below `dir_fd`; "." is skipped). Every
// component opened (not `dir_fd` itself) must satisfy `options`. An empty `relative` reopens
// `dir_fd`. The descriptor returned (O_RDONLY | O_DIRECTORY | O_CLOEXEC) belongs to the caller.
[[nodiscard]] tl::expected<int, BeneathError> open_directory_beneath(int dir_fd, std::string_view relative,
                                                                     const BeneathOptions& options = {});

// openat(dir_fd, name, flags | O_NOATIME), retried without O_NOATIME when the kernel refuses it
// (EPERM: neither the owner nor CAP_FOWNER). With AT_FDCWD `name` may be a path of any length.
[[nodiscard]] int open_noatime_at(int dir_fd, const char* name, int flags);

// The names in one directory, read through a descriptor opened with O_NOATIME when permitted (see
// above), for a path of any length. Never yields "." or "..". Order: as the filesystem returns
// them.
class DirectoryReader {
 public:
  // Opens the directory (following a symlink named as `path`, as opendir does); check error().
  explicit DirectoryReader(const char* path);
  // Lists the directory open as `fd`, which the reader takes over (closes); a negative `fd` is the
  // error `open_errno`.
  DirectoryReader(int fd, int open_errno);
  ~DirectoryReader();
  DirectoryReader(const DirectoryReader&) = delete;
  DirectoryReader& operator=(const DirectoryReader&) = delete;

  // The next name, valid until the next call; nullptr at the end of the listing or on an error.
  [[nodiscard]] const char* next();
  // 0, or the errno of the open (before any next()) or of the readdir that ended the listing.
  [[nodiscard]] int error() const { return error_; }

 private:
  void adopt(int fd);  // fdopendir, or the errno and the descriptor closed

  DIR* stream_ = nullptr;
  int error_ = 0;
};

// The whole of a small regular file: opened O_NONBLOCK (a FIFO, even one swapped in after a check
// by name, must not block), checked S_ISREG on the descriptor, refused when larger than
// `max_bytes` (before and while reading: the file may grow). The error is "cannot open: ...",
// "not a regular file", `too_large` or "read error: ...". Report files (flscan merge) and the
// live report (--live-report) are read this way.
[[nodiscard]] tl::expected<std::string, std::string> read_small_regular_file(const std::string& path,
                                                                             std::uint64_t max_bytes,
                                                                             const std::string& too_large);

}  // namespace flscan::scanner
