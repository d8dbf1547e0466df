#include "scanner/report/report_json.h"

#include <array>
#include <memory>
#include <ostream>

#include "scanner/report/report_timeline.h"

namespace flscan::scanner {
namespace {

using Json = nlohmann::ordered_json;

Json paths_to_json(const std::vector<std::string>& paths) {
  Json array = Json::array();
  for (const std::string& path : paths) array.push_back(path_to_json(path));
  return array;
}

Json finding_to_json(const Finding& finding) {
  return Json{{"kind", to_string(finding.kind)},
              {"severity", to_string(finding.severity)},
              {"rule", finding.rule},
              {"name", finding.name},
              {"confidence", to_string(finding.confidence)},
              {"evidence", finding.evidence},
              {"offset", finding.offset}};
}

// What --quarantine / --repair did (remediate.h); null when flscan did not act on the file.
Json action_to_json(const std::optional<FileAction>& action) {
  if (!action) return nullptr;
  auto text_or_null = [](const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); };
  return Json{
      {"result", to_code(action->result)},
      {"quarantine_file", action->quarantine_file.empty() ? Json(nullptr) : path_to_json(action->quarantine_file)},
      {"repair", to_code(action->repair)},
      {"repair_detail", text_or_null(action->repair_detail)},
      {"error", text_or_null(action->error)},
      {"other_links", action->other_links}};
}

Json result_to_json(const FileResult& result) {
  const Finding& strongest = strongest_finding(result);
  Json findings = Json::array();
  for (const Finding& finding : result.findings) findings.push_back(finding_to_json(finding));
  return Json{{"path", path_to_json(result.path)},
              {"size", result.size},
              {"sha256", result.sha256},
              {"type", to_code(result.type)},
              {"state", to_string(strongest.kind)},
              {"severity", to_string(strongest.severity)},
              {"findings", std::move(findings)},
              {"action", action_to_json(result.action)},
              {"times", times_to_json(result.times)},
              {"infected_at", infected_at_to_json(result)}};
}

Json options_to_json(const PrintSettings& settings) {
  const RecordedOptions& options = settings.recorded;
  return Json{{"threads", options.threads},
              {"follow_symlinks", options.follow_symlinks},
              {"one_file_system", options.one_file_system},
              {"exclude", options.excludes},
              {"max_filesize", options.max_filesize},
              {"databases", paths_to_json(options.databases)},
              {"inventory", settings.inventory},
              {"verbose", settings.verbose},
              {"brief", settings.brief},
              {"infected_only", settings.infected_only},
              {"quiet", settings.quiet},
              {"quarantine", options.quarantine_dir ? path_to_json(*options.quarantine_dir) : Json(nullptr)},
              {"repair", options.repair},
              {"fail_on", to_string(settings.fail_on)},
              {"windows_root", options.windows_root ? path_to_json(*options.windows_root) : Json(nullptr)},
              {"live", options.live},
              {"image", options.force_image},
              {"nested_images", options.nested_images},
              {"keys", options.key_kinds}};
}

// What each root was at scan time and the working directory (report.h, RootFacts): what the
// SARIF printer needs, so a merge prints the scan's bases wherever it runs (issue 14).
Json root_facts_to_json(const ScanReport& report) {
  const auto path_or_null = [](const std::string& path) { return path.empty() ? Json(nullptr) : path_to_json(path); };
  Json roots = Json::array();
  for (std::size_t i = 0; i < report.roots.size(); ++i) {
    const RootFacts facts = root_facts_of(report, i);
    // How its files were read (issue 19, --read-order), and why; null when not a directory or image.
    const bool ordered = facts.read_order.has_value();
    roots.push_back(Json{{"absolute", path_or_null(facts.absolute)},
                         {"kind", to_code(facts.kind)},
                         {"read_order", ordered ? Json(std::string(to_code(*facts.read_order))) : Json(nullptr)},
                         {"read_order_reason", ordered ? Json(facts.read_order_reason) : Json(nullptr)}});
  }
  return Json{{"working_directory", path_or_null(report.working_directory)}, {"roots", std::move(roots)}};
}

// {"<code>": count, ...} for every value of Enum, in table order.
template <typename Enum>
Json counts_by_code(const std::array<std::uint64_t, kEnumCount<Enum>>& counts) {
  Json object = Json::object();
  for (const EnumRow<Enum>& row : table_of<Enum>())
    object[std::string(row.code)] = counts[static_cast<std::size_t>(row.value)];
  return object;
}

// Files per FileAction result (all codes present; zeros without --quarantine).
Json actions_to_json(const ScanReport& report) { return counts_by_code<ActionResult>(action_counts(report)); }

Json summary_to_json(const ScanReport& report) {
  const ScanCounters& c = report.counters;
  const double seconds = report.elapsed_seconds > 0 ? report.elapsed_seconds : 1e-9;
  return Json{{"complete", report.run_complete()},
              {"infection_found", report.infection_found()},
              {"files_seen", c.files_seen},
              {"files_read", c.files_examined},
              {"files_read_whole", c.files_scanned_whole},
              {"directories", c.directories},
              {"pe_files", c.pe_files},
              {"mz_files", c.mz_files},
              {"bytes_read", c.bytes_read},
              {"files_with_findings", c.files_with_findings},
              {"infected_files", c.infected_files},
              {"findings_by_kind", counts_by_code<FindingKind>(c.findings_by_kind)},
              {"not_scanned", c.not_scanned_total()},
              {"not_scanned_by_reason", counts_by_code<NotScannedReason>(c.not_scanned_by_reason)},
              {"skipped", c.skipped_total()},
              {"skipped_by_reason", counts_by_code<SkipReason>(c.skipped_by_reason)},
              {"signature_match_cap_hits", c.match_cap_hits},
              {"lost_reports", c.lost_reports},
              {"files_in_other_shards", c.files_in_other_shards},
              {"images_opened", report.image_counts().opened},
              {"images_in_directories", report.image_counts().in_directories},
              {"actions", actions_to_json(report)},
              {"elapsed_seconds", report.elapsed_seconds},
              {"bytes_per_second", static_cast<double>(c.bytes_read) / seconds},
              {"files_per_second", static_cast<double>(c.files_examined) / seconds}};
}

Json optional_path(const std::string& path) { return path.empty() ? Json(nullptr) : path_to_json(path); }

// The kept records' times written, in record_numbers' order (issue 20: flscan merge rebuilds the
// timeline's 7024/7000 events from them).
Json times_written(const host::EventEvidence& evidence) {
  Json times = Json::array();
  for (const host::EventRecord& record : evidence.records)
    times.push_back(host::format_iso8601({static_cast<std::int64_t>(record.time_written), 0}));
  return times;
}

Json event_evidence_to_json(const host::EventEvidence& evidence) {
  return Json{{"count", evidence.count},
              {"first_written", evidence.first_written_utc},
              {"last_written", evidence.last_written_utc},
              {"record_numbers", evidence.record_numbers},
              {"times_written", times_written(evidence)}};
}

// "services": the FunLove services (every control set) and the Spooler / ProtectedStorage
// ImagePath check (current control set).
Json services_to_json(const host::HostReport& host) {
  Json services = Json::array();
  if (host.hive) {
    for (const host::FlcService* flc : host.hive->flc_services()) {
      services.push_back(
          Json{{"role", "funlove"},
               {"key", flc->key_name},
               {"control_set", flc->control_set},
               {"current", flc->in_current_control_set},
               {"matched_by", flc->match.by_name ? "name" : "image-path"},
               {"image_path", flc->values.image_path ? Json(*flc->values.image_path) : Json(nullptr)},
               {"start", flc->values.start ? Json(*flc->values.start) : Json(nullptr)},
               {"last_write", flc->last_write ? Json(host::format_iso8601(*flc->last_write)) : Json(nullptr)}});
    }
  }
  for (const host::ServiceImageCheck& check : host.service_images) {
    services.push_back(Json{{"role", check.service == "Spooler" ? "spooler" : "protected-storage"},
                            {"key", check.service},
                            {"present", check.present},
                            {"image_path", check.image_path ? Json(*check.image_path) : Json(nullptr)},
                            {"image_file", optional_path(check.file)},
                            {"image_status", to_code(check.status)}});
  }
  return services;
}

Json events_to_json(const host::HostReport& host) {
  Json events{{"log", optional_path(host.event_log_path)}};
  if (host.event_log_path.empty()) {
    events["status"] = "not-found";
  } else if (!host.events) {
    events["status"] = "error";
    events["error"] = host.log_error ? Json(*host.log_error) : Json(nullptr);
  } else {
    events["status"] = "read";
    events["records_read"] = host.events->records_read;
    events["partial"] = host.events->partial;
    events["dirty"] = host.events->header.dirty;
    events["protected_storage_7024"] = event_evidence_to_json(host.events->protected_storage_7024);
    events["spooler_7000"] = event_evidence_to_json(host.events->spooler_7000);
    events["newest_written"] =
        host.events->newest_written_utc.empty() ? Json(nullptr) : Json(host.events->newest_written_utc);
    events["notes"] = host.events->notes;
  }
  return events;
}

// "hive": how the SYSTEM hive was read (the FunLove services themselves are under "services").
Json hive_to_json(const host::HostReport& host) {
  Json hive{{"path", optional_path(host.install.system_hive)}};
  if (host.hive) {
    hive["status"] = "read";
    hive["control_sets_read"] = host.hive->control_sets.size();
    hive["partial"] = host.hive->partial;
    hive["sequence"] = Json{{"primary", host.hive->sequence.primary}, {"secondary", host.hive->sequence.secondary}};
    hive["dirty"] = host.hive->sequence.dirty();
    hive["notes"] = host.hive->notes;
    hive["computer_name"] = host.hive->computer_name ? Json(*host.hive->computer_name) : Json(nullptr);
  } else {
    hive["status"] = host.install.system_hive.empty() ? "not-found" : "error";
  }
  hive["error"] = host.hive_error ? Json(*host.hive_error) : Json(nullptr);
  return hive;
}

// hosts[].live (--live-report, issue 17): null without it.
Json host_live_to_json(const host::HostReport& host) {
  if (!host.live) return nullptr;
  const host::LiveJoin& live = *host.live;
  Json infected = Json::array();
  for (const std::string& path : live.infected_files) infected.push_back(path);
  return Json{{"file", path_to_json(live.report->source)},
              {"collected_utc", live.report->collected_utc},
              {"state", to_code(live.state)},
              {"matched", live.state == host::LiveJoinState::applied},
              {"reason", live.reason},
              {"infected_files", std::move(infected)},
              {"incomplete", live.incomplete_reason.empty() ? Json(nullptr) : Json(live.incomplete_reason)}};
}

// "live_report" (--live-report): the document as read, for flscan merge, and its identity.
Json live_report_to_json(const ScanReport& report) {
  if (!report.live_report) return nullptr;
  const host::LiveReport& live = *report.live_report;
  auto optional = [](const std::optional<std::string>& text) { return text ? Json(*text) : Json(nullptr); };
  return Json{{"file", path_to_json(live.source)},
              {"collected_utc", live.collected_utc},
              {"tool_version", live.tool_version},
              {"tool_architecture", live.tool_architecture},
              {"computer_name", optional(live.computer_name)},
              {"windows_directory", optional(live.windows_directory)},
              {"state", report.live_report_state()},
              {"complete", !report.live_report_incomplete()},
              {"document", live.document}};
}

Json host_to_json(const host::HostReport& host) {
  Json symptoms = Json::array();
  for (const host::SymptomRow& row : host.symptoms) {
    symptoms.push_back(Json{{"id", row.id},
                            {"symptom", row.symptom},
                            {"status", to_code(row.status)},
                            {"evidence", row.evidence},
                            {"meaning", row.meaning}});
  }
  Json programs = Json::array();
  for (const host::ProgramCheck& program : host.programs) {
    programs.push_back(Json{{"name", program.name},
                            {"status", to_code(program.status)},
                            {"q317218_list", program.q317218_list},
                            {"path", optional_path(program.path)}});
  }
  Json kernel = Json::array();
  for (const host::KernelCheck& check : host.kernel) {
    kernel.push_back(Json{{"name", check.name},
                          {"status", check.status},
                          {"path", optional_path(check.path)},
                          {"evidence", check.evidence}});
  }
  return Json{{"root", path_to_json(host.install.volume_root)},
              {"windows_dir", path_to_json(host.install.windows_dir)},
              {"system32", optional_path(host.install.system32)},
              {"config_dir", optional_path(host.install.config_dir)},
              {"system_hive", optional_path(host.install.system_hive)},
              {"verdict", to_code(host.verdict)},
              {"verdict_text", host.verdict_text},
              {"symptoms", std::move(symptoms)},
              {"hive", hive_to_json(host)},
              {"services", services_to_json(host)},
              {"events", events_to_json(host)},
              {"programs", std::move(programs)},
              {"flcss", Json{{"status", to_code(host.flcss.status)}, {"path", optional_path(host.flcss.path)}}},
              {"kernel", std::move(kernel)},
              {"timeline", timeline_to_json(host.timeline)},
              {"remediation", host.remediation},
              {"errors", host.errors},
              {"notes", host.notes},
              {"live", host_live_to_json(host)}};
}

// The entries of the four arrays that grow with the tree, one at a time (write_json_report).
template <typename Entry>
Json entry_to_json(const Entry& entry) {
  return Json{{"path", path_to_json(entry.path)}, {"reason", to_code(entry.reason)}, {"detail", entry.detail}};
}

Json inventory_item_to_json(const InventoryEntry& entry) {
  Json item{{"path", path_to_json(entry.path)},
            {"size", entry.size},
            {"sha256", entry.sha256},
            {"type", to_code(entry.type)}};
  if (!entry.pe_error.empty()) item["pe_error"] = entry.pe_error;
  return item;
}

// Excluded entries are always kept in memory (the host report must not call an excluded system
// program clean) but listed one by one only with --verbose, as documented.
bool listed(const SkippedEntry& entry, const PrintSettings& settings) {
  return entry.reason != SkipReason::excluded || settings.verbose;
}

enum class EntryArrays { built, left_empty };

Json document_to_json(const ScanReport& report, const PrintSettings& settings, EntryArrays arrays) {
  const ReportMeta& meta = settings.meta;
  const bool build = arrays == EntryArrays::built;
  Json results = Json::array();
  Json not_scanned = Json::array();
  Json skipped = Json::array();
  if (build) {
    for (const FileResult& result : report.results) results.push_back(result_to_json(result));
    for (const NotScannedEntry& entry : report.not_scanned) not_scanned.push_back(entry_to_json(entry));
    for (const SkippedEntry& entry : report.skipped) {
      if (listed(entry, settings)) skipped.push_back(entry_to_json(entry));
    }
  }

  // Disk image operands' volumes (scanner/image/): always present, empty without images.
  Json volumes = Json::array();
  for (const ImageVolume& volume : report.volumes) {
    Json item{
        {"image", path_to_json(volume.image)},
        {"volume", volume.name},
        {"path", path_to_json(volume.path())},
        {"image_format", volume.image_format},
        {"image_files", paths_to_json(volume.image_files)},
        {"offset", volume.offset},
        {"length", volume.length},
        {"partition_type", volume.partition_type},
        {"filesystem", volume.filesystem},
        {"decrypted_with", volume.decrypted_with.empty() ? Json(nullptr) : Json(volume.decrypted_with)},
        {"status", to_code(volume.status)},
        {"reason", volume.status == VolumeStatus::error ? Json(std::string(to_code(volume.reason))) : Json(nullptr)},
        {"detail", volume.detail},
        {"host_error", volume.host_error.empty() ? Json(nullptr) : Json(volume.host_error)}};
    volumes.push_back(std::move(item));
  }

  Json document{{"schema", "flscan-report"},
                {"schema_version", kJsonSchemaVersion},
                {"flscan_version", meta.flscan_version},
                {"signatures", Json{{"count", meta.signature_count}, {"sources", meta.signature_sources}}},
                {"roots", paths_to_json(report.roots)},
                {"root_facts", root_facts_to_json(report)},
                {"options", options_to_json(settings)},
                {"shard", report.shard ? Json{{"k", report.shard->k}, {"n", report.shard->n}} : Json(nullptr)},
                {"volumes", std::move(volumes)},
                {"results", std::move(results)},
                {"not_scanned", std::move(not_scanned)},
                {"skipped", std::move(skipped)}};
  if (settings.inventory) {
    Json inventory = Json::array();
    for (const InventoryEntry& entry : report.inventory) {
      if (build) inventory.push_back(inventory_item_to_json(entry));
    }
    document["inventory"] = std::move(inventory);
  }
  Json hosts = Json::array();
  for (const host::HostReport& host : report.hosts) hosts.push_back(host_to_json(host));
  document["hosts"] = std::move(hosts);
  Json live = nullptr;  // null: --live not given (not checked), [] checked and none found
  if (report.live_processes) {
    live = Json::array();
    for (const host::LiveProcess& process : *report.live_processes) {
      Json argv = Json::array();
      for (const std::string& arg : process.argv) argv.push_back(path_to_json(arg));
      live.push_back(Json{{"pid", process.pid}, {"exe", path_to_json(process.exe)}, {"argv", std::move(argv)}});
    }
  }
  document["live_processes"] = std::move(live);
  document["live_report"] = live_report_to_json(report);
  document["summary"] = summary_to_json(report);
  document["exit_code"] = exit_code(report, settings.fail_on);
  return document;
}

}  // namespace

Json report_to_json(const ScanReport& report, const PrintSettings& settings) {
  return document_to_json(report, settings, EntryArrays::built);
}

namespace {
// The serializer's output in 64 KiB pieces: dump() would first build the whole text, a second
// copy of a report the size of a million-entry inventory (issue 13, item 8: flscan merge).
class ChunkedOutput : public nlohmann::detail::output_adapter_protocol<char> {
 public:
  explicit ChunkedOutput(std::ostream& out) : out_(out) {}
  ~ChunkedOutput() override { flush(); }
  ChunkedOutput(const ChunkedOutput&) = delete;
  ChunkedOutput& operator=(const ChunkedOutput&) = delete;
  void write_character(char c) override {
    buffer_.push_back(c);
    if (buffer_.size() >= kChunk) flush();
  }
  void write_characters(const char* s, std::size_t length) override {
    buffer_.append(s, length);
    if (buffer_.size() >= kChunk) flush();
  }
  void flush() {
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kChunk = 1 << 16;
  std::ostream& out_;
  std::string buffer_;
};
}  // namespace

// The document of report_to_json, byte for byte, without ever holding the JSON of the entry
// arrays: each entry is converted and written in turn. A million-entry inventory would otherwise
// be held twice, as entries and as JSON several times their size (issue 13, item 8).
void write_json_report(std::ostream& out, const ScanReport& report, const PrintSettings& settings) {
  const Json document = document_to_json(report, settings, EntryArrays::left_empty);
  auto chunks = std::make_shared<ChunkedOutput>(out);
  nlohmann::detail::serializer<Json> serializer(chunks, ' ', Json::error_handler_t::replace);
  constexpr unsigned kIndent = 2;
  const auto text = [&chunks](std::string_view piece) { chunks->write_characters(piece.data(), piece.size()); };
  // One top-level array, laid out as nlohmann's pretty printer lays it out at depth 1.
  const auto write_array = [&](const auto& entries, auto keep, auto to_json) {
    bool first = true;
    for (const auto& entry : entries) {
      if (!keep(entry)) continue;
      text(first ? "[\n    " : ",\n    ");
      serializer.dump(to_json(entry), true, false, kIndent, 2 * kIndent);
      first = false;
    }
    text(first ? "[]" : "\n  ]");
  };
  const auto all = [](const auto&) { return true; };
  bool first_key = true;
  for (const auto& [key, value] : document.items()) {
    text(first_key ? "{\n  \"" : ",\n  \"");
    text(key);
    text("\": ");
    first_key = false;
    if (key == "results") {
      write_array(report.results, all, [](const FileResult& r) { return result_to_json(r); });
    } else if (key == "not_scanned") {
      write_array(report.not_scanned, all, [](const NotScannedEntry& e) { return entry_to_json(e); });
    } else if (key == "skipped") {
      write_array(
          report.skipped, [&settings](const SkippedEntry& e) { return listed(e, settings); },
          [](const SkippedEntry& e) { return entry_to_json(e); });
    } else if (key == "inventory") {
      write_array(report.inventory, all, [](const InventoryEntry& e) { return inventory_item_to_json(e); });
    } else {
      serializer.dump(value, true, false, kIndent, kIndent);
    }
  }
  text(first_key ? "{}" : "\n}");
  chunks->flush();
  out << '\n';
}

}  // namespace flscan::scanner
