// The Q317218 host report (scanner/host/host_report.h) on small Windows trees built here: SYSTEM
// hives and SysEvent.Evt logs from corpus/windows_fixtures.py (host_fixture), programs copied from
// the synthetic corpus (manifest.json: clean/ files are clean, infected/ ones infected, kernel/ and
// loader/ patched or not). Each expectation follows from how the tree was built.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "fixtures.h"
#include "scanner/host/host_report.h"
#include "scanner/host/windows_install.h"
#include "scanner/report/report.h"
#include "scanner/report/report_html.h"
#include "scanner/report/report_json.h"
#include "scanner/report/report_json_read.h"
#include "scanner/report/report_sarif.h"
#include "scanner/report/report_text.h"
#include "scanner/report/scan_report_facts.h"
#include "scanner/app/scan_job.h"
#include "signatures/loader.h"

namespace fs = std::filesystem;
using flscan::host::FileStatus;
using flscan::host::HostReport;
using flscan::host::SymptomStatus;
using flscan::host::Verdict;
using flscan::scanner::ScanReport;
using flscan::test::program;
using flscan::test::row;

namespace {

// A tree under the private scratch directory, recreated empty.
fs::path tree(std::string_view name) {
  const fs::path root = flscan::test::host_scratch(name);
  fs::remove_all(root);
  fs::create_directories(root);
  return root;
}

void put(const fs::path& dest, const fs::path& source) {
  INFO(source.string());
  REQUIRE(fs::is_regular_file(source));
  fs::create_directories(dest.parent_path());
  fs::copy_file(source, dest, fs::copy_options::overwrite_existing);
}

void put_corpus(const fs::path& dest, std::string_view corpus_file) {
  put(dest, fs::path(FLSCAN_CORPUS_DIR) / corpus_file);
}

void put_scenario(const fs::path& dest, std::string_view scenario) { put(dest, flscan::test::host_fixture(scenario)); }

// WINNT/System32 with clean calc.exe, winlogon.exe, csrss.exe, ntoskrnl.exe and NTLDR at the root.
void clean_programs(const fs::path& system32, const fs::path& volume_root) {
  put_corpus(system32 / "calc.exe", "clean/gui_hello.exe");
  put_corpus(system32 / "winlogon.exe", "clean/tiny_gui.exe");
  put_corpus(system32 / "csrss.exe", "clean/console_tool.exe");
  put_corpus(system32 / "ntoskrnl.exe", "kernel/nt4-clean/ntoskrnl.exe");
  put_corpus(volume_root / "NTLDR", "loader/nt4-clean/NTLDR");
}

ScanReport scan(const fs::path& root, const std::optional<std::string>& windows_root = std::nullopt) {
  static const auto signatures = flscan::signatures::builtin_signatures();
  REQUIRE(signatures);
  flscan::scanner::ScanSettings settings;
  settings.roots = {root.string()};
  const flscan::scanner::ScanJob job(*signatures, settings);
  ScanReport report = job.run();
  report.hosts =
      flscan::host::build_host_reports(flscan::scanner::ScanReportFacts(report), settings.roots, windows_root);
  return report;
}

const HostReport& only_host(const ScanReport& report) {
  REQUIRE(report.hosts.size() == 1);
  return report.hosts.front();
}

}  // namespace

TEST_CASE("infected NT4 tree: Q317218 applies, rows follow the evidence", "[host_report]") {
  const fs::path root = tree("infected-nt4");
  const fs::path system32 = root / "WINNT" / "System32";
  clean_programs(system32, root);
  put_corpus(system32 / "taskmgr.exe", "infected/gui_sections.exe");
  put_corpus(system32 / "flcss.exe", "dropper/flcss.exe");
  put_scenario(system32 / "config" / "SYSTEM", "hive-flc-cs001");
  put_scenario(system32 / "config" / "SysEvent.Evt", "evt-q317218");

  const ScanReport report = scan(root);
  const HostReport& host = only_host(report);
  CHECK(host.install.windows_dir == (root / "WINNT").string());
  CHECK(host.verdict == Verdict::q317218);
  CHECK(host.verdict_text.rfind("Q317218 applies", 0) == 0);
  CHECK(host.errors.empty());
  CHECK(row(host, "slowness") == SymptomStatus::not_checkable_offline);
  CHECK(row(host, "event-7024") == SymptomStatus::found);
  CHECK(row(host, "event-7000") == SymptomStatus::found);
  CHECK(row(host, "sp-copy-errors") == SymptomStatus::found);
  CHECK(row(host, "flcss-service") == SymptomStatus::found);
  CHECK(row(host, "flcss-process") == SymptomStatus::not_checkable_offline);
  CHECK(row(host, "stop-c000021a") == SymptomStatus::not_found);  // winlogon, csrss, kernel, NTLDR clean
  CHECK(program(host, "taskmgr.exe") == FileStatus::infected);
  CHECK(program(host, "calc.exe") == FileStatus::clean);
  CHECK(program(host, "winlogon.exe") == FileStatus::clean);
  CHECK(program(host, "ddeshare.exe") == FileStatus::missing);
  CHECK(host.programs.size() == 36);
  CHECK(host.flcss.status == FileStatus::infected);
  CHECK(host.droppers.size() == 1);
  REQUIRE(host.kernel.size() == 3);
  CHECK(host.kernel[0].status == "clean");
  CHECK(host.kernel[1].status == "missing");
  CHECK(host.kernel[2].status == "clean");
  CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitInfected);
  // The remediation names the dropper, the service key and the infected program.
  std::string steps;
  for (const auto& step : host.remediation) steps += step + "\n";
  CHECK(steps.find("flcss.exe") != std::string::npos);
  CHECK(steps.find("ControlSet001\\Services\\FLC") != std::string::npos);
  CHECK(steps.find("taskmgr.exe") != std::string::npos);
  CHECK(steps.find("Q321454") != std::string::npos);  // the 7024 event is present too
}

TEST_CASE("7024 event without FunLove evidence: Q321454", "[host_report]") {
  const fs::path root = tree("q321454");
  const fs::path system32 = root / "WINNT" / "system32";
  clean_programs(system32, root);
  put_scenario(system32 / "config" / "SYSTEM", "hive-clean");
  put_scenario(system32 / "config" / "SysEvent.Evt", "evt-q317218");

  const ScanReport report = scan(root);
  const HostReport& host = only_host(report);
  CHECK(host.verdict == Verdict::q321454);
  CHECK(host.verdict_text.rfind("Q321454 applies", 0) == 0);
  CHECK(row(host, "event-7024") == SymptomStatus::found);
  CHECK(row(host, "flcss-service") == SymptomStatus::not_found);
  CHECK(row(host, "sp-copy-errors") == SymptomStatus::not_found);
  CHECK(row(host, "stop-c000021a") == SymptomStatus::not_found);
  std::string steps;
  for (const auto& step : host.remediation) steps += step + "\n";
  CHECK(steps.find("pstores.exe -install") != std::string::npos);
  CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitClean);
}

// Issue 12: patched-looking kernel bytes that are not FunLove's patch (corpus manifest: the
// legitimate epilogue after the intact original is clean; the patch whose undo does not restore
// the checksum is kernel-modified) leave a 7024 installation at Q321454.
TEST_CASE("7024 event and a kernel whose patched-looking bytes are not FunLove's: Q321454", "[host_report]") {
  for (const char* kernel :
       {"kernel/nt4-legit-epilogue/ntoskrnl.exe", "kernel/nt4-patched-then-modified/ntoskrnl.exe"}) {
    INFO(kernel);
    const fs::path root = tree("q321454-kernel");
    const fs::path system32 = root / "WINNT" / "System32";
    clean_programs(system32, root);
    put_corpus(system32 / "ntoskrnl.exe", kernel);
    put_corpus(root / "NTLDR", "loader/nt4-later-patched-looking/NTLDR");
    put_scenario(system32 / "config" / "SYSTEM", "hive-clean");
    put_scenario(system32 / "config" / "SysEvent.Evt", "evt-q317218");

    const ScanReport report = scan(root);
    const HostReport& host = only_host(report);
    CHECK(host.verdict == Verdict::q321454);
    CHECK(row(host, "stop-c000021a") == SymptomStatus::not_found);
    REQUIRE(host.kernel.size() == 3);
    CHECK(host.kernel[0].status != "patched");
    CHECK(host.kernel[2].status == "clean");
    CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitClean);
  }
}

TEST_CASE("clean tree: no evidence", "[host_report]") {
  const fs::path root = tree("clean");
  const fs::path system32 = root / "WINNT" / "System32";
  clean_programs(system32, root);
  put_scenario(system32 / "config" / "SYSTEM", "hive-clean");
  put_scenario(system32 / "config" / "SysEvent.Evt", "evt-clean");

  const ScanReport report = scan(root);
  const HostReport& host = only_host(report);
  CHECK(host.verdict == Verdict::no_evidence);
  for (std::string_view id : {"event-7024", "event-7000", "sp-copy-errors", "flcss-service", "stop-c000021a"}) {
    INFO(id);
    CHECK(row(host, id) == SymptomStatus::not_found);
  }
  CHECK(row(host, "slowness") == SymptomStatus::not_checkable_offline);
  CHECK(host.flcss.status == FileStatus::missing);
  CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitClean);
}

TEST_CASE("case-variant paths: winnt/SYSTEM32/Config/system, CALC.EXE", "[host_report]") {
  const fs::path root = tree("case-variant");
  const fs::path system32 = root / "winnt" / "SYSTEM32";
  put_corpus(system32 / "CALC.EXE", "infected/gui_hello.exe");
  put_scenario(system32 / "Config" / "system", "hive-flc-cs001");  // no SysEvent.Evt

  const ScanReport report = scan(root);
  const HostReport& host = only_host(report);
  CHECK(host.install.system_hive == (system32 / "Config" / "system").string());
  CHECK(host.verdict == Verdict::q317218);
  CHECK(program(host, "calc.exe") == FileStatus::infected);
  CHECK(row(host, "flcss-service") == SymptomStatus::found);
  CHECK(row(host, "event-7024") == SymptomStatus::not_found);  // log missing: not found, no error
  CHECK(host.event_log_path.empty());
  CHECK(host.errors.empty());
  // NTLDR missing at the root is reported, not an error; winlogon.exe missing is a STOP cause.
  CHECK(host.kernel[2].status == "missing");
  CHECK(row(host, "stop-c000021a") == SymptomStatus::found);
}

TEST_CASE("an FLC service alone is FunLove evidence (exit code 1)", "[host_report]") {
  const fs::path root = tree("flc-only");
  const fs::path system32 = root / "WINNT" / "System32";
  clean_programs(system32, root);
  put_scenario(system32 / "config" / "SYSTEM", "hive-flcss-cs002-only");

  const ScanReport report = scan(root);
  CHECK_FALSE(report.infection_found());
  CHECK(only_host(report).verdict == Verdict::q317218);
  CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitInfected);
}

TEST_CASE("hostile hive: the row is an error, the scan goes on, exit code 2", "[host_report]") {
  const fs::path root = tree("hostile");
  const fs::path system32 = root / "WINNT" / "System32";
  clean_programs(system32, root);
  put_scenario(system32 / "config" / "SYSTEM", "hostile-hive-bad-checksum");
  put_scenario(system32 / "config" / "SysEvent.Evt", "evt-clean");

  const ScanReport report = scan(root);
  const HostReport& host = only_host(report);
  CHECK(row(host, "flcss-service") == SymptomStatus::error);
  CHECK(row(host, "event-7024") == SymptomStatus::not_found);  // the log was still read
  CHECK(program(host, "calc.exe") == FileStatus::clean);       // and the programs checked
  CHECK(host.errors.size() == 1);
  CHECK(host.verdict == Verdict::incomplete);
  CHECK(report.complete());
  CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitIncomplete);
}

TEST_CASE("a SysEvent.Evt that is no event log: both event rows are errors", "[host_report]") {
  const fs::path root = tree("bad-log");
  const fs::path system32 = root / "WINNT" / "System32";
  clean_programs(system32, root);
  put_scenario(system32 / "config" / "SYSTEM", "hive-clean");
  {
    std::ofstream log(system32 / "config" / "SysEvent.Evt", std::ios::binary);
    log << "this is not an EVT file, no LfLe signature anywhere";
  }

  const ScanReport report = scan(root);
  const HostReport& host = only_host(report);
  CHECK(row(host, "event-7024") == SymptomStatus::error);
  CHECK(row(host, "event-7000") == SymptomStatus::error);
  CHECK(row(host, "flcss-service") == SymptomStatus::not_found);
  CHECK(host.errors.size() == 1);
  CHECK(host.verdict == Verdict::incomplete);
  CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitIncomplete);
}

TEST_CASE("patched kernel and NTLDR: STOP 0xC000021A found", "[host_report]") {
  const fs::path root = tree("patched");
  const fs::path system32 = root / "WINNT" / "System32";
  clean_programs(system32, root);
  put_corpus(system32 / "ntoskrnl.exe", "kernel/nt4-patched/ntoskrnl.exe");
  put_corpus(root / "NTLDR", "loader/nt4-patched/NTLDR");
  put_scenario(system32 / "config" / "SYSTEM", "hive-clean");

  const ScanReport report = scan(root);
  const HostReport& host = only_host(report);
  CHECK(row(host, "stop-c000021a") == SymptomStatus::found);
  CHECK(host.kernel[0].status == "patched");
  CHECK(host.kernel[2].status == "patched");
  CHECK(host.verdict == Verdict::q317218);
  std::string steps;
  for (const auto& step : host.remediation) steps += step + "\n";
  CHECK(steps.find("Q287664") != std::string::npos);
  CHECK(steps.find("parallel installation") != std::string::npos);
}

TEST_CASE("the Windows directory as the PATH, and --windows-root", "[host_report]") {
  const fs::path root = tree("windows-root");
  const fs::path windows = root / "WINDOWS";
  clean_programs(windows / "system32", root);
  put_scenario(windows / "system32" / "config" / "SYSTEM", "hive-clean");

  const ScanReport direct = scan(windows);
  CHECK(only_host(direct).install.windows_dir == windows.string());
  CHECK(only_host(direct).verdict == Verdict::no_evidence);

  // --windows-root names a directory that detection would not find (not WINNT/WINDOWS).
  const fs::path other = root / "nt";
  clean_programs(other / "system32", root);
  put_scenario(other / "system32" / "config" / "SYSTEM", "hive-flc-cs001");
  const ScanReport named = scan(root, other.string());
  CHECK(only_host(named).install.windows_dir == other.string());
  CHECK(only_host(named).install.volume_root == root.string());
  CHECK(only_host(named).verdict == Verdict::q317218);
  CHECK(program(only_host(named), "calc.exe") == FileStatus::clean);
}

// Issue 12: a SYSTEM file that is no SYSTEM hive, or one read in part, cannot rule FunLove out.
namespace {

// A clean NT4 tree whose config/SYSTEM is `hive` and SysEvent.Evt is `log`.
ScanReport scan_clean_tree_with(std::string_view name, std::string_view hive, std::string_view log) {
  const fs::path root = tree(name);
  const fs::path system32 = root / "WINNT" / "System32";
  clean_programs(system32, root);
  put_scenario(system32 / "config" / "SYSTEM", hive);
  put_scenario(system32 / "config" / "SysEvent.Evt", log);
  return scan(root);
}

bool has_line(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& line) { return line.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("an NTUSER.DAT, SAM or SECURITY hive named SYSTEM: a host error naming the file, exit code 2",
          "[host_report]") {
  for (std::string_view scenario : {"hive-ntuser", "hive-sam", "hive-security", "hive-no-control-set",
                                    "hive-no-select-clean", "hive-services-unreadable"}) {
    INFO(scenario);
    const ScanReport report = scan_clean_tree_with("not-system", scenario, "evt-clean");
    const HostReport& host = only_host(report);
    CHECK_FALSE(host.hive);
    CHECK(row(host, "flcss-service") == SymptomStatus::error);
    REQUIRE(host.errors.size() == 1);
    const std::string reason =
        scenario == "hive-services-unreadable" ? ": no readable control set" : ": not a SYSTEM hive: ";
    CHECK(host.errors[0].starts_with("SYSTEM hive " + host.install.system_hive + reason));
    CHECK(host.verdict == Verdict::incomplete);
    CHECK(report.complete());  // every file was scanned; the host evidence is what is missing
    CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitIncomplete);
  }
}

TEST_CASE("a SYSTEM hive read in part: incomplete unless FunLove evidence was found", "[host_report]") {
  SECTION("no FunLove service in the part read: incomplete, exit code 2") {
    const ScanReport report = scan_clean_tree_with("partial-clean", "hive-partial-clean", "evt-clean");
    const HostReport& host = only_host(report);
    REQUIRE(host.hive);
    CHECK(host.hive->partial);
    CHECK(row(host, "flcss-service") == SymptomStatus::error);
    REQUIRE(host.errors.size() == 1);
    CHECK(host.errors[0] == "SYSTEM hive " + host.install.system_hive +
                                ": read only in part (see the hive's notes): a FunLove service in the part not read "
                                "cannot be ruled out");
    CHECK(host.verdict == Verdict::incomplete);
    CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitIncomplete);
  }
  SECTION("an FLC service found (no Select key): Q317218, exit code 1") {
    const ScanReport report = scan_clean_tree_with("partial-flc", "hive-no-select-flc", "evt-clean");
    const HostReport& host = only_host(report);
    REQUIRE(host.hive);
    CHECK(host.hive->partial);
    CHECK(row(host, "flcss-service") == SymptomStatus::found);
    CHECK(host.verdict == Verdict::q317218);
    CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitInfected);
  }
}

TEST_CASE("a hive or log not closed cleanly: a host note, the verdict unchanged", "[host_report]") {
  SECTION("dirty hive") {
    const ScanReport report = scan_clean_tree_with("dirty-hive", "hive-dirty", "evt-clean");
    const HostReport& host = only_host(report);
    CHECK(host.verdict == Verdict::no_evidence);
    CHECK(host.errors.empty());
    CHECK(row(host, "flcss-service") == SymptomStatus::not_found);
    REQUIRE(host.notes.size() == 1);
    CHECK(host.notes[0].starts_with("SYSTEM hive " + host.install.system_hive +
                                    " was not closed cleanly (base block sequence numbers 929 and 928 differ)"));
    CHECK(flscan::scanner::exit_code(report) == flscan::scanner::kExitClean);
  }
  SECTION("dirty event log") {
    const ScanReport report = scan_clean_tree_with("dirty-log", "hive-clean", "evt-dirty");
    const HostReport& host = only_host(report);
    REQUIRE(host.notes.size() == 1);
    CHECK(host.notes[0].starts_with("SysEvent.Evt " + host.event_log_path + " is marked dirty"));
  }
  SECTION("both clean: no note") {
    const ScanReport report = scan_clean_tree_with("no-notes", "hive-clean", "evt-clean");
    CHECK(only_host(report).notes.empty());
  }
}

TEST_CASE("host errors and notes survive the JSON report and flscan merge's re-derivation", "[host_report][json]") {
  for (std::string_view hive : {"hive-dirty", "hive-partial-clean", "hive-ntuser"}) {
    INFO(hive);
    const ScanReport report = scan_clean_tree_with("json-round-trip", hive, "evt-dirty");
    flscan::scanner::PrintSettings settings;
    settings.meta = flscan::scanner::ReportMeta{"test", {}, 0};
    auto read = flscan::scanner::report_from_json(
        nlohmann::json::parse(flscan::scanner::report_to_json(report, settings).dump()));
    if (!read) FAIL(read.error());
    REQUIRE(read->report.hosts.size() == 1);
    HostReport again = read->report.hosts.front();
    flscan::host::derive_host_report(again, flscan::scanner::ScanReportFacts(read->report));
    const HostReport& original = only_host(report);
    CHECK(again.errors == original.errors);
    CHECK(again.notes == original.notes);
    CHECK(again.verdict == original.verdict);
    CHECK(row(again, "flcss-service") == row(original, "flcss-service"));
    CHECK(has_line(again.notes, "SysEvent.Evt"));
    CHECK(has_line(again.notes, "SYSTEM hive") == (hive == "hive-dirty"));
  }
}

TEST_CASE("host notes are printed: text Note line, HTML list, SARIF verdict properties", "[host_report]") {
  const ScanReport report = scan_clean_tree_with("dirty-printed", "hive-dirty", "evt-clean");
  const HostReport& host = only_host(report);
  REQUIRE(host.notes.size() == 1);
  flscan::scanner::PrintSettings settings;
  settings.meta = flscan::scanner::ReportMeta{"test", {}, 0};
  std::ostringstream text;
  flscan::scanner::write_text_report(text, report, settings);
  CHECK(text.str().find("Note:       SYSTEM hive " + host.install.system_hive + " was not closed cleanly") !=
        std::string::npos);
  std::ostringstream html;
  flscan::scanner::write_html_report(html, report, settings);
  CHECK(html.str().find("<ul class=\"notes\">\n<li>SYSTEM hive ") != std::string::npos);
  const auto sarif = flscan::scanner::report_to_sarif(report, settings);
  bool found = false;
  for (const auto& result : sarif.at("runs")[0].at("results")) {
    if (!result.at("properties").contains("notes")) continue;
    found = true;
    CHECK(result.at("properties").at("notes") == nlohmann::ordered_json(host.notes));
  }
  CHECK(found);
}
