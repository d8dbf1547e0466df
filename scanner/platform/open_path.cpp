#include "scanner/platform/open_path.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"

namespace flscan::scanner {
namespace {

// A path of this many bytes or more (without the NUL) is ENAMETOOLONG for a single call.
constexpr std::size_t kPathMax = PATH_MAX;

// Where the rest of a long path is resolved from: a directory opened with O_PATH (or the working
// directory), and the tail relative to it, shorter than PATH_MAX.
class Anchor {
 public:
  Anchor() = default;
  Anchor(const Anchor&) = delete;
  Anchor& operator=(const Anchor&) = delete;

  [[nodiscard]] int dir() const { return fd_.valid() ? fd_.get() : AT_FDCWD; }
  [[nodiscard]] const char* tail() const { return tail_; }

  // Resolves the leading pieces of `path`; false with errno set when one cannot be opened.
  bool resolve(const char* path) {
    std::string_view rest(path);
    while (rest.size() >= kPathMax) {
      // The last '/' that leaves a leading piece short enough for one call; a piece is never
      // empty: a cut at 0 (the root) opens "/".
      const std::size_t cut = rest.rfind('/', kPathMax - 1);
      if (cut == std::string_view::npos) {
        errno = ENAMETOOLONG;  // one name longer than PATH_MAX: no filesystem has it
        return false;
      }
      const std::string piece(rest.substr(0, cut == 0 ? 1 : cut));
      const int fd = ::openat(dir(), piece.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return false;
      fd_ = Fd(fd);
      rest.remove_prefix(cut);
      while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    }
    // `rest` is a suffix of `path`, so it is NUL-terminated; a path that ended in '/' names the
    // directory itself.
    tail_ = rest.empty() ? "." : rest.data();
    return true;
  }

 private:
  Fd fd_;  // its close keeps errno: callers report the errno of the call they made
  const char* tail_ = nullptr;
};

bool fits_one_call(const char* path) { return std::strlen(path) < kPathMax; }

}  // namespace

int open_path(const char* path, int flags, mode_t mode) {
  if (fits_one_call(path)) return ::open(path, flags, mode);
  Anchor anchor;
  if (!anchor.resolve(path)) return -1;
  return ::openat(anchor.dir(), anchor.tail(), flags, mode);
}

int stat_path(const char* path, struct stat* st, int at_flags) {
  if (fits_one_call(path)) return ::fstatat(AT_FDCWD, path, st, at_flags);
  Anchor anchor;
  if (!anchor.resolve(path)) return -1;
  return ::fstatat(anchor.dir(), anchor.tail(), st, at_flags);
}

int open_noatime_at(int dir_fd, const char* name, int flags) {
  const auto open_once = [&](int with) {
    return dir_fd == AT_FDCWD ? open_path(name, with) : ::openat(dir_fd, name, with);
  };
  const int fd = open_once(flags | O_NOATIME);
  if (fd >= 0 || errno != EPERM) return fd;
  return open_once(flags);
}

ssize_t readlink_path(const char* path, char* buffer, std::size_t size) {
  if (fits_one_call(path)) return ::readlink(path, buffer, size);
  Anchor anchor;
  if (!anchor.resolve(path)) return -1;
  return ::readlinkat(anchor.dir(), anchor.tail(), buffer, size);
}

std::string BeneathError::describe() const { return where.empty() ? reason : where + " " + reason; }

tl::expected<int, BeneathError> open_directory_beneath(int dir_fd, std::string_view relative,
                                                       const BeneathOptions& options) {
  constexpr int kIntermediate = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  constexpr int kFinal = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  auto failure = [](std::string where, int error, std::string reason) {
    return tl::make_unexpected(BeneathError{std::move(where), error, std::move(reason)});
  };
  auto errno_failure = [&failure](std::string where, int error) {
    return failure(std::move(where), error, errno_text(error));
  };
  // The current directory, owned here; none while it is still the caller's `dir_fd`.
  Fd current;
  auto at = [&] { return current.valid() ? current.get() : dir_fd; };
  auto replace = [&](int fd) { current = Fd(fd); };
  std::string where;
  std::size_t start = 0;
  while (start < relative.size()) {
    std::size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    const std::string name(relative.substr(start, end - start));
    start = end + 1;
    if (name.empty() || name == ".") continue;
    if (!where.empty()) where += '/';
    where += name;
    if (name == "..") {
      replace(-1);
      return failure(where, 0, "is a '..' component (refused: the result must stay below the start)");
    }
    // Every component is opened O_PATH (a directory that may only be traversed is enough); the
    // last one is reopened for reading below.
    int fd = ::openat(at(), name.c_str(), kIntermediate);
    if (fd < 0 && errno == ENOENT && options.create_missing) {
      if (::mkdirat(at(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        const int error = errno;
        replace(-1);
        return errno_failure(where, error);
      }
      fd = ::openat(at(), name.c_str(), kIntermediate);
    }
    if (fd < 0) {
      const int error = errno;
      struct stat st {};
      const bool link = (error == ENOTDIR || error == ELOOP) &&
                        ::fstatat(at(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
      replace(-1);
      if (link) return failure(where, error, "is a symbolic link (not followed)");
      return errno_failure(where, error);
    }
    replace(fd);
    if (!options.owners.empty()) {
      struct stat st {};
      if (::fstat(current.get(), &st) != 0) {
        const int error = errno;
        replace(-1);
        return errno_failure(where, error);
      }
      if (std::find(options.owners.begin(), options.owners.end(), st.st_uid) == options.owners.end()) {
        replace(-1);
        return failure(where, 0, "is owned by uid " + std::to_string(st.st_uid) + ", a user not trusted here");
      }
    }
  }
  const int fd = ::openat(at(), ".", kFinal);
  const int error = errno;
  replace(-1);
  if (fd < 0) return errno_failure(where, error);
  return fd;
}

DirectoryReader::DirectoryReader(const char* path) {
  // O_NONBLOCK as for files: should the entry have become a FIFO, O_DIRECTORY refuses it anyway.
  const int fd = open_noatime_at(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    error_ = errno;
    return;
  }
  adopt(fd);
}

DirectoryReader::DirectoryReader(int fd, int open_errno) {
  if (fd < 0) {
    error_ = open_errno;
    return;
  }
  adopt(fd);
}

void DirectoryReader::adopt(int fd) {
  Fd owned(fd);
  stream_ = ::fdopendir(owned.get());
  if (stream_ == nullptr) {
    error_ = errno;
    return;
  }
  owned.release();  // the stream's now: closedir closes it
}

DirectoryReader::~DirectoryReader() {
  if (stream_ != nullptr) ::closedir(stream_);
}

const char* DirectoryReader::next() {
  if (stream_ == nullptr) return nullptr;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(stream_);
    if (entry == nullptr) {
      error_ = errno;
      return nullptr;
    }
    const char* name = entry->d_name;
    if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) return name;
  }
}

tl::expected<std::string, std::string> read_small_regular_file(const std::string& path, std::uint64_t max_bytes,
                                                               const std::string& too_large) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return tl::make_unexpected("cannot open: " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return tl::make_unexpected("cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return tl::make_unexpected(std::string("not a regular file"));
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) return tl::make_unexpected(too_large);
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::make_unexpected("read error: " + errno_text(errno));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) return tl::make_unexpected(too_large);
  }
  return text;
}

}  // namespace flscan::scanner
