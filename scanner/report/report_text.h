// The report for people, on stdout: findings, then entries that were NOT SCANNED, then (with -v)
// skipped entries, then (with --inventory) the PE/MZ inventory, then a summary block. Every list
// is sorted by path, so two runs over the same tree print the same report.
#pragma once

#include <iosfwd>
#include <string>

#include "scanner/report/print_settings.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

void write_text_report(std::ostream& out, const ScanReport& report, const PrintSettings& settings);

// What --quarantine / --repair did to one file, in one line, terminal-safe ("quarantined to
// DIR/x.flq (original removed); repair refused: ..."): the text report's `action:` line, also
// shown by the HTML and SARIF reports.
[[nodiscard]] std::string describe_action(const FileAction& action);

}  // namespace flscan::scanner
