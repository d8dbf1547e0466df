// Reports and their reader under crafted input (issue 13, items 6-9): the escaping of every
// printer, the report reader's field checks and caps, and merged counters derived from the
// merged entries. Every crafted value here is written by the test itself (a report built in
// memory, printed, read back and altered); expected values follow from that construction.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scanner/app/merge.h"
#include "scanner/report/report.h"
#include "scanner/report/report_html.h"
#include "scanner/report/report_json.h"
#include "scanner/report/report_json_read.h"
#include "scanner/report/report_text.h"
#include "scanner/report/text_encoding.h"

using namespace flscan;
using namespace flscan::scanner;
using Json = nlohmann::json;

namespace {

const std::string kSha = std::string(64, 'a');
// An OSC 52 sequence: asks the terminal to put "pwned" on the clipboard.
const std::string kOsc52 = "\x1b]52;c;cHduZWQ=\x07";
const std::string kRlo = "\xe2\x80\xae";  // U+202E RIGHT-TO-LEFT OVERRIDE

Finding infection_finding() {
  Finding f;
  f.kind = FindingKind::infected;
  f.severity = Severity::infection;
  f.rule = "funlove.structure";
  f.name = "W32.FunLove.4099";
  f.confidence = Confidence::high;
  f.evidence = "body at the end of the last section";
  return f;
}

host::HostReport host_with(const std::string& program, const std::string& kernel) {
  host::HostReport host;
  host.install.volume_root = "/t";
  host.install.windows_dir = "/t/WINNT";
  host.programs.push_back(host::ProgramCheck{program, true, "", host::FileStatus::missing});
  host.flcss = host::ProgramCheck{"flcss.exe", false, "", host::FileStatus::missing};
  host.kernel.push_back(host::KernelCheck{kernel, "", "missing", ""});
  host.verdict = host::Verdict::incomplete;
  host.verdict_text = "incomplete";
  return host;
}

// A shard report (1/1) with one file result and one inventory entry, as the JSON flscan writes.
Json shard_document(const ScanReport& report, PrintSettings settings = {}) {
  settings.inventory = true;
  settings.meta = ReportMeta{"1.0", {"builtin"}, 1};
  std::ostringstream out;
  write_json_report(out, report, settings);
  return Json::parse(out.str());
}

ScanReport one_result_report() {
  ScanReport report;
  report.roots = {"/t"};
  report.shard = Shard{1, 1};
  report.results.push_back(FileResult{"/t/a.exe", 4099, kSha, ContentType::pe, {infection_finding()}});
  report.inventory.push_back(InventoryEntry{"/t/a.exe", 4099, kSha, ContentType::pe, ""});
  report.counters.files_seen = 1;
  report.counters.files_with_findings = 1;
  report.counters.infected_files = 1;
  report.counters.findings_by_kind[static_cast<std::size_t>(FindingKind::infected)] = 1;
  report.hosts.push_back(host_with("calc.exe", "ntoskrnl.exe"));
  return report;
}

std::string read_error(const Json& document) {
  auto read = report_from_json(document);
  return read ? std::string() : read.error();
}

std::string file_error(const std::string& text) {
  char name[] = "/tmp/flscan-report-XXXXXX";
  const int fd = ::mkstemp(name);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(name, std::ios::binary) << text;
  auto read = read_json_report_file(name);
  std::remove(name);
  return read ? std::string() : read.error();
}

}  // namespace

TEST_CASE("bidi and invisible format characters are escaped like control bytes", "[report][escape]") {
  // Each byte of the character as \xNN, the scheme of control bytes, so a path stays lossless.
  CHECK(escape_path_for_terminal("bidi" + kRlo + "exe.txt") == "bidi\\xe2\\x80\\xaeexe.txt");
  CHECK(escape_for_terminal("a\xe2\x80\x8b"
                            "b") == "a\\xe2\\x80\\x8bb");  // U+200B zero width space
  CHECK(escape_for_terminal("\xe2\x81\xa6x\xe2\x81\xa9") == "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");  // LRI, PDI
  CHECK(escape_for_terminal("\xd8\x9c") == "\\xd8\\x9c");                    // U+061C Arabic letter mark
  CHECK(escape_for_terminal("\xef\xbb\xbf") == "\\xef\\xbb\\xbf");           // U+FEFF
  CHECK(escape_for_terminal("\xe2\x80\xa8") == "\\xe2\\x80\\xa8");           // U+2028 line separator
  CHECK(escape_for_terminal("\xf3\xa0\x80\x81") == "\\xf3\\xa0\\x80\\x81");  // U+E0001 language tag
  CHECK(escape_for_terminal("\xc2\x9b") == "\\xc2\\x9b");                    // C1 CSI, as before
  // Visible text is left alone: accented and CJK letters, the no-break space.
  CHECK(escape_for_terminal("caf\xc3\xa9 \xe4\xb8\xad \xc2\xa0") == "caf\xc3\xa9 \xe4\xb8\xad \xc2\xa0");
  CHECK(is_printable_text("calc.exe"));
  CHECK_FALSE(is_printable_text("calc" + kRlo + "exe"));
}

// Every range of Default_Ignorable_Code_Point in Unicode 15.1's DerivedCoreProperties.txt,
// copied from that file (grep '; Default_Ignorable_Code_Point'), not from the scanner's table.
TEST_CASE("every Default_Ignorable_Code_Point is escaped, and its visible neighbours are not", "[report][escape]") {
  // Written out as bytes, so the test does not rely on an encoder of its own: U+3164 HANGUL
  // FILLER, U+FFA0 HALFWIDTH HANGUL FILLER, U+115F, U+1160, U+034F COMBINING GRAPHEME JOINER,
  // U+17B4, U+17B5, U+FE00 and U+FE0F VARIATION SELECTORS, U+E0100 and U+E01EF.
  CHECK(escape_for_terminal("a\xe3\x85\xa4"
                            "b") == "a\\xe3\\x85\\xa4b");
  CHECK(escape_for_terminal("\xef\xbe\xa0") == "\\xef\\xbe\\xa0");
  CHECK(escape_for_terminal("\xe1\x85\x9f\xe1\x85\xa0") == "\\xe1\\x85\\x9f\\xe1\\x85\\xa0");
  CHECK(escape_for_terminal("e\xcd\x8f") == "e\\xcd\\x8f");
  CHECK(escape_for_terminal("\xe1\x9e\xb4\xe1\x9e\xb5") == "\\xe1\\x9e\\xb4\\xe1\\x9e\\xb5");
  CHECK(escape_for_terminal("\xef\xb8\x80\xef\xb8\x8f") == "\\xef\\xb8\\x80\\xef\\xb8\\x8f");
  CHECK(escape_for_terminal("\xf3\xa0\x84\x80\xf3\xa0\x87\xaf") == "\\xf3\\xa0\\x84\\x80\\xf3\\xa0\\x87\\xaf");
  const std::pair<char32_t, char32_t> ranges[] = {
      {0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x061C, 0x061C},   {0x115F, 0x1160},   {0x17B4, 0x17B5},
      {0x180B, 0x180D},   {0x180E, 0x180E},   {0x180F, 0x180F},   {0x200B, 0x200F},   {0x202A, 0x202E},
      {0x2060, 0x2064},   {0x2065, 0x2065},   {0x2066, 0x206F},   {0x3164, 0x3164},   {0xFE00, 0xFE0F},
      {0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0},   {0xFFF0, 0xFFF8},   {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
      {0xE0000, 0xE0000}, {0xE0001, 0xE0001}, {0xE0002, 0xE001F}, {0xE0020, 0xE007F}, {0xE0080, 0xE00FF},
      {0xE0100, 0xE01EF}, {0xE01F0, 0xE0FFF}};
  for (const auto& [first, last] : ranges) {
    for (char32_t c = first; c <= last; ++c) {
      INFO("U+" << std::hex << static_cast<std::uint32_t>(c));
      CHECK(is_invisible_control(c));
    }
  }
  // What was escaped before and is not Default_Ignorable stays escaped.
  for (const char32_t c :
       {char32_t{0x80}, char32_t{0x9F}, char32_t{0x2028}, char32_t{0x2029}, char32_t{0xFFF9}, char32_t{0xFFFB}}) {
    CHECK(is_invisible_control(c));
  }
  // Visible neighbours: letters, punctuation, the no-break space.
  for (const char32_t c :
       {char32_t{0xA0}, char32_t{0xAC}, char32_t{0x034E}, char32_t{0x1161}, char32_t{0x17B6}, char32_t{0x3163},
        char32_t{0x3165}, char32_t{0xFE10}, char32_t{0xFFA1}, char32_t{0x1D172}, char32_t{0xE1000}}) {
    INFO("U+" << std::hex << static_cast<std::uint32_t>(c));
    CHECK_FALSE(is_invisible_control(c));
  }
}

TEST_CASE("the text and HTML printers escape every field whatever its source", "[report][escape]") {
  ScanReport report = one_result_report();
  report.results[0].sha256 = "<script>alert(1)</script>" + kOsc52;
  report.inventory[0].sha256 = kOsc52;
  report.hosts[0] = host_with("calc" + kOsc52 + ".exe", "nt" + kOsc52 + "krnl.exe");
  report.hosts[0].kernel[0].status = kOsc52;
  report.hosts[0].symptoms.push_back(host::SymptomRow{"flc" + kOsc52, "s", "m", host::SymptomStatus::found, {}});
  ImageVolume volume;
  volume.image = "/i.raw";
  volume.name = "p1";
  volume.filesystem = "ntfs" + kOsc52 + kRlo;
  volume.image_files = {"/i.raw", "/parent" + kOsc52 + ".raw"};  // a parent chain's names (issue 15)
  report.volumes.push_back(volume);
  PrintSettings settings;
  settings.inventory = true;
  settings.meta = ReportMeta{"1.0", {"builtin"}, 1};

  std::ostringstream text;
  write_text_report(text, report, settings);
  CHECK(text.str().find('\x1b') == std::string::npos);
  CHECK(text.str().find('\x07') == std::string::npos);
  CHECK(text.str().find(kRlo) == std::string::npos);
  CHECK(text.str().find("\\x1b]52;c;cHduZWQ=\\x07") != std::string::npos);

  std::ostringstream html;
  write_html_report(html, report, settings);
  CHECK(html.str().find("<script>") == std::string::npos);
  CHECK(html.str().find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.str().find('\x1b') == std::string::npos);
  CHECK(html.str().find("made of /i.raw + /parent") != std::string::npos);
  CHECK(text.str().find("made of /i.raw + /parent") != std::string::npos);
}

TEST_CASE("the report reader refuses fields that are not what flscan writes, naming field and entry",
          "[report][json]") {
  const Json good = shard_document(one_result_report());
  REQUIRE(read_error(good).empty());

  Json doc = good;
  doc["results"][0]["sha256"] = "<script>alert(1)</script>";
  CHECK(read_error(doc).find("results[0].sha256: not 64 lower-case hex digits") != std::string::npos);
  doc = good;
  doc["results"][0]["sha256"] = std::string(64, 'A');  // upper case is not what flscan writes
  CHECK(read_error(doc).find("results[0].sha256") != std::string::npos);
  doc = good;
  doc["inventory"][0]["sha256"] = kSha + "0";
  CHECK(read_error(doc).find("inventory[0].sha256") != std::string::npos);
  doc = good;
  doc["hosts"][0]["programs"][0]["name"] = "calc" + kOsc52 + ".exe";
  CHECK(read_error(doc).find("hosts[0].programs[0].name") != std::string::npos);
  doc = good;
  doc["hosts"][0]["programs"][0]["name"] = "../../calc.exe";
  CHECK(read_error(doc).find("hosts[0].programs[0].name: not a name") != std::string::npos);
  doc = good;
  doc["hosts"][0]["kernel"][0]["name"] = "nt" + kRlo + "exe.krnl";
  CHECK(read_error(doc).find("hosts[0].kernel[0].name") != std::string::npos);
  doc = good;
  doc["hosts"][0]["kernel"][0]["status"] = "clean" + kOsc52;
  CHECK(read_error(doc).find("hosts[0].kernel[0].status: unknown code") != std::string::npos);
  doc = good;
  doc["flscan_version"] = "1.0" + kOsc52;
  CHECK(read_error(doc).find("flscan_version") != std::string::npos);
  doc = good;
  doc["volumes"] = Json::array({Json{{"image", {{"text", "/i.raw"}}},
                                     {"volume", "p1"},
                                     {"image_format", "raw"},
                                     {"image_files", Json::array({Json{{"text", "/i.raw"}}})},
                                     {"offset", 0},
                                     {"length", 1},
                                     {"partition_type", ""},
                                     {"filesystem", "ntfs" + kOsc52},
                                     {"status", "scanned"},
                                     {"reason", nullptr},
                                     {"detail", ""},
                                     {"host_error", nullptr}}});
  CHECK(read_error(doc).find("volumes[0].filesystem") != std::string::npos);
}

TEST_CASE("the files an image is made of survive the JSON report", "[report][json][issue15]") {
  // A qcow2 with its backing file: `flscan merge` reads back the chain each volume names.
  ScanReport report = one_result_report();
  ImageVolume volume;
  volume.image = "snap/top.qcow2";
  volume.name = "p1";
  volume.image_format = "qcow2";
  volume.image_files = {"snap/top.qcow2", "snap/base.qcow2"};
  report.volumes.push_back(volume);
  const Json doc = shard_document(report);
  REQUIRE(doc["volumes"][0]["image_files"].size() == 2);
  auto read = report_from_json(doc);
  REQUIRE(read);
  REQUIRE(read->report.volumes.size() == 1);
  CHECK(read->report.volumes[0].image_files == volume.image_files);
  Json missing = doc;
  missing["volumes"][0].erase("image_files");
  CHECK(read_error(missing).find("volumes[0]: missing key \"image_files\"") != std::string::npos);
}

TEST_CASE("a decrypted volume's kind of key survives the JSON report; a control character in it is refused",
          "[report][json][issue15]") {
  ScanReport report = one_result_report();
  ImageVolume volume;
  volume.image = "/i.luks";
  volume.name = "vol";
  volume.image_format = "raw";
  volume.filesystem = "fat16";
  volume.decrypted_with = "luks-passphrase";
  report.volumes.push_back(volume);
  volume.name = "p2";
  volume.decrypted_with.clear();
  volume.status = VolumeStatus::error;
  volume.reason = NotScannedReason::key_rejected;
  report.volumes.push_back(volume);
  Json doc = shard_document(report);
  CHECK(doc["volumes"][0]["decrypted_with"] == "luks-passphrase");
  CHECK(doc["volumes"][1]["decrypted_with"].is_null());
  CHECK(doc["volumes"][1]["reason"] == "key-rejected");
  auto read = report_from_json(doc);
  REQUIRE(read);
  REQUIRE(read->report.volumes.size() == 2);
  CHECK(read->report.volumes[0].decrypted_with == "luks-passphrase");
  CHECK(read->report.volumes[1].decrypted_with.empty());
  CHECK(read->report.volumes[1].reason == NotScannedReason::key_rejected);
  doc["volumes"][0]["decrypted_with"] = "luks" + kOsc52;
  CHECK(read_error(doc).find("volumes[0].decrypted_with") != std::string::npos);
  // Reports of earlier versions have no such field: read as not decrypted.
  doc["volumes"][0].erase("decrypted_with");
  auto older = report_from_json(doc);
  REQUIRE(older);
  CHECK(older->report.volumes[0].decrypted_with.empty());
}

TEST_CASE("root facts survive the JSON report and a malformed one is refused", "[report][json]") {
  // What the scan recorded comes back as written (the SARIF printer reads nothing else, issue 14);
  // a report without it is read with none (root_facts_of infers them).
  ScanReport report = one_result_report();
  report.roots = {"t", "/t/a.exe"};
  report.root_facts = {RootFacts{"/scan/dir/t", RootKind::directory, ReadOrder::disk, "auto: rotational device sda"},
                       RootFacts{"/t/a.exe", RootKind::file}};
  report.working_directory = "/scan/dir";
  const Json good = shard_document(report);
  auto read = report_from_json(good);
  REQUIRE(read);
  CHECK(read->report.root_facts == report.root_facts);
  CHECK(read->report.working_directory == "/scan/dir");

  Json older = good;
  older.erase("root_facts");
  read = report_from_json(older);
  REQUIRE(read);
  CHECK(read->report.root_facts.empty());
  CHECK(read->report.working_directory.empty());
  // Inferred: "t" has no entry of its own (a directory, place unknown); /t/a.exe has a result.
  CHECK(root_facts_of(read->report, 0) == RootFacts{"", RootKind::directory});
  CHECK(root_facts_of(read->report, 1) == RootFacts{"/t/a.exe", RootKind::file});

  Json doc = good;
  doc["root_facts"]["roots"].erase(1);
  CHECK(read_error(doc).find("root_facts.roots: not one entry per root") != std::string::npos);
  doc = good;
  doc["root_facts"]["roots"][0]["kind"] = "folder";
  CHECK(read_error(doc).find("root_facts.roots[0].kind: unknown code") != std::string::npos);
  doc = good;
  doc["root_facts"]["roots"][0]["absolute"] = Json{{"text", "relative/t"}};
  CHECK(read_error(doc).find("root_facts.roots[0].absolute: not an absolute path") != std::string::npos);
  doc = good;
  doc["root_facts"]["working_directory"] = Json{{"text", "here"}};
  CHECK(read_error(doc).find("root_facts.working_directory: not an absolute path") != std::string::npos);
  // The read order (issue 19): a known code, a printable reason; absent in older reports.
  doc = good;
  doc["root_facts"]["roots"][0]["read_order"] = "random";
  CHECK(read_error(doc).find("root_facts.roots[0].read_order: unknown code") != std::string::npos);
  doc = good;
  doc["root_facts"]["roots"][0]["read_order_reason"] = "auto: \x1b[2J";
  CHECK(read_error(doc).find("root_facts.roots[0].read_order_reason") != std::string::npos);
  doc = good;
  doc["root_facts"]["roots"][0].erase("read_order");
  doc["root_facts"]["roots"][0].erase("read_order_reason");
  read = report_from_json(doc);
  REQUIRE(read);
  CHECK_FALSE(read->report.root_facts[0].read_order.has_value());
}

TEST_CASE("a report file naming a top-level key twice is refused", "[report][json]") {
  // With the key given twice one reader would see the first results and another the last.
  const Json good = shard_document(one_result_report());
  std::string text = good.dump();
  REQUIRE(file_error(text).empty());
  text.insert(1, "\"results\":[],");
  CHECK(file_error(text).find("results: the key appears twice") != std::string::npos);
}

TEST_CASE("the report file reader keeps its depth and value caps", "[report][json]") {
  const std::string deep = std::string(kMaxReportDepth + 1, '[') + std::string(kMaxReportDepth + 1, ']');
  CHECK(file_error(deep).find("kMaxReportDepth") != std::string::npos);
  // Inside a streamed array too (each element is built on its own, the cap counts them all).
  const std::string deep_entry =
      "{\"results\":[" + std::string(kMaxReportDepth, '[') + std::string(kMaxReportDepth, ']') + "]}";
  CHECK(file_error(deep_entry).find("kMaxReportDepth") != std::string::npos);
  std::string many = "{\"x\":[";
  many.reserve(2 * kMaxReportValues + 16);
  for (std::uint64_t i = 0; i < kMaxReportValues; ++i) many += "0,";
  many += "0]}";
  CHECK(file_error(many).find("kMaxReportValues") != std::string::npos);
  // Within one entry of a streamed array as well.
  many.replace(0, 6, "{\"hosts\":[[");
  many.replace(many.size() - 2, 2, "]]}");
  CHECK(file_error(many).find("kMaxReportValues") != std::string::npos);
  CHECK(file_error("{\"schema\": ").find("not valid JSON") != std::string::npos);
}

TEST_CASE("merged counters and verdicts come from the merged entries, not the shards' summaries", "[report][merge]") {
  // A shard listing an infected file whose summary says no file is infected.
  Json lying = shard_document(one_result_report());
  lying["summary"]["infected_files"] = 0;
  lying["summary"]["files_with_findings"] = 0;
  lying["summary"]["findings_by_kind"]["infected"] = 0;
  lying["exit_code"] = 0;
  auto read = report_from_json(lying);
  REQUIRE(read);
  auto merged = merge_shard_reports({ShardReport{"lying.json", std::move(*read)}});
  REQUIRE(merged);
  CHECK(merged->report.counters.infected_files == 1);
  CHECK(merged->report.counters.files_with_findings == 1);
  CHECK(merged->report.counters.findings_by_kind[static_cast<std::size_t>(FindingKind::infected)] == 1);
  CHECK(merged->exit_code == kExitInfected);
  CHECK(exit_code(merged->report) == kExitInfected);

  // The other direction: a summary claiming infections its results do not list.
  ScanReport clean = one_result_report();
  clean.results.clear();
  Json claiming = shard_document(clean);
  claiming["summary"]["infected_files"] = 5;
  claiming["summary"]["files_with_findings"] = 5;
  claiming["exit_code"] = 1;
  read = report_from_json(claiming);
  REQUIRE(read);
  merged = merge_shard_reports({ShardReport{"claiming.json", std::move(*read)}});
  REQUIRE(merged);
  CHECK(merged->report.counters.infected_files == 0);
  CHECK(merged->report.counters.files_with_findings == 0);
  CHECK_FALSE(merged->report.infection_found());
}

TEST_CASE("the JSON report written entry by entry is the document report_to_json builds", "[report][json]") {
  // write_json_report never holds the entry arrays as JSON; its bytes must still be nlohmann's
  // pretty print of the whole document.
  const auto whole = [&](const ScanReport& report, const PrintSettings& options) {
    return report_to_json(report, options).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  };
  const auto streamed = [&](const ScanReport& report, const PrintSettings& options) {
    std::ostringstream out;
    write_json_report(out, report, options);
    return out.str();
  };
  PrintSettings options;
  options.meta = ReportMeta{"1.0", {"builtin"}, 1};
  ScanReport empty;
  CHECK(streamed(empty, options) == whole(empty, options));

  ScanReport report = one_result_report();
  report.results.push_back(FileResult{"/t/b\xff.exe", 1, kSha, ContentType::mz_not_pe, {infection_finding()}});
  report.not_scanned.push_back(NotScannedEntry{"/t/c", NotScannedReason::not_found, "gone"});
  report.skipped.push_back(SkippedEntry{"/t/d.iso", SkipReason::excluded, "--exclude *.iso"});
  report.skipped.push_back(SkippedEntry{"/t/pipe", SkipReason::fifo, ""});
  report.inventory.push_back(InventoryEntry{"/t/e.exe", 2, kSha, ContentType::mz_not_pe, "no PE header"});
  options.inventory = true;
  CHECK(streamed(report, options) == whole(report, options));
  options.verbose = true;  // excluded entries listed
  CHECK(streamed(report, options) == whole(report, options));
  options.inventory = false;
  CHECK(streamed(report, options) == whole(report, options));
}
