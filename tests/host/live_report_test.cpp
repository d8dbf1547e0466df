// --live-report's reader (scanner/host/live_report.h) on documents built here per
// live/LIVE_JSON.md: a valid one read whole; every required field missing or of the wrong type,
// a wrong format or version, an oversized or deeply nested document, too many records, and a FIFO
// each refused with an error naming the file and the field.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scanner/host/limits.h"
#include "scanner/host/live_report.h"

using flscan::host::parse_live_report;
using Json = nlohmann::json;

namespace {

Json evidence_with(std::size_t records) {
  Json list = Json::array();
  for (std::size_t i = 0; i < records; ++i) {
    list.push_back(Json{{"record_number", 100 + i},
                        {"event_identifier", 0xC0001B70u},
                        {"time_generated_utc", "2002-03-03T10:00:00Z"},
                        {"time_written_utc", "2002-03-03T10:00:01Z"},
                        {"source_name", "Service Control Manager"},
                        {"computer_name", "FLSCAN-NT4"},
                        {"strings", Json::array({"Protected Storage", "2148270091"})}});
  }
  return Json{{"count", records},
              {"first_written_utc", records ? Json("2002-03-03T10:00:01Z") : Json(nullptr)},
              {"last_written_utc", records ? Json("2002-03-03T10:00:01Z") : Json(nullptr)},
              {"records", std::move(list)}};
}

// A complete document as the contract describes it.
Json valid_document() {
  const Json ok_section = Json{{"status", "ok"}, {"errors", Json::array()}};
  Json processes = ok_section;
  processes["method"] = "toolhelp32";
  processes["process_count"] = 31;
  processes["flcss"] = Json::array({Json{
      {"pid", 212}, {"parent_pid", 40}, {"image_name", "FLCSS.EXE"}, {"path", "C:\\WINNT\\system32\\flcss.exe"}}});
  Json services = ok_section;
  services["service_count"] = 120;
  services["flcss"] = Json::array({Json{{"name", "FLC"},
                                        {"display_name", "FLC"},
                                        {"state", "running"},
                                        {"pid", 212},
                                        {"start_type", "auto"},
                                        {"binary_path", "C:\\WINNT\\System32\\flcss.exe"},
                                        {"account", "LocalSystem"},
                                        {"config_error", nullptr}}});
  Json log = ok_section;
  log["records_read"] = 500;
  log["protected_storage_7024"] = evidence_with(1);
  log["spooler_7000"] = evidence_with(0);
  Json files = ok_section;
  files["checked"] = Json::array({Json{
      {"path", {{"text", "C:\\WINNT\\system32\\calc.exe"}}},
      {"size", 22531},
      {"sha256", std::string(64, 'a')},
      {"type", "pe"},
      {"state", "infected"},
      {"severity", "infection"},
      {"findings",
       Json::array({Json{{"kind", "infected"}, {"severity", "infection"}, {"evidence", "FunLove body at 0x5000"}}})},
      {"why", Json::array({"q317218-program"})},
      {"error", nullptr}}});
  return Json{{"format", "flscan-live"},
              {"format_version", 1},
              {"tool_version", "0.1.0"},
              {"tool_architecture", "i686"},
              {"collected_utc", "2002-03-03T12:00:00Z"},
              {"machine",
               {{"computer_name", "FLSCAN-NT4"},
                {"windows_directory", "C:\\WINNT"},
                {"system_directory", "C:\\WINNT\\system32"},
                {"os_version", {{"major", 4}, {"minor", 0}, {"build", 1381}, {"service_pack", "Service Pack 6"}}}}},
              {"processes", processes},
              {"services", services},
              {"event_log", log},
              {"files", files}};
}

// Every field the contract requires, as a JSON pointer, and its dotted name in errors.
struct Field {
  const char* pointer;
  const char* name;
};
const std::vector<Field>& required_fields() {
  static const std::vector<Field> fields = {
      {"/format", "format"},
      {"/format_version", "format_version"},
      {"/tool_version", "tool_version"},
      {"/tool_architecture", "tool_architecture"},
      {"/collected_utc", "collected_utc"},
      {"/machine", "machine"},
      {"/machine/computer_name", "machine.computer_name"},
      {"/machine/windows_directory", "machine.windows_directory"},
      {"/machine/system_directory", "machine.system_directory"},
      {"/machine/os_version", "machine.os_version"},
      {"/processes", "processes"},
      {"/processes/status", "processes.status"},
      {"/processes/errors", "processes.errors"},
      {"/processes/method", "processes.method"},
      {"/processes/process_count", "processes.process_count"},
      {"/processes/flcss", "processes.flcss"},
      {"/processes/flcss/0/pid", "processes.flcss[0].pid"},
      {"/processes/flcss/0/parent_pid", "processes.flcss[0].parent_pid"},
      {"/processes/flcss/0/image_name", "processes.flcss[0].image_name"},
      {"/processes/flcss/0/path", "processes.flcss[0].path"},
      {"/services", "services"},
      {"/services/status", "services.status"},
      {"/services/errors", "services.errors"},
      {"/services/service_count", "services.service_count"},
      {"/services/flcss", "services.flcss"},
      {"/services/flcss/0/name", "services.flcss[0].name"},
      {"/services/flcss/0/display_name", "services.flcss[0].display_name"},
      {"/services/flcss/0/state", "services.flcss[0].state"},
      {"/services/flcss/0/pid", "services.flcss[0].pid"},
      {"/services/flcss/0/start_type", "services.flcss[0].start_type"},
      {"/services/flcss/0/binary_path", "services.flcss[0].binary_path"},
      {"/services/flcss/0/account", "services.flcss[0].account"},
      {"/services/flcss/0/config_error", "services.flcss[0].config_error"},
      {"/event_log", "event_log"},
      {"/event_log/status", "event_log.status"},
      {"/event_log/errors", "event_log.errors"},
      {"/event_log/records_read", "event_log.records_read"},
      {"/event_log/protected_storage_7024", "event_log.protected_storage_7024"},
      {"/event_log/protected_storage_7024/count", "event_log.protected_storage_7024.count"},
      {"/event_log/protected_storage_7024/first_written_utc", "event_log.protected_storage_7024.first_written_utc"},
      {"/event_log/protected_storage_7024/last_written_utc", "event_log.protected_storage_7024.last_written_utc"},
      {"/event_log/protected_storage_7024/records", "event_log.protected_storage_7024.records"},
      {"/event_log/protected_storage_7024/records/0/record_number",
       "event_log.protected_storage_7024.records[0].record_number"},
      {"/event_log/protected_storage_7024/records/0/event_identifier",
       "event_log.protected_storage_7024.records[0].event_identifier"},
      {"/event_log/protected_storage_7024/records/0/time_generated_utc",
       "event_log.protected_storage_7024.records[0].time_generated_utc"},
      {"/event_log/protected_storage_7024/records/0/time_written_utc",
       "event_log.protected_storage_7024.records[0].time_written_utc"},
      {"/event_log/protected_storage_7024/records/0/source_name",
       "event_log.protected_storage_7024.records[0].source_name"},
      {"/event_log/protected_storage_7024/records/0/computer_name",
       "event_log.protected_storage_7024.records[0].computer_name"},
      {"/event_log/protected_storage_7024/records/0/strings", "event_log.protected_storage_7024.records[0].strings"},
      {"/event_log/spooler_7000", "event_log.spooler_7000"},
      {"/files", "files"},
      {"/files/status", "files.status"},
      {"/files/errors", "files.errors"},
      {"/files/checked", "files.checked"},
      {"/files/checked/0/path", "files.checked[0].path"},
      {"/files/checked/0/type", "files.checked[0].type"},
      {"/files/checked/0/state", "files.checked[0].state"},
      {"/files/checked/0/severity", "files.checked[0].severity"},
      {"/files/checked/0/findings", "files.checked[0].findings"},
      {"/files/checked/0/why", "files.checked[0].why"},
      {"/files/checked/0/error", "files.checked[0].error"},
  };
  return fields;
}

std::string error_of(const Json& document) {
  auto parsed = parse_live_report(document.dump(), "stick/live.json");
  REQUIRE_FALSE(parsed);
  return parsed.error();
}

}  // namespace

TEST_CASE("live report: a valid document is read whole") {
  const Json document = valid_document();
  auto parsed = parse_live_report(document.dump(), "stick/live.json");
  REQUIRE(parsed);
  const flscan::host::LiveReport& live = *parsed;
  CHECK(live.source == "stick/live.json");
  CHECK(live.collected_utc == "2002-03-03T12:00:00Z");
  CHECK(live.computer_name == "FLSCAN-NT4");
  CHECK(live.windows_directory == "C:\\WINNT");
  REQUIRE(live.flcss_processes.size() == 1);
  CHECK(live.flcss_processes[0].pid == 212);
  CHECK(live.flcss_processes[0].parent_pid == 40);
  CHECK(live.flcss_processes[0].path == "C:\\WINNT\\system32\\flcss.exe");
  REQUIRE(live.flcss_services.size() == 1);
  CHECK(live.flcss_services[0].state == "running");
  CHECK(live.flcss_services[0].start_type == "auto");
  CHECK(live.protected_storage_7024.count == 1);
  REQUIRE(live.protected_storage_7024.records.size() == 1);
  CHECK(live.protected_storage_7024.records[0].record_number == 100);
  CHECK(live.protected_storage_7024.records[0].time_written_utc == "2002-03-03T10:00:01Z");
  CHECK(live.spooler_7000.count == 0);
  REQUIRE(live.checked.size() == 1);
  CHECK(live.checked[0].path == "C:\\WINNT\\system32\\calc.exe");
  CHECK(live.checked[0].infected());
  CHECK(live.document == document.dump());
  CHECK(live.label() == "live report stick/live.json (collected 2002-03-03T12:00:00Z)");
}

TEST_CASE("live report: null where the contract allows it") {
  Json document = valid_document();
  document["machine"]["computer_name"] = nullptr;
  document["machine"]["os_version"] = nullptr;
  document["processes"]["flcss"][0]["parent_pid"] = nullptr;  // PSAPI on NT4
  document["processes"]["flcss"][0]["path"] = nullptr;
  document["services"]["flcss"][0]["pid"] = nullptr;
  // flscan-live's optional additions (LIVE_JSON.md): no SHA-256 provider on Windows 2000 (sha256
  // null, sha256_error why) and a file it could not open (type and severity null, no sha256).
  document["files"]["checked"][0]["sha256"] = nullptr;
  document["files"]["checked"][0]["sha256_error"] = "CryptAcquireContext(PROV_RSA_AES): error 0x80090017";
  document["files"]["checked"].push_back(Json{{"path", "C:\\WINNT\\system32\\spoolss.exe"},
                                              {"type", nullptr},
                                              {"state", "not-scanned"},
                                              {"severity", nullptr},
                                              {"findings", Json::array()},
                                              {"why", Json::array({"process"})},
                                              {"error", "CreateFileW: error 32"}});
  auto parsed = parse_live_report(document.dump(), "live.json");
  REQUIRE(parsed);
  CHECK_FALSE(parsed->computer_name);
  CHECK_FALSE(parsed->flcss_processes[0].parent_pid);
  REQUIRE(parsed->checked.size() == 2);
  CHECK(parsed->checked[0].infected());
  CHECK(parsed->checked[1].state == "not-scanned");
  CHECK_FALSE(parsed->checked[1].infected());
}

TEST_CASE("live report: each required field missing is refused, naming the file and the field") {
  for (const Field& field : required_fields()) {
    Json document = valid_document();
    const Json::json_pointer pointer(field.pointer);
    document[pointer.parent_pointer()].erase(pointer.back());
    const std::string error = error_of(document);
    INFO(field.pointer << ": " << error);
    CHECK(error.starts_with("live report stick/live.json: "));
    CHECK(error.find(std::string(field.name) + ": missing") != std::string::npos);
  }
}

TEST_CASE("live report: each field of the wrong type is refused, naming the field") {
  for (const Field& field : required_fields()) {
    Json document = valid_document();
    document[Json::json_pointer(field.pointer)] = true;  // a boolean: no field of the contract is one
    const std::string error = error_of(document);
    INFO(field.pointer << ": " << error);
    CHECK(error.find(std::string(field.name) + ": ") != std::string::npos);
    CHECK(error.find("missing") == std::string::npos);
  }
}

TEST_CASE("live report: codes, times and ranges outside the contract are refused") {
  const std::vector<std::pair<const char*, Json>> bad = {
      {"/processes/status", "fine"},
      {"/processes/method", "wmi"},
      {"/services/flcss/0/state", "RUNNING"},
      {"/services/flcss/0/start_type", "automatic"},
      {"/tool_architecture", "arm64"},
      {"/collected_utc", "2002-03-03 12:00:00"},
      {"/event_log/protected_storage_7024/records/0/time_written_utc", "yesterday"},
      {"/processes/flcss/0/pid", -1},
      {"/processes/flcss/0/pid", 1.5},
      {"/processes/process_count", -3},
      {"/event_log/protected_storage_7024/count", 0},  // fewer than the records kept
  };
  for (const auto& [pointer, value] : bad) {
    Json document = valid_document();
    document[Json::json_pointer(pointer)] = value;
    INFO(pointer);
    CHECK(error_of(document).starts_with("live report stick/live.json: "));
  }
}

TEST_CASE("live report: another format or format_version is refused") {
  Json document = valid_document();
  document["format_version"] = 2;
  CHECK(error_of(document).find("format_version: 2, this flscan reads version 1 only") != std::string::npos);
  document = valid_document();
  document["format"] = "flscan-report";
  CHECK(error_of(document).find("format: not \"flscan-live\"") != std::string::npos);
}

TEST_CASE("live report: more records than the contract keeps, or a huge list, is refused") {
  Json document = valid_document();
  document["event_log"]["spooler_7000"] = evidence_with(flscan::host::limits::kMaxLiveEvidenceRecords + 1);
  CHECK(error_of(document).find("event_log.spooler_7000.records: 65 entries, more than 64") != std::string::npos);
  document = valid_document();
  document["processes"]["flcss"] = Json::array();
  for (std::size_t i = 0; i <= flscan::host::limits::kMaxLiveFlcssEntries; ++i) {
    document["processes"]["flcss"].push_back(valid_document()["processes"]["flcss"][0]);
  }
  CHECK(error_of(document).find("processes.flcss: 1025 entries") != std::string::npos);
}

TEST_CASE("live report: an oversized document is refused before it is parsed") {
  Json document = valid_document();
  document["tool_version"] = std::string(flscan::host::limits::kMaxLiveReportBytes, 'x');
  CHECK(error_of(document).find("kMaxLiveReportBytes") != std::string::npos);
  // A long string under the document cap: the per-string cap.
  document["tool_version"] = std::string(flscan::host::limits::kMaxLiveStringBytes + 1, 'x');
  CHECK(error_of(document).find("tool_version: longer than") != std::string::npos);
}

TEST_CASE("live report: deep nesting is refused, brackets inside strings do not count") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string text = valid_document().dump();
  text.insert(text.size() - 1, ",\"extra\":" + deep);
  auto parsed = parse_live_report(text, "live.json");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().find("nested deeper than 16 levels (kMaxLiveReportDepth)") != std::string::npos);

  Json document = valid_document();
  document["tool_version"] = std::string(100, '[') + "\\\"{";
  CHECK(parse_live_report(document.dump(), "live.json"));
}

TEST_CASE("live report: text that is not JSON, or not UTF-8, is refused") {
  auto parsed = parse_live_report("{\"format\": ", "live.json");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().find("live report live.json: not valid JSON") != std::string::npos);
  std::string text = valid_document().dump();
  text.replace(text.find("0.1.0"), 1, "\xff");
  CHECK_FALSE(parse_live_report(text, "live.json"));
}

TEST_CASE("live report: a FIFO or a directory is refused without blocking") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("flscan-live-report-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string fifo = (dir / "live.json").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto read = flscan::host::read_live_report(fifo);
  REQUIRE_FALSE(read);
  CHECK(read.error() == "live report " + fifo + ": not a regular file");
  auto missing = flscan::host::read_live_report((dir / "none.json").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("cannot open") != std::string::npos);
  std::filesystem::remove_all(dir);
}
