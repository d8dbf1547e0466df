// Times as flscan writes them: ISO 8601 in UTC, one format for the scan reports (scanner/JSON.md,
// "times"), the event log evidence and flscan-live's document (live/LIVE_JSON.md), so that the
// same instant is the same text wherever it is read from.
#pragma once

#include <cstdint>
#include <string>

namespace flscan {

// POSIX `seconds` (since 1970-01-01 UTC) -> "2002-03-01T00:00:00Z", with ".nnnnnnnnn" before the
// Z when `nanoseconds` (0 to 999999999) is not zero. Times outside years 0001-9999, which ISO
// 8601's four digits do not hold, are written as their seconds: "@-62135596801".
[[nodiscard]] std::string format_utc_iso8601(std::int64_t seconds, std::uint32_t nanoseconds = 0);

// The UTC day of POSIX `seconds`, "2002-03-01"; outside years 0001-9999 as format_utc_iso8601
// writes it.
[[nodiscard]] std::string format_utc_day(std::int64_t seconds);

}  // namespace flscan
