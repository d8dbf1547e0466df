#include "scanner/report/report_timeline.h"

#include <ostream>
#include <set>
#include <string>

#include "scanner/report/json_path.h"

namespace flscan::scanner {
namespace {

using Json = nlohmann::ordered_json;

Json time_or_null(const std::optional<host::TimePoint>& time) {
  return time ? Json(host::format_iso8601(*time)) : Json(nullptr);
}

// Microseconds since 1970, Timesketch's optional `timestamp`.
std::int64_t microseconds(host::TimePoint time) { return time.seconds * 1000000 + time.nanoseconds / 1000; }

Json timesketch_line(host::TimePoint at, const std::string& message, std::string_view timestamp_desc) {
  return Json{{"message", message},
              {"datetime", host::format_iso8601(at)},
              {"timestamp_desc", timestamp_desc},
              {"timestamp", microseconds(at)},
              {"data_type", "flscan:funlove:timeline"}};
}

}  // namespace

Json times_to_json(const std::optional<host::FileTimes>& times) {
  if (!times) return nullptr;
  Json out{{"source", host::to_code(times->source)},
           {"created", time_or_null(times->created)},
           {"modified", time_or_null(times->modified)},
           {"accessed", time_or_null(times->accessed)}};
  if (times->mft_change_time())
    out["mft_changed"] = time_or_null(times->changed);
  else if (times->source != host::TimeSource::fat)
    out["inode_changed"] = time_or_null(times->changed);
  if (times->source == host::TimeSource::ntfs) {
    out["file_name"] = Json{{"created", time_or_null(times->fn_created)},
                            {"modified", time_or_null(times->fn_modified)},
                            {"accessed", time_or_null(times->fn_accessed)},
                            {"mft_changed", time_or_null(times->fn_changed)}};
  }
  return out;
}

Json infected_at_to_json(const FileResult& result) {
  if (!result.times || strongest_finding(result).severity != Severity::infection) return nullptr;
  const auto when = host::infection_time(*result.times);
  if (!when) return nullptr;
  return Json{{"time", host::format_iso8601(when->at)}, {"reasoning", when->reasoning}};
}

Json timeline_to_json(const host::HostTimeline& timeline) {
  Json events = Json::array();
  for (const host::TimelineEvent& event : timeline.events) {
    events.push_back(Json{{"time", host::format_iso8601(event.at)},
                          {"kind", host::to_code(event.kind)},
                          {"what", host::describe(event.kind)},
                          {"path", path_to_json(event.path)},
                          {"source", event.source}});
  }
  Json infections = Json::array();
  for (const host::FileInfection& infection : timeline.infections) {
    infections.push_back(
        Json{{"path", path_to_json(infection.path)}, {"time", host::format_iso8601(infection.time.at)}});
  }
  const host::InfectionSpread& spread = timeline.spread;
  Json per_day = Json::array();
  for (const host::DayCount& day : spread.per_day) per_day.push_back(Json{{"day", day.day}, {"files", day.files}});
  Json bursts = Json::array();
  for (const host::InfectionBurst& burst : spread.bursts) {
    bursts.push_back(Json{{"first", host::format_iso8601(burst.first)},
                          {"last", host::format_iso8601(burst.last)},
                          {"files", burst.files},
                          {"directories", burst.directories}});
  }
  return Json{{"events", std::move(events)},
              {"infections", std::move(infections)},
              {"spread", Json{{"files", spread.files},
                              {"files_without_time", spread.files_without_time},
                              {"first", time_or_null(spread.first)},
                              {"last", time_or_null(spread.last)},
                              {"per_day", std::move(per_day)},
                              {"bursts", std::move(bursts)}}}};
}

void write_timeline_report(std::ostream& out, const ScanReport& report, const PrintSettings&) {
  // Every field is a flat string or number, as Timesketch indexes them (a nested object shows as
  // one opaque value there): paths are plain strings, bytes that are no UTF-8 written as U+FFFD by
  // the replace handler; the JSON report keeps their exact bytes (scanner/JSON.md, "Paths").
  const auto dump = [&out](const Json& line) {
    out << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  };
  std::set<std::string> written_infections;  // path: infected files already written for a host
  for (const host::HostReport& host : report.hosts) {
    for (const host::TimelineEvent& event : host.timeline.events) {
      Json line = timesketch_line(event.at, std::string(host::describe(event.kind)) + ": " + event.path, event.source);
      line["flscan_kind"] = host::to_code(event.kind);
      line["flscan_path"] = event.path;
      line["flscan_windows_dir"] = host.install.windows_dir;
      dump(line);
    }
    for (const host::FileInfection& infection : host.timeline.infections) {
      written_infections.insert(infection.path);
      Json line = timesketch_line(infection.time.at, "file infected by W32.FunLove.4099: " + infection.path,
                                  "NTFS MFT change time (infected at about)");
      line["flscan_kind"] = "file-infected";
      line["flscan_path"] = infection.path;
      line["flscan_windows_dir"] = host.install.windows_dir;
      line["flscan_reasoning"] = infection.time.reasoning;
      dump(line);
    }
  }
  // Infected files outside every installation (a share, a copied folder).
  for (const FileResult& result : report.results) {
    if (written_infections.count(result.path) > 0 || !result.times) continue;
    if (strongest_finding(result).severity != Severity::infection) continue;
    const auto when = host::infection_time(*result.times);
    if (!when) continue;
    Json line = timesketch_line(when->at, "file infected by W32.FunLove.4099: " + result.path,
                                "NTFS MFT change time (infected at about)");
    line["flscan_kind"] = "file-infected";
    line["flscan_path"] = result.path;
    line["flscan_reasoning"] = when->reasoning;
    dump(line);
  }
}

}  // namespace flscan::scanner
