// Reading a JSON report (scanner/JSON.md, schema "flscan-report" version 1) back into the plain
// structs the printers take: what `flscan merge` (merge.h) needs to combine shard reports. The
// reader trusts nothing: the file size is capped, every key is checked for type and range, every
// code must be one JSON.md lists, and a bad document gives one error naming the key at fault.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "scanner/report/json_path.h"
#include "scanner/report/print_settings.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

// Largest report file read (a report with --inventory of a million PE files is ~200 MB). Read
// whole, then parsed in one pass into the report's entries (see kMaxReportValues).
inline constexpr std::uint64_t kMaxReportFileBytes = 1ULL << 30;
// Nesting allowed in a report (flscan writes at most 6 levels): deeper input is refused before it
// reaches code that recurses over the document (copy, comparison).
inline constexpr int kMaxReportDepth = 32;
// JSON values held parsed at once: the top-level object without its entry arrays (results,
// inventory, ...), plus the one entry being converted (report_json_read.cpp, ReportSax). Each
// costs tens of bytes parsed, so a file of "[]," cannot make its text into gigabytes of memory;
// flscan's own reports hold a few thousand (a host report is the largest entry).
inline constexpr std::uint64_t kMaxReportValues = 1'000'000;

// Hex digits of a SHA-256 digest as reports write it (lower case).
inline constexpr std::size_t kSha256HexDigits = 64;
// Longest name accepted (program, kernel file, service key, symptom id): NAME_MAX.
inline constexpr std::size_t kMaxReportNameBytes = 255;
// Longest short label accepted (flscan version, volume description, filesystem, image format).
inline constexpr std::size_t kMaxReportLabelBytes = 1024;

// A report as read: the scan, the print settings it records (the program and signatures, the
// printers' switches and the recorded options), and the raw JSON of the keys a merge compares
// between shards.
struct ReadReport {
  ScanReport report;
  PrintSettings settings;
  int exit_code = 0;               // as recorded
  nlohmann::json options_json;     // "options" as written
  nlohmann::json signatures_json;  // "signatures" as written
};

// Parses one document (already parsed JSON). The error names the key, e.g.
// "results[3].findings[0].kind: unknown code \"infectd\"".
[[nodiscard]] tl::expected<ReadReport, std::string> report_from_json(const nlohmann::json& document);

// Reads and parses the file at `path` (at most kMaxReportFileBytes). The error does not repeat
// the path; the caller names the file.
[[nodiscard]] tl::expected<ReadReport, std::string> read_json_report_file(const std::string& path);

}  // namespace flscan::scanner
