#include "engine/utc_time.h"

#include <chrono>
#include <cstdio>

namespace flscan {
namespace {

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
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), rest};
}

bool in_iso_range(std::int64_t seconds) { return seconds >= kFirstIsoSecond && seconds < kPastLastIsoSecond; }

}  // namespace

std::string format_utc_iso8601(std::int64_t seconds, std::uint32_t nanoseconds) {
  if (!in_iso_range(seconds)) return "@" + std::to_string(seconds);
  const Civil c = civil(seconds);
  char text[48];
  const auto hour = static_cast<int>(c.second_of_day / 3600);
  const auto minute = static_cast<int>(c.second_of_day / 60 % 60);
  const auto second = static_cast<int>(c.second_of_day % 60);
  if (nanoseconds == 0) {
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", c.year, c.month, c.day, hour, minute, second);
  } else {
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%09uZ", c.year, c.month, c.day, hour, minute,
                  second, nanoseconds % 1000000000U);
  }
  return text;
}

std::string format_utc_day(std::int64_t seconds) {
  if (!in_iso_range(seconds)) return format_utc_iso8601(seconds);
  const Civil c = civil(seconds);
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", c.year, c.month, c.day);
  return text;
}

}  // namespace flscan
