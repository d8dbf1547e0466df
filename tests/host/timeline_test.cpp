// Issue 20 (infection-model section 7a): what a file's times say about its infection, the
// ISO 8601 times the reports write, and an installation's timeline and bursts (timeline.h).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "scanner/host/file_times.h"
#include "scanner/host/timeline.h"

using namespace flscan::host;
using flscan::FindingKind;

namespace {
constexpr std::int64_t kT0 = 1014940800;       // 2002-03-01T00:00:00Z
constexpr std::int64_t kOriginal = 838382400;  // 1996-07-26T12:00:00Z

FileTimes ntfs(std::int64_t created, std::int64_t modified, std::int64_t changed) {
  FileTimes times;
  times.source = TimeSource::ntfs;
  times.created = TimePoint{created, 0};
  times.modified = TimePoint{modified, 0};
  times.accessed = TimePoint{modified, 0};
  times.changed = TimePoint{changed, 0};
  return times;
}

FileInfection infection(const std::string& path, std::int64_t at) { return {path, {TimePoint{at, 0}, ""}}; }
}  // namespace

TEST_CASE("ISO 8601 times: UTC with Z, nanoseconds only when present, read back", "[host][timeline]") {
  CHECK(format_iso8601({kT0, 0}) == "2002-03-01T00:00:00Z");
  CHECK(format_iso8601({kOriginal, 0}) == "1996-07-26T12:00:00Z");
  CHECK(format_iso8601({kT0 - 1, 100}) == "2002-02-28T23:59:59.000000100Z");
  CHECK(format_iso8601({-1, 0}) == "1969-12-31T23:59:59Z");
  CHECK(format_day({kT0 + 86399, 0}) == "2002-03-01");
  CHECK(parse_iso8601("2002-03-01T00:00:00Z") == TimePoint{kT0, 0});
  CHECK(parse_iso8601("2002-02-28T23:59:59.000000100Z") == TimePoint{kT0 - 1, 100});
  CHECK_FALSE(parse_iso8601("2002-02-30T00:00:00Z"));
  CHECK_FALSE(parse_iso8601("2002-03-01 00:00:00"));
}

TEST_CASE("infected at: the NTFS MFT change time when later than the restored write time", "[host][timeline]") {
  const auto when = infection_time(ntfs(kOriginal, kOriginal, kT0));
  REQUIRE(when);
  CHECK(when->at == TimePoint{kT0, 0});
  CHECK(when->reasoning.find("MFT record changed at 2002-03-01T00:00:00Z") != std::string::npos);
  CHECK(when->reasoning.find("1996-07-26T12:00:00Z") != std::string::npos);

  // Times that agree (a patched kernel: its write time is the patch) or differ only by the slack.
  CHECK_FALSE(infection_time(ntfs(kOriginal, kT0, kT0)));
  CHECK_FALSE(infection_time(ntfs(kOriginal, kT0, kT0 + kRestoredWriteSlackSeconds)));
  CHECK(infection_time(ntfs(kOriginal, kT0, kT0 + kRestoredWriteSlackSeconds + 1)));

  // The same times from a source without MFT semantics say nothing.
  for (TimeSource source : {TimeSource::posix, TimeSource::fat, TimeSource::image}) {
    FileTimes times = ntfs(kOriginal, kOriginal, kT0);
    times.source = source;
    CHECK_FALSE(infection_time(times));
  }
  FileTimes mounted = ntfs(kOriginal, kOriginal, kT0);
  mounted.source = TimeSource::posix_ntfs;
  CHECK(infection_time(mounted));
}

TEST_CASE("bursts: runs of infections within the gap, enough files, across directories", "[host][timeline]") {
  std::vector<FileInfection> spread_out;
  for (std::size_t i = 0; i < kBurstMinFiles; ++i)
    spread_out.push_back(infection("/share" + std::to_string(i % 2) + "/f" + std::to_string(i) + ".exe",
                                   kT0 + static_cast<std::int64_t>(i) * (kBurstGapSeconds + 1)));
  CHECK(find_bursts(spread_out).empty());  // each one more than the gap after the one before

  std::vector<FileInfection> one_directory;
  for (std::size_t i = 0; i < kBurstMinFiles; ++i)
    one_directory.push_back(infection("/c/f" + std::to_string(i) + ".exe", kT0 + static_cast<std::int64_t>(i)));
  CHECK(find_bursts(one_directory).empty());

  std::vector<FileInfection> burst = {infection("/early/a.exe", kT0 - 86400)};
  for (std::size_t i = 0; i < kBurstMinFiles; ++i)
    burst.push_back(infection("/share" + std::to_string(i % 3) + "/f" + std::to_string(i) + ".exe",
                              kT0 + static_cast<std::int64_t>(i) * kBurstGapSeconds));
  const auto found = find_bursts(burst);
  REQUIRE(found.size() == 1);
  CHECK(found[0].files == kBurstMinFiles);
  CHECK(found[0].directories == 3);
  CHECK(found[0].first == TimePoint{kT0, 0});
  CHECK(found[0].last == TimePoint{kT0 + static_cast<std::int64_t>(kBurstMinFiles - 1) * kBurstGapSeconds, 0});

  burst.pop_back();  // one file short
  CHECK(find_bursts(burst).empty());
}

TEST_CASE("the timeline: each event dated by its source, in time order, with the spread", "[host][timeline]") {
  const std::vector<InfectedFile> files = {
      {"/c/WINNT/System32/flcss.exe", FindingKind::dropper, ntfs(kT0 - 3600, kT0 - 3600, kT0 - 3600)},
      {"/c/WINNT/System32/ntoskrnl.exe", FindingKind::kernel_patched, ntfs(kOriginal, kT0 - 3590, kT0 - 3590)},
      {"/c/NTLDR", FindingKind::loader_patched, ntfs(kOriginal, kT0 - 3580, kT0 - 3580)},
      {"/c/WINNT/System32/usermgr.exe", FindingKind::damaged, ntfs(kOriginal, kOriginal, kT0 + 86500)},
      {"/c/WINNT/System32/calc.exe", FindingKind::infected, ntfs(kOriginal, kOriginal, kT0 - 3500)},
      {"/c/WINNT/System32/winlogon.exe", FindingKind::infected, ntfs(kOriginal, kOriginal, kT0 - 3380)},
      {"/c/WINNT/System32/agrees.exe", FindingKind::infected, ntfs(kOriginal, kT0, kT0)},
      {"/c/WINNT/System32/untimed.exe", FindingKind::infected, std::nullopt},
  };
  std::vector<const InfectedFile*> pointers;
  for (const InfectedFile& file : files) pointers.push_back(&file);
  SystemHiveEvidence hive;
  ControlSet set;
  set.name = "ControlSet001";
  FlcService flc;
  flc.key_name = "FLC";
  flc.last_write = TimePoint{kT0, 0};
  set.flc_services.push_back(flc);
  hive.control_sets.push_back(set);
  EventLogEvidence log;
  EventRecord record;
  record.record_number = 7;
  record.time_written = static_cast<std::uint32_t>(kT0 + 5);
  log.spooler_7000.records.push_back(record);

  const HostTimeline timeline = build_timeline(pointers, &hive, "/c/SYSTEM", &log, "/c/SysEvent.Evt");
  std::vector<std::pair<std::int64_t, TimelineKind>> got;
  for (const TimelineEvent& event : timeline.events) got.emplace_back(event.at.seconds, event.kind);
  const std::vector<std::pair<std::int64_t, TimelineKind>> expected = {
      {kT0 - 3600, TimelineKind::dropper_created}, {kT0 - 3590, TimelineKind::kernel_patched},
      {kT0 - 3580, TimelineKind::loader_patched},  {kT0 - 3500, TimelineKind::first_infected},
      {kT0, TimelineKind::service_key_written},    {kT0 + 5, TimelineKind::event_7000},
      {kT0 + 86500, TimelineKind::last_infected},
  };
  CHECK(got == expected);
  CHECK(timeline.events[0].source == "NTFS $STANDARD_INFORMATION creation time");
  CHECK(timeline.events[3].path == "/c/WINNT/System32/calc.exe");
  CHECK(timeline.events[6].path == "/c/WINNT/System32/usermgr.exe");
  CHECK(timeline.spread.files == 3);
  CHECK(timeline.spread.files_without_time == 2);  // agrees.exe, untimed.exe
  REQUIRE(timeline.spread.per_day.size() == 2);
  CHECK(timeline.spread.per_day[0].day == "2002-02-28");
  CHECK(timeline.spread.per_day[0].files == 2);
  CHECK(timeline.spread.per_day[1].day == "2002-03-02");
  CHECK(timeline.spread.bursts.empty());
}
