#include "scanner/host/live_report.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "scanner/host/limits.h"
#include "scanner/platform/open_path.h"

namespace flscan::host {
namespace {

using Json = nlohmann::json;

// Thrown inside this file only; parse_live_report turns it into the error value.
struct BadField : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw BadField(where + ": " + what); }

std::string at(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}
std::string at(const std::string& where, std::size_t index) { return where + "[" + std::to_string(index) + "]"; }

// The deepest nesting of arrays and objects in `text`, counted outside strings, stopping as soon
// as it passes `cap`: nlohmann's parser and the value it builds are then never given a deep one.
int nesting_depth(std::string_view text, int cap) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > cap) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

const Json& member(const Json& object, const std::string& where, std::string_view key) {
  if (!object.is_object()) fail(where.empty() ? "document" : where, "not an object");
  const auto found = object.find(key);
  if (found == object.end()) fail(at(where, key), "missing");
  return *found;
}

void check_string(const Json& value, const std::string& where) {
  if (!value.is_string()) fail(where, "not a string");
  if (value.get_ref<const std::string&>().size() > limits::kMaxLiveStringBytes)
    fail(where, "longer than " + std::to_string(limits::kMaxLiveStringBytes) + " bytes (kMaxLiveStringBytes)");
}

std::string get_string(const Json& object, const std::string& where, std::string_view key) {
  const Json& value = member(object, where, key);
  check_string(value, at(where, key));
  return value.get<std::string>();
}

std::optional<std::string> get_optional_string(const Json& object, const std::string& where, std::string_view key) {
  const Json& value = member(object, where, key);
  if (value.is_null()) return std::nullopt;
  check_string(value, at(where, key));
  return value.get<std::string>();
}

// One of `codes`: the contract's closed lists (status, state, start_type...).
std::string get_code(const Json& object, const std::string& where, std::string_view key,
                     std::initializer_list<std::string_view> codes) {
  std::string value = get_string(object, where, key);
  if (std::find(codes.begin(), codes.end(), value) == codes.end()) {
    std::string list;
    for (std::string_view code : codes) list += (list.empty() ? "" : ", ") + std::string(code);
    fail(at(where, key), "\"" + value + "\" is none of " + list);
  }
  return value;
}

std::int64_t integer(const Json& value, const std::string& where, std::int64_t min, std::int64_t max) {
  if (!value.is_number_integer()) fail(where, "not an integer");
  const bool is_unsigned = value.is_number_unsigned();
  if (is_unsigned && value.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) fail(where, "out of range");
  const std::int64_t n =
      is_unsigned ? static_cast<std::int64_t>(value.get<std::uint64_t>()) : value.get<std::int64_t>();
  if (n < min || n > max) fail(where, "out of range");
  return n;
}

std::int64_t get_integer(const Json& object, const std::string& where, std::string_view key, std::int64_t min,
                         std::int64_t max) {
  return integer(member(object, where, key), at(where, key), min, max);
}

std::optional<std::int64_t> get_optional_integer(const Json& object, const std::string& where, std::string_view key,
                                                 std::int64_t min, std::int64_t max) {
  const Json& value = member(object, where, key);
  if (value.is_null()) return std::nullopt;
  return integer(value, at(where, key), min, max);
}

constexpr std::int64_t kMaxCount = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMaxU32 = 0xFFFFFFFF;

const Json& get_array(const Json& object, const std::string& where, std::string_view key, std::size_t cap,
                      std::string_view cap_name) {
  const Json& value = member(object, where, key);
  if (!value.is_array()) fail(at(where, key), "not an array");
  if (value.size() > cap)
    fail(at(where, key), std::to_string(value.size()) + " entries, more than " + std::to_string(cap) + " (" +
                             std::string(cap_name) + ")");
  return value;
}

std::vector<std::string> get_strings(const Json& object, const std::string& where, std::string_view key) {
  const Json& array = get_array(object, where, key, limits::kMaxLiveListStrings, "kMaxLiveListStrings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    check_string(array[i], at(at(where, key), i));
    out.push_back(array[i].get<std::string>());
  }
  return out;
}

// ISO 8601 UTC as the contract writes it: 2002-03-01T00:00:00Z (so that times compare as text).
bool is_utc_time(std::string_view text) {
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool ok = shape[i] == 'd' ? text[i] >= '0' && text[i] <= '9' : text[i] == shape[i];
    if (!ok) return false;
  }
  return true;
}

std::string get_time(const Json& object, const std::string& where, std::string_view key) {
  std::string value = get_string(object, where, key);
  if (!is_utc_time(value)) fail(at(where, key), "\"" + value + "\" is not an ISO 8601 UTC time (2002-03-01T00:00:00Z)");
  return value;
}

std::optional<std::string> get_optional_time(const Json& object, const std::string& where, std::string_view key) {
  if (member(object, where, key).is_null()) return std::nullopt;
  return get_time(object, where, key);
}

LiveSection section(const Json& object, const std::string& where) {
  LiveSection out;
  out.status = get_code(object, where, "status", {"ok", "partial", "error", "unavailable"});
  out.errors = get_strings(object, where, "errors");
  return out;
}

void read_machine(const Json& document, LiveReport& report) {
  const Json& machine = member(document, "", "machine");
  report.computer_name = get_optional_string(machine, "machine", "computer_name");
  report.windows_directory = get_optional_string(machine, "machine", "windows_directory");
  report.system_directory = get_optional_string(machine, "machine", "system_directory");
  const Json& version = member(machine, "machine", "os_version");
  if (!version.is_null()) {
    const std::string where = "machine.os_version";
    for (std::string_view key : {"major", "minor", "build"}) (void)get_integer(version, where, key, 0, kMaxU32);
    (void)member(version, where, "service_pack");
  }
}

void read_processes(const Json& document, LiveReport& report) {
  const std::string where = "processes";
  const Json& processes = member(document, "", where);
  report.processes = section(processes, where);
  report.process_method = get_code(processes, where, "method", {"toolhelp32", "psapi"});
  report.process_count = static_cast<std::uint64_t>(get_integer(processes, where, "process_count", 0, kMaxCount));
  const Json& flcss = get_array(processes, where, "flcss", limits::kMaxLiveFlcssEntries, "kMaxLiveFlcssEntries");
  for (std::size_t i = 0; i < flcss.size(); ++i) {
    const std::string here = at(at(where, "flcss"), i);
    LiveFlcssProcess process;
    process.pid = get_integer(flcss[i], here, "pid", 0, kMaxU32);
    process.parent_pid = get_optional_integer(flcss[i], here, "parent_pid", 0, kMaxU32);
    process.image_name = get_string(flcss[i], here, "image_name");
    process.path = get_optional_string(flcss[i], here, "path");
    report.flcss_processes.push_back(std::move(process));
  }
}

void read_services(const Json& document, LiveReport& report) {
  const std::string where = "services";
  const Json& services = member(document, "", where);
  report.services = section(services, where);
  report.service_count = static_cast<std::uint64_t>(get_integer(services, where, "service_count", 0, kMaxCount));
  const Json& flcss = get_array(services, where, "flcss", limits::kMaxLiveFlcssEntries, "kMaxLiveFlcssEntries");
  for (std::size_t i = 0; i < flcss.size(); ++i) {
    const std::string here = at(at(where, "flcss"), i);
    LiveFlcssService service;
    service.name = get_string(flcss[i], here, "name");
    service.display_name = get_string(flcss[i], here, "display_name");
    service.state = get_code(flcss[i], here, "state",
                             {"stopped", "start-pending", "stop-pending", "running", "continue-pending",
                              "pause-pending", "paused", "unknown"});
    service.pid = get_optional_integer(flcss[i], here, "pid", 0, kMaxU32);
    service.start_type =
        get_code(flcss[i], here, "start_type", {"boot", "system", "auto", "demand", "disabled", "unknown"});
    service.binary_path = get_optional_string(flcss[i], here, "binary_path");
    service.account = get_optional_string(flcss[i], here, "account");
    service.config_error = get_optional_string(flcss[i], here, "config_error");
    report.flcss_services.push_back(std::move(service));
  }
}

LiveEvidence evidence(const Json& log, const std::string& where, std::string_view key) {
  const Json& object = member(log, where, key);
  const std::string here = at(where, key);
  LiveEvidence out;
  out.count = static_cast<std::uint64_t>(get_integer(object, here, "count", 0, kMaxCount));
  out.first_written_utc = get_optional_time(object, here, "first_written_utc");
  out.last_written_utc = get_optional_time(object, here, "last_written_utc");
  const Json& records = get_array(object, here, "records", limits::kMaxLiveEvidenceRecords, "kMaxLiveEvidenceRecords");
  if (records.size() > out.count) fail(at(here, "records"), "more records than count");
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string at_record = at(at(here, "records"), i);
    LiveEventRecord record;
    record.record_number = static_cast<std::uint32_t>(get_integer(records[i], at_record, "record_number", 0, kMaxU32));
    record.event_identifier =
        static_cast<std::uint32_t>(get_integer(records[i], at_record, "event_identifier", 0, kMaxU32));
    record.time_generated_utc = get_time(records[i], at_record, "time_generated_utc");
    record.time_written_utc = get_time(records[i], at_record, "time_written_utc");
    record.source_name = get_string(records[i], at_record, "source_name");
    record.computer_name = get_string(records[i], at_record, "computer_name");
    record.strings = get_strings(records[i], at_record, "strings");
    out.records.push_back(std::move(record));
  }
  return out;
}

void read_event_log(const Json& document, LiveReport& report) {
  const std::string where = "event_log";
  const Json& log = member(document, "", where);
  report.event_log = section(log, where);
  report.records_read = static_cast<std::uint64_t>(get_integer(log, where, "records_read", 0, kMaxCount));
  report.protected_storage_7024 = evidence(log, where, "protected_storage_7024");
  report.spooler_7000 = evidence(log, where, "spooler_7000");
}

// A result's path: the path object of scanner/JSON.md ({"text": ...}) or a plain string.
std::string file_path(const Json& file, const std::string& where) {
  const Json& path = member(file, where, "path");
  if (path.is_string()) return get_string(file, where, "path");
  if (path.is_object() && path.contains("text")) return get_string(path, at(where, "path"), "text");
  fail(at(where, "path"), "neither a string nor {\"text\": string}");
}

void read_files(const Json& document, LiveReport& report) {
  const std::string where = "files";
  const Json& files = member(document, "", where);
  report.files = section(files, where);
  const Json& checked = get_array(files, where, "checked", limits::kMaxLiveCheckedFiles, "kMaxLiveCheckedFiles");
  for (std::size_t i = 0; i < checked.size(); ++i) {
    const std::string here = at(at(where, "checked"), i);
    LiveCheckedFile file;
    file.path = file_path(checked[i], here);
    // size and sha256 are absent for a file that could not be read; sha256 is null when the
    // machine had no SHA-256 provider (sha256_error says why); type is null for a file not read
    // and severity null for a clean or unread one (live/LIVE_JSON.md, "Added by flscan-live").
    if (checked[i].contains("size")) (void)get_optional_integer(checked[i], here, "size", 0, kMaxCount);
    if (checked[i].contains("sha256")) (void)get_optional_string(checked[i], here, "sha256");
    if (checked[i].contains("sha256_error")) (void)get_optional_string(checked[i], here, "sha256_error");
    (void)get_optional_string(checked[i], here, "type");
    file.state = get_string(checked[i], here, "state");
    file.severity = get_optional_string(checked[i], here, "severity").value_or("none");
    file.why = get_strings(checked[i], here, "why");
    file.error = get_optional_string(checked[i], here, "error");
    const Json& findings =
        get_array(checked[i], here, "findings", limits::kMaxLiveFindingsPerFile, "kMaxLiveFindingsPerFile");
    for (std::size_t j = 0; j < findings.size(); ++j) {
      const std::string at_finding = at(at(here, "findings"), j);
      (void)get_string(findings[j], at_finding, "kind");
      (void)get_string(findings[j], at_finding, "severity");
      const std::string text = get_string(findings[j], at_finding, "evidence");
      if (j == 0) file.evidence = text;
    }
    if (file.error && file.state != "not-scanned") fail(at(here, "state"), "a file with an error must be not-scanned");
    report.checked.push_back(std::move(file));
  }
}

LiveReport read_document(const Json& document, std::string_view text, const std::string& source) {
  LiveReport report;
  report.source = source;
  if (get_string(document, "", "format") != "flscan-live") fail("format", "not \"flscan-live\"");
  const std::int64_t version = get_integer(document, "", "format_version", 0, kMaxCount);
  if (version != 1) fail("format_version", std::to_string(version) + ", this flscan reads version 1 only");
  report.tool_version = get_string(document, "", "tool_version");
  report.tool_architecture = get_code(document, "", "tool_architecture", {"i686", "x86_64"});
  report.collected_utc = get_time(document, "", "collected_utc");
  read_machine(document, report);
  read_processes(document, report);
  read_services(document, report);
  read_event_log(document, report);
  read_files(document, report);
  report.document = std::string(text);
  return report;
}

}  // namespace

std::string LiveReport::label() const { return "live report " + source + " (collected " + collected_utc + ")"; }

std::string_view windows_base_name(std::string_view path) {
  while (!path.empty() && (path.back() == '\\' || path.back() == '/')) path.remove_suffix(1);
  const std::size_t sep = path.find_last_of("\\/:");
  return sep == std::string_view::npos ? path : path.substr(sep + 1);
}

tl::expected<LiveReport, std::string> parse_live_report(std::string_view text, const std::string& source) {
  const std::string prefix = "live report " + source + ": ";
  if (text.size() > limits::kMaxLiveReportBytes) {
    return tl::make_unexpected(prefix + "larger than " + std::to_string(limits::kMaxLiveReportBytes) +
                               " bytes (kMaxLiveReportBytes)");
  }
  if (nesting_depth(text, limits::kMaxLiveReportDepth) > limits::kMaxLiveReportDepth) {
    return tl::make_unexpected(prefix + "nested deeper than " + std::to_string(limits::kMaxLiveReportDepth) +
                               " levels (kMaxLiveReportDepth)");
  }
  try {
    const Json document = Json::parse(text);
    return read_document(document, text, source);
  } catch (const BadField& e) {
    return tl::make_unexpected(prefix + e.what());
  } catch (const Json::parse_error& e) {
    return tl::make_unexpected(prefix + "not valid JSON (" + e.what() + ")");
  } catch (const Json::exception& e) {
    return tl::make_unexpected(prefix + "unexpected JSON: " + e.what());
  }
}

tl::expected<LiveReport, std::string> read_live_report(const std::string& path) {
  auto text = scanner::read_small_regular_file(
      path, limits::kMaxLiveReportBytes,
      "larger than " + std::to_string(limits::kMaxLiveReportBytes) + " bytes (kMaxLiveReportBytes)");
  if (!text) return tl::make_unexpected("live report " + path + ": " + text.error());
  return parse_live_report(*text, path);
}

}  // namespace flscan::host
