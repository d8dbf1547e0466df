// The report for programs: one JSON document, schema "flscan-report" version 1, documented in
// scanner/JSON.md. File names are written ripgrep's way: {"text": "..."} when the bytes are valid
// UTF-8, else {"bytes": "<base64>"}, so no name is mangled.
#pragma once

#include <iosfwd>

#include <nlohmann/json.hpp>

#include "scanner/report/json_path.h"
#include "scanner/report/print_settings.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

inline constexpr int kJsonSchemaVersion = 1;

[[nodiscard]] nlohmann::ordered_json report_to_json(const ScanReport& report, const PrintSettings& settings);

// Writes report_to_json() followed by a newline. Strings other than paths (details, evidence)
// are text for people: bytes that are not UTF-8 there are replaced by U+FFFD.
void write_json_report(std::ostream& out, const ScanReport& report, const PrintSettings& settings);

}  // namespace flscan::scanner
