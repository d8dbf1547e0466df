// Reads one regular file into a per-thread buffer (style guide habit 4: pread, no mmap, whose
// SIGBUS on a file truncated during the scan would kill the process). One pass, each byte read at
// most once: a sniff of up to limits::kSniffBytes, then, as the caller's plan decides, nothing
// more, the rest into the same buffer (files up to --stream-above), or the rest in chunks through
// a StreamConsumer (larger files: the engine's streamed scan, whose memory does not depend on the
// file's size). The buffer is reused for the next file.
//
// The same logic runs over any RandomAccessFile: an open descriptor (a file of a scanned
// directory, read with pread) or a file inside a disk image (scanner/image/tsk_file.h, read
// through The Sleuth Kit), so both get identical treatment.
//
// A file that could not be read completely and consistently is an error with a reason, never a
// short or stale buffer: refused or vanished at open, not a regular file once opened (fstat of the
// open descriptor closes the race of a file swapped for a FIFO after listing), larger than the
// size limit, shorter than fstat said (truncated while read), or with a size, mtime or ctime that
// changed between the fstat before and the fstat after reading (modified while read; the ctime
// catches an in-place rewrite whose writer restored the mtime, issue 12). A reported size is not
// trusted to be the end (issue 12: a FUSE or network filesystem may report 0, or less than the
// file holds): a file reported smaller than the sniff is sniffed with the full sniff size, and a
// file read to its end (whole or streamed) asks for one byte past its reported size in its last
// read (a streamed file: one extra read at that offset). Bytes there make the file modified while
// read, never "clean". A file that is only sniffed is not read to its end and not checked so.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <tl/expected.hpp>

#include "engine/byte_view.h"
#include "engine/scan.h"
#include "scanner/host/file_times.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

enum class FollowSymlink { no, yes };

// What an opened file must be besides a regular file (walker.h decides; a mismatch is refused as
// `replaced`): the device the walk listed it on (--one-file-system: a filesystem mounted on the
// name since), or the very file the walk decided on (a symlink it followed, a PATH operand).
enum class ExpectSame { nothing, device, file };
struct ExpectedFile {
  ExpectSame same = ExpectSame::nothing;
  dev_t dev = 0;
  ino_t ino = 0;
};

struct ReadError {
  NotScannedReason reason = NotScannedReason::io_error;
  std::string detail;  // the failed operation and its errno text, or what changed
};

// How much of a file to read, decided from its first bytes and its size.
enum class ReadPlan {
  head_only,  // the first bytes tell that nothing in it can matter
  whole,      // read it whole into the buffer
  stream,     // hand it to a StreamConsumer, which reads it in chunks (memory independent of size)
};

struct FileContent {
  ByteView bytes;                // the whole file when `whole`, else its first bytes (valid until the next read)
  std::uint64_t file_size = 0;   // the file's size (st_size of an open descriptor)
  bool whole = false;            // bytes holds the entire file
  bool streamed = false;         // the whole file went through the StreamConsumer
  std::uint64_t bytes_read = 0;  // bytes read from the file (each byte at most once, plus a few ahead)
  std::optional<FileIdentity> identity;  // the file's st_dev/st_ino (read through a descriptor only)
  // The file's times (issue 20), as its source gives them: recorded for a file read beyond its
  // sniff (one that may hold evidence), nullopt for one only sniffed or whose source has none.
  std::optional<host::FileTimes> times;
};

// What identifies one version of a file: reading it is consistent when the stamp before and the
// stamp after are equal.
struct FileStamp {
  std::uint64_t size = 0;
  std::int64_t mtime_seconds = 0;
  std::int64_t mtime_nanoseconds = 0;
  // The inode change time: set by every write and every utimensat, so a rewrite that restores
  // the mtime still changes it.
  std::int64_t ctime_seconds = 0;
  std::int64_t ctime_nanoseconds = 0;
  bool operator==(const FileStamp&) const = default;
};

// A regular file's bytes, wherever they live. Implementations: the open descriptor of a file found
// by the directory walk (file_reader.cpp) and a file inside a disk image (image/tsk_file.h).
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // The file's size and change stamp now; an error when it is no longer a regular file.
  [[nodiscard]] virtual tl::expected<FileStamp, ReadError> stamp() = 0;
  // Reads up to `length` bytes at `offset` into `out`: fewer only when the file ends first.
  [[nodiscard]] virtual tl::expected<std::size_t, ReadError> read_at(std::uint64_t offset, std::uint8_t* out,
                                                                     std::size_t length) = 0;
  // The file's times as of the last stamp() (issue 20); nullopt when the source has none.
  [[nodiscard]] virtual std::optional<host::FileTimes> times() { return std::nullopt; }
};

// Called with the first bytes of the file; true when the whole file must be read.
using NeedsWholeFile = std::function<bool(ByteView head)>;
using PlanRead = std::function<ReadPlan(ByteView head, std::uint64_t file_size)>;
// Reads the open file through `source` (the first bytes come from the sniff buffer, not the disk
// again). A read the source could not do fails the whole read with its reason, whatever the
// consumer concluded.
using StreamConsumer = std::function<void(ByteSource& source, std::uint64_t file_size)>;

class FileReader {
 public:
  explicit FileReader(std::uint64_t max_file_size) : max_file_size_(max_file_size) {}

  // Opens `path` (O_NOFOLLOW unless the walk followed a symlink to it; never blocking; O_NOATIME
  // when permitted) and reads it as described above. The result's bytes live in this reader's
  // buffer until the next call.
  [[nodiscard]] tl::expected<FileContent, ReadError> read(const char* path, FollowSymlink follow,
                                                          const NeedsWholeFile& needs_whole);

  // The same, with a plan that may stream: then `stream` runs while the file is open, and the
  // checks that the file did not change while read (size, mtime, ctime) cover the streamed bytes too.
  [[nodiscard]] tl::expected<FileContent, ReadError> read(const char* path, FollowSymlink follow, const PlanRead& plan,
                                                          const StreamConsumer& stream);

  // The same for `name` relative to the directory open as `dir_fd` (the walk's descriptor: no
  // component above the file is resolved again; AT_FDCWD makes `name` a path of any length), and
  // the opened file checked against `expected`.
  [[nodiscard]] tl::expected<FileContent, ReadError> read_at(int dir_fd, const char* name, FollowSymlink follow,
                                                             const ExpectedFile& expected, const PlanRead& plan,
                                                             const StreamConsumer& stream);

  // The same over any RandomAccessFile (a file inside a disk image): sniff, plan, then nothing
  // more, whole or streamed, and the stamp compared before and after.
  [[nodiscard]] tl::expected<FileContent, ReadError> read(RandomAccessFile& file, const PlanRead& plan,
                                                          const StreamConsumer& stream);

  // Test hook: runs after the sniff read and before the rest is read (tests truncate or grow
  // the file there). Never set by the program.
  std::function<void()> after_sniff_hook;

  [[nodiscard]] std::size_t buffer_capacity() const { return capacity_; }

 private:
  [[nodiscard]] tl::expected<FileContent, ReadError> read_file(RandomAccessFile& file, const PlanRead& plan,
                                                               const StreamConsumer& stream);
  // Makes room for `size` bytes, keeping the first `keep` bytes.
  void reserve(std::size_t size, std::size_t keep);
  // Drops a buffer grown for one very large file so an idle worker does not pin it.
  void shrink_after_large_file();

  std::uint64_t max_file_size_;
  // Uninitialised storage: std::vector::resize would zero every byte before pread overwrites it.
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t capacity_ = 0;
};

}  // namespace flscan::scanner
