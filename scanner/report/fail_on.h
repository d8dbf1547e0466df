// --fail-on: which outcomes of a scan make flscan's exit code non-zero (CI pipelines decide what
// breaks a build). The exit code values themselves stay those of report.h: 1 for findings the
// policy names (FunLove evidence, suspicious findings), 2 for an incomplete scan, 1 winning.
#pragma once

#include <array>
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

// The words of a --fail-on list, in canonical order, each with the outcome it turns on; "none"
// stands alone. The one table the parser, to_string and the help's value list (fail_on_choices,
// which the man page and shell completion read from --help) are made from.
struct FailOnWord {
  std::string_view word;
  bool FailOn::*flag;
};
inline constexpr std::array kFailOnWords{FailOnWord{"infected", &FailOn::infected},
                                         FailOnWord{"suspicious", &FailOn::suspicious},
                                         FailOnWord{"incomplete", &FailOn::incomplete}};
inline constexpr std::string_view kFailOnNone = "none";

// The default, which is flscan's behaviour without the option: "infected,incomplete".
inline constexpr FailOn kDefaultFailOn{};

// Parses "infected,incomplete", "suspicious", "none", ...: comma-separated words among infected,
// suspicious, incomplete (each at most once, any order), or "none" alone. The error says why.
[[nodiscard]] tl::expected<FailOn, std::string> parse_fail_on(std::string_view text);

// The option text --help shows after --fail-on: "LIST:{infected,suspicious,incomplete,none}"
// (the form CLI11 gives a set of values, e.g. --progress WHEN:{auto,always,never}).
[[nodiscard]] std::string fail_on_choices();

// The canonical spelling: the words in the order infected, suspicious, incomplete, or "none".
[[nodiscard]] std::string to_string(const FailOn& fail_on);

}  // namespace flscan::scanner
