#include "scanner/report/report.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace flscan::scanner {

namespace {
// Saturating: counters summed from crafted shard reports (flscan merge) must never wrap around,
// which could turn a count of lost or NOT SCANNED entries into zero, so a complete-looking scan.
void add_to(std::uint64_t& sum, std::uint64_t more) {
  if (__builtin_add_overflow(sum, more, &sum)) sum = std::numeric_limits<std::uint64_t>::max();
}
}  // namespace

ScanCounters& ScanCounters::operator+=(const ScanCounters& other) {
  add_to(files_seen, other.files_seen);
  add_to(files_examined, other.files_examined);
  add_to(files_scanned_whole, other.files_scanned_whole);
  add_to(directories, other.directories);
  add_to(pe_files, other.pe_files);
  add_to(mz_files, other.mz_files);
  add_to(bytes_read, other.bytes_read);
  add_to(files_with_findings, other.files_with_findings);
  add_to(infected_files, other.infected_files);
  add_to(match_cap_hits, other.match_cap_hits);
  add_to(lost_reports, other.lost_reports);
  add_to(files_in_other_shards, other.files_in_other_shards);
  for (std::size_t i = 0; i < findings_by_kind.size(); ++i) add_to(findings_by_kind[i], other.findings_by_kind[i]);
  for (std::size_t i = 0; i < not_scanned_by_reason.size(); ++i)
    add_to(not_scanned_by_reason[i], other.not_scanned_by_reason[i]);
  for (std::size_t i = 0; i < skipped_by_reason.size(); ++i) add_to(skipped_by_reason[i], other.skipped_by_reason[i]);
  return *this;
}

std::uint64_t ScanCounters::not_scanned_total() const {
  std::uint64_t total = 0;
  for (const std::uint64_t count : not_scanned_by_reason) add_to(total, count);
  return total;
}

std::uint64_t ScanCounters::skipped_total() const {
  std::uint64_t total = 0;
  for (const std::uint64_t count : skipped_by_reason) add_to(total, count);
  return total;
}

bool ScanReport::complete() const { return counters.not_scanned_total() == 0 && counters.lost_reports == 0; }

bool ScanReport::run_complete() const {
  return complete() && !host_errors() && !actions_failed() && !live_report_incomplete();
}

bool ScanReport::live_report_incomplete() const {
  if (!live_report) return false;
  const bool applied = std::any_of(hosts.begin(), hosts.end(), [](const host::HostReport& h) {
    return h.live && h.live->state == host::LiveJoinState::applied;
  });
  return !applied || std::any_of(hosts.begin(), hosts.end(), [](const host::HostReport& h) {
    return h.live && !h.live->incomplete_reason.empty();
  });
}

std::string ScanReport::live_report_state() const {
  if (!live_report) return {};
  if (hosts.empty()) return "not applied: no Windows installation was found in this scan";
  for (const host::HostReport& h : hosts) {
    if (h.live && h.live->state == host::LiveJoinState::applied) return "applied to " + h.install.windows_dir;
  }
  const bool ambiguous = std::any_of(hosts.begin(), hosts.end(), [](const host::HostReport& h) {
    return h.live && h.live->state == host::LiveJoinState::ambiguous;
  });
  return "not applied: " +
         std::string(host::describe(ambiguous ? host::LiveJoinState::ambiguous : host::LiveJoinState::unmatched));
}

bool ScanReport::flc_service_found() const {
  return std::any_of(hosts.begin(), hosts.end(), [](const host::HostReport& h) { return h.flc_service_found(); });
}

bool ScanReport::host_errors() const {
  return std::any_of(hosts.begin(), hosts.end(), [](const host::HostReport& h) { return !h.errors.empty(); }) ||
         std::any_of(volumes.begin(), volumes.end(), [](const ImageVolume& v) { return !v.host_error.empty(); });
}

ScanReport::ImageCounts ScanReport::image_counts() const {
  std::vector<const std::string*> images;
  for (const ImageVolume& volume : volumes) {
    if (images.empty() || *images.back() != volume.image) images.push_back(&volume.image);
  }
  ImageCounts counts;
  counts.opened = images.size();
  counts.in_directories =
      static_cast<std::uint64_t>(std::count_if(images.begin(), images.end(), [this](const std::string* image) {
        return std::find(roots.begin(), roots.end(), *image) == roots.end();
      }));
  return counts;
}

bool ScanReport::actions_failed() const {
  return std::any_of(results.begin(), results.end(),
                     [](const FileResult& r) { return r.action && r.action->result == ActionResult::left_in_place; });
}

bool ScanReport::suspicious_found() const {
  return std::any_of(results.begin(), results.end(), [](const FileResult& r) {
    return std::any_of(r.findings.begin(), r.findings.end(),
                       [](const Finding& f) { return f.severity == Severity::suspicious; });
  });
}

bool ScanReport::operand_missing() const {
  return counters.not_scanned_by_reason[static_cast<std::size_t>(NotScannedReason::not_found)] > 0;
}

int exit_code(const ScanReport& report, const FailOn& fail_on) {
  if (fail_on.infected && (report.infection_found() || report.flc_service_found())) return kExitInfected;
  if (fail_on.suspicious && report.suspicious_found()) return kExitInfected;
  // A mistyped PATH must not pass a pipeline that only fails on infections.
  if (report.operand_missing()) return kExitIncomplete;
  if (fail_on.incomplete && !report.run_complete()) return kExitIncomplete;
  return kExitClean;
}

std::array<std::uint64_t, kEnumCount<ActionResult>> action_counts(const ScanReport& report) {
  std::array<std::uint64_t, kEnumCount<ActionResult>> counts{};
  for (const FileResult& result : report.results) {
    if (result.action) ++counts[static_cast<std::size_t>(result.action->result)];
  }
  return counts;
}

std::string action_summary(const ScanReport& report) {
  const auto counts = action_counts(report);
  if (std::all_of(counts.begin(), counts.end(), [](std::uint64_t n) { return n == 0; })) return {};
  std::string text;
  for (const EnumRow<ActionResult>& row : kActionResults) {
    if (!text.empty()) text += ", ";
    text += std::to_string(counts[static_cast<std::size_t>(row.value)]) + " " + std::string(row.description);
  }
  return text;
}

const Finding& strongest_finding(const FileResult& result) {
  return *std::min_element(result.findings.begin(), result.findings.end(), [](const Finding& a, const Finding& b) {
    if (a.severity != b.severity) return static_cast<int>(a.severity) < static_cast<int>(b.severity);
    return stronger(a.kind, b.kind);
  });
}

namespace {
template <typename Entry, typename Key>
void sort_by(std::vector<Entry>& entries, Key key) {
  std::sort(entries.begin(), entries.end(), [&key](const Entry& a, const Entry& b) { return key(a) < key(b); });
}
}  // namespace

void sort_entries(ScanReport& report) {
  sort_by(report.results, [](const FileResult& r) { return std::tie(r.path, r.size); });
  sort_by(report.not_scanned, [](const NotScannedEntry& e) { return std::tie(e.path, e.reason, e.detail); });
  sort_by(report.skipped, [](const SkippedEntry& e) { return std::tie(e.path, e.reason, e.detail); });
  sort_by(report.inventory, [](const InventoryEntry& e) { return std::tie(e.path, e.size); });
}

namespace {

RootKind inferred_root_kind(const ScanReport& report, const std::string& root) {
  for (const ImageVolume& volume : report.volumes) {
    if (volume.image == root) return RootKind::image;
  }
  for (const NotScannedEntry& entry : report.not_scanned) {
    if (entry.path != root) continue;
    switch (entry.reason) {
      case NotScannedReason::not_found:
        return RootKind::missing;
      case NotScannedReason::special_file:
        return RootKind::special;
      case NotScannedReason::unlistable_directory:
      case NotScannedReason::loop:
      case NotScannedReason::too_deep:
        return RootKind::directory;
      default:
        return RootKind::file;
    }
  }
  const auto names_root = [&root](const auto& entry) { return entry.path == root; };
  if (std::any_of(report.results.begin(), report.results.end(), names_root) ||
      std::any_of(report.inventory.begin(), report.inventory.end(), names_root)) {
    return RootKind::file;
  }
  return RootKind::directory;
}

}  // namespace

RootFacts root_facts_of(const ScanReport& report, std::size_t index) {
  if (index < report.root_facts.size()) return report.root_facts[index];
  const std::string& root = report.roots.at(index);
  return RootFacts{root.starts_with('/') ? root : std::string(), inferred_root_kind(report, root)};
}

}  // namespace flscan::scanner
