// Pieces shared by the host-evidence readers (system_hive.h, event_log.h): the error type, a
// bounded note list, a private snapshot of the input file, and safe string helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "engine/event_record.h"
#include "scanner/platform/fd.h"

namespace flscan::host {

// Why a host-evidence file could not be read at all. Partial results are not errors: they come
// back as evidence with notes.
struct HostError {
  std::string path;    // the path as given
  std::string reason;  // one line, e.g. "not a registry hive: no \"regf\" signature"
};

// The reason given for a symbolic link met where host evidence (a hive, an event log, a directory
// on the way to them) should be: host evidence is never read through a link (issue 13).
inline constexpr std::string_view kSymlinkNotFollowed = "a symbolic link: not followed";

// Anomalies met while reading one file, at most limits::kMaxNotes of them; the rest are counted
// and summarised by `finish()` as a last note.
class NoteList {
 public:
  void add(std::string note);
  [[nodiscard]] bool empty() const { return notes_.empty() && suppressed_ == 0; }
  // The notes, plus "N more notes not kept" when some were dropped.
  [[nodiscard]] std::vector<std::string> finish() &&;

 private:
  std::vector<std::string> notes_;
  std::size_t suppressed_ = 0;
};

// A private, immutable copy of an input file. The libraries read the copy (by a
// /proc/self/fd path), never the original, so a file truncated or swapped while it is being
// read cannot fault a mapping (hivex mmaps; style guide habit 4) nor turn into a FIFO that
// blocks, and both flscan and the library see the same bytes.
class FileSnapshot {
 public:
  // Copies `path` (a regular file of at most `max_bytes`) into an anonymous memory file. A
  // symbolic link named as `path` is not followed (kSymlinkNotFollowed).
  static tl::expected<FileSnapshot, HostError> take(const std::filesystem::path& path, std::uint64_t max_bytes);

  // The bytes of the open file `fd` (not closed here), which must be a regular file of at most
  // `max_bytes` (fstat); `shown` is the path errors name. A file that shrinks keeps what was read.
  static tl::expected<std::vector<std::uint8_t>, HostError> read_regular(int fd, const std::string& shown,
                                                                         std::uint64_t max_bytes);

  // Reads up to out.size() bytes at `offset` into `out`: the number of bytes read (0: the file
  // ends there), or why the read failed (one line, e.g. "tsk_fs_file_read: bad cluster").
  using ReadAt =
      std::function<tl::expected<std::size_t, std::string>(std::uint64_t offset, std::span<std::uint8_t> out)>;

  // A snapshot of a file that is not a local path (a file inside a disk image): `size` bytes (the
  // file's recorded size, checked against `max_bytes` before anything is read) delivered by
  // `read`, copied into an anonymous memory file. Nothing is written to disk: without memory
  // files or /proc there is no copy the libraries could open, and that is a HostError. `shown` is
  // the path errors name. A read that ends early keeps what was read (as take() does for a file
  // that shrinks); a read error is "read error: <reason>".
  static tl::expected<FileSnapshot, HostError> from_reader(const std::string& shown, std::uint64_t size,
                                                           std::uint64_t max_bytes, const ReadAt& read);
  // The same from bytes already in memory (at most `max_bytes` of them).
  static tl::expected<FileSnapshot, HostError> from_bytes(const std::string& shown, std::vector<std::uint8_t> bytes,
                                                          std::uint64_t max_bytes);

  FileSnapshot(FileSnapshot&& other) noexcept = default;
  FileSnapshot& operator=(FileSnapshot&& other) noexcept = default;
  FileSnapshot(const FileSnapshot&) = delete;
  FileSnapshot& operator=(const FileSnapshot&) = delete;
  ~FileSnapshot() = default;

  [[nodiscard]] std::span<const std::uint8_t> bytes() const { return bytes_; }
  // The path a library should open: the memory file, or the original when memory files are not
  // available (then `is_private()` is false and the reader notes it).
  [[nodiscard]] const std::string& library_path() const { return library_path_; }
  [[nodiscard]] bool is_private() const { return memfd_.valid(); }

 private:
  FileSnapshot() = default;
  // Copies bytes_ into a memory file and points library_path_ at it; false when memory files or
  // /proc are unavailable (nothing changed then).
  bool make_private_copy();
  std::vector<std::uint8_t> bytes_;
  std::string library_path_;
  scanner::Fd memfd_;
};

// ASCII-only case-insensitive comparison (Windows service, key and value names are compared
// case-insensitively; anything outside ASCII must match exactly): the one the event rules use
// (engine/event_record.h).
[[nodiscard]] inline bool iequals(std::string_view a, std::string_view b) { return evt::iequals_ascii(a, b); }

// Replaces bytes that are not valid UTF-8 by U+FFFD and cuts at `max_chars` code points, so that
// every string handed to a report is valid UTF-8 whatever the library returned.
std::string sanitize_utf8(std::string_view text, std::size_t max_chars);

}  // namespace flscan::host
