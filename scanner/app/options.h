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
#include "scanner/image/volume_keys.h"
#include "scanner/report/fail_on.h"
#include "scanner/report/output_spec.h"
#include "scanner/report/print_settings.h"
#include "scanner/report/shard.h"
#include "scanner/walk/read_order.h"

namespace flscan::scanner {

// --progress: when the progress line is drawn on stderr (progress.h).
enum class Progress { automatic, always, never };

struct Options {
  std::vector<std::string> paths;      // PATH operands, as given (bytes, not necessarily UTF-8)
  std::vector<std::string> databases;  // -d FILE|DIR, loaded after the built-in signatures
  std::vector<std::string> excludes;   // --exclude GLOB, see walker.h for the matching rules
  std::uint64_t max_filesize = limits::kDefaultMaxFileSize;
  std::uint64_t stream_above = limits::kDefaultStreamAbove;  // --stream-above
  Progress progress = Progress::automatic;
  unsigned threads = 0;                                 // 0: one per core (TBB's default)
  ReadOrderMode read_order = ReadOrderMode::automatic;  // --read-order (scanner/walk/read_order.h)
  bool follow_symlinks = false;
  bool one_file_system = false;
  bool force_image = false;       // --image: open every regular-file PATH as a disk image
  bool no_nested_images = false;  // --no-nested-images: images met in a walk are image-not-opened
  // --bitlocker-recovery-password, --bitlocker-password, --bitlocker-key-file, --luks-passphrase-file:
  // the files the keys of encrypted volumes are read from (image/volume_keys.h), never the keys.
  std::vector<image::KeyFileOption> key_files;
  bool inventory = false;
  bool verbose = false;
  bool brief = false;
  bool infected_only = false;
  bool quiet = false;
  bool show_version = false;
  std::vector<OutputSpec> outputs;            // --json, --sarif, --html, and the text report (output_spec.h)
  FailOn fail_on;                             // --fail-on LIST (fail_on.h)
  bool live = false;                          // --live: look for running flcss.exe (live_process.h)
  std::optional<std::string> live_report;     // --live-report FILE: flscan-live's JSON (live_report.h)
  std::optional<std::string> windows_root;    // --windows-root: the Q317218 report's installation
  std::optional<std::string> quarantine_dir;  // --quarantine DIR (remediate.h): the only writes to scanned files
  bool repair = false;                        // --repair (needs --quarantine): disinfect in place
  std::optional<Shard> shard;                 // --shard K/N (shard.h): only the files of shard K

  // Where the report of `format` goes (FILE, or "-" for stdout); nullopt when it is not written.
  [[nodiscard]] std::optional<std::string> output_path(ReportFormat format) const;
};

// What parse_options decided: run with `options`, or stop now with `exit_code` (after --help, or
// after a usage error that has been reported on `err`).
struct ParseOutcome {
  std::optional<Options> options;
  int exit_code = 0;
};

[[nodiscard]] ParseOutcome parse_options(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

// What the printers need of a scan's options (print_settings.h), with the program's `meta`.
[[nodiscard]] PrintSettings print_settings(const Options& options, ReportMeta meta);

// Parses a size: decimal digits with an optional binary suffix K, M, G or T (case-insensitive,
// optionally followed by "B" or "iB"): "123", "10K" = 10240, "256M", "2G". The error says why.
[[nodiscard]] tl::expected<std::uint64_t, std::string> parse_size(std::string_view text);

}  // namespace flscan::scanner
