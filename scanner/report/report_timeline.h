// When it happened (issue 20): the file times, infection times and installation timelines as
// the JSON report and the SARIF log carry them, and `--timeline FILE`: the same events as JSON
// Lines that Timesketch imports (one object per line with its mandatory `message`, `datetime`
// (ISO 8601) and `timestamp_desc`, google/timesketch docs/guides/user/import-from-json-csv.md;
// plus flscan's own fields). Documented in scanner/JSON.md, "Timeline".
#pragma once

#include <iosfwd>
#include <optional>

#include <nlohmann/json.hpp>

#include "scanner/host/file_times.h"
#include "scanner/host/timeline.h"
#include "scanner/report/print_settings.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

// A result's "times": {"source": ..., "created", "modified", "accessed", and "mft_changed" (NTFS)
// or "inode_changed" (POSIX) or neither (FAT), "file_name": {...} (NTFS in an image)}; null when
// none were recorded.
[[nodiscard]] nlohmann::ordered_json times_to_json(const std::optional<host::FileTimes>& times);
// A result's "infected_at": {"time", "reasoning"} (file_times.h, infection_time) for a file with
// an infection-severity finding whose times support it; null otherwise.
[[nodiscard]] nlohmann::ordered_json infected_at_to_json(const FileResult& result);
// A host's "timeline": {"events": [...], "infections": [...], "spread": {...}}.
[[nodiscard]] nlohmann::ordered_json timeline_to_json(const host::HostTimeline& timeline);

// --timeline FILE: every installation's timeline events, then every infected file's infection
// time not already among them, as JSON Lines (see above).
void write_timeline_report(std::ostream& out, const ScanReport& report, const PrintSettings& settings);

}  // namespace flscan::scanner
