// What the Q317218 host stage reads of the finished file scan (issue 14): the facts it needs about
// files by path, not the report that holds them. The host stage never scans a file; it looks up
// what the scan said. The report room implements this from a ScanReport and its --shard
// (scanner/report/scan_report_facts.h), so host/ includes nothing above it; a test may implement
// it directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/finding.h"
#include "scanner/host/file_times.h"

namespace flscan::host {

// The key two spellings of one path are compared by: lexically normal, without a trailing '/',
// ASCII lower case (Windows names are case-insensitive; the scan root's own spelling is kept by
// both sides). "." and "" give "".
[[nodiscard]] std::string path_key(std::string_view path);

// A file the scan found infection evidence in: its path as the scan reported it and its state
// (the strongest finding's kind).
struct InfectedFile {
  std::string path;
  FindingKind state = FindingKind::infected;
  std::optional<FileTimes> times{};  // as the scan recorded them (issue 20); nullopt when it has none
};

// --shard K/N with N > 1: the part of the files this scan read.
struct ShardPart {
  std::uint32_t n = 1;  // how many shards the files are split into
  std::string name;     // "K/N"
};

class ScanFacts {
 public:
  virtual ~ScanFacts() = default;

  // The strongest finding the scan reported for the file at `path` (paths compared by path_key),
  // or nullptr when it reported none (a clean file, or one it did not read: see unscanned).
  [[nodiscard]] virtual const Finding* strongest_finding(const std::string& path) const = 0;

  // True when the file at `path`, or a directory above it, could not be scanned or was skipped,
  // or when neither a PATH of the scan nor `scanned_root` covers it. `scanned_root`, when not
  // empty, counts as scanned too: a volume of a scanned disk image ("IMAGE:pN") is not itself one
  // of the scan's PATHs.
  [[nodiscard]] virtual bool unscanned(const std::string& path, const std::string& scanned_root) const = 0;

  // --shard: true when another shard owns the file at `path` (scanner/report/shard.h), so this
  // scan did not read it. Always false for a whole scan.
  [[nodiscard]] virtual bool in_other_shard(const std::string& path) const = 0;

  // Every file with an infection-severity finding, in the scan's order (by path).
  [[nodiscard]] virtual const std::vector<InfectedFile>& infected_files() const = 0;

  // True when every entry the scan found was scanned (nothing NOT SCANNED, no lost report).
  [[nodiscard]] virtual bool complete() const = 0;

  // The part this scan read under --shard K/N with N > 1; nullopt for a whole scan (and for the
  // report `flscan merge` puts together from all shards).
  [[nodiscard]] virtual std::optional<ShardPart> shard() const = 0;
};

}  // namespace flscan::host
