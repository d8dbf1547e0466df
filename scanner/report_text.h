// The report for people, on stdout: findings, then entries that were NOT SCANNED, then (with -v)
// skipped entries, then (with --inventory) the PE/MZ inventory, then a summary block. Every list
// is sorted by path, so two runs over the same tree print the same report.
#pragma once

#include <iosfwd>

#include "scanner/options.h"
#include "scanner/report.h"

namespace flscan::scanner {

void write_text_report(std::ostream& out, const ScanReport& report, const Options& options, const ReportMeta& meta);

}  // namespace flscan::scanner
