// The reports a run writes, one pipeline for a scan and for `flscan merge` (issue 14): each report
// format is one value of ReportFormat and one row of report_formats() (its printer, its option,
// its --help lines); the command line gives a list of OutputSpec (format, path), and ReportOutputs
// (report_file.h) opens and writes them. ARCHITECTURE.md, "where to add a report format".
#pragma once

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "scanner/report/print_settings.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

enum class ReportFormat { text, json, sarif, html, timeline };

// A printer: a pure function of the report and the print settings (no filesystem call).
using Printer = void (*)(std::ostream& out, const ScanReport& report, const PrintSettings& settings);

struct ReportFormatSpec {
  ReportFormat format;
  std::string_view option;  // "--json"; empty for the text report, which has none (stdout, see output_specs)
  std::string_view what;    // "JSON report": how messages name it
  bool stdout_allowed;      // FILE '-' writes it to stdout, instead of the text report
  Printer print;
  std::string_view scan_help;   // the option's --help text in a scan
  std::string_view merge_help;  // and in flscan merge
};

// Every format, in the order a run writes them (the text report first).
[[nodiscard]] std::span<const ReportFormatSpec> report_formats();
// The row of one format.
[[nodiscard]] const ReportFormatSpec& format_spec(ReportFormat format);

// The name standing for stdout.
inline constexpr std::string_view kStdoutName = "-";

// One report of a run: its format and where it goes (a file written through ReportFile,
// report_file.h, or stdout: see to_stdout).
struct OutputSpec {
  ReportFormat format = ReportFormat::text;
  std::string path;

  bool operator==(const OutputSpec&) const = default;
};

// True when the report goes to stdout: the text report, or kStdoutName for a format that allows
// it (for the others, "-" is a file name).
[[nodiscard]] bool to_stdout(const OutputSpec& spec);

// The outputs of a run from the format options given (at most one per format, any order): in
// report_formats() order, the text report on stdout first unless another report goes there. The
// error is the usage error ("--json needs a file name ('-' for stdout)", two reports on stdout).
[[nodiscard]] tl::expected<std::vector<OutputSpec>, std::string> output_specs(std::vector<OutputSpec> given);

}  // namespace flscan::scanner
