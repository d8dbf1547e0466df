#include "scanner/open_path.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

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
  ~Anchor() { replace(-1); }

  [[nodiscard]] int dir() const { return fd_ >= 0 ? fd_ : AT_FDCWD; }
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
      replace(fd);
      rest.remove_prefix(cut);
      while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    }
    // `rest` is a suffix of `path`, so it is NUL-terminated; a path that ended in '/' names the
    // directory itself.
    tail_ = rest.empty() ? "." : rest.data();
    return true;
  }

 private:
  void replace(int fd) {
    if (fd_ >= 0) {
      const int saved = errno;  // callers report the errno of the call they made, not of close
      ::close(fd_);
      errno = saved;
    }
    fd_ = fd;
  }

  int fd_ = -1;
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
  const auto open_once = [&](int with) { return dir_fd == AT_FDCWD ? open_path(name, with) : ::openat(dir_fd, name, with); };
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

DirectoryReader::DirectoryReader(const char* path) {
  // O_NONBLOCK as for files: should the entry have become a FIFO, O_DIRECTORY refuses it anyway.
  const int fd = open_noatime_at(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    error_ = errno;
    return;
  }
  stream_ = ::fdopendir(fd);
  if (stream_ == nullptr) {
    error_ = errno;
    ::close(fd);
  }
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

}  // namespace flscan::scanner
