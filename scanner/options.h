// The command line of flscan, parsed by CLI11 into a plain Options struct. Only options.cpp knows
// about CLI11; everything downstream reads Options.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "engine/limits.h"

namespace flscan::scanner {

struct Options {
  std::vector<std::string> paths;      // PATH operands, as given (bytes, not necessarily UTF-8)
  std::vector<std::string> databases;  // -d FILE|DIR, loaded after the built-in signatures
  std::vector<std::string> excludes;   // --exclude GLOB, see walker.h for the matching rules
  std::uint64_t max_filesize = limits::kDefaultMaxFileSize;
  unsigned threads = 0;                // 0: one per core (TBB's default)
  bool follow_symlinks = false;
  bool one_file_system = false;
  bool inventory = false;
  bool verbose = false;
  bool brief = false;
  bool infected_only = false;
  bool quiet = false;
  bool show_version = false;
  std::optional<std::string> json_path;  // "-" is stdout
  std::optional<std::string> html_path;  // --html FILE (report_html.h)
  bool live = false;                     // --live: look for running flcss.exe (live_process.h)
  std::optional<std::string> windows_root;  // --windows-root: the Q317218 report's installation

  // True when the JSON report goes to stdout, which then carries nothing else.
  [[nodiscard]] bool json_to_stdout() const { return json_path && *json_path == "-"; }
};

// What parse_options decided: run with `options`, or stop now with `exit_code` (after --help, or
// after a usage error that has been reported on `err`).
struct ParseOutcome {
  std::optional<Options> options;
  int exit_code = 0;
};

[[nodiscard]] ParseOutcome parse_options(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

// Parses a size: decimal digits with an optional binary suffix K, M, G or T (case-insensitive,
// optionally followed by "B" or "iB"): "123", "10K" = 10240, "256M", "2G". The error says why.
[[nodiscard]] tl::expected<std::uint64_t, std::string> parse_size(std::string_view text);

}  // namespace flscan::scanner
