#include "scanner/report/output_spec.h"

#include <algorithm>
#include <array>

#include "scanner/report/report_html.h"
#include "scanner/report/report_json.h"
#include "scanner/report/report_sarif.h"
#include "scanner/report/report_text.h"
#include "scanner/report/report_timeline.h"

namespace flscan::scanner {
namespace {

// One row per ReportFormat, in writing order (the order --help lists the options in, too).
constexpr std::array kFormats{
    ReportFormatSpec{ReportFormat::text, "", "text report", true, write_text_report, "", ""},
    ReportFormatSpec{ReportFormat::json, "--json", "JSON report", true, write_json_report,
                     "Also write the report as one JSON document to FILE; '-'\n"
                     "writes it to stdout instead of the text report. Schema in\n"
                     "scanner/JSON.md. Example: --json report.json",
                     "Write the merged report as JSON to FILE; '-' writes it to\nstdout instead of the text report. "
                     "Example: --json full.json"},
    ReportFormatSpec{ReportFormat::sarif, "--sarif", "SARIF log", true, write_sarif_report,
                     "Also write the report as a SARIF 2.1.0 log to FILE; '-'\n"
                     "writes it to stdout instead of the text report. For code\n"
                     "scanning (GitHub, GitLab); rules and fields in\n"
                     "scanner/SARIF.md. Example: --sarif flscan.sarif",
                     "Write the merged report as a SARIF 2.1.0 log to FILE; '-'\nwrites it to stdout. Example: --sarif "
                     "full.sarif"},
    ReportFormatSpec{ReportFormat::html, "--html", "HTML report", false, write_html_report,
                     "Also write the report as one self-contained HTML page to\n"
                     "FILE (inline CSS, no script): verdict and counts, then per\n"
                     "Windows installation the Q317218 verdict, an SVG timeline,\n"
                     "symptom checklist, program and kernel tables, remediation;\n"
                     "file findings, not scanned, disk image volumes, summary.\n"
                     "Example: --html r.html",
                     "Write the merged report as one HTML page to FILE.\nExample: --html full.html"},
    ReportFormatSpec{ReportFormat::timeline, "--timeline", "timeline", true, write_timeline_report,
                     "Also write the infection timeline (each installation's\n"
                     "events and every infected file's infection time) to FILE\n"
                     "as JSON Lines that Timesketch imports (message, datetime,\n"
                     "timestamp_desc); '-' writes it to stdout instead of the\n"
                     "text report. Example: --timeline funlove.jsonl",
                     "Write the merged timeline as Timesketch JSON Lines to FILE;\n'-' writes it to stdout. Example: "
                     "--timeline full.jsonl"},
};

constexpr bool rows_in_enum_order() {
  for (std::size_t i = 0; i < kFormats.size(); ++i) {
    if (static_cast<std::size_t>(kFormats[i].format) != i) return false;
  }
  return true;
}
static_assert(rows_in_enum_order(), "kFormats has one row per ReportFormat, in enum order");

std::size_t rank(ReportFormat format) { return static_cast<std::size_t>(format); }

}  // namespace

std::span<const ReportFormatSpec> report_formats() { return kFormats; }

const ReportFormatSpec& format_spec(ReportFormat format) { return kFormats[rank(format)]; }

bool to_stdout(const OutputSpec& spec) {
  return spec.format == ReportFormat::text || (kFormats[rank(spec.format)].stdout_allowed && spec.path == kStdoutName);
}

tl::expected<std::vector<OutputSpec>, std::string> output_specs(std::vector<OutputSpec> given) {
  std::stable_sort(given.begin(), given.end(),
                   [](const OutputSpec& a, const OutputSpec& b) { return rank(a.format) < rank(b.format); });
  const OutputSpec* on_stdout = nullptr;
  for (const OutputSpec& spec : given) {
    const ReportFormatSpec& format = kFormats[rank(spec.format)];
    if (spec.path.empty()) {
      return tl::make_unexpected(std::string(format.option) + " needs a file name" +
                                 (format.stdout_allowed ? " ('-' for stdout)" : ""));
    }
    if (!to_stdout(spec)) continue;
    if (on_stdout != nullptr) {
      return tl::make_unexpected(std::string(kFormats[rank(on_stdout->format)].option) + " - and " +
                                 std::string(format.option) + " - cannot both write to stdout");
    }
    on_stdout = &spec;
  }
  if (on_stdout == nullptr) given.insert(given.begin(), OutputSpec{ReportFormat::text, std::string(kStdoutName)});
  return given;
}

}  // namespace flscan::scanner
