// The report for code-scanning tools: one SARIF 2.1.0 log with one run, documented in
// scanner/SARIF.md. Rules FL0xx are the FunLove states of a file (infection-model section 5 and
// 7), FL1xx the Q317218 verdict and symptoms of a Windows installation (section 8), FL9xx what
// could not be read. File locations are URIs relative to one uriBaseId per PATH operand,
// percent-encoded byte by byte, so a name that is not UTF-8 survives.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "scanner/report/print_settings.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

inline constexpr std::string_view kSarifVersion = "2.1.0";
inline constexpr std::string_view kSarifSchemaUri =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

// RFC 3986 percent-encoding of raw bytes: every byte but the unreserved characters
// (A-Z a-z 0-9 - . _ ~) and, when `keep_slash`, '/' becomes %XX (upper-case hex). Decoding
// gives the same bytes back, whatever they are (POSIX names are bytes, not text).
[[nodiscard]] std::string percent_encode(std::string_view bytes, bool keep_slash);

// The SARIF rule id of a file state: FL001 infected ... FL010 decoy (FindingKind order).
[[nodiscard]] std::string_view sarif_rule_id(FindingKind kind);

// The whole log. No filesystem access: whether each PATH operand is a directory (its uriBaseId is
// the operand itself, or the directory holding it) and where it is come from the report's
// RootFacts, recorded at scan time (report.h).
[[nodiscard]] nlohmann::ordered_json report_to_sarif(const ScanReport& report, const PrintSettings& settings);

// Writes report_to_sarif() followed by a newline.
void write_sarif_report(std::ostream& out, const ScanReport& report, const PrintSettings& settings);

}  // namespace flscan::scanner
