#include "scanner/host/live_rows.h"

#include <algorithm>
#include <filesystem>

#include "scanner/host/event_log.h"

namespace flscan::host {
namespace {

// Live records listed one by one in a row's evidence; further ones are counted.
constexpr std::size_t kLiveRecordsListed = 10;

SymptomRow* find_row(HostReport& host, std::string_view id) {
  for (SymptomRow& row : host.symptoms) {
    if (row.id == id) return &row;
  }
  return nullptr;
}

std::string errors_text(const LiveSection& section) {
  std::string text;
  for (std::size_t i = 0; i < section.errors.size() && i < 3; ++i) text += (i == 0 ? ": " : "; ") + section.errors[i];
  if (section.errors.size() > 3) text += "; " + std::to_string(section.errors.size() - 3) + " more";
  return text;
}

std::string describe(const LiveFlcssProcess& process) {
  return "pid " + std::to_string(process.pid) +
         (process.parent_pid ? " (parent " + std::to_string(*process.parent_pid) + ")" : std::string()) + ", " +
         process.image_name + ", path " + process.path.value_or("(unknown)");
}

std::string describe(const LiveFlcssService& service) {
  std::string text = "service " + service.name + " (\"" + service.display_name + "\") " + service.state;
  if (service.pid) text += ", pid " + std::to_string(*service.pid);
  text += ", start " + service.start_type + ", binary " + service.binary_path.value_or("(unknown)") + ", account " +
          service.account.value_or("(unknown)");
  if (service.config_error) text += ", configuration unreadable: " + *service.config_error;
  return text;
}

// Section 8, "Process Flcss.exe restarts when ended": the live process list.
void process_row(SymptomRow& row, const LiveReport& live, const std::string& from) {
  std::erase_if(row.evidence,
                [](const std::string& line) { return line.starts_with("running processes not checked"); });
  for (const LiveFlcssProcess& process : live.flcss_processes) row.evidence.push_back(from + ": " + describe(process));
  if (!live.flcss_processes.empty()) {
    row.status = SymptomStatus::found;
  } else if (live.processes.complete()) {
    row.status = SymptomStatus::not_found;
    row.evidence.push_back(from + ": no process named flcss.exe among " + std::to_string(live.process_count) +
                           " processes (" + live.process_method + ")");
  } else {
    // Not every process could be read: none found does not rule one out.
    row.status = SymptomStatus::error;
    row.evidence.push_back(from + ": processes " + live.processes.status + errors_text(live.processes));
  }
}

// Section 8, "FLCSS service listed, Access Denied on stop": the service list of the running SCM.
void service_row(SymptomRow& row, const LiveReport& live, const std::string& from) {
  for (const LiveFlcssService& service : live.flcss_services) {
    row.evidence.push_back(from + ": " + describe(service));
    if (service.state == "running") {
      // Q317218: stopping it answers "Access Denied" (section 6); flscan-live changes nothing, so it
      // never tries.
      row.evidence.push_back(from + ": " + service.name +
                             " runs: Q317218's \"Access Denied\" on stopping it is expected (not tried: the live "
                             "tool changes nothing)");
    }
  }
  if (!live.flcss_services.empty()) {
    if (row.status != SymptomStatus::found) {
      row.evidence.push_back(from +
                             ": the running system lists an FLC/FLCSS service the offline SYSTEM hive does not show");
    }
    row.status = SymptomStatus::found;
  } else if (live.services.complete()) {
    row.evidence.push_back(from + ": no FLC, FLCSS or flcss.exe service among " + std::to_string(live.service_count) +
                           " services");
  } else {
    row.evidence.push_back(from + ": services " + live.services.status + errors_text(live.services));
  }
}

// An event row: the live System log's records, those newer than SysEvent.Evt's newest record
// listed; found when the live log shows the event the offline log lacks.
void event_row(SymptomRow& row, const HostReport& host, const LiveEvidence& evidence, const LiveReport& live,
               const std::string& from) {
  if (!live.event_log.complete()) {
    row.evidence.push_back(from + ": System log " + live.event_log.status + errors_text(live.event_log));
  }
  if (evidence.count == 0) {
    if (live.event_log.status == "ok" || live.event_log.status == "partial") {
      row.evidence.push_back(from + ": no such record among " + std::to_string(live.records_read) +
                             " records of the running System log");
    }
    return;
  }
  std::string text = from + ": the running System log holds " + std::to_string(evidence.count) + " record(s)";
  if (evidence.first_written_utc) text += ", first written " + *evidence.first_written_utc;
  if (evidence.last_written_utc) text += ", last " + *evidence.last_written_utc;
  row.evidence.push_back(text);
  const std::optional<std::string> newest = host.events && !host.events->newest_written_utc.empty()
                                                ? std::optional(host.events->newest_written_utc)
                                                : std::nullopt;
  std::vector<const LiveEventRecord*> newer;
  for (const LiveEventRecord& record : evidence.records) {
    if (!newest || record.time_written_utc > *newest) newer.push_back(&record);
  }
  if (!newer.empty()) {
    std::string list = from + ": " + std::to_string(newer.size()) + " of them written after " +
                       (newest ? "SysEvent.Evt's newest record (" + *newest + ")" : std::string("(no offline log)")) +
                       ":";
    for (std::size_t i = 0; i < newer.size() && i < kLiveRecordsListed; ++i) {
      list += " record " + std::to_string(newer[i]->record_number) + " at " + newer[i]->time_written_utc;
    }
    if (newer.size() > kLiveRecordsListed) list += " ...";
    row.evidence.push_back(list);
  }
  if (row.status != SymptomStatus::found) {
    row.evidence.push_back(from + ": the live System log shows this event, which the offline SysEvent.Evt lacks");
    row.status = SymptomStatus::found;
  }
}

bool flcss_running(const LiveReport& live) {
  return !live.flcss_processes.empty() ||
         std::any_of(live.flcss_services.begin(), live.flcss_services.end(),
                     [](const LiveFlcssService& service) { return service.state == "running"; });
}

std::string base_name_of(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().filename().string();
}

// Whether `live` belongs to `host`, and why (LiveJoin::matches, ::reason).
void decide_match(const HostReport& host, const LiveReport& live, LiveJoin& join) {
  const std::string here_dir = base_name_of(host.install.windows_dir);
  const std::string live_dir(windows_base_name(live.windows_directory.value_or("")));
  const std::optional<std::string> here_name = host.hive ? host.hive->computer_name : std::nullopt;
  join.matches = false;
  if (!host.hive) {
    join.reason = "the SYSTEM hive was not read, so this installation's computer name is unknown";
  } else if (!here_name) {
    join.reason = "the SYSTEM hive holds no ComputerName value in its current control set";
  } else if (!live.computer_name) {
    join.reason = "the live report has no computer name";
  } else if (!iequals(*here_name, *live.computer_name)) {
    join.reason = "computer name " + *live.computer_name + " in the live report, " + *here_name + " in the SYSTEM hive";
  } else if (!live.windows_directory) {
    join.reason = "the live report has no Windows directory";
  } else if (live_dir.empty() || !iequals(here_dir, live_dir)) {
    join.reason = "Windows directory " + *live.windows_directory + " in the live report, " + here_dir + " here";
  } else {
    join.matches = true;
    join.reason = "computer name " + *here_name + " and Windows directory " + here_dir + " match";
  }
}

}  // namespace

bool live_incomplete(const HostReport& host) { return host.live && !host.live->incomplete_reason.empty(); }

bool live_shows_funlove(const HostReport& host) {
  if (!host.live || host.live->state != LiveJoinState::applied) return false;
  const LiveReport& live = *host.live->report;
  return !host.live->infected_files.empty() || !live.flcss_processes.empty() || !live.flcss_services.empty();
}

void apply_live_rows(HostReport& host, bool funlove) {
  if (!host.live) return;
  LiveJoin& join = *host.live;
  join.infected_files.clear();
  join.incomplete_reason.clear();
  const LiveReport& live = *join.report;
  switch (join.state) {
    case LiveJoinState::unmatched:
      join.incomplete_reason =
          live.label() + " matches no installation of this scan (" + join.reason + "): its live rows were not filled";
      return;
    case LiveJoinState::ambiguous:
      join.incomplete_reason = live.label() + " matches several installations of this scan: applied to none";
      return;
    case LiveJoinState::other_installation:
      return;
    case LiveJoinState::applied:
      break;
  }
  const std::string from = live.label();
  if (SymptomRow* row = find_row(host, "flcss-process")) process_row(*row, live, from);
  if (SymptomRow* row = find_row(host, "flcss-service")) service_row(*row, live, from);
  if (SymptomRow* row = find_row(host, "slowness"); row && flcss_running(live)) {
    // Section 8: the running dropper's infection thread rescans all drives every 60 s.
    std::erase_if(row->evidence, [](const std::string& line) { return line.starts_with("offline scan: only"); });
    row->status = SymptomStatus::found;
    row->evidence.push_back(from + ": flcss.exe is running (" + std::to_string(live.flcss_processes.size()) +
                            " process(es))");
  }
  if (SymptomRow* row = find_row(host, "event-7024")) event_row(*row, host, live.protected_storage_7024, live, from);
  if (SymptomRow* row = find_row(host, "event-7000")) event_row(*row, host, live.spooler_7000, live, from);
  for (const LiveCheckedFile& file : live.checked) {
    if (file.infected()) join.infected_files.push_back(file.path);
  }
  // What the live tool saw is not flscan's reading of the disk (JSON.md, "Joining a live report"):
  // it never counts as FunLove evidence, but a host the offline scan finds free of FunLove cannot
  // be called clean while the running machine shows the dropper or infected files.
  if (live_shows_funlove(host) && !funlove) {
    join.incomplete_reason = from + " shows FunLove on the running machine (" +
                             std::to_string(live.flcss_processes.size()) + " flcss.exe process(es), " +
                             std::to_string(live.flcss_services.size()) + " FLC/FLCSS service(s), " +
                             std::to_string(join.infected_files.size()) +
                             " infected file(s)), which the offline scan did not confirm: scan the disk again";
  }
}

void add_live_remediation(HostReport& host) {
  if (!host.live || host.live->state != LiveJoinState::applied || !flcss_running(*host.live->report)) return;
  // Section 9: the running virus reinfects whatever is cleaned while it runs.
  host.remediation.insert(host.remediation.begin(),
                          "flcss.exe runs on the machine the live report comes from: shut it down and clean "
                          "offline, from rescue media; files cleaned while it runs are reinfected.");
}

void add_live_notes(HostReport& host) {
  if (!host.live) return;
  const LiveJoin& join = *host.live;
  const std::string label = join.report->label();
  if (join.state == LiveJoinState::other_installation) {
    host.notes.push_back(label + " belongs to another installation of this scan (" + join.reason +
                         "): not applied here");
  }
  if (join.infected_files.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < join.infected_files.size() && i < kLiveRecordsListed; ++i) {
    list += (i == 0 ? "" : ", ") + join.infected_files[i];
  }
  if (join.infected_files.size() > kLiveRecordsListed) list += ", ...";
  host.notes.push_back(label + ": flscan-live's check found " + std::to_string(join.infected_files.size()) +
                       " infected file(s) on the running machine (" + list +
                       "); not counted in the exit code, the offline scan of the same files decides");
}

void join_live_report(std::vector<HostReport>& hosts, const std::shared_ptr<const LiveReport>& live,
                      const ScanFacts& scan) {
  std::size_t matching = 0;
  for (HostReport& host : hosts) {
    host.live = LiveJoin{};
    host.live->report = live;
    decide_match(host, *live, *host.live);
    matching += host.live->matches ? 1 : 0;
  }
  for (HostReport& host : hosts) {
    LiveJoin& join = *host.live;
    join.state = matching == 1   ? (join.matches ? LiveJoinState::applied : LiveJoinState::other_installation)
                 : matching == 0 ? LiveJoinState::unmatched
                 : join.matches  ? LiveJoinState::ambiguous
                                 : LiveJoinState::other_installation;
    derive_host_report(host, scan);
  }
}

}  // namespace flscan::host
