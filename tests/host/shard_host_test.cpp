// The Q317218 host report under --shard (scanner/report/shard.h): host::derive_host_report is the whole
// derivation (re-running it on a report's own evidence gives the same rows, verdict and
// remediation), a shard marks the checked files other shards own as other-shard and never claims
// a verdict only the merge can give, and the owners' statuses put together and derived again give
// the full scan's report. Trees are built here from corpus samples and fixture hives/logs, as in
// host_report_test.cpp; expectations follow from how each tree was built.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "fixtures.h"
#include "scanner/host/host_report.h"
#include "scanner/report/report.h"
#include "scanner/report/scan_report_facts.h"
#include "scanner/app/scan_job.h"
#include "scanner/report/shard.h"
#include "signatures/loader.h"

namespace fs = std::filesystem;
using flscan::host::FileStatus;
using flscan::host::HostReport;
using flscan::host::Verdict;
using flscan::scanner::ScanReport;
using flscan::scanner::Shard;

namespace {

void put(const fs::path& dest, const fs::path& source) {
  INFO(source.string());
  REQUIRE(fs::is_regular_file(source));
  fs::create_directories(dest.parent_path());
  fs::copy_file(source, dest, fs::copy_options::overwrite_existing);
}

// An NT4 tree: FLC service, both events, calc.exe and taskmgr.exe infected, a dropper, clean
// winlogon/csrss, a patched kernel.
fs::path infected_tree() {
  const fs::path root = flscan::test::host_scratch("shard-infected");
  fs::remove_all(root);
  const fs::path system32 = root / "WINNT" / "System32";
  const fs::path corpus(FLSCAN_CORPUS_DIR);
  put(system32 / "calc.exe", corpus / "infected/gui_sections.exe");
  put(system32 / "taskmgr.exe", corpus / "infected/gui_sections.exe");
  put(system32 / "winlogon.exe", corpus / "clean/tiny_gui.exe");
  put(system32 / "csrss.exe", corpus / "clean/console_tool.exe");
  put(system32 / "pstores.exe", corpus / "clean/gui_hello.exe");
  put(system32 / "flcss.exe", corpus / "dropper/flcss.exe");
  put(system32 / "ntoskrnl.exe", corpus / "kernel/nt4-clean/ntoskrnl.exe");
  put(root / "NTLDR", corpus / "loader/nt4-clean/NTLDR");
  put(system32 / "config" / "SYSTEM", flscan::test::host_fixture("hive-flc-cs001"));
  put(system32 / "config" / "SysEvent.Evt", flscan::test::host_fixture("evt-q317218"));
  return root;
}

// A W2K-like tree with the 7024 event and nothing infected: Q321454 when scanned whole.
fs::path q321454_tree() {
  const fs::path root = flscan::test::host_scratch("shard-q321454");
  fs::remove_all(root);
  const fs::path system32 = root / "WINNT" / "System32";
  const fs::path corpus(FLSCAN_CORPUS_DIR);
  put(system32 / "calc.exe", corpus / "clean/gui_hello.exe");
  put(system32 / "taskmgr.exe", corpus / "clean/tiny_gui.exe");
  put(system32 / "winlogon.exe", corpus / "clean/tiny_gui.exe");
  put(system32 / "csrss.exe", corpus / "clean/console_tool.exe");
  put(system32 / "ntoskrnl.exe", corpus / "kernel/nt4-clean/ntoskrnl.exe");
  put(root / "NTLDR", corpus / "loader/nt4-clean/NTLDR");
  put(system32 / "config" / "SYSTEM", flscan::test::host_fixture("hive-clean"));
  put(system32 / "config" / "SysEvent.Evt", flscan::test::host_fixture("evt-q317218"));
  return root;
}

ScanReport scan(const fs::path& root, std::optional<Shard> shard = std::nullopt) {
  static const auto signatures = flscan::signatures::builtin_signatures();
  REQUIRE(signatures);
  flscan::scanner::ScanSettings settings;
  settings.roots = {root.string()};
  settings.walk.shard = shard;
  const flscan::scanner::ScanJob job(*signatures, settings);
  ScanReport report = job.run();
  report.hosts =
      flscan::host::build_host_reports(flscan::scanner::ScanReportFacts(report), settings.roots, std::nullopt);
  REQUIRE(report.hosts.size() == 1);
  return report;
}

void require_same_derivation(const HostReport& a, const HostReport& b) {
  REQUIRE(a.symptoms.size() == b.symptoms.size());
  for (std::size_t i = 0; i < a.symptoms.size(); ++i) {
    INFO("symptom " << a.symptoms[i].id);
    CHECK(a.symptoms[i].id == b.symptoms[i].id);
    CHECK(a.symptoms[i].status == b.symptoms[i].status);
    CHECK(a.symptoms[i].evidence == b.symptoms[i].evidence);
  }
  CHECK(a.verdict == b.verdict);
  CHECK(a.verdict_text == b.verdict_text);
  CHECK(a.remediation == b.remediation);
  CHECK(a.droppers == b.droppers);
}

// The shards' scans of `root` merged the way flscan merge does for the host report: results
// concatenated, each checked file from the shard that owns it, then derived again.
HostReport merged_host(const fs::path& root, std::uint32_t n) {
  ScanReport merged;
  std::vector<ScanReport> shards;
  for (std::uint32_t k = 1; k <= n; ++k) shards.push_back(scan(root, Shard{k, n}));
  merged.roots = shards.front().roots;
  for (const ScanReport& shard : shards) {
    merged.results.insert(merged.results.end(), shard.results.begin(), shard.results.end());
    merged.counters += shard.counters;
  }
  flscan::scanner::sort_entries(merged);
  HostReport host = shards.front().hosts.front();
  for (std::size_t j = 0; j < host.programs.size(); ++j) {
    for (const ScanReport& shard : shards) {
      if (shard.hosts.front().programs[j].status != FileStatus::other_shard) {
        host.programs[j] = shard.hosts.front().programs[j];
        break;
      }
    }
  }
  for (const ScanReport& shard : shards) {
    if (shard.hosts.front().flcss.status != FileStatus::other_shard) host.flcss = shard.hosts.front().flcss;
  }
  for (std::size_t j = 0; j < host.kernel.size(); ++j) {
    for (const ScanReport& shard : shards) {
      if (shard.hosts.front().kernel[j].status != "other-shard") host.kernel[j] = shard.hosts.front().kernel[j];
    }
  }
  for (std::size_t j = 0; j < host.service_images.size(); ++j) {
    for (const ScanReport& shard : shards) {
      if (shard.hosts.front().service_images[j].status != FileStatus::other_shard) {
        host.service_images[j] = shard.hosts.front().service_images[j];
      }
    }
  }
  flscan::host::derive_host_report(host, flscan::scanner::ScanReportFacts(merged));
  return host;
}

}  // namespace

TEST_CASE("derive_host_report again on a report's own evidence gives the same report", "[host_report][shard]") {
  for (const fs::path& root : {infected_tree(), q321454_tree()}) {
    INFO(root.string());
    const ScanReport report = scan(root);
    HostReport again = report.hosts.front();
    again.symptoms.clear();
    again.remediation.clear();
    again.verdict = Verdict::no_evidence;
    again.verdict_text = "stale";
    again.droppers = {"stale"};
    flscan::host::derive_host_report(again, flscan::scanner::ScanReportFacts(report));
    require_same_derivation(report.hosts.front(), again);
  }
}

TEST_CASE("a shard's host report: other shards' files are other-shard, no verdict it cannot know",
          "[host_report][shard]") {
  const fs::path root = q321454_tree();
  const ScanReport full = scan(root);
  REQUIRE(full.hosts.front().verdict == Verdict::q321454);
  std::size_t other_total = 0;
  for (std::uint32_t k = 1; k <= 3; ++k) {
    const ScanReport shard = scan(root, Shard{k, 3});
    const HostReport& host = shard.hosts.front();
    // No FunLove evidence anywhere, so no shard may say so, nor rule it out: incomplete.
    CHECK(host.verdict == Verdict::incomplete);
    CHECK(host.verdict_text.find("shard " + std::to_string(k) + "/3") != std::string::npos);
    for (std::size_t j = 0; j < host.programs.size(); ++j) {
      const auto& check = host.programs[j];
      INFO(check.name);
      if (check.path.empty()) {
        CHECK(check.status == full.hosts.front().programs[j].status);  // missing: every shard knows
        continue;
      }
      const auto key = flscan::scanner::key_below(check.path, root.string());
      REQUIRE(key);
      const bool own = flscan::scanner::in_shard(*key, Shard{k, 3});
      CHECK((check.status == FileStatus::other_shard) == !own);
      if (own) CHECK(check.status == full.hosts.front().programs[j].status);
      other_total += own ? 0 : 1;
    }
  }
  CHECK(other_total > 0);
}

TEST_CASE("the owners' statuses merged and derived again give the full scan's host report", "[host_report][shard]") {
  for (const fs::path& root : {infected_tree(), q321454_tree()}) {
    const ScanReport full = scan(root);
    for (std::uint32_t n : {2u, 3u, 5u}) {
      INFO(root.string() << ", N " << n);
      const HostReport merged = merged_host(root, n);
      require_same_derivation(full.hosts.front(), merged);
      for (std::size_t j = 0; j < merged.programs.size(); ++j)
        CHECK(merged.programs[j].status == full.hosts.front().programs[j].status);
      for (std::size_t j = 0; j < merged.kernel.size(); ++j)
        CHECK(merged.kernel[j].status == full.hosts.front().kernel[j].status);
    }
  }
}
