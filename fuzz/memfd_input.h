// The fuzz input as a file, for readers whose entry point takes a path.
//
// MemoryFileInput: the bytes in an anonymous memory file, named by its /proc/self/fd path. That
// path is a symbolic link: right for the image opener (scanner/image reopens images by such
// aliases), wrong for the host readers, which refuse any symbolic link (FileSnapshot::take opens
// with O_NOFOLLOW, issue 13) and would then fuzz only that refusal.
//
// RegularFileInput: the bytes in a regular file of a private directory (made once per process in
// $TMPDIR, removed at exit), rewritten for each input, so the host readers' production path
// (FileSnapshot::take, then hivex or libevt on the private copy) is what runs.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
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

class RegularFileInput {
 public:
  RegularFileInput(const std::uint8_t* data, std::size_t size) : path_(directory() + "/input") {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    FUZZ_CHECK(fd >= 0, "the input file can be written (the harness needs a writable $TMPDIR)");
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd, data + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      FUZZ_CHECK(n > 0, "the input is written to the file");
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  RegularFileInput(const RegularFileInput&) = delete;
  RegularFileInput& operator=(const RegularFileInput&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  // The process's private directory, made on first use; the file and the directory are removed
  // when the process exits normally.
  static const std::string& directory() {
    static const std::string made = [] {
      const char* tmp = std::getenv("TMPDIR");
      std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/flscan-fuzz-input.XXXXXX";
      FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, "the harness's private directory is made");
      static std::string removed_at_exit;
      removed_at_exit = pattern;
      std::atexit([] {
        ::unlink((removed_at_exit + "/input").c_str());
        ::rmdir(removed_at_exit.c_str());
      });
      return pattern;
    }();
    return made;
  }
  std::string path_;
};

}  // namespace flscan::fuzz
