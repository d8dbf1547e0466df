#include "scanner/host/file_times.h"

#include <chrono>
#include <cstdio>

namespace flscan::host {
namespace {

using Days = std::chrono::sys_days;
constexpr std::int64_t kSecondsPerDay = 86400;
// 0001-01-01 and 10000-01-01 as seconds since 1970: the years ISO 8601's four digits hold.
constexpr std::int64_t kFirstIsoSecond = -62135596800;
constexpr std::int64_t kPastLastIsoSecond = 253402300800;

struct Civil {
  int year;
  unsigned month;
  unsigned day;
  std::int64_t second_of_day;
};

Civil civil(std::int64_t seconds) {
  std::int64_t days = seconds / kSecondsPerDay;
  std::int64_t rest = seconds % kSecondsPerDay;
  if (rest < 0) {
    rest += kSecondsPerDay;
    --days;
  }
  const std::chrono::year_month_day ymd{Days{std::chrono::days{days}}};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), rest};
}

bool in_iso_range(std::int64_t seconds) { return seconds >= kFirstIsoSecond && seconds < kPastLastIsoSecond; }

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

std::string format_iso8601(TimePoint time) {
  if (!in_iso_range(time.seconds)) return "@" + std::to_string(time.seconds);
  const Civil c = civil(time.seconds);
  char text[48];
  const auto hour = static_cast<int>(c.second_of_day / 3600);
  const auto minute = static_cast<int>(c.second_of_day / 60 % 60);
  const auto second = static_cast<int>(c.second_of_day % 60);
  if (time.nanoseconds == 0) {
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", c.year, c.month, c.day, hour, minute, second);
  } else {
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%09uZ", c.year, c.month, c.day, hour, minute,
                  second, time.nanoseconds % 1000000000U);
  }
  return text;
}

std::string format_day(TimePoint time) {
  if (!in_iso_range(time.seconds)) return format_iso8601(time);
  const Civil c = civil(time.seconds);
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", c.year, c.month, c.day);
  return text;
}

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
