// A file's times as the source that held it recorded them (issue 20; infection-model section 7a),
// and what they say about when FunLove touched the file. Each time is named for what it is on
// its source, not for the POSIX field it came through: an NTFS file's "ctime" is the MFT-record
// change time (`mft_changed`), a POSIX file's is the inode change time (`inode_changed`).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/enum_table.h"

namespace flscan::host {

// Seconds since 1970-01-01 UTC and the nanoseconds past them (0 to 999999999).
struct TimePoint {
  std::int64_t seconds = 0;
  std::uint32_t nanoseconds = 0;
  auto operator<=>(const TimePoint&) const = default;
};

// Where the times were read, which says what each one means (scanner/JSON.md, "times").
enum class TimeSource {
  posix,       // a directory walk (fstat, statx): POSIX mtime, atime, ctime (inode change), btime
  posix_ntfs,  // a directory walk on a kernel NTFS mount (ntfs3, ntfs): its ctime is the MFT change time
  ntfs,        // a file of an NTFS volume in a disk image (The Sleuth Kit): $STANDARD_INFORMATION, $FILE_NAME
  fat,         // a file of a FAT or exFAT volume in a disk image: dates and times, no change time
  image,       // a file of another file system in a disk image (ext4, HFS+, ...): POSIX-like times
};
inline constexpr std::array kTimeSources = {
    EnumRow{TimeSource::posix, "posix", "directory walk (POSIX times)"},
    EnumRow{TimeSource::posix_ntfs, "posix-ntfs", "directory walk of a kernel NTFS mount"},
    EnumRow{TimeSource::ntfs, "ntfs", "NTFS volume in a disk image"},
    EnumRow{TimeSource::fat, "fat", "FAT volume in a disk image"},
    EnumRow{TimeSource::image, "image", "other file system in a disk image"},
};
constexpr const auto& enum_rows(TimeSource) { return kTimeSources; }
static_assert(is_complete_table(kTimeSources), "kTimeSources: one row per TimeSource, in order");
[[nodiscard]] constexpr std::string_view to_code(TimeSource source) { return code_of(source); }

// The times a file's source gives; a time the source does not have (or records as zero, as The
// Sleuth Kit does for a time it does not know) is nullopt.
struct FileTimes {
  TimeSource source = TimeSource::posix;
  std::optional<TimePoint> modified;  // last write of the data (NTFS/FAT: as stored; POSIX mtime)
  std::optional<TimePoint> accessed;  // last access (FAT: a date only)
  std::optional<TimePoint> created;   // creation (NTFS/FAT: as stored; POSIX: statx btime when given)
  // NTFS (ntfs, posix_ntfs): the MFT-record change time, which SetFileTime cannot set. POSIX:
  // the inode change time. FAT: none.
  std::optional<TimePoint> changed;
  // NTFS in an image: the first $FILE_NAME attribute's four times, as The Sleuth Kit gives them.
  std::optional<TimePoint> fn_created;
  std::optional<TimePoint> fn_modified;
  std::optional<TimePoint> fn_accessed;
  std::optional<TimePoint> fn_changed;
  bool operator==(const FileTimes&) const = default;

  // True when `changed` is an NTFS MFT-record change time (JSON `mft_changed`).
  [[nodiscard]] bool mft_change_time() const { return source == TimeSource::ntfs || source == TimeSource::posix_ntfs; }
};

// How much later the MFT change time must be than the (restored) write time before it dates an
// infection: writing a file sets both at once, so a gap of a few seconds can be the two updates
// of one write landing on either side of a second; FunLove's rewrite leaves the original write
// time, years older (infection-model section 7a).
inline constexpr std::int64_t kRestoredWriteSlackSeconds = 2;

// An infected file's "infected at about" time and why (section 7a).
struct InfectionTime {
  TimePoint at;
  std::string reasoning;
};

// The infection time `times` supports: on NTFS, the MFT-record change time when it is later than
// the write time by more than kRestoredWriteSlackSeconds (the virus restored the write time, and
// could not restore the change time). nullopt otherwise: FAT and POSIX have no such time, and
// times that agree say nothing.
[[nodiscard]] std::optional<InfectionTime> infection_time(const FileTimes& times);

// engine/utc_time.h's format_utc_iso8601 of `time`: "2002-03-01T00:00:00Z", with ".nnnnnnnnn"
// before the Z when the nanoseconds are not zero (ISO 8601, UTC). Times outside years 0001-9999
// are written as their seconds, "@-62135596801".
[[nodiscard]] std::string format_iso8601(TimePoint time);
// The UTC day of `time`, "2002-03-01" (engine/utc_time.h's format_utc_day).
[[nodiscard]] std::string format_day(TimePoint time);

// JSON reader (flscan merge): the inverse of format_iso8601 for its own output; nullopt otherwise.
[[nodiscard]] std::optional<TimePoint> parse_iso8601(std::string_view text);

}  // namespace flscan::host
