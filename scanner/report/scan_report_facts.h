// The facts of a finished scan that the Q317218 host stage reads (host::ScanFacts, issue 14), from
// the ScanReport: its results, NOT SCANNED and skipped entries and PATHs looked up by path, and
// its --shard. The host stage sees these facts only, so host/ includes nothing of the report.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "scanner/host/scan_facts.h"
#include "scanner/report/report.h"
#include "scanner/report/shard.h"

namespace flscan::scanner {

// Indexes `scan` once (paths by host::path_key). Holds pointers into scan.results: `scan` must
// outlive it, and its results, not_scanned, skipped, roots and shard must not change meanwhile
// (its hosts may: the host stage fills them).
class ScanReportFacts final : public host::ScanFacts {
 public:
  explicit ScanReportFacts(const ScanReport& scan);

  [[nodiscard]] const Finding* strongest_finding(const std::string& path) const override;
  [[nodiscard]] bool unscanned(const std::string& path, const std::string& scanned_root) const override;
  [[nodiscard]] bool in_other_shard(const std::string& path) const override;
  [[nodiscard]] const std::vector<host::InfectedFile>& infected_files() const override;
  [[nodiscard]] bool complete() const override;
  [[nodiscard]] std::optional<host::ShardPart> shard() const override;

 private:
  std::unordered_map<std::string, const FileResult*> results_;  // by path_key
  std::unordered_set<std::string> unscanned_;                   // path_keys of NOT SCANNED and skipped entries
  std::vector<std::string> root_keys_;                          // path_keys of the PATHs
  std::vector<std::string> roots_;                              // the PATHs as given (shard keys are their bytes)
  std::optional<Shard> shard_;
  std::vector<host::InfectedFile> infected_;
  bool complete_ = false;
};

}  // namespace flscan::scanner
