#include "scanner/app/merge.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <ostream>
#include <system_error>
#include <tuple>

#include <CLI/CLI.hpp>

#include "scanner/app/output_options.h"
#include "scanner/host/host_report.h"
#include "scanner/report/report_file.h"
#include "scanner/report/scan_report_facts.h"
#include "scanner/report/text_encoding.h"

namespace flscan::scanner {
namespace {

constexpr const char* kMergeDescription =
    "flscan merge: combine the JSON reports of the N shards of one scan (flscan --shard K/N\n"
    "--json FILE, K = 1..N) into the report a single full scan would have written: the same\n"
    "findings, NOT SCANNED entries, Q317218 verdicts and symptoms, and exit code.";

constexpr const char* kMergeFooter =
    R"(The reports must be the N shards of one scan: the same flscan version and signatures,
the same PATHs and options (threads aside), each K from 1 to N exactly once. A missing
or duplicate shard, or a report of another scan, stops the merge (exit code 2) with the
files at fault named: a merged report never silently covers less than the whole tree. So
does a report holding what flscan never writes (a sha256 that is not 64 lower-case hex
digits, a program name with control characters, a key given twice): file, key and entry
are named (scanner/JSON.md).

Counters, verdicts and the exit code are derived from the merged entries (results, NOT
SCANNED entries, host evidence), never taken from the shards' summaries.

Per Windows installation, the SYSTEM hive and SysEvent.Evt evidence (read by every shard)
is taken from the shard with the fewest host errors; each program, kernel and ImagePath
file takes the status the shard owning it saw; the symptoms, verdict and remediation are
then derived again from the merged data, exactly as a full scan derives them.

The text report goes to stdout (unless --json - or --sarif -); the options that shape it
(-v, --brief, -i, -q, --inventory) are those the shards ran with.

Exit codes: those of the full scan (0 clean, 1 FunLove evidence, 2 incomplete) for
--fail-on LIST (default: the list the shards ran with); 2 when the reports cannot be read
or merged.

Example (8 shards, then the merge):
  for k in 1 2 3 4 5 6 7 8; do flscan --shard $k/8 --json s$k.json /mnt/snap; done
  flscan merge --json full.json --sarif full.sarif s*.json)";

// The options that must agree between shards: all but the thread count.
nlohmann::json comparable_options(const nlohmann::json& options) {
  nlohmann::json copy = options;
  copy.erase("threads");
  return copy;
}

std::string file_list(const std::vector<const ShardReport*>& shards) {
  std::string text;
  for (const ShardReport* shard : shards) text += (text.empty() ? "" : ", ") + escape_path_for_terminal(shard->file);
  return text;
}

// Regular files a shard's walk found, its own and the other shards' (saturating: crafted input).
std::uint64_t files_found(const ScanCounters& counters) {
  std::uint64_t total = 0;
  if (__builtin_add_overflow(counters.files_seen, counters.files_in_other_shards, &total)) {
    return std::numeric_limits<std::uint64_t>::max();
  }
  return total;
}

// `shard` is a shard of the scan `first` is a shard of: the same N, flscan, signatures, PATHs,
// options, installations, volumes and tree, and --live in both or neither.
tl::expected<void, std::string> check_same_scan(const ShardReport& first, const ShardReport& shard) {
  const std::uint32_t n = first.read.report.shard->n;
  const std::string pair = escape_path_for_terminal(first.file) + " and " + escape_path_for_terminal(shard.file);
  if (shard.read.report.shard->n != n) {
    return tl::make_unexpected("shard counts differ: " + to_string(*first.read.report.shard) + " in " +
                               escape_path_for_terminal(first.file) + ", " + to_string(*shard.read.report.shard) +
                               " in " + escape_path_for_terminal(shard.file));
  }
  if (shard.read.settings.meta.flscan_version != first.read.settings.meta.flscan_version) {
    return tl::make_unexpected("written by different flscan versions: " + pair);
  }
  if (shard.read.signatures_json != first.read.signatures_json) {
    return tl::make_unexpected("scanned with different signature sets: " + pair);
  }
  if (shard.read.report.roots != first.read.report.roots)
    return tl::make_unexpected("different PATHs scanned: " + pair);
  if (comparable_options(shard.read.options_json) != comparable_options(first.read.options_json)) {
    return tl::make_unexpected("scanned with different options: " + pair);
  }
  if (shard.read.report.hosts.size() != first.read.report.hosts.size()) {
    return tl::make_unexpected("found different Windows installations: " + pair);
  }
  for (std::size_t i = 0; i < first.read.report.hosts.size(); ++i) {
    const host::HostReport& a = first.read.report.hosts[i];
    const host::HostReport& b = shard.read.report.hosts[i];
    bool same = a.install.windows_dir == b.install.windows_dir && a.programs.size() == b.programs.size() &&
                a.kernel.size() == b.kernel.size() && a.service_images.size() == b.service_images.size();
    for (std::size_t j = 0; same && j < a.programs.size(); ++j) same = a.programs[j].name == b.programs[j].name;
    for (std::size_t j = 0; same && j < a.kernel.size(); ++j) same = a.kernel[j].name == b.kernel[j].name;
    for (std::size_t j = 0; same && j < a.service_images.size(); ++j) {
      same = a.service_images[j].service == b.service_images[j].service;
    }
    if (!same) return tl::make_unexpected("found different Windows installations: " + pair);
  }
  // The same volumes: the same partitions of the same images, made of the same files (a parent
  // chain or split set found differently read another disk; a shard that could not open a
  // filesystem still lists it, with status error, so the filesystem is not compared).
  const auto& va = first.read.report.volumes;
  const auto& vb = shard.read.report.volumes;
  bool same_volumes = va.size() == vb.size();
  for (std::size_t i = 0; same_volumes && i < va.size(); ++i) {
    same_volumes = va[i].image == vb[i].image && va[i].name == vb[i].name && va[i].offset == vb[i].offset &&
                   va[i].length == vb[i].length && va[i].image_files == vb[i].image_files;
  }
  if (!same_volumes) return tl::make_unexpected("found different disk image volumes: " + pair);
  // Every shard walks the whole tree: the files it owns plus those it leaves to the others must
  // be the same count everywhere, or the tree changed between the runs and a file may have been
  // scanned by no shard (created after its owner had passed, or renamed into another's share).
  const std::uint64_t seen_first = files_found(first.read.report.counters);
  const std::uint64_t seen_here = files_found(shard.read.report.counters);
  if (seen_here != seen_first) {
    return tl::make_unexpected(
        "the scanned tree changed between the shard runs: " + escape_path_for_terminal(first.file) + " found " +
        std::to_string(seen_first) + " files, " + escape_path_for_terminal(shard.file) + " found " +
        std::to_string(seen_here) +
        " (files_seen + files_in_other_shards), so a file may have been scanned by no shard; "
        "scan a snapshot (a disk image or a read-only mount) or a tree that does not change");
  }
  if (shard.read.report.live_processes.has_value() != first.read.report.live_processes.has_value()) {
    return tl::make_unexpected("--live in some shards only: " + pair);
  }
  // --live-report (issue 17): every shard joined the same document, or the live rows would
  // depend on which shard's hosts were kept.
  const auto& live_a = first.read.report.live_report;
  const auto& live_b = shard.read.report.live_report;
  if (static_cast<bool>(live_a) != static_cast<bool>(live_b)) {
    return tl::make_unexpected("--live-report in some shards only: " + pair);
  }
  if (live_a && live_a->document != live_b->document) {
    return tl::make_unexpected("scanned with different live reports (--live-report): " + pair);
  }
  return {};
}

tl::expected<void, std::string> validate(const std::vector<ShardReport>& shards) {
  if (shards.empty()) return tl::make_unexpected("no report given");
  for (const ShardReport& shard : shards) {
    if (!shard.read.report.shard) {
      return tl::make_unexpected(escape_path_for_terminal(shard.file) +
                                 " is not a shard report (it was written without --shard)");
    }
  }
  const ShardReport& first = shards.front();
  const std::uint32_t n = first.read.report.shard->n;
  for (const ShardReport& shard : shards) {
    if (auto same = check_same_scan(first, shard); !same) return same;
  }
  std::vector<std::vector<const ShardReport*>> by_k(n + 1);
  for (const ShardReport& shard : shards) by_k[shard.read.report.shard->k].push_back(&shard);
  std::string duplicates;
  std::string missing;
  std::size_t missing_count = 0;
  for (std::uint32_t k = 1; k <= n; ++k) {
    if (by_k[k].size() > 1) {
      duplicates += (duplicates.empty() ? "" : "; ") + std::string("shard ") + std::to_string(k) + "/" +
                    std::to_string(n) + " more than once: " + file_list(by_k[k]);
    }
    if (by_k[k].empty()) {
      if (++missing_count <= 20) missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(n);
    }
  }
  if (!duplicates.empty()) return tl::make_unexpected(duplicates);
  if (missing_count > 0) {
    if (missing_count > 20) missing += " and " + std::to_string(missing_count - 20) + " more";
    return tl::make_unexpected("missing shard" + std::string(missing_count == 1 ? " " : "s ") + missing + " (" +
                               std::to_string(shards.size()) + " of " + std::to_string(n) +
                               " reports given): run the missing shards and merge all of them");
  }
  return {};
}

// Each distinct NOT SCANNED entry as many times as the shard that listed it most often.
std::vector<NotScannedEntry> merge_not_scanned(const std::vector<ShardReport>& shards) {
  using Key = std::tuple<std::string, NotScannedReason, std::string>;
  std::map<Key, std::size_t> most;
  for (const ShardReport& shard : shards) {
    std::map<Key, std::size_t> here;
    for (const NotScannedEntry& entry : shard.read.report.not_scanned)
      ++here[Key{entry.path, entry.reason, entry.detail}];
    for (const auto& [key, count] : here) most[key] = std::max(most[key], count);
  }
  std::vector<NotScannedEntry> out;
  for (const auto& [key, count] : most) {
    for (std::size_t i = 0; i < count; ++i)
      out.push_back(NotScannedEntry{std::get<0>(key), std::get<1>(key), std::get<2>(key)});
  }
  return out;
}

// The finding counters, and with them the verdict and exit code, come from the merged results,
// never from what the shards' summaries claim (issue 13, item 7): a shard whose summary says
// infected_files 0 beside an infected result merges to exit code 1, and one whose summary claims
// infections it does not list merges to what its results show. The other summary counters
// (files seen, bytes read, ...) describe work no entry records and are summed; lost_reports can
// only make the merged scan incomplete, never clean.
void count_findings(ScanReport& report) {
  ScanCounters& c = report.counters;
  c.files_with_findings = report.results.size();
  c.infected_files = 0;
  c.findings_by_kind.fill(0);
  for (const FileResult& result : report.results) {
    bool infection = false;
    for (const Finding& finding : result.findings) {
      ++c.findings_by_kind[static_cast<std::size_t>(finding.kind)];
      infection = infection || finding.severity == Severity::infection;
    }
    if (infection) ++c.infected_files;
  }
}

// One checked file from the shard that owns it (the others say other-shard); when no shard does
// (cannot happen in a complete set), the first shard's.
template <typename Get, typename Other>
auto owner_value(const std::vector<ShardReport>& shards, Get get, Other other) {
  for (const ShardReport& shard : shards) {
    if (!other(get(shard))) return get(shard);
  }
  return get(shards.front());
}

bool program_other(const host::ProgramCheck& check) { return check.status == host::FileStatus::other_shard; }
bool kernel_other(const host::KernelCheck& check) {
  return check.status == host::to_code(host::FileStatus::other_shard);
}
bool image_other(const host::ServiceImageCheck& check) { return check.status == host::FileStatus::other_shard; }

host::HostReport merge_host(const std::vector<ShardReport>& shards, std::size_t index, const ScanReport& merged,
                            const host::ScanFacts& facts) {
  // The evidence read by every shard: from the one with the fewest host errors (lowest K on ties).
  const ShardReport* best = &shards.front();
  for (const ShardReport& shard : shards) {
    if (shard.read.report.hosts[index].errors.size() < best->read.report.hosts[index].errors.size()) best = &shard;
  }
  host::HostReport host = best->read.report.hosts[index];
  for (std::size_t j = 0; j < host.programs.size(); ++j) {
    host.programs[j] = owner_value(
        shards,
        [&](const ShardReport& s) -> const host::ProgramCheck& { return s.read.report.hosts[index].programs[j]; },
        program_other);
  }
  host.flcss = owner_value(
      shards, [&](const ShardReport& s) -> const host::ProgramCheck& { return s.read.report.hosts[index].flcss; },
      program_other);
  for (std::size_t j = 0; j < host.kernel.size(); ++j) {
    host.kernel[j] = owner_value(
        shards, [&](const ShardReport& s) -> const host::KernelCheck& { return s.read.report.hosts[index].kernel[j]; },
        kernel_other);
  }
  for (std::size_t j = 0; j < host.service_images.size(); ++j) {
    host.service_images[j] = owner_value(
        shards,
        [&](const ShardReport& s) -> const host::ServiceImageCheck& {
          return s.read.report.hosts[index].service_images[j];
        },
        image_other);
  }
  host::derive_host_report(host, facts);
  if (merged.live_processes) host::apply_live_processes(host, *merged.live_processes);
  return host;
}

}  // namespace

tl::expected<ReadReport, std::string> merge_shard_reports(std::vector<ShardReport> shards) {
  if (auto valid = validate(shards); !valid) return tl::make_unexpected(valid.error());
  std::sort(shards.begin(), shards.end(),
            [](const ShardReport& a, const ShardReport& b) { return a.read.report.shard->k < b.read.report.shard->k; });

  ReadReport merged;
  const ReadReport& first = shards.front().read;
  merged.settings = first.settings;
  merged.options_json = first.options_json;
  merged.signatures_json = first.signatures_json;
  ScanReport& report = merged.report;
  report.roots = first.report.roots;
  // Where the roots were and what they were, as the first shard saw them (shards may run in
  // different directories; the SARIF bases are the first shard's).
  report.root_facts = first.report.root_facts;
  report.working_directory = first.report.working_directory;
  for (ShardReport& shard : shards) {
    ScanReport& part = shard.read.report;
    auto append = [](auto& to, auto& from) {
      to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
      from.clear();
      from.shrink_to_fit();
    };
    append(report.results, part.results);
    append(report.skipped, part.skipped);
    append(report.inventory, part.inventory);
    report.counters += part.counters;
    report.elapsed_seconds = std::max(report.elapsed_seconds, part.elapsed_seconds);
    if (part.live_processes) {
      if (!report.live_processes) report.live_processes.emplace();
      append(*report.live_processes, *part.live_processes);
    }
  }
  // Every shard lists every volume of every image: the first shard's list, but a volume another
  // shard could not open stays an error (its NOT SCANNED entry is kept below too).
  report.volumes = first.report.volumes;
  for (const ShardReport& shard : shards) {
    for (std::size_t i = 0; i < report.volumes.size(); ++i) {
      const ImageVolume& volume = shard.read.report.volumes[i];
      if (volume.status == VolumeStatus::error && report.volumes[i].status != VolumeStatus::error)
        report.volumes[i] = volume;
      if (report.volumes[i].host_error.empty()) report.volumes[i].host_error = volume.host_error;
    }
  }
  report.not_scanned = merge_not_scanned(shards);
  report.counters.not_scanned_by_reason.fill(0);
  for (const NotScannedEntry& entry : report.not_scanned) {
    ++report.counters.not_scanned_by_reason[static_cast<std::size_t>(entry.reason)];
  }
  report.counters.files_in_other_shards = 0;
  count_findings(report);
  if (report.live_processes) {
    auto& live = *report.live_processes;
    const auto key = [](const host::LiveProcess& p) { return std::tie(p.pid, p.exe, p.argv); };
    std::sort(live.begin(), live.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
    live.erase(std::unique(live.begin(), live.end(), [&](const auto& a, const auto& b) { return key(a) == key(b); }),
               live.end());
  }
  sort_entries(report);
  // One index of the merged entries for every installation (it does not depend on the hosts).
  const ScanReportFacts facts(report);
  for (std::size_t i = 0; i < first.report.hosts.size(); ++i)
    report.hosts.push_back(merge_host(shards, i, report, facts));
  // --live-report: joined again to the merged installations (which derives them again), then
  // --live on top, as a scan does (main.cpp).
  report.live_report = first.report.live_report;
  if (report.live_report) {
    host::join_live_report(report.hosts, report.live_report, facts);
    if (report.live_processes) {
      for (host::HostReport& host : report.hosts) host::apply_live_processes(host, *report.live_processes);
    }
  }
  merged.exit_code = exit_code(report, merged.settings.fail_on);
  return merged;
}

namespace {

// The command line of flscan merge, parsed: the reports to merge, the outputs, --fail-on.
struct MergeCommand {
  std::vector<std::string> files;
  std::vector<OutputSpec> outputs;
  std::optional<FailOn> fail_on;  // nullopt: the shards' own
};

// Parses argv; nullopt with the exit code after --help or a usage error (reported on `err`).
std::optional<MergeCommand> parse_merge_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
                                                int& exit_code) {
  CLI::App app{kMergeDescription, "flscan merge"};
  app.footer(kMergeFooter);
  app.get_formatter()->column_width(30);
  MergeCommand command;
  std::string fail_on_text;
  app.add_option("REPORT", command.files,
                 "The JSON reports of the shards (flscan --shard K/N --json\nREPORT), in any order.")
      ->required()
      ->type_name("");
  const OutputOptions outputs(app, OutputOptions::Command::merge);
  app.add_option("--fail-on", fail_on_text,
                 "Outcomes that make the exit code non-zero (as for a scan);\ndefault: the list the shards ran with.\n"
                 "Example: --fail-on infected")
      ->option_text(fail_on_choices());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e, out, err) == 0 ? kExitClean : kExitIncomplete;
    return std::nullopt;
  }
  exit_code = kExitIncomplete;
  auto specs = outputs.specs();
  if (!specs) {
    err << "flscan merge: " << specs.error() << '\n';
    return std::nullopt;
  }
  command.outputs = std::move(*specs);
  if (app.count("--fail-on") > 0) {
    auto parsed = parse_fail_on(fail_on_text);
    if (!parsed) {
      err << "flscan merge: --fail-on: " << parsed.error() << '\n';
      return std::nullopt;
    }
    command.fail_on = *parsed;
  }
  return command;
}

// Reads every report; the error names the file.
tl::expected<std::vector<ShardReport>, std::string> read_shard_reports(const std::vector<std::string>& files) {
  std::vector<ShardReport> shards;
  for (const std::string& file : files) {
    auto read = read_json_report_file(file);
    if (!read) return tl::make_unexpected(escape_path_for_terminal(file) + ": " + escape_for_terminal(read.error()));
    shards.push_back(ShardReport{file, std::move(*read)});
  }
  return shards;
}

}  // namespace

int run_merge_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  int usage_code = kExitIncomplete;
  const std::optional<MergeCommand> command = parse_merge_command(argc, argv, out, err, usage_code);
  if (!command) return usage_code;
  auto shards = read_shard_reports(command->files);
  if (!shards) {
    err << "flscan merge: " << shards.error() << '\n';
    return kExitIncomplete;
  }
  auto merged = merge_shard_reports(std::move(*shards));
  if (!merged) {
    err << "flscan merge: " << merged.error() << '\n';
    return kExitIncomplete;
  }
  // The printers' switches are those the shards ran with (merge --help); --fail-on may differ.
  PrintSettings& settings = merged->settings;
  if (command->fail_on) settings.fail_on = *command->fail_on;
  const ScanReport& report = merged->report;

  // Every output is created before anything is written, as for a scan (report_file.h).
  auto outputs = ReportOutputs::open(command->outputs);
  if (!outputs) {
    err << "flscan merge: " << outputs.error() << '\n';
    return kExitIncomplete;
  }
  int code = exit_code(report, settings.fail_on);
  const bool written = outputs->write(out, err, "flscan merge", report, settings);
  if (!written && code == kExitClean) code = kExitIncomplete;
  return code;
}

}  // namespace flscan::scanner
