#include "scanner/host/timeline.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace flscan::host {
namespace {

std::string directory_of(const std::string& path) { return std::filesystem::path(path).parent_path().generic_string(); }

void add_record_events(HostTimeline& timeline, const EventEvidence& evidence, TimelineKind kind,
                       const std::string& log_path) {
  for (const EventRecord& record : evidence.records) {
    timeline.events.push_back({TimePoint{record.time_written, 0}, kind, log_path,
                               "SysEvent.Evt record " + std::to_string(record.record_number) + ", time written"});
  }
}

}  // namespace

std::string time_source_text(const FileTimes& times, TimelineKind kind) {
  const bool creation = kind == TimelineKind::dropper_created;
  const bool change = kind == TimelineKind::first_infected || kind == TimelineKind::last_infected;
  const char* which = creation ? "creation time" : change ? "MFT change time" : "last-write time";
  switch (times.source) {
    case TimeSource::ntfs:
      return std::string("NTFS $STANDARD_INFORMATION ") + which;
    case TimeSource::posix_ntfs:
      return creation ? "statx birth time (NTFS mount)"
             : change ? "st_ctime (the MFT change time on an NTFS mount)"
                      : "st_mtime (NTFS mount)";
    case TimeSource::fat:
      return std::string("FAT ") + (creation ? "creation time" : "last-write time");
    case TimeSource::posix:
    case TimeSource::image:
      return creation ? "birth time" : "modification time";
  }
  return which;
}

std::vector<InfectionBurst> find_bursts(const std::vector<FileInfection>& infections) {
  std::vector<InfectionBurst> bursts;
  std::size_t start = 0;
  const auto close_run = [&](std::size_t end) {  // infections [start, end)
    if (end - start < kBurstMinFiles) return;
    std::set<std::string> directories;
    for (std::size_t i = start; i < end; ++i) directories.insert(directory_of(infections[i].path));
    if (directories.size() < kBurstMinDirectories) return;
    bursts.push_back({infections[start].time.at, infections[end - 1].time.at, end - start, directories.size()});
  };
  for (std::size_t i = 1; i <= infections.size(); ++i) {
    if (i == infections.size() ||
        infections[i].time.at.seconds - infections[i - 1].time.at.seconds > kBurstGapSeconds) {
      close_run(i);
      start = i;
    }
  }
  return bursts;
}

HostTimeline build_timeline(const std::vector<const InfectedFile*>& files, const SystemHiveEvidence* hive,
                            const std::string& hive_path, const EventLogEvidence* events, const std::string& log_path) {
  HostTimeline timeline;
  for (const InfectedFile* file : files) {
    const bool program = file->state == FindingKind::infected || file->state == FindingKind::damaged;
    if (!file->times) {
      if (program) ++timeline.spread.files_without_time;
      continue;
    }
    const FileTimes& times = *file->times;
    if (program) {
      if (auto when = infection_time(times))
        timeline.infections.push_back({file->path, std::move(*when)});
      else
        ++timeline.spread.files_without_time;
      continue;
    }
    TimelineKind kind{};
    std::optional<TimePoint> at;
    if (file->state == FindingKind::dropper) {
      kind = TimelineKind::dropper_created;
      at = times.created;
    } else if (file->state == FindingKind::kernel_patched || file->state == FindingKind::loader_patched) {
      kind = file->state == FindingKind::kernel_patched ? TimelineKind::kernel_patched : TimelineKind::loader_patched;
      at = times.modified;
    }
    if (at) timeline.events.push_back({*at, kind, file->path, time_source_text(times, kind)});
  }
  if (hive != nullptr) {
    for (const ControlSet& set : hive->control_sets) {
      for (const FlcService& service : set.flc_services) {
        if (!service.last_write) continue;
        timeline.events.push_back(
            {*service.last_write, TimelineKind::service_key_written, hive_path,
             "SYSTEM hive key " + set.name + "\\Services\\" + service.key_name + ", last-write time"});
      }
    }
  }
  if (events != nullptr) {
    add_record_events(timeline, events->protected_storage_7024, TimelineKind::event_7024, log_path);
    add_record_events(timeline, events->spooler_7000, TimelineKind::event_7000, log_path);
  }

  std::stable_sort(timeline.infections.begin(), timeline.infections.end(),
                   [](const FileInfection& a, const FileInfection& b) { return a.time.at < b.time.at; });
  InfectionSpread& spread = timeline.spread;
  spread.files = timeline.infections.size();
  if (!timeline.infections.empty()) {
    const FileInfection& first = timeline.infections.front();
    const FileInfection& last = timeline.infections.back();
    spread.first = first.time.at;
    spread.last = last.time.at;
    const std::string source = "NTFS MFT change time, later than the restored write time";
    timeline.events.push_back({first.time.at, TimelineKind::first_infected, first.path, source});
    if (timeline.infections.size() > 1)
      timeline.events.push_back({last.time.at, TimelineKind::last_infected, last.path, source});
    std::map<std::string, std::size_t> days;
    for (const FileInfection& infection : timeline.infections) ++days[format_day(infection.time.at)];
    for (const auto& [day, count] : days) spread.per_day.push_back({day, count});
    spread.bursts = find_bursts(timeline.infections);
  }
  std::stable_sort(timeline.events.begin(), timeline.events.end(), [](const TimelineEvent& a, const TimelineEvent& b) {
    return a.at != b.at ? a.at < b.at : a.kind < b.kind;
  });
  return timeline;
}

}  // namespace flscan::host
