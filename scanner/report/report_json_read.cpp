#include "scanner/report/report_json_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <set>
#include <string_view>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "scanner/host/limits.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"
#include "scanner/platform/open_path.h"
#include "scanner/report/report_json.h"
#include "scanner/report/text_encoding.h"

namespace flscan::scanner {
namespace {

using Json = nlohmann::json;

// Thrown inside this file only; report_from_json turns it into the error value.
struct BadReport : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw BadReport(where + ": " + what); }

const Json& member(const Json& object, const std::string& where, const char* key) {
  if (!object.is_object()) fail(where, "not an object");
  const auto it = object.find(key);
  if (it == object.end()) fail(where, std::string("missing key \"") + key + "\"");
  return *it;
}

std::string at(const std::string& where, const char* key) { return where.empty() ? key : where + "." + key; }
std::string at(const std::string& where, std::size_t index) { return where + "[" + std::to_string(index) + "]"; }

bool get_bool(const Json& object, const std::string& where, const char* key) {
  const Json& value = member(object, where, key);
  if (!value.is_boolean()) fail(at(where, key), "not true or false");
  return value.get<bool>();
}

std::uint64_t get_uint(const Json& object, const std::string& where, const char* key,
                       std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  const Json& value = member(object, where, key);
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
    fail(at(where, key), "not a non-negative integer");
  }
  const auto number = value.get<std::uint64_t>();
  if (number > max) fail(at(where, key), std::to_string(number) + " is larger than " + std::to_string(max));
  return number;
}

// A count held in a std::size_t: a value a 32-bit build cannot hold is refused, not truncated.
std::size_t get_size(const Json& object, const std::string& where, const char* key) {
  return static_cast<std::size_t>(get_uint(object, where, key, std::numeric_limits<std::size_t>::max()));
}

std::string get_string(const Json& object, const std::string& where, const char* key) {
  const Json& value = member(object, where, key);
  if (!value.is_string()) fail(at(where, key), "not a string");
  return value.get<std::string>();
}

std::optional<std::string> get_optional_string(const Json& object, const std::string& where, const char* key) {
  const Json& value = member(object, where, key);
  if (value.is_null()) return std::nullopt;
  if (!value.is_string()) fail(at(where, key), "not a string or null");
  return value.get<std::string>();
}

std::vector<std::string> get_strings(const Json& object, const std::string& where, const char* key) {
  const Json& value = member(object, where, key);
  if (!value.is_array()) fail(at(where, key), "not an array");
  std::vector<std::string> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) fail(at(at(where, key), i), "not a string");
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

// Fields the printers show as they are must hold what flscan itself writes there, whoever wrote
// the report (issue 13, item 6): a digest is lower-case hex of its length, a name is one name.
std::string get_hex_digest(const Json& object, const std::string& where, const char* key, std::size_t digits) {
  std::string value = get_string(object, where, key);
  const bool hex = value.size() == digits && std::all_of(value.begin(), value.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (!hex) fail(at(where, key), "not " + std::to_string(digits) + " lower-case hex digits");
  return value;
}

std::string get_sha256(const Json& object, const std::string& where, const char* key) {
  return get_hex_digest(object, where, key, kSha256HexDigits);
}

// Printable text (is_printable_text: no control or invisible character) of at most `max` bytes.
std::string get_label(const Json& object, const std::string& where, const char* key,
                      std::size_t max = kMaxReportLabelBytes) {
  std::string value = get_string(object, where, key);
  if (value.size() > max) fail(at(where, key), "longer than " + std::to_string(max) + " bytes");
  if (!is_printable_text(value)) fail(at(where, key), "holds a control, invisible or non-UTF-8 character");
  return value;
}

// A file, program or service name: printable, not empty, no path separator, at most NAME_MAX.
std::string get_name(const Json& object, const std::string& where, const char* key) {
  std::string value = get_label(object, where, key, kMaxReportNameBytes);
  if (value.empty() || value.find_first_of("/\\") != std::string::npos) fail(at(where, key), "not a name");
  return value;
}

const Json& get_array(const Json& object, const std::string& where, const char* key) {
  const Json& value = member(object, where, key);
  if (!value.is_array()) fail(at(where, key), "not an array");
  return value;
}

std::string get_path(const Json& object, const std::string& where, const char* key) {
  auto path = path_from_json(member(object, where, key));
  if (!path) fail(at(where, key), path.error());
  return std::move(*path);
}

// A path or null; null gives the empty string (the structs' "none").
std::string get_optional_path(const Json& object, const std::string& where, const char* key) {
  const Json& value = member(object, where, key);
  if (value.is_null()) return {};
  return get_path(object, where, key);
}

std::vector<std::string> get_paths(const Json& object, const std::string& where, const char* key) {
  const Json& array = get_array(object, where, key);
  std::vector<std::string> out;
  out.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    auto path = path_from_json(array[i]);
    if (!path) fail(at(at(where, key), i), path.error());
    out.push_back(std::move(*path));
  }
  return out;
}

// An enum from its code: one of the codes of its table (engine/enum_table.h), as the printers write them.
template <typename Enum>
Enum get_code(const Json& object, const std::string& where, const char* key) {
  const std::string code = get_string(object, where, key);
  if (const std::optional<Enum> value = from_code<Enum>(code)) return *value;
  fail(at(where, key), "unknown code \"" + code + "\"");
}

Finding finding_from_json(const Json& value, const std::string& where) {
  Finding finding;
  finding.kind = get_code<FindingKind>(value, where, "kind");
  finding.severity = get_code<Severity>(value, where, "severity");
  finding.rule = get_string(value, where, "rule");
  finding.name = get_string(value, where, "name");
  finding.confidence = get_code<Confidence>(value, where, "confidence");
  finding.evidence = get_string(value, where, "evidence");
  finding.offset = get_uint(value, where, "offset");
  return finding;
}

std::optional<FileAction> action_from_json(const Json& object, const std::string& where) {
  const Json& value = member(object, where, "action");
  if (value.is_null()) return std::nullopt;
  const std::string here = at(where, "action");
  FileAction action;
  action.result = get_code<ActionResult>(value, here, "result");
  action.quarantine_file = get_optional_path(value, here, "quarantine_file");
  action.repair = get_code<RepairStatus>(value, here, "repair");
  action.repair_detail = get_optional_string(value, here, "repair_detail").value_or("");
  action.error = get_optional_string(value, here, "error").value_or("");
  if (value.contains("other_links")) action.other_links = get_uint(value, here, "other_links");
  return action;
}

// An ISO 8601 time as format_iso8601 writes it, or null (issue 20); an absent key is null too.
std::optional<host::TimePoint> get_optional_time(const Json& object, const std::string& where, const char* key) {
  if (!object.contains(key)) return std::nullopt;
  const std::optional<std::string> text = get_optional_string(object, where, key);
  if (!text) return std::nullopt;
  const auto time = host::parse_iso8601(*text);
  if (!time) fail(at(where, key), "not an ISO 8601 UTC time: \"" + *text + "\"");
  return time;
}

// A result's "times" (report_timeline.h); absent (an older report) or null: none.
std::optional<host::FileTimes> times_from_json(const Json& object, const std::string& where) {
  if (!object.contains("times") || object.at("times").is_null()) return std::nullopt;
  const Json& value = object.at("times");
  const std::string here = at(where, "times");
  host::FileTimes times;
  times.source = get_code<host::TimeSource>(value, here, "source");
  times.created = get_optional_time(value, here, "created");
  times.modified = get_optional_time(value, here, "modified");
  times.accessed = get_optional_time(value, here, "accessed");
  times.changed = get_optional_time(value, here, times.mft_change_time() ? "mft_changed" : "inode_changed");
  if (value.contains("file_name")) {
    const Json& fn = member(value, here, "file_name");
    const std::string fn_here = at(here, "file_name");
    times.fn_created = get_optional_time(fn, fn_here, "created");
    times.fn_modified = get_optional_time(fn, fn_here, "modified");
    times.fn_accessed = get_optional_time(fn, fn_here, "accessed");
    times.fn_changed = get_optional_time(fn, fn_here, "mft_changed");
  }
  return times;
}

ContentType get_content_type(const Json& value, const std::string& where) {
  return get_code<ContentType>(value, where, "type");
}

FileResult result_from_json(const Json& value, const std::string& where) {
  FileResult result;
  result.type = get_content_type(value, where);
  result.path = get_path(value, where, "path");
  result.size = get_uint(value, where, "size");
  result.sha256 = get_sha256(value, where, "sha256");
  const Json& findings = get_array(value, where, "findings");
  if (findings.empty()) fail(at(where, "findings"), "empty (a result has at least one finding)");
  for (std::size_t i = 0; i < findings.size(); ++i) {
    result.findings.push_back(finding_from_json(findings[i], at(at(where, "findings"), i)));
  }
  result.action = action_from_json(value, where);
  result.times = times_from_json(value, where);
  return result;
}

// One not_scanned or skipped entry.
template <typename Entry, typename Reason>
Entry entry_from_json(const Json& value, const std::string& where) {
  const Reason reason = get_code<Reason>(value, where, "reason");
  return Entry{get_path(value, where, "path"), reason, get_string(value, where, "detail")};
}

InventoryEntry inventory_entry_from_json(const Json& value, const std::string& where) {
  InventoryEntry entry;
  entry.path = get_path(value, where, "path");
  entry.size = get_uint(value, where, "size");
  entry.sha256 = get_sha256(value, where, "sha256");
  entry.type = get_content_type(value, where);
  if (value.contains("pe_error")) entry.pe_error = get_string(value, where, "pe_error");
  return entry;
}

ImageVolume volume_from_json(const Json& value, const std::string& where) {
  ImageVolume volume;
  volume.image = get_path(value, where, "image");
  volume.name = get_label(value, where, "volume");
  volume.image_format = get_label(value, where, "image_format");
  volume.image_files = get_paths(value, where, "image_files");
  volume.offset = get_uint(value, where, "offset");
  volume.length = get_uint(value, where, "length");
  volume.partition_type = get_string(value, where, "partition_type");  // holds a GPT name from the image
  volume.filesystem = get_label(value, where, "filesystem");
  // A kind of key (image/volume_keys.h), printable like the other labels; absent before issue 15.
  if (value.contains("decrypted_with") && !value["decrypted_with"].is_null())
    volume.decrypted_with = get_label(value, where, "decrypted_with");
  volume.status = get_code<VolumeStatus>(value, where, "status");
  if (!member(value, where, "reason").is_null()) volume.reason = get_code<NotScannedReason>(value, where, "reason");
  volume.detail = get_string(value, where, "detail");
  volume.host_error = get_optional_string(value, where, "host_error").value_or("");
  return volume;
}

host::LiveProcess live_process_from_json(const Json& value, const std::string& where) {
  host::LiveProcess process;
  process.pid = static_cast<long>(get_uint(value, where, "pid", std::numeric_limits<std::int32_t>::max()));
  process.exe = get_path(value, where, "exe");
  process.argv = get_paths(value, where, "argv");
  return process;
}

host::EventEvidence event_evidence_from_json(const Json& object, const std::string& where, const char* key) {
  const Json& value = member(object, where, key);
  const std::string here = at(where, key);
  host::EventEvidence evidence;
  evidence.count = get_size(value, here, "count");
  evidence.first_written_utc = get_string(value, here, "first_written");
  evidence.last_written_utc = get_string(value, here, "last_written");
  const Json& numbers = get_array(value, here, "record_numbers");
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (!numbers[i].is_number_unsigned() ||
        numbers[i].get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max()) {
      fail(at(at(here, "record_numbers"), i), "not a record number");
    }
    evidence.record_numbers.push_back(numbers[i].get<std::uint32_t>());
  }
  // The kept records' times written (issue 20: the timeline's 7024/7000 events), one per record
  // number; absent in an older report.
  if (value.contains("times_written")) {
    const Json& times = get_array(value, here, "times_written");
    if (times.size() != evidence.record_numbers.size()) fail(at(here, "times_written"), "not one per record number");
    for (std::size_t i = 0; i < times.size(); ++i) {
      const std::string where_time = at(at(here, "times_written"), i);
      const auto time = times[i].is_string() ? host::parse_iso8601(times[i].get<std::string>()) : std::nullopt;
      if (!time || time->nanoseconds != 0 || time->seconds < 0 ||
          time->seconds > std::numeric_limits<std::uint32_t>::max())
        fail(where_time, "not an ISO 8601 UTC time of an event record");
      host::EventRecord record;
      record.record_number = evidence.record_numbers[i];
      record.time_written = static_cast<std::uint32_t>(time->seconds);
      evidence.records.push_back(std::move(record));
    }
  }
  return evidence;
}

// A kernel check's status: a file status code or what the strongest finding made of it.
bool is_kernel_status(const std::string& status) {
  return from_code<host::FileStatus>(status) || status == "patched" || status == "modified";
}

host::FileStatus file_status_from_json(const Json& object, const std::string& where, const char* key) {
  return get_code<host::FileStatus>(object, where, key);
}

host::ProgramCheck program_from_json(const Json& value, const std::string& where, std::string name, bool listed) {
  host::ProgramCheck check;
  check.name = std::move(name);
  check.q317218_list = listed;
  check.status = file_status_from_json(value, where, "status");
  check.path = get_optional_path(value, where, "path");
  return check;
}

// The hive as far as the report keeps it: FunLove services (from "services"), the number of
// control sets read, partial and notes. Enough for derive_host_report and the printers.
host::SystemHiveEvidence hive_from_json(const Json& hive, const Json& services, const std::string& where) {
  host::SystemHiveEvidence evidence;
  evidence.path = get_optional_path(hive, at(where, "hive"), "path");
  evidence.partial = get_bool(hive, at(where, "hive"), "partial");
  evidence.notes = get_strings(hive, at(where, "hive"), "notes");
  const Json& sequence = member(hive, at(where, "hive"), "sequence");
  evidence.sequence.primary =
      static_cast<std::uint32_t>(get_uint(sequence, at(where, "hive.sequence"), "primary", 0xFFFFFFFFu));
  evidence.sequence.secondary =
      static_cast<std::uint32_t>(get_uint(sequence, at(where, "hive.sequence"), "secondary", 0xFFFFFFFFu));
  if (get_bool(hive, at(where, "hive"), "dirty") != evidence.sequence.dirty()) {
    fail(at(where, "hive.dirty"), "disagrees with hive.sequence");
  }
  // Issue 17: absent in reports of versions before --live-report.
  if (hive.contains("computer_name"))
    evidence.computer_name = get_optional_string(hive, at(where, "hive"), "computer_name");
  const std::uint64_t sets = get_uint(hive, at(where, "hive"), "control_sets_read", host::limits::kMaxControlSets);
  for (std::size_t i = 0; i < services.size(); ++i) {
    const std::string here = at(at(where, "services"), i);
    if (get_string(services[i], here, "role") != "funlove") continue;
    host::FlcService flc;
    flc.key_name = get_string(services[i], here, "key");
    flc.control_set = get_string(services[i], here, "control_set");
    flc.in_current_control_set = get_bool(services[i], here, "current");
    const std::string matched_by = get_string(services[i], here, "matched_by");
    if (matched_by != "name" && matched_by != "image-path")
      fail(at(here, "matched_by"), "unknown code \"" + matched_by + "\"");
    flc.match.by_name = matched_by == "name";
    flc.match.by_image_path = !flc.match.by_name;
    flc.values.image_path = get_optional_string(services[i], here, "image_path");
    flc.last_write = get_optional_time(services[i], here, "last_write");
    const Json& start = member(services[i], here, "start");
    if (!start.is_null())
      flc.values.start = static_cast<std::uint32_t>(get_uint(services[i], here, "start", 0xFFFFFFFFu));
    if (evidence.control_sets.empty() || evidence.control_sets.back().name != flc.control_set) {
      host::ControlSet set;
      set.name = flc.control_set;
      evidence.control_sets.push_back(std::move(set));
    }
    evidence.control_sets.back().flc_services.push_back(std::move(flc));
  }
  if (evidence.control_sets.size() > sets)
    fail(at(where, "hive.control_sets_read"), "fewer than the control sets named by services");
  evidence.control_sets.resize(static_cast<std::size_t>(sets));
  return evidence;
}

// hosts[].symptoms
void symptoms_from_json(const Json& value, const std::string& where, host::HostReport& host) {
  const Json& symptoms = get_array(value, where, "symptoms");
  for (std::size_t i = 0; i < symptoms.size(); ++i) {
    const std::string here = at(at(where, "symptoms"), i);
    host::SymptomRow row;
    row.id = get_name(symptoms[i], here, "id");
    row.symptom = get_string(symptoms[i], here, "symptom");
    row.meaning = get_string(symptoms[i], here, "meaning");
    row.status = get_code<host::SymptomStatus>(symptoms[i], here, "status");
    row.evidence = get_strings(symptoms[i], here, "evidence");
    host.symptoms.push_back(std::move(row));
  }
}

// hosts[].services, the spooler and Protected Storage rows (the FunLove rows belong to the hive).
void service_images_from_json(const Json& services, const std::string& where, host::HostReport& host) {
  for (std::size_t i = 0; i < services.size(); ++i) {
    const std::string here = at(at(where, "services"), i);
    const std::string role = get_string(services[i], here, "role");
    if (role == "funlove") continue;
    if (role != "spooler" && role != "protected-storage") fail(at(here, "role"), "unknown code \"" + role + "\"");
    host::ServiceImageCheck check;
    check.service = get_name(services[i], here, "key");
    check.present = get_bool(services[i], here, "present");
    check.image_path = get_optional_string(services[i], here, "image_path");
    check.file = get_optional_path(services[i], here, "image_file");
    check.status = file_status_from_json(services[i], here, "image_status");
    host.service_images.push_back(std::move(check));
  }
}

// hosts[].events: the SysEvent.Evt evidence, or its error.
void events_from_json(const Json& value, const std::string& where, host::HostReport& host) {
  const Json& events = member(value, where, "events");
  const std::string events_where = at(where, "events");
  host.event_log_path = get_optional_path(events, events_where, "log");
  const std::string events_status = get_string(events, events_where, "status");
  if (events_status == "read") {
    host::EventLogEvidence log;
    log.path = host.event_log_path;
    log.records_read = get_size(events, events_where, "records_read");
    log.partial = get_bool(events, events_where, "partial");
    log.header.dirty = get_bool(events, events_where, "dirty");
    log.notes = get_strings(events, events_where, "notes");
    log.protected_storage_7024 = event_evidence_from_json(events, events_where, "protected_storage_7024");
    log.spooler_7000 = event_evidence_from_json(events, events_where, "spooler_7000");
    // Issue 17: absent in reports of versions before --live-report.
    if (events.contains("newest_written"))
      log.newest_written_utc = get_optional_string(events, events_where, "newest_written").value_or("");
    host.events = std::move(log);
  } else if (events_status == "error") {
    host.log_error = get_optional_string(events, events_where, "error");
    if (!host.log_error) fail(at(events_where, "error"), "null for status \"error\"");
  } else if (events_status != "not-found") {
    fail(at(events_where, "status"), "unknown code \"" + events_status + "\"");
  }
}

// hosts[].kernel
void kernel_from_json(const Json& value, const std::string& where, host::HostReport& host) {
  const Json& kernel = get_array(value, where, "kernel");
  for (std::size_t i = 0; i < kernel.size(); ++i) {
    const std::string here = at(at(where, "kernel"), i);
    host::KernelCheck check;
    check.name = get_name(kernel[i], here, "name");
    check.status = get_string(kernel[i], here, "status");
    if (!is_kernel_status(check.status))
      fail(at(here, "status"), "unknown code \"" + escape_for_terminal(check.status) + "\"");
    check.path = get_optional_path(kernel[i], here, "path");
    check.evidence = get_string(kernel[i], here, "evidence");
    host.kernel.push_back(std::move(check));
  }
}

host::HostReport host_from_json(const Json& value, const std::string& where) {
  host::HostReport host;
  host.install.volume_root = get_path(value, where, "root");
  host.install.windows_dir = get_path(value, where, "windows_dir");
  host.install.system32 = get_optional_path(value, where, "system32");
  host.install.config_dir = get_optional_path(value, where, "config_dir");
  host.install.system_hive = get_optional_path(value, where, "system_hive");
  host.verdict = get_code<host::Verdict>(value, where, "verdict");
  host.verdict_text = get_string(value, where, "verdict_text");

  symptoms_from_json(value, where, host);

  const Json& hive = member(value, where, "hive");
  const std::string hive_status = get_string(hive, at(where, "hive"), "status");
  host.hive_error = get_optional_string(hive, at(where, "hive"), "error");
  const Json& services = get_array(value, where, "services");
  if (hive_status == "read") {
    host.hive = hive_from_json(hive, services, where);
  } else if (hive_status != "error" && hive_status != "not-found") {
    fail(at(where, "hive.status"), "unknown code \"" + hive_status + "\"");
  }
  service_images_from_json(services, where, host);

  events_from_json(value, where, host);

  const Json& programs = get_array(value, where, "programs");
  for (std::size_t i = 0; i < programs.size(); ++i) {
    const std::string here = at(at(where, "programs"), i);
    host.programs.push_back(program_from_json(programs[i], here, get_name(programs[i], here, "name"),
                                              get_bool(programs[i], here, "q317218_list")));
  }
  host.flcss = program_from_json(member(value, where, "flcss"), at(where, "flcss"), "flcss.exe", false);
  kernel_from_json(value, where, host);
  host.remediation = get_strings(value, where, "remediation");
  host.errors = get_strings(value, where, "errors");
  return host;
}

// summary.<key>: {"<code>": count, ...}, every code of Enum's table present.
template <typename Enum>
void counts_from_json(const Json& summary, const char* key, std::array<std::uint64_t, kEnumCount<Enum>>& counts) {
  const Json& object = member(summary, "summary", key);
  for (const EnumRow<Enum>& row : table_of<Enum>()) {
    const std::string code(row.code);
    counts[static_cast<std::size_t>(row.value)] = get_uint(object, at("summary", key), code.c_str());
  }
}

ScanCounters counters_from_json(const Json& summary) {
  ScanCounters c;
  c.files_seen = get_uint(summary, "summary", "files_seen");
  c.files_examined = get_uint(summary, "summary", "files_read");
  c.files_scanned_whole = get_uint(summary, "summary", "files_read_whole");
  c.directories = get_uint(summary, "summary", "directories");
  c.pe_files = get_uint(summary, "summary", "pe_files");
  c.mz_files = get_uint(summary, "summary", "mz_files");
  c.bytes_read = get_uint(summary, "summary", "bytes_read");
  c.files_with_findings = get_uint(summary, "summary", "files_with_findings");
  c.infected_files = get_uint(summary, "summary", "infected_files");
  c.match_cap_hits = get_uint(summary, "summary", "signature_match_cap_hits");
  c.lost_reports = get_uint(summary, "summary", "lost_reports");
  c.files_in_other_shards = get_uint(summary, "summary", "files_in_other_shards");
  counts_from_json<FindingKind>(summary, "findings_by_kind", c.findings_by_kind);
  counts_from_json<NotScannedReason>(summary, "not_scanned_by_reason", c.not_scanned_by_reason);
  counts_from_json<SkipReason>(summary, "skipped_by_reason", c.skipped_by_reason);
  return c;
}

// An absolute path or null (empty).
std::string get_optional_absolute_path(const Json& object, const std::string& where, const char* key) {
  std::string path = get_optional_path(object, where, key);
  if (!path.empty() && !path.starts_with('/')) fail(at(where, key), "not an absolute path");
  return path;
}

// "root_facts" (report.h, RootFacts): one entry per root. Absent in reports of versions that did
// not record it: the report then has none, and the printers infer them (root_facts_of).
void root_facts_from_json(const Json& document, ScanReport& report) {
  if (!document.contains("root_facts")) return;
  const std::string where = "root_facts";
  const Json& object = member(document, "", "root_facts");
  report.working_directory = get_optional_absolute_path(object, where, "working_directory");
  const Json& roots = get_array(object, where, "roots");
  if (roots.size() != report.roots.size()) fail(at(where, "roots"), "not one entry per root");
  for (std::size_t i = 0; i < roots.size(); ++i) {
    const std::string here = at(at(where, "roots"), i);
    RootFacts facts;
    facts.absolute = get_optional_absolute_path(roots[i], here, "absolute");
    facts.kind = get_code<RootKind>(roots[i], here, "kind");
    // Absent in reports of versions before --read-order (issue 19); null for other operands.
    if (roots[i].contains("read_order") && !member(roots[i], here, "read_order").is_null()) {
      facts.read_order = get_code<ReadOrder>(roots[i], here, "read_order");
      facts.read_order_reason = get_label(roots[i], here, "read_order_reason");
    }
    report.root_facts.push_back(std::move(facts));
  }
}

// "options": the printers' switches and the options the report records (print_settings.h).
void print_options_from_json(const Json& object, PrintSettings& settings) {
  const std::string where = "options";
  RecordedOptions& options = settings.recorded;
  options.threads = static_cast<unsigned>(get_uint(object, where, "threads", 4096));
  options.follow_symlinks = get_bool(object, where, "follow_symlinks");
  options.one_file_system = get_bool(object, where, "one_file_system");
  options.excludes = get_strings(object, where, "exclude");
  options.max_filesize = get_uint(object, where, "max_filesize");
  options.databases = get_paths(object, where, "databases");
  settings.inventory = get_bool(object, where, "inventory");
  settings.verbose = get_bool(object, where, "verbose");
  settings.brief = get_bool(object, where, "brief");
  settings.infected_only = get_bool(object, where, "infected_only");
  settings.quiet = get_bool(object, where, "quiet");
  const std::string quarantine = get_optional_path(object, where, "quarantine");
  if (!quarantine.empty()) options.quarantine_dir = quarantine;
  options.repair = get_bool(object, where, "repair");
  auto fail_on = parse_fail_on(get_string(object, where, "fail_on"));
  if (!fail_on) fail(at(where, "fail_on"), fail_on.error());
  settings.fail_on = *fail_on;
  const std::string windows_root = get_optional_path(object, where, "windows_root");
  if (!windows_root.empty()) options.windows_root = windows_root;
  options.live = get_bool(object, where, "live");
  // Added with disk images; absent in older reports, which had no --image.
  if (object.contains("image")) options.force_image = get_bool(object, where, "image");
  // Added with disk images opened during a walk (issue 15); older reports opened none.
  options.nested_images = object.contains("nested_images") ? get_bool(object, where, "nested_images") : false;
  // Added with encrypted volumes (issue 15); absent in older reports, which took no keys.
  if (object.contains("keys")) {
    for (const Json& kind : get_array(object, where, "keys")) {
      if (!kind.is_string() || !is_printable_text(kind.get<std::string>())) fail(at(where, "keys"), "not a key kind");
      options.key_kinds.push_back(kind.get<std::string>());
    }
  }
}

// The top-level arrays that grow with the tree (and the host reports), converted element by
// element: while a file is parsed, each element as soon as it is complete, so the parsed JSON of
// a whole array never exists (ReportSax below).
struct Entries {
  std::vector<FileResult> results;
  std::vector<NotScannedEntry> not_scanned;
  std::vector<SkippedEntry> skipped;
  std::vector<InventoryEntry> inventory;
  std::vector<ImageVolume> volumes;
  std::vector<host::HostReport> hosts;
  std::vector<host::LiveProcess> live_processes;
  std::set<std::string, std::less<>> keys;  // the arrays converted (present in the document as arrays)
};

constexpr std::string_view kEntryKeys[] = {"results", "not_scanned", "skipped",       "inventory",
                                           "volumes", "hosts",       "live_processes"};

bool is_entry_key(std::string_view key) {
  return std::find(std::begin(kEntryKeys), std::end(kEntryKeys), key) != std::end(kEntryKeys);
}

void add_entry(Entries& entries, std::string_view key, std::size_t index, const Json& value) {
  const std::string where = at(std::string(key), index);
  if (key == "results") {
    entries.results.push_back(result_from_json(value, where));
  } else if (key == "not_scanned") {
    entries.not_scanned.push_back(entry_from_json<NotScannedEntry, NotScannedReason>(value, where));
  } else if (key == "skipped") {
    entries.skipped.push_back(entry_from_json<SkippedEntry, SkipReason>(value, where));
  } else if (key == "inventory") {
    entries.inventory.push_back(inventory_entry_from_json(value, where));
  } else if (key == "volumes") {
    entries.volumes.push_back(volume_from_json(value, where));
  } else if (key == "hosts") {
    entries.hosts.push_back(host_from_json(value, where));
  } else if (key == "live_processes") {
    entries.live_processes.push_back(live_process_from_json(value, where));
  }
}

// `document` holds every top-level key but those in entries.keys, already converted.
ReadReport read_document(const Json& document, Entries entries) {
  if (!document.is_object()) fail("document", "not a JSON object");
  if (get_string(document, "", "schema") != "flscan-report") fail("schema", "not \"flscan-report\"");
  const std::uint64_t version = get_uint(document, "", "schema_version");
  if (version != static_cast<std::uint64_t>(kJsonSchemaVersion)) {
    fail("schema_version",
         std::to_string(version) + ", this flscan reads version " + std::to_string(kJsonSchemaVersion));
  }
  // The arrays of a document parsed whole (report_from_json) are converted here.
  for (const std::string_view key : kEntryKeys) {
    const auto it = document.find(key);
    if (entries.keys.contains(key) || it == document.end() || !it->is_array()) continue;
    for (std::size_t i = 0; i < it->size(); ++i) add_entry(entries, key, i, (*it)[i]);
    entries.keys.emplace(key);
  }
  // A required array missing or of another type: the error get_array gives.
  const auto require = [&](const char* key) {
    if (!entries.keys.contains(std::string_view(key))) static_cast<void>(get_array(document, "", key));
  };
  ReadReport read;
  ReportMeta& meta = read.settings.meta;
  meta.flscan_version = get_label(document, "", "flscan_version");
  read.signatures_json = member(document, "", "signatures");
  meta.signature_count = get_size(read.signatures_json, "signatures", "count");
  meta.signature_sources = get_strings(read.signatures_json, "signatures", "sources");

  ScanReport& report = read.report;
  report.roots = get_paths(document, "", "roots");
  root_facts_from_json(document, report);
  read.options_json = member(document, "", "options");
  print_options_from_json(read.options_json, read.settings);
  const Json& shard = member(document, "", "shard");
  if (!shard.is_null()) {
    const auto k = get_uint(shard, "shard", "k", kMaxShards);
    const auto n = get_uint(shard, "shard", "n", kMaxShards);
    if (k < 1 || k > n) fail("shard", "k must be between 1 and n");
    report.shard = Shard{static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(n)};
  }

  require("results");
  report.results = std::move(entries.results);
  require("not_scanned");
  report.not_scanned = std::move(entries.not_scanned);
  require("skipped");
  report.skipped = std::move(entries.skipped);
  if (read.settings.inventory) {
    require("inventory");
    report.inventory = std::move(entries.inventory);
  }
  // Disk image volumes (scanner/image/): absent in reports of versions without image scanning.
  if (document.contains("volumes")) require("volumes");
  report.volumes = std::move(entries.volumes);
  require("hosts");
  report.hosts = std::move(entries.hosts);

  if (entries.keys.contains(std::string_view("live_processes"))) {
    report.live_processes = std::move(entries.live_processes);
  } else if (!member(document, "", "live_processes").is_null()) {
    fail("live_processes", "not an array or null");
  }

  // --live-report (issue 17): the document is read again through the same checks as the file was.
  if (const auto live = document.find("live_report"); live != document.end() && !live->is_null()) {
    const std::string source = get_path(*live, "live_report", "file");
    auto parsed = host::parse_live_report(get_string(*live, "live_report", "document"), source);
    if (!parsed) fail("live_report.document", parsed.error());
    report.live_report = std::make_shared<const host::LiveReport>(std::move(*parsed));
  }

  const Json& summary = member(document, "", "summary");
  report.counters = counters_from_json(summary);
  const Json& elapsed = member(summary, "summary", "elapsed_seconds");
  if (!elapsed.is_number() || elapsed.get<double>() < 0) fail("summary.elapsed_seconds", "not a non-negative number");
  report.elapsed_seconds = elapsed.get<double>();
  read.exit_code = static_cast<int>(get_uint(document, "", "exit_code", 2));
  return read;
}

// nlohmann's SAX interface (json::sax_parse), one pass over the text (issue 13, item 8; the
// callback parser it replaces rescans the parent array after every object, quadratic in the
// entries). It builds the JSON of the top-level object, except that the elements of the arrays
// named by kEntryKeys are built one at a time and converted into `entries` when complete, then
// dropped. What stays in memory is the text, the converted entries and at most one element's
// JSON (plus the small keys: options, signatures, summary). Depth and value count are capped as
// the values arrive; a top-level key given twice is refused (the old parse kept the last one,
// which would let a report show one set of results to one reader and another to the next).
class ReportSax {
 public:
  explicit ReportSax(Entries& entries) : entries_(entries) {}

  Json& document() { return root_; }
  const std::string& syntax_error() const { return syntax_error_; }

  bool null() { return value(Json(nullptr)); }
  bool boolean(bool v) { return value(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return value(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return value(Json(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return value(Json(v)); }
  bool string(Json::string_t& v) { return value(Json(std::move(v))); }
  bool binary(Json::binary_t&) { throw BadReport("binary values are not JSON"); }

  bool start_object(std::size_t) { return open(Json::object()); }
  bool start_array(std::size_t) {
    // The array of an entry key, directly in the top-level object: streamed, not built.
    if (stack_.size() == 1 && root_.is_object() && is_entry_key(key_)) {
      enter();
      streaming_ = true;
      entries_.keys.insert(key_);
      streamed_key_ = key_;
      streamed_index_ = 0;
      stack_.push_back(nullptr);
      return true;
    }
    return open(Json::array());
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(Json::string_t& name) {
    if (stack_.size() == 1 && root_.is_object() && (root_.contains(name) || entries_.keys.contains(name))) {
      throw BadReport(escape_for_terminal(name) + ": the key appears twice in the top-level object");
    }
    key_ = std::move(name);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    syntax_error_ = "at byte " + std::to_string(position) + ": " + e.what();
    return false;
  }

 private:
  // Values held as JSON at once: those of the top-level object and of the element being built.
  void count() {
    std::uint64_t& values = streaming_ ? element_values_ : document_values_;
    if (++values + (streaming_ ? document_values_ : element_values_) > kMaxReportValues) {
      throw BadReport("more than " + std::to_string(kMaxReportValues) + " values held at once (kMaxReportValues)");
    }
  }
  void enter() {
    count();
    if (++depth_ > kMaxReportDepth)
      throw BadReport("nested deeper than " + std::to_string(kMaxReportDepth) + " levels (kMaxReportDepth)");
  }

  // Stores `v` where the parse is: the root, the element being built, an array or an object.
  Json* place(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json* parent = stack_.back();
    if (parent == nullptr) {
      element_ = std::move(v);
      return &element_;
    }
    if (parent->is_array()) {
      parent->push_back(std::move(v));
      return &parent->back();
    }
    Json& slot = (*parent)[key_];
    slot = std::move(v);
    return &slot;
  }

  bool value(Json&& v) {
    count();
    place(std::move(v));
    if (!stack_.empty() && stack_.back() == nullptr) emit();
    return true;
  }

  bool open(Json&& container) {
    enter();
    stack_.push_back(place(std::move(container)));
    return true;
  }

  bool close() {
    --depth_;
    const bool streamed_array = stack_.back() == nullptr;
    stack_.pop_back();
    if (streamed_array) streaming_ = false;
    if (!streamed_array && !stack_.empty() && stack_.back() == nullptr) emit();
    return true;
  }

  void emit() {
    add_entry(entries_, streamed_key_, streamed_index_++, element_);
    element_ = Json();
    element_values_ = 0;
  }

  Entries& entries_;
  Json root_;
  Json element_;
  std::vector<Json*> stack_;  // open containers; nullptr stands for a streamed array
  std::string key_;
  std::string streamed_key_;
  std::size_t streamed_index_ = 0;
  bool streaming_ = false;
  std::uint64_t document_values_ = 0;
  std::uint64_t element_values_ = 0;
  int depth_ = 0;
  std::string syntax_error_;
};

}  // namespace

tl::expected<ReadReport, std::string> report_from_json(const nlohmann::json& document) {
  try {
    return read_document(document, Entries{});
  } catch (const BadReport& e) {
    return tl::make_unexpected(std::string(e.what()));
  } catch (const nlohmann::json::exception& e) {
    return tl::make_unexpected(std::string("unexpected JSON: ") + e.what());
  }
}

tl::expected<ReadReport, std::string> read_json_report_file(const std::string& path) {
  const std::string too_large =
      "larger than " + std::to_string(kMaxReportFileBytes >> 20) + " MiB (kMaxReportFileBytes)";
  auto read = read_small_regular_file(path, kMaxReportFileBytes, too_large);
  if (!read) return tl::make_unexpected(read.error());
  std::string text = std::move(*read);
  // One pass (ReportSax); the text is freed before the report is put together.
  Entries entries;
  ReportSax sax(entries);
  try {
    const bool parsed = Json::sax_parse(text, &sax);
    text = std::string();
    if (!parsed) return tl::make_unexpected("not valid JSON (" + sax.syntax_error() + ")");
    return read_document(sax.document(), std::move(entries));
  } catch (const BadReport& e) {
    return tl::make_unexpected(std::string(e.what()));
  } catch (const nlohmann::json::exception& e) {
    return tl::make_unexpected(std::string("unexpected JSON: ") + e.what());
  }
}

}  // namespace flscan::scanner
