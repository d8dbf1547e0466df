// The report options of a command line (--json, --sarif, --html: one per ReportFormat that has an
// option, output_spec.h), shared by a scan (options.cpp) and `flscan merge` (merge.cpp), so both
// accept and check them the same way and a new format gets its option in both.
#pragma once

#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "scanner/report/output_spec.h"

namespace CLI {
class App;
}

namespace flscan::scanner {

class OutputOptions {
 public:
  enum class Command { scan, merge };  // which --help text each option gets

  // Adds the options to `app`, which keeps references into this object: it must not move.
  OutputOptions(CLI::App& app, Command command);
  OutputOptions(const OutputOptions&) = delete;
  OutputOptions& operator=(const OutputOptions&) = delete;

  // After app.parse(): the run's outputs (output_specs), or the usage error.
  [[nodiscard]] tl::expected<std::vector<OutputSpec>, std::string> specs() const;

 private:
  CLI::App& app_;
  std::vector<std::string> values_;  // one per report_formats() row
};

}  // namespace flscan::scanner
