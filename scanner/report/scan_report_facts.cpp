#include "scanner/report/scan_report_facts.h"

#include <algorithm>
#include <filesystem>

namespace flscan::scanner {
namespace fs = std::filesystem;

ScanReportFacts::ScanReportFacts(const ScanReport& scan)
    : roots_(scan.roots), shard_(scan.shard), complete_(scan.complete()) {
  for (const FileResult& result : scan.results) {
    results_.emplace(host::path_key(result.path), &result);
    const Finding& strongest = scanner::strongest_finding(result);
    if (strongest.severity == Severity::infection) infected_.push_back({result.path, strongest.kind, result.times});
  }
  for (const NotScannedEntry& entry : scan.not_scanned) unscanned_.insert(host::path_key(entry.path));
  for (const SkippedEntry& entry : scan.skipped) unscanned_.insert(host::path_key(entry.path));
  for (const std::string& root : scan.roots) root_keys_.push_back(host::path_key(root));
}

const Finding* ScanReportFacts::strongest_finding(const std::string& path) const {
  const auto it = results_.find(host::path_key(path));
  return it == results_.end() ? nullptr : &scanner::strongest_finding(*it->second);
}

bool ScanReportFacts::unscanned(const std::string& path, const std::string& scanned_root) const {
  const std::string scanned_root_key = scanned_root.empty() ? std::string() : host::path_key(scanned_root);
  bool covered = false;
  // The file's key, then each directory above it up to the top.
  for (std::string at = host::path_key(path);; at = fs::path(at).parent_path().generic_string()) {
    if (unscanned_.count(at) > 0) return true;
    if (std::find(root_keys_.begin(), root_keys_.end(), at) != root_keys_.end()) covered = true;
    if (!scanned_root.empty() && at == scanned_root_key) covered = true;
    if (at.empty() || at == "/" || at == "." || fs::path(at).parent_path().generic_string() == at) break;
  }
  return !covered;
}

bool ScanReportFacts::in_other_shard(const std::string& path) const {
  if (!shard_) return false;
  // Its key below the first PATH that covers it (shard.h).
  for (const std::string& root : roots_) {
    if (auto key = key_below(path, root)) return !in_shard(*key, *shard_);
  }
  // The same file spelled another way (--windows-root ./snap/WINNT with PATH snap): compare the
  // lexically normal forms, keeping case, since the shard key is the walker's bytes.
  const std::string normal_path = fs::path(path).lexically_normal().generic_string();
  for (const std::string& root : roots_) {
    std::string normal_root = fs::path(root).lexically_normal().generic_string();
    while (normal_root.size() > 1 && normal_root.back() == '/') normal_root.pop_back();
    if (auto key = key_below(normal_path, normal_root)) return !in_shard(*key, *shard_);
  }
  return false;
}

const std::vector<host::InfectedFile>& ScanReportFacts::infected_files() const { return infected_; }

bool ScanReportFacts::complete() const { return complete_; }

std::optional<host::ShardPart> ScanReportFacts::shard() const {
  if (!shard_ || shard_->n <= 1) return std::nullopt;
  return host::ShardPart{shard_->n, to_string(*shard_)};
}

}  // namespace flscan::scanner
