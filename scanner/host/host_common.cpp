#include "scanner/host/host_common.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/unicode.h"
#include "scanner/host/limits.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/open_path.h"

namespace flscan::host {

void NoteList::add(std::string note) {
  if (notes_.size() < limits::kMaxNotes) {
    notes_.push_back(std::move(note));
  } else {
    ++suppressed_;
  }
}

std::vector<std::string> NoteList::finish() && {
  if (suppressed_ > 0) {
    notes_.push_back(std::to_string(suppressed_) + " more notes not kept (limit " + std::to_string(limits::kMaxNotes) +
                     ")");
  }
  return std::move(notes_);
}

namespace {

using scanner::errno_text;
using scanner::Fd;

// Writes all of `data` to `fd`; false on any error.
bool write_all(int fd, std::span<const std::uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string too_large(std::uint64_t size, std::uint64_t max_bytes) {
  return "file is " + std::to_string(size) + " bytes, more than the limit of " + std::to_string(max_bytes) +
         " bytes; not read";
}

}  // namespace

tl::expected<FileSnapshot, HostError> FileSnapshot::take(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const std::string shown = path.string();
  // O_NONBLOCK: opening a FIFO must not wait for a writer; read_regular rejects it.
  // O_NOFOLLOW: a symbolic link named as the file is not followed (issue 13).
  // O_NOATIME: reading evidence must not rewrite its access time (allowed only to the owner or
  // CAP_FOWNER: EPERM otherwise, then opened without, as scanner/walk/file_reader.cpp does).
  const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW;
  Fd fd(scanner::open_noatime_at(AT_FDCWD, path.c_str(), flags));
  if (fd.get() < 0) {
    return tl::unexpected(
        HostError{shown, errno == ELOOP ? std::string(kSymlinkNotFollowed) : "cannot open: " + errno_text(errno)});
  }
  auto bytes = read_regular(fd.get(), shown, max_bytes);
  if (!bytes) return tl::unexpected(std::move(bytes.error()));
  FileSnapshot snap;
  snap.bytes_ = std::move(*bytes);
  if (snap.make_private_copy()) return snap;
  // No memory files or no /proc: the library reads the original (checked to be regular).
  snap.library_path_ = path.string();
  return snap;
}

tl::expected<std::vector<std::uint8_t>, HostError> FileSnapshot::read_regular(int fd, const std::string& shown,
                                                                              std::uint64_t max_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return tl::unexpected(HostError{shown, "cannot stat: " + errno_text(errno)});
  }
  if (!S_ISREG(st.st_mode)) {
    return tl::unexpected(HostError{shown, "not a regular file"});
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) return tl::unexpected(HostError{shown, too_large(size, max_bytes)});

  // One byte more than the stat size is asked for (issue 12): a FUSE or network filesystem may
  // report less than the file holds (0 included), and the copy must not pass for the whole file.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size) + 1);
  std::size_t done = 0;
  // pread until the stat size is passed or the file ends (early: it shrank, keep what was read). A
  // short read that reaches the stat size is the end, without a further read.
  while (done < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(HostError{shown, "read error: " + errno_text(errno)});
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
    if (done >= size) break;
  }
  if (done > size) {
    return tl::unexpected(
        HostError{shown, "modified while reading: its size was reported as " + std::to_string(size) +
                             " bytes, but it holds more (a filesystem that does not report sizes, or a "
                             "file written while read)"});
  }
  bytes.resize(done);
  return bytes;
}

tl::expected<FileSnapshot, HostError> FileSnapshot::from_reader(const std::string& shown, std::uint64_t size,
                                                                std::uint64_t max_bytes, const ReadAt& read) {
  if (size > max_bytes) return tl::unexpected(HostError{shown, too_large(size, max_bytes)});
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::size_t done = 0;
  // Read until the recorded size is reached or the reader reports the end (keep what was read).
  while (done < bytes.size()) {
    const std::span<std::uint8_t> rest(bytes.data() + done, bytes.size() - done);
    auto n = read(done, rest);
    if (!n) return tl::unexpected(HostError{shown, "read error: " + n.error()});
    if (*n > rest.size()) {
      return tl::unexpected(HostError{shown, "read error: " + std::to_string(*n) + " bytes returned for " +
                                                 std::to_string(rest.size()) + " asked"});
    }
    if (*n == 0) break;
    done += *n;
  }
  bytes.resize(done);
  return from_bytes(shown, std::move(bytes), max_bytes);
}

tl::expected<FileSnapshot, HostError> FileSnapshot::from_bytes(const std::string& shown,
                                                               std::vector<std::uint8_t> bytes,
                                                               std::uint64_t max_bytes) {
  if (bytes.size() > max_bytes) return tl::unexpected(HostError{shown, too_large(bytes.size(), max_bytes)});
  FileSnapshot snap;
  snap.bytes_ = std::move(bytes);
  if (!snap.make_private_copy()) {
    // There is no original the libraries could open instead, and nothing is written to disk.
    return tl::unexpected(HostError{shown, "no private copy could be made (memfd or /proc unavailable); not read"});
  }
  return snap;
}

bool FileSnapshot::make_private_copy() {
  Fd memfd(::memfd_create("flscan-host-evidence", MFD_CLOEXEC));
  if (memfd.get() < 0 || !write_all(memfd.get(), bytes_)) return false;
  std::string proc_path = "/proc/self/fd/" + std::to_string(memfd.get());
  if (::access(proc_path.c_str(), R_OK) != 0) return false;
  memfd_ = std::move(memfd);
  library_path_ = std::move(proc_path);
  return true;
}

std::string sanitize_utf8(std::string_view text, std::size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars * 4));
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size() && chars < max_chars; ++chars) {
    const std::size_t length = unicode::utf8_sequence_length(text, i);
    if (length == 0) {
      unicode::append_utf8(out, unicode::kReplacement);  // one per byte that starts no valid sequence
      i += 1;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace flscan::host
