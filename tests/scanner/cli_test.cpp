// The flscan binary end to end on small synthetic trees: exit codes, the text report, the JSON
// document, and the cases that need a real process (unprivileged runs, non-UTF-8 names).
// Infection evidence comes from a user hash signature (-d x.hsb) over a synthetic file, so these
// tests do not depend on the infected corpus (the corpus scan is tests/e2e's).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scanner/report/text_encoding.h"
#include "test_support.h"

using flscan::test::run_flscan;
using flscan::test::RunResult;
using flscan::test::TempDir;
using flscan::test::write_file;
using nlohmann::json;

namespace {

constexpr const char* kMarked = "synthetic marked content, not a virus\n";
constexpr const char* kSignatureName = "Test.Synthetic.Marker";

// A .hsb database whose one signature matches files holding exactly kMarked.
std::string marker_database(const TempDir& dir) {
  const std::string path = dir / "marker.hsb";
  write_file(path, flscan::test::sha256_hex(kMarked) + ":" + std::to_string(std::string(kMarked).size()) + ":" +
                       kSignatureName + "\n");
  return path;
}

json parse_json(const RunResult& run) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  json document;
  REQUIRE_NOTHROW(document = json::parse(run.out));
  return document;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cli: exit 0 on a clean tree, with a summary a newcomer can read", "[cli]") {
  const TempDir dir;
  write_file(dir / "tree/readme.txt", "hello");
  write_file(dir / "tree/tool.exe", flscan::test::mz_bytes(4000));
  const RunResult run = run_flscan({dir / "tree"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  CHECK_FALSE(contains(run.out, "NOT SCANNED"));
  for (const char* line : {"--- flscan summary ---", "Files:        2 files found in 1 directory",
                           "Bytes read:", "Findings:     0 files with FunLove evidence", "Not scanned:  0",
                           "Skipped:      0", "MB/s", "files/s", "Signatures:", "Result:       clean"}) {
    INFO(line);
    CHECK(contains(run.out, line));
  }
}

TEST_CASE("cli: a hash database makes only files of its sizes read whole (issue 19)", "[cli]") {
  // marker.hsb names one size (that of kMarked): the other non-PE files are sniffed only, the
  // marked one and the MZ file (PE files always are) are read whole and hashed.
  const TempDir dir;
  const std::string database = marker_database(dir);
  const std::string marked(kMarked);
  write_file(dir / "tree/marked.bin", marked);
  write_file(dir / "tree/same-size.txt", std::string(marked.size(), 'x'));
  write_file(dir / "tree/longer.txt", marked + "x");
  write_file(dir / "tree/big.log", std::string(100000, 'y'));
  write_file(dir / "tree/tool.exe", flscan::test::mz_bytes(4000));
  const RunResult run = run_flscan({"-d", database, "--json", "-", dir / "tree"});
  CHECK(run.exit_code == 1);
  const json report = parse_json(run);
  CHECK(report["summary"]["files_seen"] == 5);
  CHECK(report["summary"]["files_read"] == 5);
  CHECK(report["summary"]["files_read_whole"] == 3);  // marked.bin, same-size.txt, tool.exe
  CHECK(report["summary"]["bytes_read"] == 2 * marked.size() + (marked.size() + 1) + 4096 + 4000);
  REQUIRE(report["results"].size() >= 1);
  bool marked_found = false;
  for (const json& result : report["results"]) {
    for (const json& finding : result["findings"]) marked_found = marked_found || finding["name"] == kSignatureName;
  }
  CHECK(marked_found);

  SECTION("a size wildcard still reads every file whole") {
    const std::string any = dir / "any.hsb";
    write_file(any, flscan::test::sha256_hex(kMarked) + ":*:" + kSignatureName + ":73\n");
    const RunResult wild = run_flscan({"-d", any, "--json", "-", dir / "tree"});
    CHECK(parse_json(wild)["summary"]["files_read_whole"] == 5);
  }
}

TEST_CASE("cli: the summary and the JSON report say which read order was used and why (issue 19)", "[cli]") {
  const TempDir dir;
  write_file(dir / "tree/readme.txt", "hello");
  write_file(dir / "tree/tool.exe", flscan::test::mz_bytes(4000));
  const RunResult disk = run_flscan({"--read-order", "disk", dir / "tree"});
  INFO(disk.out << disk.err);
  CHECK(disk.exit_code == 0);
  CHECK(contains(disk.out, "Read order:   disk (--read-order disk)\n"));
  const RunResult listing =
      run_flscan({"--read-order", "listing", "--json", "-", dir / "tree", dir / "tree/readme.txt"});
  const json report = parse_json(listing);
  const json& roots = report["root_facts"]["roots"];
  REQUIRE(roots.size() == 2);
  CHECK(roots[0]["read_order"] == "listing");
  CHECK(roots[0]["read_order_reason"] == "--read-order listing");
  CHECK(roots[1]["read_order"].is_null());  // a file operand: no directory to order
  CHECK(roots[1]["read_order_reason"].is_null());
}

TEST_CASE("cli: --quiet drops the summary", "[cli]") {
  const TempDir dir;
  write_file(dir / "a.txt", "a");
  const RunResult run = run_flscan({"-q", dir.path().string()});
  CHECK(run.exit_code == 0);
  CHECK(run.out.empty());
}

TEST_CASE("cli: exit 1 when evidence is found; the finding line and its evidence", "[cli]") {
  const TempDir dir;
  const std::string database = marker_database(dir);
  write_file(dir / "tree/marked.bin", kMarked);
  write_file(dir / "tree/clean.txt", "clean");
  const RunResult run = run_flscan({"-d", database, dir / "tree"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 1);
  CHECK(contains(run.out, dir / "tree/marked.bin: " + std::string(kSignatureName) + " FOUND (signature)\n    "));
  CHECK(contains(run.out, "rule sig:" + std::string(kSignatureName)));
  CHECK(contains(run.out, "Result:       FunLove evidence FOUND (exit code 1)"));

  const RunResult brief = run_flscan({"--brief", "-q", "-d", database, dir / "tree"});
  CHECK(brief.exit_code == 1);
  CHECK(brief.out == dir / "tree/marked.bin: " + std::string(kSignatureName) + " FOUND (signature)\n");
}

TEST_CASE("cli: exit 1 wins over 2, and the summary still says the scan is incomplete", "[cli]") {
  const TempDir dir;
  const std::string database = marker_database(dir);
  write_file(dir / "tree/marked.bin", kMarked);
  const RunResult run = run_flscan({"-d", database, dir / "tree", dir / "missing"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 1);
  CHECK(contains(run.out, dir / "missing: NOT SCANNED (does not exist"));
  CHECK(contains(run.out, "the scan is also INCOMPLETE: 1 entry not scanned"));

  const RunResult as_json = run_flscan({"-d", database, "--json", "-", dir / "tree", dir / "missing"});
  const json document = parse_json(as_json);
  CHECK(document["exit_code"] == 1);
  CHECK(document["summary"]["complete"] == false);
  CHECK(document["not_scanned"][0]["reason"] == "not-found");
}

TEST_CASE("cli: exit 2 for a PATH that does not exist, a bad option, a bad signature file", "[cli]") {
  const TempDir dir;
  const RunResult missing = run_flscan({dir / "missing"});
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.out, "NOT SCANNED (does not exist: stat: No such file or directory)"));
  CHECK(contains(missing.out, "INCOMPLETE"));

  const RunResult bad_option = run_flscan({"--no-such-option", dir.path().string()});
  CHECK(bad_option.exit_code == 2);
  CHECK_FALSE(bad_option.err.empty());

  const RunResult no_path = run_flscan({});
  CHECK(no_path.exit_code == 2);

  write_file(dir / "broken.ndb", "Good.Name:0:*:4d5a\nBad.Name:0:*:zz\n");
  const RunResult bad_database = run_flscan({"-d", dir / "broken.ndb", dir.path().string()});
  INFO(bad_database.err);
  CHECK(bad_database.exit_code == 2);
  CHECK(contains(bad_database.err, "broken.ndb:2:"));
  CHECK(bad_database.out.empty());  // nothing was scanned
}

TEST_CASE("cli: --version names the version and the signature set", "[cli]") {
  const TempDir dir;
  const RunResult plain = run_flscan({"--version"});
  CHECK(plain.exit_code == 0);
  CHECK(plain.out.rfind("flscan ", 0) == 0);
  CHECK(contains(plain.out, "signatures: "));
  const RunResult with_database = run_flscan({"--version", "-d", marker_database(dir)});
  CHECK(with_database.exit_code == 0);
  CHECK(contains(with_database.out, "marker.hsb"));
}

TEST_CASE("cli: --help documents the exit codes and the 1-over-2 rule", "[cli]") {
  const RunResult run = run_flscan({"--help"});
  CHECK(run.exit_code == 0);
  CHECK(contains(run.out, "Exit codes:"));
  CHECK(contains(run.out, "When both 1 and 2 apply, the exit code is 1"));
}

TEST_CASE("cli: --json - is one parseable document on stdout, and nothing else", "[cli][json]") {
  const TempDir dir;
  const std::string database = marker_database(dir);
  write_file(dir / "tree/marked.bin", kMarked);
  write_file(dir / "tree/tool.exe", flscan::test::mz_bytes(3000));
  flscan::test::make_fifo(dir / "tree/pipe");
  write_file(dir / "tree/skip.iso", "iso");
  const RunResult run = run_flscan({"--json", "-", "--inventory", "--exclude", "*.iso", "-d", database, dir / "tree"});
  CHECK(run.exit_code == 1);
  const json document = parse_json(run);
  CHECK(document["schema"] == "flscan-report");
  CHECK(document["schema_version"] == 1);
  CHECK(document["flscan_version"].is_string());
  CHECK(document["signatures"]["count"].get<int>() >= 1);
  CHECK(flscan::test::json_path_bytes(document["roots"][0]) == dir / "tree");
  CHECK(document["options"]["exclude"] == json::array({"*.iso"}));
  CHECK(document["options"]["inventory"] == true);

  REQUIRE(document["results"].size() == 1);
  const json& result = document["results"][0];
  CHECK(flscan::test::json_path_bytes(result["path"]) == dir / "tree/marked.bin");
  CHECK(result["sha256"] == flscan::test::sha256_hex(kMarked));
  CHECK(result["size"] == std::string(kMarked).size());
  CHECK(result["state"] == "signature");
  CHECK(result["severity"] == "infection");
  const json& finding = result["findings"][0];
  for (const char* key : {"kind", "severity", "rule", "name", "confidence", "evidence", "offset"}) {
    INFO(key);
    CHECK(finding.contains(key));
  }
  CHECK(finding["name"] == kSignatureName);

  REQUIRE(document["skipped"].size() == 1);  // the FIFO; the excluded file is only counted
  CHECK(document["skipped"][0]["reason"] == "fifo");
  CHECK(document["summary"]["skipped_by_reason"]["excluded"] == 1);
  CHECK(document["summary"]["skipped_by_reason"]["fifo"] == 1);
  CHECK(document["not_scanned"].empty());
  CHECK(document["summary"]["complete"] == true);
  CHECK(document["summary"]["files_seen"] == 2);
  CHECK(document["summary"]["infected_files"] == 1);
  CHECK(document["exit_code"] == 1);

  const json* tool = flscan::test::find_by_path(document["inventory"], dir / "tree/tool.exe");
  REQUIRE(tool);
  CHECK((*tool)["size"] == 3000);
  CHECK((*tool)["type"] == "mz");
}

TEST_CASE("cli: --json FILE writes the document and keeps the text report on stdout", "[cli][json]") {
  const TempDir dir;
  write_file(dir / "tree/a.txt", "a");
  const std::string report_path = dir / "report.json";
  const RunResult run = run_flscan({"--json", report_path, dir / "tree"});
  CHECK(run.exit_code == 0);
  CHECK(contains(run.out, "--- flscan summary ---"));
  std::ifstream in(report_path);
  const json document = json::parse(in);
  CHECK(document["exit_code"] == 0);
  CHECK(document["summary"]["files_seen"] == 1);
  CHECK_FALSE(document.contains("inventory"));  // only with --inventory

  const RunResult unwritable = run_flscan({"--json", dir / "no/such/dir/report.json", dir / "tree"});
  CHECK(unwritable.exit_code == 2);
  CHECK(contains(unwritable.err, "cannot write the JSON report"));
}

TEST_CASE("cli: non-UTF-8 file names survive the JSON report as bytes", "[cli][json]") {
  const TempDir dir;
  const std::string database = marker_database(dir);
  const std::string infected_name = dir / "tree/caf\xE9-latin1.bin";  // Latin-1 e-acute: not UTF-8
  const std::string fifo_name = dir / "tree/pipe-\xFF\xFE";
  const std::string utf8_name = dir / "tree/caf\xC3\xA9.bin";
  write_file(infected_name, kMarked);
  write_file(utf8_name, kMarked);
  flscan::test::make_fifo(fifo_name);
  const RunResult run = run_flscan({"--json", "-", "-d", database, dir / "tree"});
  const json document = parse_json(run);
  REQUIRE(document["results"].size() == 2);
  const json* latin1 = flscan::test::find_by_path(document["results"], infected_name);
  REQUIRE(latin1);
  CHECK((*latin1)["path"].contains("bytes"));
  const json* utf8 = flscan::test::find_by_path(document["results"], utf8_name);
  REQUIRE(utf8);
  CHECK((*utf8)["path"]["text"] == utf8_name);
  REQUIRE(document["skipped"].size() == 1);
  CHECK(flscan::test::json_path_bytes(document["skipped"][0]["path"]) == fifo_name);

  // The text report escapes the bytes instead of writing them raw to a terminal.
  const RunResult text = run_flscan({"-v", "-d", database, dir / "tree"});
  CHECK(contains(text.out, dir / "tree/caf\\xe9-latin1.bin: "));
  CHECK(contains(text.out, dir / "tree/pipe-\\xff\\xfe: skipped (FIFO"));
}

TEST_CASE("cli: FIFOs and sockets never block the scan; -v lists them", "[cli][special]") {
  const TempDir dir;
  write_file(dir / "tree/a.txt", "a");
  flscan::test::make_fifo(dir / "tree/pipe");
  flscan::test::make_socket(dir / "tree/sock");
  const RunResult run = run_flscan({"-v", dir / "tree"}, {}, 60);
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  CHECK(contains(run.out, dir / "tree/pipe: skipped (FIFO, never opened"));
  CHECK(contains(run.out, dir / "tree/sock: skipped (socket, never opened"));
  CHECK(contains(run.out, "Skipped:      2 (fifo 1, socket 1;"));
  const RunResult quiet = run_flscan({dir / "tree"}, {}, 60);
  CHECK_FALSE(contains(quiet.out, "skipped (FIFO"));
  CHECK(contains(quiet.out, "-v lists them"));
}

TEST_CASE("cli: a symlink loop under -L is reported and the scan completes", "[cli][symlink]") {
  const TempDir dir;
  write_file(dir / "tree/sub/a.txt", "a");
  flscan::test::make_symlink("..", dir / "tree/sub/loop");  // back up to tree
  const RunResult run = run_flscan({"-L", "--json", "-", dir / "tree"}, {}, 60);
  const json document = parse_json(run);
  const json* loop = flscan::test::find_by_path(document["not_scanned"], dir / "tree/sub/loop");
  REQUIRE(loop);
  CHECK((*loop)["reason"] == "loop");
  CHECK(document["summary"]["files_seen"] == 1);
  CHECK(run.exit_code == 2);
}

TEST_CASE("cli: --max-filesize refuses a big MZ file with exit 2", "[cli]") {
  const TempDir dir;
  write_file(dir / "tree/big.exe", flscan::test::mz_bytes(5000));
  const RunResult run = run_flscan({"--max-filesize", "4K", dir / "tree"});
  CHECK(run.exit_code == 2);
  CHECK(contains(run.out, dir / "tree/big.exe: NOT SCANNED (larger than --max-filesize: 5000 bytes"));
  CHECK(run_flscan({"--max-filesize", "5K", dir / "tree"}).exit_code == 0);
}

TEST_CASE("cli: --threads 1 gives the same report as the default", "[cli]") {
  const TempDir dir;
  const std::string database = marker_database(dir);
  for (int i = 0; i < 40; ++i)
    write_file(dir / ("tree/d" + std::to_string(i % 6) + "/f" + std::to_string(i)), i % 9 ? "x" : kMarked);
  const json one = parse_json(run_flscan({"-j", "1", "--json", "-", "-d", database, dir / "tree"}));
  const json many = parse_json(run_flscan({"--json", "-", "-d", database, dir / "tree"}));
  CHECK(one["results"] == many["results"]);
  CHECK(one["results"].size() == 5);
}

TEST_CASE("cli: unreadable file and unlistable directory are not scanned (as an unprivileged user)",
          "[cli][permissions]") {
  const TempDir dir;
  write_file(dir / "tree/secret.exe", flscan::test::mz_bytes(100));
  write_file(dir / "tree/locked/inside.exe", flscan::test::mz_bytes(100));
  write_file(dir / "tree/open.txt", "readable");
  REQUIRE(::chmod((dir / "tree/secret.exe").c_str(), 0) == 0);
  REQUIRE(::chmod((dir / "tree/locked").c_str(), 0) == 0);
  std::vector<std::string> prefix;
  if (flscan::test::running_as_root()) {
    // Permission bits do not bind root: run flscan as nobody.
    const auto setpriv = flscan::test::drop_privileges_prefix();
    if (!setpriv) {
      WARN("running as root without setpriv: permission case not exercised");
      return;
    }
    prefix = *setpriv;
    if (run_flscan({"--version"}, prefix).exit_code != 0) {
      WARN("the flscan binary is not reachable as an unprivileged user here; permission case not exercised");
      return;
    }
  }
  const RunResult run = run_flscan({"--json", "-", dir / "tree"}, prefix);
  const json document = parse_json(run);
  CHECK(run.exit_code == 2);
  const json* secret = flscan::test::find_by_path(document["not_scanned"], dir / "tree/secret.exe");
  REQUIRE(secret);
  CHECK((*secret)["reason"] == "permission-denied");
  CHECK(contains((*secret)["detail"].get<std::string>(), "Permission denied"));
  const json* locked = flscan::test::find_by_path(document["not_scanned"], dir / "tree/locked");
  REQUIRE(locked);
  CHECK((*locked)["reason"] == "unlistable-directory");
  CHECK(document["summary"]["not_scanned_by_reason"]["permission-denied"] == 1);
  CHECK(document["summary"]["files_read"] == 1);
}

TEST_CASE("text escaping keeps a literal backslash apart from an escaped byte", "[cli][encoding]") {
  // Name bytes a, \, x, 0, a, b versus a, newline, b: both once printed as "a\x0ab".
  CHECK(flscan::scanner::escape_path_for_terminal(std::string("a\\x0ab")) == "a\\x5cx0ab");
  CHECK(flscan::scanner::escape_path_for_terminal(std::string("a\nb")) == "a\\x0ab");
  // Evidence text (registry ImagePaths) keeps its backslashes readable.
  CHECK(flscan::scanner::escape_for_terminal(std::string("C:\\WINNT")) == "C:\\WINNT");
}
