// flscan merge: the JSON reports of the N shards of one `--shard K/N` scan (shard.h), combined
// into the report a single full scan would have written: the same findings, NOT SCANNED entries,
// Q317218 host reports and exit code, printed by the usual printers (text on stdout, --json,
// --sarif, --html).
//
// How the parts combine (every shard walked every directory, but read only its own files):
//  - results, skipped entries and the inventory are disjoint between shards: concatenated;
//  - a NOT SCANNED entry the walk produced (a PATH that does not exist, a directory that cannot
//    be listed, a loop...) is reported by every shard: each distinct entry is kept as many times
//    as the one shard that listed it most often did (once, normally), so nothing is counted
//    twice and nothing one shard saw is lost;
//  - counters are summed (each shard counts only its own files, skipped entries and directories),
//    NOT SCANNED counts are recounted from the merged list, the elapsed time is the longest
//    shard's;
//  - per Windows installation, the hive and event-log evidence (read by every shard) is taken
//    from the shard with the fewest host errors, each checked file's status from the shard that
//    owns it (the others say "other-shard"), and the symptom rows, verdict and remediation are
//    derived again from that evidence and the merged file results (host::derive_host_report).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "scanner/report/report_json_read.h"

namespace flscan::scanner {

// One shard report and the file it came from (for error messages).
struct ShardReport {
  std::string file;
  ReadReport read;
};

// Checks that `shards` are exactly the N shards of one scan (same flscan and signatures, same
// PATHs and options, each K once) and merges them as described above. The error names the
// files at fault.
[[nodiscard]] tl::expected<ReadReport, std::string> merge_shard_reports(std::vector<ShardReport> shards);

// `flscan merge [--json FILE|-] [--sarif FILE|-] [--html FILE] [--fail-on LIST] REPORT.json...`
// (argv[0] is "merge"). Returns the exit code the full scan would have had (2 on a usage error
// or a set of reports that cannot be merged).
int run_merge_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace flscan::scanner
