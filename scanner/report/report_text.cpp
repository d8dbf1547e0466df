#include "scanner/report/report_text.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <ostream>
#include <string>

#include "scanner/report/text_encoding.h"

namespace flscan::scanner {
namespace {

constexpr std::string_view kDefaultThreatName = "W32.FunLove.4099";

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string hex_offset(std::uint64_t offset) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%" PRIx64, offset);
  return buffer;
}

std::string human_bytes(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return std::to_string(bytes) + " bytes";
  return format("%.1f ", value) + kUnits[unit] + " (" + std::to_string(bytes) + " bytes)";
}

std::string plural(std::uint64_t count, std::string_view one, std::string_view many) {
  return std::to_string(count) + " " + std::string(count == 1 ? one : many);
}

// "PATH: W32.FunLove.4099 FOUND (infected)" and its informational variants: the line says what
// was seen and how much it weighs, so nobody mistakes a remnant for an infection or the reverse.
std::string headline(const std::string& path, const Finding& finding) {
  const std::string name = finding.name.empty() ? std::string(kDefaultThreatName) : escape_for_terminal(finding.name);
  const std::string kind(to_string(finding.kind));
  std::string line = escape_path_for_terminal(path) + ": ";
  if (finding.severity == Severity::infection) return line + name + " FOUND (" + kind + ")";
  // A kernel whose checksum FunLove's patch does not explain is not FunLove evidence (issue 12).
  if (finding.kind == FindingKind::kernel_modified)
    return line + "modified NT kernel, not FunLove evidence (suspicious: " + kind + ")";
  if (finding.severity == Severity::suspicious) return line + "possibly " + name + " (suspicious: " + kind + ")";
  switch (finding.kind) {
    case FindingKind::remnant:
      return line + "remnant of " + name + " (informational: " + kind + ")";
    case FindingKind::inoculated:
      return line + "inoculated against " + name + " (informational: " + kind + ")";
    case FindingKind::decoy:
      return line + name + " lookalike, not an infection (informational: " + kind + ")";
    default:
      return line + name + " note (informational: " + kind + ")";
  }
}

// "infected at about" under a file's findings when its times support one (issue 20).
void write_infected_at(std::ostream& out, const FileResult& result) {
  if (!result.times || strongest_finding(result).severity != Severity::infection) return;
  if (const auto when = host::infection_time(*result.times)) {
    out << "    infected at about " << host::format_iso8601(when->at) << ": " << escape_for_terminal(when->reasoning)
        << '\n';
  }
}

void write_findings(std::ostream& out, const ScanReport& report, const PrintSettings& settings) {
  for (const FileResult& result : report.results) {
    bool printed = false;
    // When the structural detector spoke, signature matches only corroborate it: they are folded
    // into one line so the verdict stays readable (the JSON report keeps every finding).
    const bool detector_spoke = !result.findings.empty() && result.findings.front().kind != FindingKind::signature;
    std::string corroborating;
    for (const Finding& finding : result.findings) {
      if (settings.infected_only && finding.severity != Severity::infection) continue;
      if (detector_spoke && finding.kind == FindingKind::signature && !settings.verbose) {
        corroborating += (corroborating.empty() ? "" : ", ") + escape_for_terminal(finding.name);
        continue;
      }
      printed = true;
      out << headline(result.path, finding) << '\n';
      if (settings.brief) continue;
      out << "    "
          << (finding.evidence.empty() ? std::string("(no evidence text)") : escape_for_terminal(finding.evidence))
          << '\n'
          << "    rule " << escape_for_terminal(finding.rule) << ", " << to_string(finding.confidence)
          << " confidence, offset " << hex_offset(finding.offset) << '\n';
    }
    if (printed && !settings.brief && !corroborating.empty())
      out << "    signatures also matched: " << corroborating << '\n';
    // The file's identity once, after its findings: what to look up or quarantine.
    if (printed && !settings.brief)
      out << "    file: " << result.size << " bytes, sha256 " << escape_for_terminal(result.sha256) << '\n';
    if (result.action) out << "    action: " << describe_action(*result.action) << '\n';
    if (printed && !settings.brief) write_infected_at(out, result);
  }
}

void write_not_scanned(std::ostream& out, const ScanReport& report) {
  for (const NotScannedEntry& entry : report.not_scanned) {
    out << escape_path_for_terminal(entry.path) << ": NOT SCANNED (" << describe(entry.reason);
    if (!entry.detail.empty()) out << ": " << escape_for_terminal(entry.detail);
    out << ")\n";
  }
}

void write_skipped(std::ostream& out, const ScanReport& report) {
  for (const SkippedEntry& entry : report.skipped) {
    out << escape_path_for_terminal(entry.path) << ": skipped (" << describe(entry.reason);
    if (!entry.detail.empty()) out << ": " << escape_for_terminal(entry.detail);
    out << ")\n";
  }
}

void write_inventory(std::ostream& out, const ScanReport& report) {
  out << "\nInventory of PE/MZ files (sha256, size in bytes, type, path):\n";
  for (const InventoryEntry& entry : report.inventory) {
    out << escape_for_terminal(entry.sha256) << "  " << entry.size << "  " << to_code(entry.type) << "  "
        << escape_path_for_terminal(entry.path);
    if (!entry.pe_error.empty()) out << "  (not a valid PE: " << escape_for_terminal(entry.pe_error) << ")";
    out << '\n';
  }
}

// "code 2, code 1" for the non-zero entries of a by-reason counter array.
template <typename Enum>
std::string breakdown(const std::array<std::uint64_t, kEnumCount<Enum>>& counts) {
  std::string text;
  for (const EnumRow<Enum>& row : table_of<Enum>()) {
    const std::uint64_t count = counts[static_cast<std::size_t>(row.value)];
    if (count == 0) continue;
    if (!text.empty()) text += ", ";
    text += std::string(row.code) + " " + std::to_string(count);
  }
  return text;
}

// "(exit code N)" and, when --fail-on changed it from what the outcome alone would give, why in
// words: the line states the code this process returns (issue 12), not the default policy's.
std::string exit_code_text(const ScanReport& report, const FailOn& fail_on) {
  const int code = exit_code(report, fail_on);
  const bool funlove = report.infection_found() || report.flc_service_found();
  const bool incomplete = !report.run_complete();
  std::string why;
  if (code == kExitInfected && !(funlove && fail_on.infected)) why = "suspicious findings, and --fail-on counts them";
  if (code == kExitIncomplete && report.operand_missing() && !fail_on.incomplete) {
    why = "a PATH does not exist, which fails the run whatever --fail-on says";
  }
  std::string uncounted;
  if (funlove && !fail_on.infected) uncounted = "FunLove evidence";
  if (incomplete && !fail_on.incomplete && !report.operand_missing()) {
    uncounted += std::string(uncounted.empty() ? "" : " or ") + "an incomplete scan";
  }
  if (!uncounted.empty()) {
    why += std::string(why.empty() ? "" : "; ") + "--fail-on " + to_string(fail_on) + " does not count " + uncounted;
  }
  return "(exit code " + std::to_string(code) + (why.empty() ? "" : ": " + why) + ")";
}

std::string verdict_line(const ScanReport& report, const FailOn& fail_on) {
  const std::uint64_t not_scanned = report.counters.not_scanned_total() + report.counters.lost_reports;
  std::string missing;
  if (not_scanned > 0) missing = plural(not_scanned, "entry", "entries") + " not scanned";
  if (report.host_errors()) missing += std::string(missing.empty() ? "" : ", ") + "host evidence unreadable";
  if (report.live_report_incomplete()) missing += std::string(missing.empty() ? "" : ", ") + "live report not applied";
  if (report.actions_failed()) {
    const auto left =
        static_cast<std::uint64_t>(std::count_if(report.results.begin(), report.results.end(), [](const FileResult& r) {
          return r.action && r.action->result == ActionResult::left_in_place;
        }));
    missing += std::string(missing.empty() ? "" : ", ") + plural(left, "file", "files") + " --quarantine left in place";
  }
  const std::string code = exit_code_text(report, fail_on);
  if (report.infection_found() || report.flc_service_found()) {
    std::string line = "FunLove evidence FOUND " + code;
    if (!report.infection_found()) line = "FunLove evidence FOUND: an FLC service in the SYSTEM hive " + code;
    if (!missing.empty()) line += "; the scan is also INCOMPLETE: " + missing;
    return line;
  }
  if (!missing.empty()) return "INCOMPLETE: " + missing + "; no FunLove evidence in what was scanned " + code;
  return "clean: no FunLove evidence, every file scanned " + code;
}

// The disk images opened, and how many of them the walk found inside the PATHs (issue 15); empty
// when none.
std::string images_line(const ScanReport& report) {
  const ScanReport::ImageCounts counts = report.image_counts();
  if (counts.opened == 0) return "";
  return plural(counts.opened, "disk image", "disk images") + " opened, " + std::to_string(counts.in_directories) +
         " of them found inside scanned directories";
}

// How the PATHs' files were read (issue 19, --read-order), each with why: "disk (auto: rotational
// device sda)", the operand named first when several recorded one; empty when none did.
std::string read_order_line(const ScanReport& report) {
  const auto ordered = std::count_if(report.root_facts.begin(), report.root_facts.end(),
                                     [](const RootFacts& facts) { return facts.read_order.has_value(); });
  std::string line;
  for (std::size_t i = 0; i < report.root_facts.size() && i < report.roots.size(); ++i) {
    const RootFacts& facts = report.root_facts[i];
    if (!facts.read_order) continue;
    if (!line.empty()) line += "; ";
    if (ordered > 1) line += escape_path_for_terminal(report.roots[i]) + ": ";
    line += std::string(to_code(*facts.read_order)) + " (" + escape_for_terminal(facts.read_order_reason) + ")";
  }
  return line;
}

void write_summary(std::ostream& out, const ScanReport& report, const PrintSettings& settings) {
  const ReportMeta& meta = settings.meta;
  const bool verbose = settings.verbose;
  const ScanCounters& c = report.counters;
  const std::uint64_t other_files = c.files_examined - c.pe_files - c.mz_files;
  const double seconds = report.elapsed_seconds > 0 ? report.elapsed_seconds : 1e-9;
  out << "\n--- flscan summary ---\n";
  out << "Files:        " << plural(c.files_seen, "file", "files") << " found in "
      << plural(c.directories, "directory", "directories") << "; " << c.files_examined << " read, "
      << c.files_scanned_whole << " of them whole";
  if (report.shard) out << "; " << plural(c.files_in_other_shards, "more file", "more files") << " in other shards";
  out << '\n';
  if (report.shard) {
    out << "Shard:        " << to_string(*report.shard) << " (--shard): only this shard's files were read; "
        << "flscan merge combines the " << report.shard->n << " shard reports\n";
  }
  // Disk images (scanner/image/): one line per volume, so a reader sees what each held.
  for (const ImageVolume& volume : report.volumes) {
    out << "Volume:       " << escape_path_for_terminal(volume.path()) << ' ' << to_code(volume.status);
    if (!volume.filesystem.empty()) out << ", " << escape_for_terminal(volume.filesystem);
    if (!volume.decrypted_with.empty()) out << ", decrypted with " << escape_for_terminal(volume.decrypted_with);
    out << ", " << human_bytes(volume.length) << " at offset " << volume.offset;
    if (volume.status == VolumeStatus::error) out << " (" << to_code(volume.reason) << ')';
    if (!volume.detail.empty()) out << ": " << escape_for_terminal(volume.detail);
    if (!volume.host_error.empty()) out << "; host evidence not read: " << escape_for_terminal(volume.host_error);
    if (volume.image_files.size() > 1) {  // a parent chain or split segments (issue 15)
      out << "; " << escape_for_terminal(volume.image_format) << " made of";
      for (std::size_t i = 0; i < volume.image_files.size(); ++i) {
        out << (i == 0 ? " " : " + ") << escape_path_for_terminal(volume.image_files[i]);
      }
    }
    out << '\n';
  }
  if (const std::string images = images_line(report); !images.empty()) out << "Images:       " << images << '\n';
  if (const std::string order = read_order_line(report); !order.empty()) out << "Read order:   " << order << '\n';
  out << "Content:      " << c.pe_files << " PE, " << c.mz_files << " MZ but not valid PE, " << other_files
      << " other (recognised by content; other files are read only as far as needed)\n";
  out << "Bytes read:   " << human_bytes(c.bytes_read) << '\n';
  out << "Findings:     " << plural(c.infected_files, "file", "files") << " with FunLove evidence, "
      << c.files_with_findings - c.infected_files << " with notes only (suspicious or informational)";
  if (c.files_with_findings > 0) out << "\n              by kind: " << breakdown<FindingKind>(c.findings_by_kind);
  out << '\n';
  out << "Not scanned:  " << c.not_scanned_total();
  if (c.not_scanned_total() > 0) out << " (" << breakdown<NotScannedReason>(c.not_scanned_by_reason) << ")";
  if (c.lost_reports > 0) out << "; " << c.lost_reports << " more errors could not be recorded (out of memory)";
  out << '\n';
  out << "Skipped:      " << c.skipped_total();
  if (c.skipped_total() > 0) {
    out << " (" << breakdown<SkipReason>(c.skipped_by_reason) << "; not regular files or excluded, never read"
        << (verbose ? "" : "; -v lists them") << ")";
  }
  out << '\n';
  if (c.match_cap_hits > 0) {
    out << "Limits:       signature matching was cut short " << c.match_cap_hits << " times (engine limits)\n";
  }
  out << "Time:         " << format("%.2f", report.elapsed_seconds) << " s, "
      << format("%.1f", static_cast<double>(c.bytes_read) / 1e6 / seconds) << " MB/s, "
      << format("%.0f", static_cast<double>(c.files_examined) / seconds) << " files/s\n";
  if (const std::string actions = action_summary(report); !actions.empty()) out << "Quarantine:   " << actions << '\n';
  out << "Signatures:   " << meta.signature_count << " in total";
  for (const std::string& source : meta.signature_sources) out << "\n              " << escape_for_terminal(source);
  out << '\n';
  out << "Result:       " << verdict_line(report, settings.fail_on) << '\n';
}

// "Timeline:" of one installation (issue 20, host/timeline.h): its events in time order, each with
// the time that dates it, then the spread of the programs' infection times.
void write_timeline(std::ostream& out, const host::HostTimeline& timeline) {
  if (timeline.empty()) return;
  out << "Timeline (UTC):\n";
  for (const host::TimelineEvent& event : timeline.events) {
    out << "  " << host::format_iso8601(event.at) << "  " << host::describe(event.kind) << "  "
        << escape_for_terminal(event.path) << "  (" << escape_for_terminal(event.source) << ")\n";
  }
  const host::InfectionSpread& spread = timeline.spread;
  if (spread.first && spread.last) {
    out << "  spread: " << plural(spread.files, "program", "programs") << " infected from "
        << host::format_iso8601(*spread.first) << " to " << host::format_iso8601(*spread.last) << "; per day:";
    for (const host::DayCount& day : spread.per_day) out << " " << day.day << " " << day.files;
    out << '\n';
  }
  if (spread.files_without_time > 0) {
    out << "  " << plural(spread.files_without_time, "infected program", "infected programs")
        << " without an infection time (no NTFS MFT change time later than the write time)\n";
  }
  for (const host::InfectionBurst& burst : spread.bursts) {
    out << "  burst: " << burst.files << " files in " << burst.directories << " directories from "
        << host::format_iso8601(burst.first) << " to " << host::format_iso8601(burst.last)
        << " (as FunLove's spread over network shares writes them)\n";
  }
}

// "Q317218 report" per installation (host_report.h): verdict, symptom rows, the non-clean
// programs, kernel/loader, remediation, read errors.
void write_host(std::ostream& out, const host::HostReport& host) {
  const auto esc = [](const std::string& text) { return escape_for_terminal(text); };
  out << "\n--- Q317218 report: " << esc(host.install.windows_dir) << " ---\n";
  out << "Verdict:    " << esc(host.verdict_text) << " [" << to_code(host.verdict) << "]\n";
  if (host.live) {
    // --live-report (issue 17): whether the live rows below come from it, and why.
    out << "Live:       " << esc(host.live->report->label()) << ": " << to_code(host.live->state) << " ("
        << esc(host.live->reason) << ")\n";
    if (!host.live->incomplete_reason.empty()) out << "Error:      " << esc(host.live->incomplete_reason) << '\n';
  }
  out << "Symptoms (Microsoft KB Q317218):\n";
  for (const host::SymptomRow& row : host.symptoms) {
    std::string status(to_code(row.status));
    status.resize(std::max<std::size_t>(status.size(), 22), ' ');
    std::string id = esc(row.id);
    id.resize(std::max<std::size_t>(id.size(), 14), ' ');
    out << "  " << id << "  " << status << "  " << esc(row.symptom) << '\n';
    for (const std::string& line : row.evidence) out << "      " << esc(line) << '\n';
  }
  std::array<std::size_t, kEnumCount<host::FileStatus>> counts{};
  for (const host::ProgramCheck& program : host.programs) ++counts[static_cast<std::size_t>(program.status)];
  out << "Programs:   " << host.programs.size()
      << " checked in system32 (the 33 of Q317218, pstores, spoolss, csrss): " << counts[0] << " clean, " << counts[1]
      << " infected, " << counts[2] << " damaged, " << counts[3] << " missing, " << counts[4] << " not scanned";
  if (counts[5] > 0) out << ", " << counts[5] << " in other shards";
  out << '\n';
  std::string missing;
  for (const host::ProgramCheck& program : host.programs) {
    if (program.status == host::FileStatus::missing) missing += (missing.empty() ? "" : " ") + esc(program.name);
    if (program.status == host::FileStatus::clean || program.status == host::FileStatus::missing ||
        program.status == host::FileStatus::other_shard) {
      continue;
    }
    out << "  " << to_code(program.status) << ": " << esc(program.name);
    if (!program.path.empty()) out << "  " << esc(program.path);
    out << '\n';
  }
  if (!missing.empty()) out << "  missing: " << missing << '\n';
  out << "Kernel:     ";
  for (const host::KernelCheck& kernel : host.kernel) {
    out << (&kernel == &host.kernel.front() ? "" : ", ") << esc(kernel.name) << " " << esc(kernel.status);
  }
  out << '\n';
  write_timeline(out, host.timeline);
  out << "Remediation:\n";
  for (std::size_t i = 0; i < host.remediation.size(); ++i)
    out << "  " << i + 1 << ". " << esc(host.remediation[i]) << '\n';
  for (const std::string& error : host.errors) out << "Error:      " << esc(error) << '\n';
  for (const std::string& note : host.notes) out << "Note:       " << esc(note) << '\n';
}

// The names a removal or repair of one hard link leaves holding the infected content.
std::string other_links(const FileAction& action) {
  return std::to_string(action.other_links) +
         (action.other_links == 1 ? " other hard link to the same file still holds"
                                  : " other hard links to the same file still hold") +
         " the infected content";
}

}  // namespace

// "quarantined to DIR/x.flq; repair refused: ...": what --quarantine / --repair did (remediate.h).
std::string describe_action(const FileAction& action) {
  const std::string copy = escape_path_for_terminal(action.quarantine_file);
  const std::string detail = escape_for_terminal(action.repair_detail);
  std::string text;
  switch (action.result) {
    case ActionResult::repaired:
      text = "repaired in place (" + detail + "); the infected original is kept as " + copy;
      if (action.other_links > 0) text += "; " + other_links(action);
      break;
    case ActionResult::quarantined:
      // A file with other hard links is not removed by unlinking one name (issue 13).
      text = "quarantined to " + copy +
             (action.other_links == 0 ? std::string(" (original removed)")
                                      : " (this name removed; " + other_links(action) + ")");
      if (action.repair == RepairStatus::refused) text += "; repair refused: " + detail;
      if (action.repair == RepairStatus::system_file) text += "; not repaired: " + detail;
      if (action.repair == RepairStatus::failed) text += "; repair failed (" + detail + "), quarantined instead";
      break;
    case ActionResult::left_in_place:
      text = "NOT quarantined, left in place: " + escape_for_terminal(action.error);
      if (!action.quarantine_file.empty()) text += "; a verified copy is in " + copy + " (run again to finish)";
      return text;
  }
  if (!action.error.empty()) text += "; warning: " + escape_for_terminal(action.error);
  return text;
}

void write_text_report(std::ostream& out, const ScanReport& report, const PrintSettings& settings) {
  if (report.shard) {
    out << "flscan shard " << to_string(*report.shard)
        << ": the files of this shard only; merge the JSON reports of all " << report.shard->n
        << " shards with flscan merge for the whole result\n";
  }
  write_findings(out, report, settings);
  write_not_scanned(out, report);
  for (const host::HostReport& host : report.hosts) write_host(out, host);
  if (report.live_processes) {
    out << "\n--- live processes (--live) ---\n";
    if (report.live_processes->empty()) out << "No running process named flcss.exe.\n";
    for (const host::LiveProcess& process : *report.live_processes) {
      out << "RUNNING flcss.exe: " << escape_for_terminal(host::describe(process)) << '\n';
    }
  }
  if (report.live_report) {
    out << "\n--- live report (--live-report) ---\n"
        << escape_for_terminal(report.live_report->label()) << ", flscan-live "
        << escape_for_terminal(report.live_report->tool_version) << " ("
        << escape_for_terminal(report.live_report->tool_architecture) << "), computer "
        << escape_for_terminal(report.live_report->computer_name.value_or("(unknown)")) << ", Windows directory "
        << escape_for_terminal(report.live_report->windows_directory.value_or("(unknown)")) << ": "
        << escape_for_terminal(report.live_report_state()) << '\n';
  }
  if (settings.verbose) write_skipped(out, report);
  if (settings.inventory) write_inventory(out, report);
  if (!settings.quiet) write_summary(out, report, settings);
}

}  // namespace flscan::scanner
