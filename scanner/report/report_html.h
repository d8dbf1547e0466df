// The report for a browser (--html FILE): one self-contained HTML page (inline CSS, no script,
// no external asset) that can be mailed or archived with the incident. The Q317218 report of each
// Windows installation comes first (verdict, symptom checklist, remediation), then the file
// findings, the entries NOT SCANNED and the summary. Elements carry stable data-* attributes
// (data-verdict, data-symptom, data-status) so tests and tools can read the page back.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "scanner/report/print_settings.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

// Text from files, paths or the hive made safe for HTML: first the text report's lossless form
// (control characters and non-UTF-8 bytes become \xNN), then & < > " ' as entities.
[[nodiscard]] std::string escape_for_html(std::string_view bytes);

void write_html_report(std::ostream& out, const ScanReport& report, const PrintSettings& settings);

}  // namespace flscan::scanner
