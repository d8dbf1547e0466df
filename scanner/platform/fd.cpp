#include "scanner/platform/fd.h"

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace flscan::scanner {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = other.release();
  }
  return *this;
}

int Fd::release() { return std::exchange(fd_, -1); }

void Fd::reset() noexcept {
  if (fd_ < 0) return;
  const int saved = errno;
  ::close(std::exchange(fd_, -1));
  errno = saved;
}

int Fd::close_checked() {
  const int fd = release();
  return fd >= 0 && ::close(fd) != 0 ? errno : 0;
}

}  // namespace flscan::scanner
