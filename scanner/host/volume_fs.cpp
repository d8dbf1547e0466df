#include "scanner/host/volume_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"
#include "scanner/platform/open_path.h"

namespace flscan::host {

namespace {

using scanner::errno_text;
using scanner::Fd;

std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

// Where a path's last name is looked up: the directory that holds it, opened without following a
// symbolic link anywhere below the root (issue 13), and the name.
struct LocalFs::Parent {
  Fd fd;
  std::string leaf;
};

LocalFs::LocalFs(std::string root) : root_(without_trailing_slashes(std::move(root))) {}

bool LocalFs::is_root(const std::string& path) const {
  return !root_.empty() && without_trailing_slashes(path) == root_;
}

tl::expected<LocalFs::Parent, std::string> LocalFs::open_parent(const std::string& path) const {
  const std::string trimmed = without_trailing_slashes(path);
  const std::string prefix = root_ == "/" ? root_ : root_ + "/";
  if (!root_.empty() && trimmed.size() > prefix.size() && trimmed.starts_with(prefix)) {
    // Below the root: the root as the user named it, every directory below it without following.
    const std::string relative = trimmed.substr(prefix.size());
    const std::size_t slash = relative.rfind('/');
    Fd root(scanner::open_noatime_at(AT_FDCWD, root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root.get() < 0) return tl::unexpected(errno_text(errno));
    if (slash == std::string::npos) return Parent{std::move(root), relative};
    auto dir = scanner::open_directory_beneath(root.get(), std::string_view(relative).substr(0, slash));
    if (!dir) {
      const scanner::BeneathError& error = dir.error();
      if (error.error == ELOOP || error.reason.find("symbolic link") != std::string::npos) {
        return tl::unexpected(join_path(root_, error.where) + " is " + std::string(kSymlinkNotFollowed));
      }
      return tl::unexpected(join_path(root_, error.where) + ": " +
                            (error.error != 0 ? errno_text(error.error) : error.reason));
    }
    return Parent{Fd(*dir), relative.substr(slash + 1)};
  }
  // Not below the root (the volume root of --windows-root, or no root at all): the directory as
  // named, the last name without following.
  const std::size_t slash = trimmed.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : trimmed.substr(0, slash);
  Fd fd(scanner::open_noatime_at(AT_FDCWD, dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return tl::unexpected(errno_text(errno));
  return Parent{std::move(fd), slash == std::string::npos ? trimmed : trimmed.substr(slash + 1)};
}

tl::expected<DirectoryNames, HostError> LocalFs::list(const std::string& dir, std::size_t max_entries) const {
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK;
  int fd = -1;
  int open_errno = 0;
  if (is_root(dir)) {
    fd = scanner::open_noatime_at(AT_FDCWD, dir.c_str(), kFlags);  // as the user named it
    open_errno = errno;
  } else {
    auto parent = open_parent(dir);
    if (!parent) return tl::unexpected(HostError{dir, "cannot list: " + parent.error()});
    const Fd& parent_fd = parent->fd;
    fd = scanner::open_noatime_at(parent_fd.get(), parent->leaf.c_str(), kFlags | O_NOFOLLOW);
    open_errno = errno;
    struct stat st {};
    if (fd < 0 && ::fstatat(parent_fd.get(), parent->leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      return tl::unexpected(HostError{dir, "cannot list: " + std::string(kSymlinkNotFollowed)});
    }
  }
  scanner::DirectoryReader reader(fd, open_errno);
  if (reader.error() != 0) {
    return tl::unexpected(HostError{dir, "cannot list: " + errno_text(reader.error())});
  }
  DirectoryNames listing;
  while (listing.names.size() < max_entries) {
    const char* name = reader.next();
    if (name == nullptr) {
      if (reader.error() != 0) listing.read_error = errno_text(reader.error());
      return listing;
    }
    listing.names.emplace_back(name);
  }
  // The cap is reached: one more entry means some were left unlisted.
  listing.truncated = reader.next() != nullptr;
  return listing;
}

EntryKind LocalFs::kind(const std::string& path) const {
  struct stat st {};
  if (is_root(path)) {
    if (scanner::stat_path(path.c_str(), &st, 0) != 0) return EntryKind::missing;  // as named
  } else {
    auto parent = open_parent(path);
    if (!parent) return EntryKind::missing;
    const Fd& parent_fd = parent->fd;
    if (::fstatat(parent_fd.get(), parent->leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return EntryKind::missing;
  }
  if (S_ISREG(st.st_mode)) return EntryKind::regular;
  if (S_ISDIR(st.st_mode)) return EntryKind::directory;
  if (S_ISLNK(st.st_mode)) return EntryKind::symlink;
  return EntryKind::other;
}

tl::expected<FileSnapshot, HostError> LocalFs::snapshot(const std::string& path, std::uint64_t max_bytes) const {
  if (is_root(path)) return FileSnapshot::take(path, max_bytes);
  auto parent = open_parent(path);
  if (!parent) return tl::unexpected(HostError{path, "cannot open: " + parent.error()});
  const Fd& parent_fd = parent->fd;
  // O_NONBLOCK: a FIFO must not wait for a writer (read_regular rejects it); O_NOFOLLOW: a link
  // is refused, never followed.
  const Fd fd(scanner::open_noatime_at(parent_fd.get(), parent->leaf.c_str(),
                                       O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW));
  if (fd.get() < 0) {
    const int open_errno = errno;
    struct stat st {};
    if (::fstatat(parent_fd.get(), parent->leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      return tl::unexpected(HostError{path, std::string(kSymlinkNotFollowed)});
    }
    return tl::unexpected(HostError{path, "cannot open: " + errno_text(open_errno)});
  }
  auto bytes = FileSnapshot::read_regular(fd.get(), path, max_bytes);
  if (!bytes) return tl::unexpected(std::move(bytes.error()));
  return FileSnapshot::from_bytes(path, std::move(*bytes), max_bytes);
}

const LocalFs& local_fs() {
  static const LocalFs instance;
  return instance;
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string joined(dir);
  if (!joined.empty() && joined.back() != '/') joined.push_back('/');
  joined.append(name);
  return joined;
}

}  // namespace flscan::host
