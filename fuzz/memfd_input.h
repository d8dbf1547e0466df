// The fuzz input as a file, for readers whose entry point takes a path (scanner/host): the bytes
// are written to an anonymous memory file and the reader opens it by its /proc/self/fd path, so
// the production path (FileSnapshot::take, then the library on the private copy) is what runs.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"

namespace flscan::fuzz {

class MemoryFileInput {
 public:
  MemoryFileInput(const std::uint8_t* data, std::size_t size) : fd_(::memfd_create("flscan-fuzz-input", MFD_CLOEXEC)) {
    FUZZ_CHECK(fd_ >= 0, "memfd_create works (the harness needs memory files)");
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      FUZZ_CHECK(n > 0, "the input is written to the memory file");
      done += static_cast<std::size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  MemoryFileInput(const MemoryFileInput&) = delete;
  MemoryFileInput& operator=(const MemoryFileInput&) = delete;
  ~MemoryFileInput() { ::close(fd_); }

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

}  // namespace flscan::fuzz
