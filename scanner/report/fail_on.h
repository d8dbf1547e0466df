// --fail-on: which outcomes of a scan make flscan's exit code non-zero (CI pipelines decide what
// breaks a build). The exit code values themselves stay those of report.h: 1 for findings the
// policy names (FunLove evidence, suspicious findings), 2 for an incomplete scan, 1 winning.
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace flscan::scanner {

struct FailOn {
  bool infected = true;     // FunLove evidence: an infection-severity finding, or an FLC service
  bool suspicious = false;  // a suspicious finding (kernel checksum only, unconfirmed built-in signature)
  bool incomplete =
      true;  // something NOT SCANNED, or host evidence unreadable (a SYSTEM hive, SysEvent.Evt, an image volume)

  friend bool operator==(const FailOn&, const FailOn&) = default;
};

// The default, which is flscan's behaviour without the option: "infected,incomplete".
inline constexpr FailOn kDefaultFailOn{};

// Parses "infected,incomplete", "suspicious", "none", ...: comma-separated words among infected,
// suspicious, incomplete (each at most once, any order), or "none" alone. The error says why.
[[nodiscard]] tl::expected<FailOn, std::string> parse_fail_on(std::string_view text);

// The canonical spelling: the words in the order infected, suspicious, incomplete, or "none".
[[nodiscard]] std::string to_string(const FailOn& fail_on);

}  // namespace flscan::scanner
