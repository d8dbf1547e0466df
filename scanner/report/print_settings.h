// What the printers need besides the report (issue 14): the program and its signatures, the
// switches that shape the text and HTML reports, the --fail-on policy every report states, and the
// scan options the JSON report records. A scan builds it from its command line (app/options.h), a
// merge from the shard reports it reads (report_json_read.h); the printers never see the CLI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/limits.h"
#include "scanner/report/fail_on.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

// The options of the scan that the JSON report records under "options" (scanner/JSON.md) and no
// printer acts on: how the files were found and read, and what was done to them.
struct RecordedOptions {
  unsigned threads = 0;  // -j; 0: one per core
  bool follow_symlinks = false;
  bool one_file_system = false;
  std::vector<std::string> excludes;  // --exclude GLOB
  std::uint64_t max_filesize = limits::kDefaultMaxFileSize;
  std::vector<std::string> databases;         // -d FILE|DIR
  std::optional<std::string> quarantine_dir;  // --quarantine DIR
  bool repair = false;
  std::optional<std::string> windows_root;  // --windows-root DIR
  bool live = false;
  bool force_image = false;   // --image
  bool nested_images = true;  // false with --no-nested-images
  // The kinds of the keys given for encrypted volumes, one per key option, by option then in the
  // order given ("luks-passphrase", ...; image/volume_keys.h): never a key, nor its file's name.
  std::vector<std::string> key_kinds;
};

struct PrintSettings {
  ReportMeta meta;             // flscan version and signatures
  bool verbose = false;        // -v: skipped entries listed, corroborating signature matches in full
  bool brief = false;          // --brief: no evidence lines
  bool infected_only = false;  // -i: text and HTML list only infection findings
  bool quiet = false;          // -q: no summary block
  bool inventory = false;      // --inventory: the PE/MZ inventory is listed
  FailOn fail_on;              // the exit code policy every report states
  RecordedOptions recorded;
};

}  // namespace flscan::scanner
