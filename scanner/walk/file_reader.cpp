#include "scanner/walk/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <string>

#include "engine/limits.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"
#include "scanner/platform/open_path.h"

namespace flscan::scanner {
namespace {

// A buffer grown past this for one large file is released before the next file, so each idle
// worker pins at most this much (the sniff buffer is far smaller).
constexpr std::size_t kKeepBufferBytes = 32u * 1024 * 1024;

// O_NONBLOCK: should the entry have become a FIFO since it was listed, open must not wait for a
// writer (the fstat check below then refuses it). O_NOATIME keeps the scan from rewriting access
// times, which forensics may need; the kernel only allows it to the owner or CAP_FOWNER (EPERM
// otherwise), so it is retried without.
// Relative to the walk's directory descriptor (walker.h), or a path of any length (open_path.h).
int open_for_scan(int dir_fd, const char* name, FollowSymlink follow) {
  int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  if (follow == FollowSymlink::no) flags |= O_NOFOLLOW;
  return open_noatime_at(dir_fd, name, flags);
}

std::string_view type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

ReadError open_error(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return {NotScannedReason::vanished, "open: " + errno_text(error)};
    case EACCES:
    case EPERM:
      return {NotScannedReason::permission_denied, "open: " + errno_text(error)};
    // O_NOFOLLOW met a symlink (ELOOP), or open met a socket (ENXIO): not what was listed.
    case ELOOP:
      return {NotScannedReason::replaced, "open: now a symbolic link"};
    case ENXIO:
      return {NotScannedReason::replaced, "open: now a socket or device without driver"};
    default:
      return {NotScannedReason::io_error, "open: " + errno_text(error)};
  }
}

// Reads up to `size` bytes at `offset`, retrying short reads, until EOF. Returns the number of
// bytes read, or the errno of a failed pread. A short read that reaches `reported_end` (the size
// fstat gave) is taken as the end of the file without asking again: the reader requests more than
// the reported size to see bytes beyond it (issue 12), and must not pay a second pread per file
// for it; bytes past the reported end still show in that one read.
tl::expected<std::size_t, int> pread_full(int fd, std::uint8_t* destination, std::size_t size, std::uint64_t offset,
                                          std::uint64_t reported_end) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, destination + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::make_unexpected(errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
    if (done < size && offset + done >= reported_end) break;
  }
  return done;
}

// Bytes where the file should have ended: its reported size does not describe it (a FUSE or
// network filesystem that under-reports sizes, or a file written while read). What was read up to
// that size is not the file, so it is never scanned as if it were (issue 12).
ReadError beyond_size_error(std::uint64_t reported_size, std::uint64_t got, bool or_more) {
  return {NotScannedReason::modified, "the file's size was reported as " + std::to_string(reported_size) +
                                          " bytes, but reading it gave " + std::to_string(got) +
                                          (or_more ? " bytes or more" : " bytes") +
                                          " (a filesystem that does not report sizes, or a file written while read)"};
}

ReadError truncated_error(std::uint64_t expected_size, std::uint64_t got) {
  return {NotScannedReason::truncated, "read " + std::to_string(got) + " bytes of the " +
                                           std::to_string(expected_size) + " fstat reported: the file ended early"};
}

// The open descriptor of a file the walk found: stamp from fstat (which also refuses a file that is
// no longer regular), bytes from pread.
class FdFile final : public RandomAccessFile {
 public:
  FdFile(int fd, const ExpectedFile& expected) : fd_(fd), expected_(expected) {}
  // The opened file's device and inode, as the last stamp() found them.
  [[nodiscard]] const FileIdentity& identity() const { return identity_; }
  tl::expected<FileStamp, ReadError> stamp() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0)
      return tl::make_unexpected(ReadError{NotScannedReason::io_error, "fstat: " + errno_text(errno)});
    if (!S_ISREG(st.st_mode)) {
      return tl::make_unexpected(ReadError{NotScannedReason::replaced, "now " + std::string(type_name(st.st_mode))});
    }
    if (auto mismatch = unexpected_file(st)) return tl::make_unexpected(std::move(*mismatch));
    identity_ = FileIdentity{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
    reported_size_ = static_cast<std::uint64_t>(st.st_size);
    last_stat_ = st;
    return FileStamp{static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec,
                     st.st_ctim.tv_nsec};
  }
  tl::expected<std::size_t, ReadError> read_at(std::uint64_t offset, std::uint8_t* out, std::size_t length) override {
    const auto got = pread_full(fd_, out, length, offset, reported_size_);
    if (!got) return tl::make_unexpected(ReadError{NotScannedReason::io_error, "read: " + errno_text(got.error())});
    return *got;
  }
  // The last stamp's mtime, atime and ctime; statx's btime when the file system gives it; and
  // whether the file lives on a kernel NTFS driver, whose ctime is the MFT-record change time
  // (issue 20). ntfs-3g runs through FUSE, whose type does not say NTFS: its ctime stays
  // `inode_changed` (scanner/JSON.md).
  std::optional<host::FileTimes> times() override {
    host::FileTimes times;
    struct statfs fs {};
    if (::fstatfs(fd_, &fs) == 0 && (fs.f_type == kNtfsMagic || fs.f_type == kNtfs3Magic))
      times.source = host::TimeSource::posix_ntfs;
    const auto point = [](const struct timespec& ts) -> std::optional<host::TimePoint> {
      if (ts.tv_sec == 0 && ts.tv_nsec == 0) return std::nullopt;
      return host::TimePoint{ts.tv_sec, static_cast<std::uint32_t>(ts.tv_nsec)};
    };
    times.modified = point(last_stat_.st_mtim);
    times.accessed = point(last_stat_.st_atim);
    times.changed = point(last_stat_.st_ctim);
    struct statx sx {};
    if (::statx(fd_, "", AT_EMPTY_PATH, STATX_BTIME, &sx) == 0 && (sx.stx_mask & STATX_BTIME) != 0)
      times.created = point(timespec{sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec});
    return times;
  }

 private:
  // statfs f_type of Linux's NTFS drivers: fs/ntfs (NTFS_SB_MAGIC) and fs/ntfs3.
  static constexpr decltype(statfs::f_type) kNtfsMagic = 0x5346544e;
  static constexpr decltype(statfs::f_type) kNtfs3Magic = 0x7366746e;
  // What the walk decided on, checked on the descriptor itself (issue 13, item 3).
  [[nodiscard]] std::optional<ReadError> unexpected_file(const struct stat& st) const {
    if (expected_.same == ExpectSame::file && (st.st_dev != expected_.dev || st.st_ino != expected_.ino)) {
      return ReadError{NotScannedReason::replaced,
                       "open: not the file that was listed (another file at this name now)"};
    }
    if (expected_.same == ExpectSame::device && st.st_dev != expected_.dev) {
      return ReadError{NotScannedReason::replaced,
                       "open: on another device than when listed (a filesystem mounted on it since)"};
    }
    return std::nullopt;
  }

  int fd_;
  ExpectedFile expected_;
  FileIdentity identity_;
  struct stat last_stat_ {};
  std::uint64_t reported_size_ = 0;
};

// The file as a ByteSource for a StreamConsumer: the sniffed head is served from memory,
// everything else from the file. The first failure is kept as the read's error.
class FileSource final : public ByteSource {
 public:
  FileSource(RandomAccessFile& file, ByteView head, std::uint64_t file_size)
      : file_(file), head_(head), file_size_(file_size) {}
  bool read(std::uint64_t offset, std::uint8_t* out, std::size_t length) override {
    if (error) return false;
    if (offset < head_.size()) {
      const std::size_t from_head = static_cast<std::size_t>(std::min<std::uint64_t>(length, head_.size() - offset));
      std::memcpy(out, head_.data() + offset, from_head);
      out += from_head;
      offset += from_head;
      length -= from_head;
    }
    if (length == 0) return true;
    auto got = file_.read_at(offset, out, length);
    if (!got) {
      error = std::move(got.error());
      return false;
    }
    bytes_read += *got;
    if (*got < length) {
      error = truncated_error(file_size_, offset + *got);
      return false;
    }
    return true;
  }
  std::optional<ReadError> error;
  std::uint64_t bytes_read = 0;

 private:
  RandomAccessFile& file_;
  ByteView head_;
  std::uint64_t file_size_;
};

}  // namespace

void FileReader::shrink_after_large_file() {
  if (capacity_ > kKeepBufferBytes) {
    buffer_.reset();
    capacity_ = 0;
  }
}

void FileReader::reserve(std::size_t size, std::size_t keep) {
  if (size <= capacity_) return;
  const std::size_t capacity = std::max(size, limits::kSniffBytes);
  std::unique_ptr<std::uint8_t[]> grown(new (std::nothrow) std::uint8_t[capacity]);
  if (!grown) throw std::bad_alloc();
  if (keep > 0) std::memcpy(grown.get(), buffer_.get(), keep);
  buffer_ = std::move(grown);
  capacity_ = capacity;
}

tl::expected<FileContent, ReadError> FileReader::read(const char* path, FollowSymlink follow,
                                                      const NeedsWholeFile& needs_whole) {
  return read(
      path, follow,
      [&needs_whole](ByteView head, std::uint64_t) {
        return needs_whole(head) ? ReadPlan::whole : ReadPlan::head_only;
      },
      nullptr);
}

tl::expected<FileContent, ReadError> FileReader::read(const char* path, FollowSymlink follow, const PlanRead& plan,
                                                      const StreamConsumer& stream) {
  return read_at(AT_FDCWD, path, follow, ExpectedFile{}, plan, stream);
}

tl::expected<FileContent, ReadError> FileReader::read_at(int dir_fd, const char* name, FollowSymlink follow,
                                                         const ExpectedFile& expected, const PlanRead& plan,
                                                         const StreamConsumer& stream) {
  shrink_after_large_file();
  const Fd fd(open_for_scan(dir_fd, name, follow));
  if (!fd.valid()) return tl::make_unexpected(open_error(errno));
  FdFile file(fd.get(), expected);
  try {
    auto content = read_file(file, plan, stream);
    if (content) content->identity = file.identity();
    return content;
  } catch (const std::bad_alloc&) {
    return tl::make_unexpected(ReadError{NotScannedReason::internal_error, "out of memory for the read buffer"});
  }
}

tl::expected<FileContent, ReadError> FileReader::read(RandomAccessFile& file, const PlanRead& plan,
                                                      const StreamConsumer& stream) {
  shrink_after_large_file();
  try {
    return read_file(file, plan, stream);
  } catch (const std::bad_alloc&) {
    return tl::make_unexpected(ReadError{NotScannedReason::internal_error, "out of memory for the read buffer"});
  }
}

tl::expected<FileContent, ReadError> FileReader::read_file(RandomAccessFile& file, const PlanRead& plan,
                                                           const StreamConsumer& stream) {
  auto before = file.stamp();
  if (!before) return tl::make_unexpected(std::move(before.error()));
  const std::uint64_t file_size = before->size;

  const std::size_t head_size = static_cast<std::size_t>(std::min<std::uint64_t>(file_size, limits::kSniffBytes));
  // Reported smaller than the sniff (0 included): the one sniff read asks for the full sniff size
  // anyway (issue 12). A FUSE or network filesystem (or /proc) may report 0, or any size below the
  // truth, for a file with content; bytes past the reported size mean the size does not describe
  // the file, so what the plan below would decide from it cannot be trusted. Such a file is then
  // read to its end by this one read: no further check is needed for it below.
  const bool sniff_reaches_end = file_size < limits::kSniffBytes;
  const std::size_t head_request = sniff_reaches_end ? limits::kSniffBytes : head_size;
  reserve(head_request, 0);
  auto head_read = file.read_at(0, buffer_.get(), head_request);
  if (!head_read) return tl::make_unexpected(std::move(head_read.error()));
  if (*head_read > head_size)
    return tl::make_unexpected(beyond_size_error(file_size, *head_read, *head_read == head_request));
  if (*head_read < head_size) return tl::make_unexpected(truncated_error(file_size, *head_read));
  if (after_sniff_hook) after_sniff_hook();

  FileContent content;
  content.file_size = file_size;
  content.bytes = ByteView(buffer_.get(), head_size);
  content.bytes_read = head_size;
  const ReadPlan chosen = plan(content.bytes, file_size);
  if (chosen != ReadPlan::head_only &&
      (file_size > max_file_size_ || file_size > std::numeric_limits<std::size_t>::max())) {
    return tl::make_unexpected(
        ReadError{NotScannedReason::too_large,
                  std::to_string(file_size) + " bytes, more than --max-filesize " + std::to_string(max_file_size_)});
  }
  if (chosen == ReadPlan::whole && file_size > limits::kMaxWholeRead) {
    return tl::make_unexpected(
        ReadError{NotScannedReason::too_large, std::to_string(file_size) +
                                                   " bytes must be read whole (kernel or loader file, or a signature "
                                                   "set that cannot stream) and that is capped at " +
                                                   std::to_string(limits::kMaxWholeRead)});
  }
  // Bytes past the reported size, found by the last read of a file read to its end: reported after
  // the stamp comparison below, so a file that grew while read is said to have grown.
  std::optional<ReadError> beyond_size;
  if (chosen == ReadPlan::stream && stream) {
    FileSource source(file, content.bytes, file_size);
    stream(source, file_size);
    if (source.error) return tl::make_unexpected(std::move(*source.error));
    content.bytes_read += source.bytes_read;
    content.streamed = true;
    // The consumer's reads end at the reported size and cannot be extended: one more read at that
    // offset, which must find nothing (issue 12: an under-reported size hides the rest).
    if (!sniff_reaches_end) {
      std::uint8_t beyond = 0;
      auto extra = file.read_at(file_size, &beyond, 1);
      if (!extra) return tl::make_unexpected(std::move(extra.error()));
      if (*extra > 0) beyond_size = beyond_size_error(file_size, file_size + *extra, true);
    }
  } else if (chosen != ReadPlan::head_only) {
    const auto size = static_cast<std::size_t>(file_size);
    if (!sniff_reaches_end) {
      // The last read asks for one byte past the reported size, which must not be there (issue 12).
      // A file size fits off_t (below 2^63), so size + 1 cannot wrap.
      const std::size_t request = size - head_size + 1;
      reserve(size + 1, head_size);
      auto rest_read = file.read_at(head_size, buffer_.get() + head_size, request);
      if (!rest_read) return tl::make_unexpected(std::move(rest_read.error()));
      if (*rest_read == request) beyond_size = beyond_size_error(file_size, size + 1, true);
      if (*rest_read < size - head_size) return tl::make_unexpected(truncated_error(file_size, head_size + *rest_read));
    }
    content.bytes = ByteView(buffer_.get(), size);
    content.whole = true;
    content.bytes_read = size;
  }

  // Growth, an in-place rewrite or a truncate-and-refill since the first stamp means the bytes
  // just read may mix two versions of the file: scanning them could miss or invent evidence.
  auto after = file.stamp();
  if (!after) return tl::make_unexpected(std::move(after.error()));
  if (after->size != before->size) {
    return tl::make_unexpected(
        ReadError{NotScannedReason::modified, "size changed from " + std::to_string(before->size) + " to " +
                                                  std::to_string(after->size) + " bytes while reading"});
  }
  if (after->mtime_seconds != before->mtime_seconds || after->mtime_nanoseconds != before->mtime_nanoseconds) {
    return tl::make_unexpected(ReadError{NotScannedReason::modified, "modification time changed while reading"});
  }
  if (*after != *before) {
    return tl::make_unexpected(
        ReadError{NotScannedReason::modified,
                  "inode change time (ctime) changed while reading: the file was rewritten or its times set"});
  }
  if (beyond_size) return tl::make_unexpected(std::move(*beyond_size));
  // Times only for a file read past its sniff: a file only sniffed holds no evidence (issue 20).
  if (chosen != ReadPlan::head_only) content.times = file.times();
  return content;
}

}  // namespace flscan::scanner
