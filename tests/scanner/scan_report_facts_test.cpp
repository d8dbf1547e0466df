// The scan facts the Q317218 host stage reads (host::ScanFacts), as the report room answers them
// from a ScanReport (scanner/report/scan_report_facts.h, issue 14): results looked up by path
// whatever the case and spelling, what counts as unscanned (NOT SCANNED or skipped at or above the
// file, or no PATH covering it), shard ownership, the infected files and the shard part. Every
// report is built here; expected shard numbers come from the published FNV-1a 64 test vectors
// ("a" -> af63dc4c8601ec8c: shard 2 of 3, "foobar" -> 85944171f73967e8: shard 1 of 3).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "scanner/report/report.h"
#include "scanner/report/scan_report_facts.h"

using flscan::Finding;
using flscan::FindingKind;
using flscan::scanner::FileResult;
using flscan::scanner::NotScannedEntry;
using flscan::scanner::ScanReport;
using flscan::scanner::ScanReportFacts;
using flscan::scanner::Shard;
using flscan::scanner::SkippedEntry;

namespace {

Finding finding(FindingKind kind) {
  Finding out;
  out.kind = kind;
  out.severity = flscan::severity_of(kind);
  out.rule = "test";
  return out;
}

FileResult result(std::string path, std::vector<FindingKind> kinds) {
  FileResult out;
  out.path = std::move(path);
  for (FindingKind kind : kinds) out.findings.push_back(finding(kind));
  for (Finding& each : out.findings) each.evidence = "seen in " + out.path;
  return out;
}

}  // namespace

TEST_CASE("scan facts: a result is found by path whatever its case and spelling", "[scan_facts]") {
  ScanReport scan;
  scan.roots = {"mnt/c"};
  scan.results = {result("mnt/c/WINNT/System32/CALC.EXE", {FindingKind::infected}),
                  result("mnt/c/WINNT/System32/ntoskrnl.exe", {FindingKind::kernel_patched})};
  const ScanReportFacts facts(scan);

  const Finding* calc = facts.strongest_finding("mnt/c/winnt/./system32/calc.exe");
  REQUIRE(calc != nullptr);
  CHECK(calc->kind == FindingKind::infected);
  const Finding* kernel = facts.strongest_finding("mnt/c/WINNT/System32/NTOSKRNL.EXE");
  REQUIRE(kernel != nullptr);
  CHECK(kernel->kind == FindingKind::kernel_patched);
  CHECK(kernel->evidence == "seen in mnt/c/WINNT/System32/ntoskrnl.exe");
  CHECK(facts.strongest_finding("mnt/c/WINNT/System32/winlogon.exe") == nullptr);
  CHECK(facts.strongest_finding("mnt/d/WINNT/System32/calc.exe") == nullptr);
}

TEST_CASE("scan facts: unscanned when the file or a directory above it was not read, or no PATH covers it",
          "[scan_facts]") {
  ScanReport scan;
  scan.roots = {"mnt/c"};
  scan.not_scanned = {NotScannedEntry{"mnt/c/WINNT/System32/config", {}, "permission denied"}};
  scan.skipped = {SkippedEntry{"mnt/c/WINNT/System32/csrss.exe", {}, "symlink"}};
  const ScanReportFacts facts(scan);

  CHECK_FALSE(facts.unscanned("mnt/c/WINNT/System32/calc.exe", ""));
  CHECK_FALSE(facts.unscanned("MNT/C/winnt/system32/CALC.EXE", ""));            // case-insensitive
  CHECK(facts.unscanned("mnt/c/WINNT/System32/config/SYSTEM", ""));             // below a NOT SCANNED directory
  CHECK(facts.unscanned("mnt/c/WINNT/system32/CONFIG", ""));                    // the directory itself
  CHECK(facts.unscanned("mnt/c/WINNT/System32/csrss.exe", ""));                 // skipped
  CHECK(facts.unscanned("mnt/d/WINNT/System32/calc.exe", ""));                  // below no PATH
  CHECK_FALSE(facts.unscanned("mnt/d/WINNT/System32/calc.exe", "mnt/d"));       // below the scanned root
  CHECK(facts.unscanned("mnt/c/WINNT/System32/config/SYSTEM", "mnt/c/WINNT"));  // still below NOT SCANNED

  ScanReport image;
  image.roots = {"nt4.vhd"};
  const ScanReportFacts image_facts(image);
  // A volume of a scanned image is not itself a PATH: covered only when named as the scanned root.
  CHECK(image_facts.unscanned("nt4.vhd:p1/WINNT/system32/calc.exe", ""));
  CHECK_FALSE(image_facts.unscanned("nt4.vhd:p1/WINNT/system32/calc.exe", "nt4.vhd:p1"));
  CHECK(image_facts.unscanned("nt4.vhd:p2/WINNT/system32/calc.exe", "nt4.vhd:p1"));
}

TEST_CASE("scan facts: another shard owns a file by its key below the PATH, however the PATH is spelled",
          "[scan_facts][shard]") {
  ScanReport scan;
  scan.roots = {"snap"};
  SECTION("a whole scan owns everything") {
    const ScanReportFacts facts(scan);
    CHECK_FALSE(facts.in_other_shard("snap/a"));
    CHECK_FALSE(facts.in_other_shard("snap/foobar"));
    CHECK_FALSE(facts.shard());
  }
  SECTION("shard 1/3 owns \"foobar\", not \"a\"") {
    scan.shard = Shard{1, 3};
    const ScanReportFacts facts(scan);
    CHECK_FALSE(facts.in_other_shard("snap/foobar"));
    CHECK(facts.in_other_shard("snap/a"));
    CHECK(facts.in_other_shard("./snap/a"));  // --windows-root ./snap/WINNT with PATH snap
    CHECK_FALSE(facts.in_other_shard("./snap/foobar"));
    CHECK_FALSE(facts.in_other_shard("other/a"));  // below no PATH: no shard claims it
    REQUIRE(facts.shard());
    CHECK(facts.shard()->n == 3);
    CHECK(facts.shard()->name == "1/3");
  }
  SECTION("shard 2/3 owns \"a\", not \"foobar\"") {
    scan.shard = Shard{2, 3};
    const ScanReportFacts facts(scan);
    CHECK_FALSE(facts.in_other_shard("snap/a"));
    CHECK(facts.in_other_shard("snap/foobar"));
    CHECK(facts.in_other_shard("snap/./foobar"));
  }
  SECTION("shard 1/1 is a whole scan") {
    scan.shard = Shard{1, 1};
    const ScanReportFacts facts(scan);
    CHECK_FALSE(facts.in_other_shard("snap/a"));
    CHECK_FALSE(facts.shard());
  }
}

TEST_CASE("scan facts: the infected files in the scan's order, each with its strongest finding's kind",
          "[scan_facts]") {
  ScanReport scan;
  scan.roots = {"c"};
  scan.results = {result("c/a.exe", {FindingKind::remnant}),
                  result("c/b.exe", {FindingKind::remnant, FindingKind::dropper}),
                  result("c/c.exe", {FindingKind::kernel_modified}), result("c/d.exe", {FindingKind::damaged})};
  const ScanReportFacts facts(scan);
  const auto& infected = facts.infected_files();
  REQUIRE(infected.size() == 2);
  CHECK(infected[0].path == "c/b.exe");
  CHECK(infected[0].state == FindingKind::dropper);
  CHECK(infected[1].path == "c/d.exe");
  CHECK(infected[1].state == FindingKind::damaged);
}

TEST_CASE("scan facts: complete unless an entry was not scanned or a report was lost", "[scan_facts]") {
  ScanReport scan;
  CHECK(ScanReportFacts(scan).complete());
  scan.counters.not_scanned_by_reason[0] = 1;
  CHECK_FALSE(ScanReportFacts(scan).complete());
  scan.counters.not_scanned_by_reason[0] = 0;
  scan.counters.lost_reports = 1;
  CHECK_FALSE(ScanReportFacts(scan).complete());
}
