#include "scanner/host/file_times.h"

#include <chrono>
#include <cstdio>

#include "engine/utc_time.h"

namespace flscan::host {
namespace {

using Days = std::chrono::sys_days;
constexpr std::int64_t kSecondsPerDay = 86400;

}  // namespace

std::optional<InfectionTime> infection_time(const FileTimes& times) {
  if (!times.mft_change_time() || !times.changed || !times.modified) return std::nullopt;
  const std::int64_t gap = times.changed->seconds - times.modified->seconds;
  if (gap <= kRestoredWriteSlackSeconds) return std::nullopt;
  return InfectionTime{
      *times.changed,
      "its NTFS MFT record changed at " + format_iso8601(*times.changed) + ", later than its last write time " +
          format_iso8601(*times.modified) +
          ": FunLove restores the write time of a file it infects but cannot restore the MFT change time, so the "
          "file was rewritten then (or its metadata changed later)"};
}

std::string format_iso8601(TimePoint time) { return format_utc_iso8601(time.seconds, time.nanoseconds); }

std::string format_day(TimePoint time) { return format_utc_day(time.seconds); }

std::optional<TimePoint> parse_iso8601(std::string_view text) {
  int year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0, nanos = 0;
  int consumed = 0;
  const std::string copy(text);
  const bool fraction = text.size() == 30;  // "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"
  if (fraction) {
    if (std::sscanf(copy.c_str(), "%4d-%2u-%2uT%2u:%2u:%2u.%9uZ%n", &year, &month, &day, &hour, &minute, &second,
                    &nanos, &consumed) != 7)
      return std::nullopt;
  } else if (text.size() != 20 || std::sscanf(copy.c_str(), "%4d-%2u-%2uT%2u:%2u:%2uZ%n", &year, &month, &day, &hour,
                                              &minute, &second, &consumed) != 6) {
    return std::nullopt;
  }
  if (static_cast<std::size_t>(consumed) != text.size() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{day}};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t days = Days{ymd}.time_since_epoch().count();
  return TimePoint{days * kSecondsPerDay + hour * 3600 + minute * 60 + second, nanos};
}

}  // namespace flscan::host
