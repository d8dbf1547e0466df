#include "scanner/report/report_html.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <ostream>
#include <string>

#include "scanner/report/report_text.h"
#include "scanner/report/text_encoding.h"

namespace flscan::scanner {
namespace {

// Inline, so the page needs nothing but itself (it may be opened on an isolated machine).
constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
.verdict { font-size: 1.2em; font-weight: bold; padding: 0.5em; border: 2px solid #888; }
.verdict[data-verdict="q317218"], tr[data-status="found"] td.status, .infection { background: #fdd; }
.verdict[data-verdict="q321454"], tr[data-status="error"] td.status, .suspicious { background: #ffd; }
.verdict[data-verdict="incomplete"] { background: #ffd; }
.verdict[data-verdict="no-evidence"], tr[data-status="not-found"] td.status { background: #dfd; }
code, .path { font-family: monospace; word-break: break-all; }
ul.evidence { margin: 0; padding-left: 1.2em; }
#overview { display: flex; flex-wrap: wrap; gap: 0.6em; margin-bottom: 1em; }
#overview div { border: 1px solid #bbb; padding: 0.4em 0.8em; min-width: 7em; }
#overview b { display: block; font-size: 1.6em; }
#overview .bad { background: #fdd; } #overview .warn { background: #ffd; } #overview .good { background: #dfd; }
.host-tables { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
svg.timeline { max-width: 100%; height: auto; border: 1px solid #ddd; background: #fcfcfc; }
svg.timeline text { font-family: sans-serif; font-size: 12px; fill: #222; }
details summary { cursor: pointer; color: #555; }
tr[data-status="infected"] td.status, tr[data-status="damaged"] td.status, tr[data-status="patched"] td.status { background: #fdd; }
.infected-at { color: #a00; }
table.timeline td:first-child { white-space: nowrap; }
)";

std::string esc(std::string_view text) { return escape_for_html(text); }

// The top of the page (issue 20): the run's verdict and its counts, before any detail.
void write_overview(std::ostream& out, const ScanReport& report, const PrintSettings& settings) {
  const ScanCounters& c = report.counters;
  const int code = exit_code(report, settings.fail_on);
  const std::uint64_t not_scanned = c.not_scanned_total() + c.lost_reports;
  std::size_t q317218 = 0;
  for (const host::HostReport& host : report.hosts) q317218 += host.verdict == host::Verdict::q317218 ? 1 : 0;
  const char* verdict = code == kExitInfected     ? "FunLove evidence found"
                        : code == kExitIncomplete ? "Incomplete: not everything could be read"
                                                  : "No FunLove evidence found";
  out << "<div id=\"overview\" data-exit-code=\"" << code << "\" data-infected-files=\"" << c.infected_files
      << "\" data-not-scanned=\"" << not_scanned << "\" data-hosts=\"" << report.hosts.size() << "\">\n";
  const auto box = [&out](const char* cls, const std::string& value, std::string_view label) {
    out << "<div class=\"" << cls << "\"><b>" << value << "</b>" << label << "</div>\n";
  };
  box(code == kExitInfected     ? "bad"
      : code == kExitIncomplete ? "warn"
                                : "good",
      verdict, "exit code " + std::to_string(code));
  box(c.infected_files > 0 ? "bad" : "good", std::to_string(c.infected_files), "files with FunLove evidence");
  box(q317218 > 0 ? "bad" : "good", std::to_string(q317218) + " of " + std::to_string(report.hosts.size()),
      "Windows installations: Q317218");
  box(not_scanned > 0 ? "warn" : "good", std::to_string(not_scanned), "not scanned");
  box("", std::to_string(c.files_seen), "files found");
  out << "</div>\n";
}

// Event colours of the SVG timeline, by what an event dates.
const char* event_colour(host::TimelineKind kind) {
  switch (kind) {
    case host::TimelineKind::first_infected:
    case host::TimelineKind::last_infected:
      return "#c00";
    case host::TimelineKind::dropper_created:
    case host::TimelineKind::service_key_written:
      return "#804";
    case host::TimelineKind::kernel_patched:
    case host::TimelineKind::loader_patched:
      return "#d60";
    case host::TimelineKind::event_7024:
    case host::TimelineKind::event_7000:
      return "#06c";
  }
  return "#444";
}

// The installation's timeline (issue 20) as an inline SVG, no script: one row per event, its dot
// placed on a time axis from the first event to the last, the time and what it dates beside it;
// then the same events as a table (with the source of each time) and the spread.
void write_timeline(std::ostream& out, const host::HostTimeline& timeline, std::size_t index) {
  if (timeline.empty()) return;
  out << "<h3>Timeline (UTC)</h3>\n";
  const auto& events = timeline.events;
  if (!events.empty()) {
    constexpr int kAxisLeft = 20, kAxisRight = 480, kLabelX = 500, kRowHeight = 22, kTop = 34, kWidth = 1000;
    const std::int64_t first = events.front().at.seconds;
    const std::int64_t span = std::max<std::int64_t>(events.back().at.seconds - first, 1);
    const auto x_of = [&](const host::TimePoint& at) {
      return kAxisLeft + static_cast<int>(static_cast<double>(at.seconds - first) / static_cast<double>(span) *
                                          (kAxisRight - kAxisLeft));
    };
    const int height = kTop + static_cast<int>(events.size()) * kRowHeight + 8;
    out << "<svg class=\"timeline\" id=\"timeline-svg-" << index << "\" xmlns=\"http://www.w3.org/2000/svg\" "
        << "width=\"" << kWidth << "\" height=\"" << height << "\" viewBox=\"0 0 " << kWidth << ' ' << height
        << "\" role=\"img\" aria-label=\"infection timeline\">\n";
    out << "<text x=\"" << kAxisLeft << "\" y=\"14\">" << esc(host::format_iso8601(events.front().at))
        << "</text><text x=\"" << kAxisRight << "\" y=\"14\" text-anchor=\"end\">"
        << esc(host::format_iso8601(events.back().at)) << "</text>\n";
    out << "<line x1=\"" << kAxisLeft << "\" y1=\"22\" x2=\"" << kAxisRight << "\" y2=\"22\" stroke=\"#888\"/>\n";
    for (std::size_t i = 0; i < events.size(); ++i) {
      const host::TimelineEvent& event = events[i];
      const int y = kTop + static_cast<int>(i) * kRowHeight;
      const int x = x_of(event.at);
      out << "<g data-kind=\"" << host::to_code(event.kind) << "\"><line x1=\"" << kAxisLeft << "\" y1=\"" << y
          << "\" x2=\"" << kAxisRight << "\" y2=\"" << y << "\" stroke=\"#e4e4e4\"/><line x1=\"" << x
          << "\" y1=\"22\" x2=\"" << x << "\" y2=\"" << y << "\" stroke=\"" << event_colour(event.kind)
          << "\" stroke-opacity=\"0.35\"/><circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"5\" fill=\""
          << event_colour(event.kind) << "\"/><text x=\"" << kLabelX << "\" y=\"" << y + 4 << "\">"
          << esc(host::format_iso8601(event.at)) << "  " << esc(host::describe(event.kind)) << "</text></g>\n";
    }
    out << "</svg>\n";
  }
  out << "<table class=\"timeline\" id=\"timeline-" << index
      << "\">\n"
         "<tr><th>Time (UTC)</th><th>Event</th><th>File</th><th>Dated by</th></tr>\n";
  for (const host::TimelineEvent& event : events) {
    const std::string time = host::format_iso8601(event.at);
    out << "<tr data-kind=\"" << host::to_code(event.kind) << "\" data-time=\"" << esc(time) << "\"><td>" << esc(time)
        << "</td><td>" << esc(host::describe(event.kind)) << "</td><td class=\"path\">" << esc(event.path)
        << "</td><td>" << esc(event.source) << "</td></tr>\n";
  }
  out << "</table>\n";
  const host::InfectionSpread& spread = timeline.spread;
  if (spread.first && spread.last) {
    out << "<p class=\"spread\" data-files=\"" << spread.files << "\">" << spread.files << " programs infected from "
        << esc(host::format_iso8601(*spread.first)) << " to " << esc(host::format_iso8601(*spread.last))
        << "; per day:";
    for (const host::DayCount& day : spread.per_day) out << ' ' << esc(day.day) << ": " << day.files << ';';
    out << (spread.bursts.empty() ? " no burst." : "") << "</p>\n";
  }
  for (const host::InfectionBurst& burst : spread.bursts) {
    out << "<p class=\"burst\">Burst: " << burst.files << " files in " << burst.directories << " directories from "
        << esc(host::format_iso8601(burst.first)) << " to " << esc(host::format_iso8601(burst.last))
        << " (as FunLove's spread over network shares writes them)</p>\n";
  }
  if (spread.files_without_time > 0) {
    out << "<p class=\"untimed\">" << spread.files_without_time
        << " infected programs without an infection time (no NTFS MFT change time later than the write time)</p>\n";
  }
}

// The per-program and kernel tables the text and JSON reports have: every program that is not
// clean first, then the clean ones folded, and the kernel files.
void write_programs(std::ostream& out, const host::HostReport& host, std::size_t index) {
  out << "<div class=\"host-tables\">\n<div><h3>Programs (system32)</h3>\n<table class=\"programs\" id=\"programs-"
      << index << "\">\n<tr><th>Program</th><th>Status</th><th>Path</th></tr>\n";
  const auto row = [&out](const host::ProgramCheck& program) {
    out << "<tr data-program=\"" << esc(program.name) << "\" data-status=\"" << to_code(program.status) << "\"><td>"
        << esc(program.name) << (program.q317218_list ? "" : " *") << "</td><td class=\"status\">"
        << to_code(program.status) << "</td><td class=\"path\">" << esc(program.path) << "</td></tr>\n";
  };
  std::size_t clean = 0;
  for (const host::ProgramCheck& program : host.programs) {
    if (program.status == host::FileStatus::clean)
      ++clean;
    else
      row(program);
  }
  row(host.flcss);
  out << "</table>\n";
  if (clean > 0) {
    out << "<details><summary>" << clean << " clean programs</summary>\n<table class=\"programs\">\n";
    for (const host::ProgramCheck& program : host.programs)
      if (program.status == host::FileStatus::clean) row(program);
    out << "</table>\n</details>\n";
  }
  out << "<small>* not one of the 33 programs Q317218 names</small></div>\n";
  out << "<div><h3>Kernel and loader</h3>\n<table class=\"kernel\" id=\"kernel-" << index
      << "\">\n<tr><th>File</th><th>Status</th><th>Evidence</th></tr>\n";
  for (const host::KernelCheck& kernel : host.kernel) {
    out << "<tr data-kernel=\"" << esc(kernel.name) << "\" data-status=\"" << esc(kernel.status) << "\"><td>"
        << esc(kernel.name) << "<br><span class=\"path\">" << esc(kernel.path) << "</span></td><td class=\"status\">"
        << esc(kernel.status) << "</td><td>" << esc(kernel.evidence) << "</td></tr>\n";
  }
  out << "</table></div>\n</div>\n";
}

void write_host(std::ostream& out, const host::HostReport& host, std::size_t index) {
  out << "<section class=\"host\" id=\"host-" << index << "\">\n<h2>Q317218 report: <span class=\"path\">"
      << esc(host.install.windows_dir) << "</span></h2>\n";
  out << "<p id=\"verdict-" << index << "\" class=\"verdict\" data-verdict=\"" << to_code(host.verdict) << "\">"
      << esc(host.verdict_text) << "</p>\n";
  if (host.live) {
    // --live-report (issue 17): whether the live rows come from it, and why.
    out << "<p id=\"live-" << index << "\" class=\"live\" data-live=\"" << to_code(host.live->state) << "\">"
        << esc(host.live->report->label()) << ": " << to_code(host.live->state) << ", "
        << esc(host::describe(host.live->state)) << " (" << esc(host.live->reason) << ")";
    if (!host.live->incomplete_reason.empty()) out << ". " << esc(host.live->incomplete_reason);
    out << "</p>\n";
  }
  write_timeline(out, host.timeline, index);
  out << "<h3>Symptoms (Microsoft KB Q317218)</h3>\n<table class=\"symptoms\">\n"
         "<tr><th>Symptom</th><th>Status</th><th>Evidence</th><th>Meaning</th></tr>\n";
  for (const host::SymptomRow& row : host.symptoms) {
    out << "<tr data-symptom=\"" << esc(row.id) << "\" data-status=\"" << to_code(row.status) << "\"><td>"
        << esc(row.symptom) << "</td><td class=\"status\">" << to_code(row.status)
        << "</td><td><ul class=\"evidence\">";
    for (const std::string& line : row.evidence) out << "<li>" << esc(line) << "</li>";
    out << "</ul></td><td>" << esc(row.meaning) << "</td></tr>\n";
  }
  out << "</table>\n";
  write_programs(out, host, index);
  out << "<h3>Remediation</h3>\n<ol class=\"remediation\">\n";
  for (const std::string& step : host.remediation) out << "<li>" << esc(step) << "</li>\n";
  out << "</ol>\n";
  if (!host.errors.empty()) {
    out << "<h3>Host evidence that could not be read</h3>\n<ul class=\"errors\">\n";
    for (const std::string& error : host.errors) out << "<li>" << esc(error) << "</li>\n";
    out << "</ul>\n";
  }
  if (!host.notes.empty()) {
    out << "<h3>Notes on the evidence</h3>\n<ul class=\"notes\">\n";
    for (const std::string& note : host.notes) out << "<li>" << esc(note) << "</li>\n";
    out << "</ul>\n";
  }
  out << "</section>\n";
}

void write_findings(std::ostream& out, const ScanReport& report, const PrintSettings& settings) {
  out << "<h2>Files with findings</h2>\n";
  if (report.results.empty()) {
    out << "<p id=\"no-findings\">No file with findings.</p>\n";
    return;
  }
  // The Action column (--quarantine, --repair): what was done to the file, on each of its rows.
  const bool actions = std::any_of(report.results.begin(), report.results.end(),
                                   [](const FileResult& r) { return r.action.has_value(); });
  out << "<table class=\"findings\">\n<tr><th>Path</th><th>State</th><th>Severity</th><th>Evidence</th>"
      << (actions ? "<th>Action</th>" : "") << "</tr>\n";
  for (const FileResult& result : report.results) {
    // When the structural detector spoke, signature matches only corroborate it: folded under its
    // row (a <details>, no script), as the text report folds them (-v lists them as rows).
    const bool detector_spoke = !result.findings.empty() && result.findings.front().kind != FindingKind::signature;
    std::string corroborating;
    for (const Finding& finding : result.findings) {
      if (detector_spoke && finding.kind == FindingKind::signature && !settings.verbose &&
          !(settings.infected_only && finding.severity != Severity::infection))
        corroborating +=
            "<li>" + esc(finding.name) + (finding.evidence.empty() ? "" : ": ") + esc(finding.evidence) + "</li>";
    }
    bool first_row = true;
    for (const Finding& finding : result.findings) {
      if (settings.infected_only && finding.severity != Severity::infection) continue;
      if (detector_spoke && finding.kind == FindingKind::signature && !settings.verbose) continue;
      const std::string severity(to_string(finding.severity));
      out << "<tr data-state=\"" << to_string(finding.kind) << "\" data-severity=\"" << severity << '"';
      if (result.action) out << " data-action=\"" << to_code(result.action->result) << '"';
      out << "><td class=\"path\">" << esc(result.path) << "</td><td>" << to_string(finding.kind) << "</td><td class=\""
          << severity << "\">" << severity << "</td><td>" << esc(finding.name) << (finding.evidence.empty() ? "" : ": ")
          << esc(finding.evidence) << "<br><small>sha256 <code>" << esc(result.sha256) << "</code>, " << result.size
          << " bytes</small>";
      if (first_row && !corroborating.empty())
        out << "<details class=\"signatures\"><summary>signatures also matched</summary><ul>" << corroborating
            << "</ul></details>";
      if (first_row && result.times && strongest_finding(result).severity == Severity::infection) {
        if (const auto when = host::infection_time(*result.times))
          out << "<br><span class=\"infected-at\" data-time=\"" << esc(host::format_iso8601(when->at)) << "\" title=\""
              << esc(when->reasoning) << "\">infected at about " << esc(host::format_iso8601(when->at)) << "</span>";
      }
      first_row = false;
      out << "</td>";
      if (actions)
        out << "<td class=\"action\">" << (result.action ? esc(describe_action(*result.action)) : std::string())
            << "</td>";
      out << "</tr>\n";
    }
  }
  out << "</table>\n";
}

void write_not_scanned(std::ostream& out, const ScanReport& report) {
  out << "<h2>Not scanned</h2>\n";
  if (report.not_scanned.empty()) {
    out << "<p id=\"all-scanned\">Every file found was scanned.</p>\n";
    return;
  }
  // These entries may hold evidence flscan did not see: listed, never counted as clean.
  out << "<ul class=\"not-scanned\">\n";
  for (const NotScannedEntry& entry : report.not_scanned) {
    out << "<li data-reason=\"" << to_code(entry.reason) << "\"><span class=\"path\">" << esc(entry.path)
        << "</span>: " << describe(entry.reason) << (entry.detail.empty() ? "" : ": ") << esc(entry.detail)
        << "</li>\n";
  }
  out << "</ul>\n";
}

// Disk images (scanner/image/): what each volume held and whether it was read, as the text
// report's Volume: lines.
void write_volumes(std::ostream& out, const ScanReport& report) {
  if (report.volumes.empty()) return;
  out << "<h2>Disk image volumes</h2>\n<table class=\"volumes\">\n"
         "<tr><th>Volume</th><th>Status</th><th>Filesystem</th><th>Offset</th><th>Bytes</th><th>Notes</th></tr>\n";
  for (const ImageVolume& volume : report.volumes) {
    std::string notes = esc(volume.partition_type);
    if (!volume.decrypted_with.empty())
      notes += (notes.empty() ? "" : "; ") + ("decrypted with " + esc(volume.decrypted_with));
    if (volume.status == VolumeStatus::error)
      notes += (notes.empty() ? "" : "; ") + std::string(to_code(volume.reason));
    if (!volume.detail.empty()) notes += (notes.empty() ? "" : ": ") + esc(volume.detail);
    if (!volume.host_error.empty())
      notes += (notes.empty() ? "" : "; ") + ("host evidence not read: " + esc(volume.host_error));
    if (volume.image_files.size() > 1) {  // a parent chain or split segments (issue 15)
      notes += (notes.empty() ? "" : "; ") + esc(volume.image_format) + " made of";
      for (std::size_t i = 0; i < volume.image_files.size(); ++i)
        notes += (i == 0 ? " " : " + ") + esc(volume.image_files[i]);
    }
    out << "<tr data-status=\"" << to_code(volume.status) << "\""
        << (volume.host_error.empty() ? "" : " data-host-error=\"1\"") << "><td class=\"path\">" << esc(volume.path())
        << "</td><td>" << to_code(volume.status) << "</td><td>" << esc(volume.filesystem) << "</td><td>"
        << volume.offset << "</td><td>" << volume.length << "</td><td>" << notes << "</td></tr>\n";
  }
  out << "</table>\n";
}

void write_summary(std::ostream& out, const ScanReport& report, const PrintSettings& settings) {
  const ReportMeta& meta = settings.meta;
  const ScanCounters& c = report.counters;
  out << "<h2>Summary</h2>\n<table class=\"summary\">\n";
  const auto line = [&out](std::string_view name, const std::string& value) {
    out << "<tr><th>" << name << "</th><td>" << value << "</td></tr>\n";
  };
  std::string roots;
  for (const std::string& root : report.roots) roots += (roots.empty() ? "" : "<br>") + esc(root);
  line("Scanned", roots);
  line("Files found", std::to_string(c.files_seen) + " in " + std::to_string(c.directories) + " directories");
  line("Files read", std::to_string(c.files_examined) + " (" + std::to_string(c.files_scanned_whole) + " whole)");
  line("Files with FunLove evidence", std::to_string(c.infected_files));
  line("Files with notes only", std::to_string(c.files_with_findings - c.infected_files));
  line("Not scanned", std::to_string(c.not_scanned_total() + c.lost_reports));
  line("Skipped", std::to_string(c.skipped_total()));
  if (const std::string actions = action_summary(report); !actions.empty()) line("Quarantine", actions);
  line("Exit code", std::to_string(exit_code(report, settings.fail_on)));
  line("flscan", esc(meta.flscan_version) + ", " + std::to_string(meta.signature_count) + " signatures");
  out << "</table>\n";
}

}  // namespace

std::string escape_for_html(std::string_view bytes) {
  const std::string text = escape_for_terminal(bytes);
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

void write_html_report(std::ostream& out, const ScanReport& report, const PrintSettings& settings) {
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>flscan report</title>\n<style>"
      << kStyle << "</style>\n</head>\n<body>\n<h1>flscan report: W32.FunLove.4099</h1>\n";
  write_overview(out, report, settings);
  if (report.hosts.empty()) {
    out << "<p id=\"no-windows\" class=\"verdict\" data-verdict=\"none\">No Windows installation was found under the "
           "scanned paths (a WINNT or WINDOWS directory with system32/config/SYSTEM); no Q317218 report. Use "
           "--windows-root DIR to name one.</p>\n";
  }
  for (std::size_t i = 0; i < report.hosts.size(); ++i) write_host(out, report.hosts[i], i);
  if (report.live_processes) {
    out << "<h2>Running processes named flcss.exe (--live)</h2>\n<ul id=\"live-processes\">\n";
    if (report.live_processes->empty()) out << "<li>none</li>\n";
    for (const host::LiveProcess& process : *report.live_processes) {
      out << "<li data-pid=\"" << process.pid << "\">" << esc(host::describe(process)) << "</li>\n";
    }
    out << "</ul>\n";
  }
  if (report.live_report) {
    const host::LiveReport& live = *report.live_report;
    out << "<h2>Live report (--live-report)</h2>\n<p id=\"live-report\" data-incomplete=\""
        << (report.live_report_incomplete() ? "yes" : "no") << "\">" << esc(live.label()) << ", flscan-live "
        << esc(live.tool_version) << " (" << esc(live.tool_architecture) << "), computer "
        << esc(live.computer_name.value_or("(unknown)")) << ", Windows directory "
        << esc(live.windows_directory.value_or("(unknown)")) << ": " << esc(report.live_report_state()) << "</p>\n";
  }
  write_findings(out, report, settings);
  write_not_scanned(out, report);
  write_volumes(out, report);
  write_summary(out, report, settings);
  out << "</body>\n</html>\n";
}

}  // namespace flscan::scanner
