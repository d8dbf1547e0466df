// --live-report FILE (issue 17): the JSON document flscan-live.exe wrote on the running Windows
// machine (live/LIVE_JSON.md, format_version 1). It shows what only a running machine shows: the
// Flcss.exe process, the FLCSS service's state, System log records newer than the offline log.
//
// Contract: the document is user-supplied input, as crafted as any scanned file. It is read
// bounded (kMaxLiveReportBytes, kMaxLiveReportDepth and the list caps in limits.h), every field the
// contract names is checked for presence and type, and `format` / `format_version` must be
// `flscan-live` / 1. Anything else refuses the whole document with an error naming the file and
// the field (`processes.flcss[0].pid: not an integer`): a document read in part could hide what
// the rest holds, so nothing of a bad one is used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace flscan::host {

// `status` and `errors` of the processes, services, event_log and files sections.
struct LiveSection {
  std::string status;  // ok, partial, error, unavailable
  std::vector<std::string> errors;
  [[nodiscard]] bool complete() const { return status == "ok"; }
};

struct LiveFlcssProcess {
  std::int64_t pid = 0;
  std::optional<std::int64_t> parent_pid;  // null under PSAPI (NT4)
  std::string image_name;
  std::optional<std::string> path;
};

struct LiveFlcssService {
  std::string name;
  std::string display_name;
  std::string state;  // stopped, start-pending, ..., running, unknown
  std::optional<std::int64_t> pid;
  std::string start_type;  // boot, system, auto, demand, disabled, unknown
  std::optional<std::string> binary_path;
  std::optional<std::string> account;
  std::optional<std::string> config_error;
};

struct LiveEventRecord {
  std::uint32_t record_number = 0;
  std::uint32_t event_identifier = 0;
  std::string time_generated_utc;
  std::string time_written_utc;  // ISO 8601 UTC, checked: YYYY-MM-DDTHH:MM:SSZ
  std::string source_name;
  std::string computer_name;
  std::vector<std::string> strings;
};

struct LiveEvidence {
  std::uint64_t count = 0;
  std::optional<std::string> first_written_utc;
  std::optional<std::string> last_written_utc;
  std::vector<LiveEventRecord> records;  // at most kMaxLiveEvidenceRecords
};

// One entry of files.checked: what the engine said of an executable on the running machine.
struct LiveCheckedFile {
  std::string path;      // a Windows path
  std::string state;     // a result state of scanner/JSON.md (clean, infected, ..., not-scanned)
  std::string severity;  // the strongest finding's severity, "none" when clean
  std::vector<std::string> why;
  std::optional<std::string> error;
  std::string evidence;  // the first finding's evidence (empty without findings)
  [[nodiscard]] bool infected() const { return severity == "infection"; }
};

struct LiveReport {
  std::string source;    // the file as named on the command line (or in a report, for merge)
  std::string document;  // the text as read: the JSON report carries it so flscan merge re-reads it
  std::string tool_version;
  std::string tool_architecture;
  std::string collected_utc;
  std::optional<std::string> computer_name;
  std::optional<std::string> windows_directory;
  std::optional<std::string> system_directory;

  LiveSection processes;
  std::string process_method;  // toolhelp32, psapi
  std::uint64_t process_count = 0;
  std::vector<LiveFlcssProcess> flcss_processes;

  LiveSection services;
  std::uint64_t service_count = 0;
  std::vector<LiveFlcssService> flcss_services;

  LiveSection event_log;
  std::uint64_t records_read = 0;
  LiveEvidence protected_storage_7024;
  LiveEvidence spooler_7000;

  LiveSection files;
  std::vector<LiveCheckedFile> checked;

  // "live report FILE (collected 2002-03-01T00:00:00Z)": how evidence from it is labelled.
  [[nodiscard]] std::string label() const;
};

// The document `text`, named `source` in errors. The error reads "live report SOURCE: FIELD:
// what is wrong" (or "...: not valid JSON (...)", "...: nested deeper than N levels ...").
tl::expected<LiveReport, std::string> parse_live_report(std::string_view text, const std::string& source);

// The file `path` (a regular file, opened without blocking, at most kMaxLiveReportBytes), parsed.
tl::expected<LiveReport, std::string> read_live_report(const std::string& path);

// The last component of a Windows path ("C:\WINNT" -> "WINNT"; '\' and '/' separate).
[[nodiscard]] std::string_view windows_base_name(std::string_view path);

}  // namespace flscan::host
