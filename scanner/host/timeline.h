// When it happened (issue 20; infection-model section 7a): one installation's infection timeline
// from the times FunLove cannot hide, each event with the source that dates it, and the spread of
// its files' infection times (first, last, files per day, bursts).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/enum_table.h"
#include "scanner/host/event_log.h"
#include "scanner/host/file_times.h"
#include "scanner/host/scan_facts.h"
#include "scanner/host/system_hive.h"

namespace flscan::host {

enum class TimelineKind {
  dropper_created,      // FLCSS.EXE's creation time: the virus's first run on the machine
  service_key_written,  // the FLC service key's last-write time in the SYSTEM hive
  kernel_patched,       // ntoskrnl.exe's / ntkrnlmp.exe's last-write time (not restored by the patch)
  loader_patched,       // NTLDR's last-write time
  first_infected,       // the earliest infection time of an infected program (MFT change time)
  last_infected,        // the latest
  event_7024,           // a Protected Storage 7024 record's time written (SysEvent.Evt)
  event_7000,           // a Spooler 7000 record's time written
};
inline constexpr std::array kTimelineKinds = {
    EnumRow{TimelineKind::dropper_created, "dropper-created", "FLCSS.EXE created (the virus's first run)"},
    EnumRow{TimelineKind::service_key_written, "service-key-written", "FLC service key written"},
    EnumRow{TimelineKind::kernel_patched, "kernel-patched", "kernel patched"},
    EnumRow{TimelineKind::loader_patched, "loader-patched", "NTLDR patched"},
    EnumRow{TimelineKind::first_infected, "first-infected", "first program infected"},
    EnumRow{TimelineKind::last_infected, "last-infected", "last program infected"},
    EnumRow{TimelineKind::event_7024, "event-7024", "event 7024: Protected Storage failed to start"},
    EnumRow{TimelineKind::event_7000, "event-7000", "event 7000: Spooler failed to start"},
};
constexpr const auto& enum_rows(TimelineKind) { return kTimelineKinds; }
static_assert(is_complete_table(kTimelineKinds), "kTimelineKinds: one row per TimelineKind, in order");
[[nodiscard]] constexpr std::string_view to_code(TimelineKind kind) { return code_of(kind); }
[[nodiscard]] constexpr std::string_view describe(TimelineKind kind) { return description_of(kind); }

struct TimelineEvent {
  TimePoint at;
  TimelineKind kind = TimelineKind::dropper_created;
  std::string path;    // the file, the hive or the event log that holds the time
  std::string source;  // which time of it, e.g. "NTFS $STANDARD_INFORMATION MFT change time"
};

// One infected file with an infection time (file_times.h, infection_time).
struct FileInfection {
  std::string path;
  InfectionTime time;
};

// Infections in a burst: many files within minutes, across directories, as FunLove's spread over
// writable network shares writes them (issue 20). The rule: sorted by time, files whose each
// infection lies within kBurstGapSeconds of the one before form a run; a run of at least
// kBurstMinFiles files in at least kBurstMinDirectories directories is a burst.
inline constexpr std::int64_t kBurstGapSeconds = 300;
inline constexpr std::size_t kBurstMinFiles = 5;
inline constexpr std::size_t kBurstMinDirectories = 2;

struct InfectionBurst {
  TimePoint first;
  TimePoint last;
  std::size_t files = 0;
  std::size_t directories = 0;
};

struct DayCount {
  std::string day;  // "2002-03-01" (UTC)
  std::size_t files = 0;
};

struct InfectionSpread {
  std::size_t files = 0;               // infected files with an infection time
  std::size_t files_without_time = 0;  // infected files (infected or damaged) without one
  std::optional<TimePoint> first;
  std::optional<TimePoint> last;
  std::vector<DayCount> per_day;  // in day order
  std::vector<InfectionBurst> bursts;
};

struct HostTimeline {
  std::vector<TimelineEvent> events;      // in time order (then kind order)
  std::vector<FileInfection> infections;  // every infected program with a time, in time order
  InfectionSpread spread;
  [[nodiscard]] bool empty() const { return events.empty() && infections.empty(); }
};

// The timeline of one installation from the infected files on its volume (with their times),
// its SYSTEM hive's FLC service keys (nullptr: not read) and its event log's 7024/7000 records
// (nullptr: none). Pure: no I/O, so `flscan merge` derives it again from the merged facts.
[[nodiscard]] HostTimeline build_timeline(const std::vector<const InfectedFile*>& files, const SystemHiveEvidence* hive,
                                          const std::string& hive_path, const EventLogEvidence* events,
                                          const std::string& log_path);

// The bursts among `infections` (sorted by time), by the rule above.
[[nodiscard]] std::vector<InfectionBurst> find_bursts(const std::vector<FileInfection>& infections);

// What a time of `times` is called on its source, e.g. "NTFS $STANDARD_INFORMATION creation time".
[[nodiscard]] std::string time_source_text(const FileTimes& times, TimelineKind kind);

}  // namespace flscan::host
