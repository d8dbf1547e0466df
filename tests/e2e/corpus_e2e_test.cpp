// Scans the generated corpus with the real flscan binary and checks every file's verdict against
// what corpus/manifest.json says the file was built to be (never against earlier scanner output).
#include <catch2/catch.hpp>

#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

const std::string kCorpus = FLSCAN_CORPUS_DIR;

struct Run {
  int exit_code = -1;
  json report;
};

Run run_flscan(const std::string& args) {
  const std::string command = std::string(FLSCAN_BINARY) + " --json - " + args;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 65536> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  Run run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.report = json::parse(out);
  return run;
}

json load_manifest() {
  std::ifstream in(kCorpus + "/manifest.json");
  REQUIRE(in.good());
  return json::parse(in);
}

// Path relative to the corpus root, as the manifest writes it.
std::string relative(const json& path) {
  const std::string text = path.at("text").get<std::string>();
  REQUIRE(text.rfind(kCorpus + "/", 0) == 0);
  return text.substr(kCorpus.size() + 1);
}

const std::set<std::string> kStatesReportedAsSuch = {"infected", "damaged",        "remnant",         "inoculated",
                                                     "dropper",  "kernel-patched", "kernel-modified", "loader-patched"};

}  // namespace

TEST_CASE("every corpus file gets the verdict its manifest gives", "[e2e][corpus]") {
  // Once as read whole (the default for files this small), once with every file streamed in
  // chunks (--stream-above 0): both reads must give the manifest's verdicts.
  const std::string read_mode = GENERATE(as<std::string>{}, "", "--stream-above 0 ");
  INFO("options: " << read_mode);
  const json manifest = load_manifest();
  const Run run = run_flscan("--threads 2 " + read_mode + kCorpus);

  std::map<std::string, json> results;
  for (const json& r : run.report.at("results")) results[relative(r.at("path"))] = r;

  CHECK(run.report.at("not_scanned").empty());
  CHECK(run.report.at("summary").at("complete").get<bool>());
  CHECK(run.exit_code == 1);  // the corpus holds infections

  std::size_t checked = 0;
  for (const json& entry : manifest.at("files")) {
    const std::string path = entry.at("path");
    const std::string expected = entry.at("expected");
    const auto found = results.find(path);
    INFO(path << ": built as " << expected << " — " << entry.value("how", ""));
    if (kStatesReportedAsSuch.count(expected) != 0) {
      REQUIRE(found != results.end());
      CHECK(found->second.at("state") == expected);
    } else if (expected == "clean") {
      // A clean file gets no finding at all, not even an informational one.
      CHECK(found == results.end());
    } else if (expected == "decoy") {
      // Section 5: a decoy is never an infection; at most a low-confidence note.
      if (found != results.end()) CHECK(found->second.at("severity") != "infection");
    } else {
      FAIL("manifest state the test does not know: " << expected);
    }
    ++checked;
  }
  CHECK(checked == manifest.at("files").size());
  CHECK(checked >= 100);
}

TEST_CASE("infected and dropper files are infection-severity; informational states are not", "[e2e][corpus]") {
  const json manifest = load_manifest();
  const Run run = run_flscan(kCorpus);
  std::map<std::string, std::string> severity;
  for (const json& r : run.report.at("results")) severity[relative(r.at("path"))] = r.at("severity");
  for (const json& entry : manifest.at("files")) {
    const std::string expected = entry.at("expected");
    const std::string path = entry.at("path");
    INFO(path << " built as " << expected);
    if (expected == "infected" || expected == "damaged" || expected == "dropper" || expected == "kernel-patched" ||
        expected == "loader-patched") {
      CHECK(severity[path] == "infection");
    } else if (expected == "remnant" || expected == "inoculated") {
      CHECK(severity[path] == "informational");
    }
  }
}

TEST_CASE("a tree with nothing but clean files exits 0", "[e2e][corpus]") {
  const Run run = run_flscan(kCorpus + "/clean");
  CHECK(run.exit_code == 0);
  CHECK(run.report.at("results").empty());
  CHECK(run.report.at("summary").at("pe_files").get<int>() > 5);
}

TEST_CASE("malformed PEs never stop the scan and never count as unscanned", "[e2e][corpus]") {
  const Run run = run_flscan(kCorpus + "/malformed");
  CHECK(run.report.at("not_scanned").empty());
  CHECK(run.report.at("summary").at("complete").get<bool>());
}

// Issue 3: each offline Windows tree of the corpus gives the verdict and the symptom rows that
// corpus/build_corpus.py derived from what it put in the tree (manifest "host_trees").
TEST_CASE("every corpus Windows tree gets its manifest verdict and symptom rows", "[e2e][corpus][host]") {
  const json manifest = load_manifest();
  REQUIRE(manifest.contains("host_trees"));
  REQUIRE(manifest.at("host_trees").size() >= 3);
  std::set<std::string> verdicts_seen;
  for (const json& tree : manifest.at("host_trees")) {
    const std::string root = tree.at("root");
    INFO("tree " << root << ": " << tree.value("how", ""));
    const Run run = run_flscan(kCorpus + "/" + root);
    const json& hosts = run.report.at("hosts");
    REQUIRE(hosts.size() == 1);
    const json& host = hosts.at(0);
    CHECK(relative(host.at("windows_dir")) == root + "/" + tree.at("windows_dir").get<std::string>());
    CHECK(host.at("verdict") == tree.at("expected_verdict"));
    verdicts_seen.insert(tree.at("expected_verdict").get<std::string>());
    std::map<std::string, std::string> rows;
    for (const json& s : host.at("symptoms")) rows[s.at("id")] = s.at("status");
    CHECK(rows.size() == tree.at("symptoms").size());
    for (const auto& [id, status] : tree.at("symptoms").items()) {
      INFO("symptom " << id);
      CHECK(rows[id] == status.get<std::string>());
    }
    std::set<std::string> infected;
    for (const json& p : host.at("programs")) {
      if (p.at("status") == "infected") infected.insert(p.at("name").get<std::string>());
    }
    std::set<std::string> expected_infected;
    for (const json& name : tree.at("infected_programs")) {
      std::string lower = name.get<std::string>();
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      expected_infected.insert(lower);
    }
    std::set<std::string> infected_lower;
    for (std::string n : infected) {
      for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      infected_lower.insert(n);
    }
    CHECK(infected_lower == expected_infected);
    // Exit codes a CI relies on: FunLove evidence 1; Q321454 alone or nothing 0.
    CHECK(run.exit_code == (tree.at("expected_verdict") == "q317218" ? 1 : 0));
  }
  CHECK(verdicts_seen == std::set<std::string>{"q317218", "q321454", "no-evidence"});
}

// Issue 12: a host error makes the run incomplete, and the JSON summary must say so. Each corpus
// Windows tree without FunLove evidence, copied, with its SYSTEM hive overwritten by random bytes
// (same length): the hive is no hive, so a host error, exit 2, and `summary.complete` false.
TEST_CASE("a Windows tree whose SYSTEM hive is random bytes: summary.complete is false", "[e2e][corpus][host]") {
  namespace fs = std::filesystem;
  const json manifest = load_manifest();
  std::size_t trees = 0;
  for (const json& tree : manifest.at("host_trees")) {
    if (tree.at("expected_verdict") == "q317218") continue;  // evidence found: exit 1 whatever else
    const std::string root = tree.at("root");
    INFO("tree " << root);
    const fs::path copy = fs::temp_directory_path() / ("flscan-e2e-random-hive-" + std::to_string(::getpid()));
    fs::remove_all(copy);
    fs::create_directories(copy);
    fs::copy(kCorpus + "/" + root, copy / "tree", fs::copy_options::recursive);
    const fs::path hive = copy / "tree" / tree.at("system_hive").get<std::string>();
    const auto size = fs::file_size(hive);
    std::mt19937 random(12);
    std::string noise(static_cast<std::size_t>(size), '\0');
    for (char& c : noise) c = static_cast<char>(random() & 0xff);
    std::ofstream(hive, std::ios::binary | std::ios::trunc) << noise;
    const Run run = run_flscan((copy / "tree").string());
    fs::remove_all(copy);
    REQUIRE(run.report.at("hosts").size() == 1);
    CHECK_FALSE(run.report.at("hosts").at(0).at("errors").empty());
    CHECK(run.report.at("not_scanned").empty());  // every file was read: only the host error is missing
    CHECK(run.report.at("summary").at("complete") == false);
    CHECK(run.exit_code == 2);
    ++trees;
  }
  CHECK(trees == 2);
}

// Regression: with several PATHs in one scan, infections on one volume must not decide another
// volume's Q317218 verdict (the demo tree holds infections; the q321454 tree has none).
TEST_CASE("a Windows tree's verdict ignores evidence from another PATH of the same scan", "[e2e][corpus][host]") {
  const json manifest = load_manifest();
  for (const json& tree : manifest.at("host_trees")) {
    if (tree.at("expected_verdict") != "q321454") continue;
    const Run run = run_flscan(kCorpus + "/demo " + kCorpus + "/" + tree.at("root").get<std::string>());
    CHECK(run.exit_code == 1);  // the demo tree's infections still count for the scan
    REQUIRE(run.report.at("hosts").size() == 1);
    CHECK(run.report.at("hosts").at(0).at("verdict") == "q321454");
  }
}

// Regression: a Q317218 program left out with --exclude was not read, so it must not read as clean.
TEST_CASE("an excluded system program is not-scanned in the host report, not clean", "[e2e][corpus][host]") {
  const json manifest = load_manifest();
  for (const json& tree : manifest.at("host_trees")) {
    if (tree.at("expected_verdict") != "no-evidence") continue;
    const Run run =
        run_flscan("--exclude '[Cc][Aa][Ll][Cc].[Ee][Xx][Ee]' " + kCorpus + "/" + tree.at("root").get<std::string>());
    REQUIRE(run.report.at("hosts").size() == 1);
    bool seen = false;
    for (const json& p : run.report.at("hosts").at(0).at("programs")) {
      if (p.at("name") != "calc.exe") continue;
      seen = true;
      CHECK(p.at("status") == "not-scanned");
    }
    CHECK(seen);
    CHECK(run.report.at("skipped").empty());  // listed one by one only with --verbose
  }
}

// Issue 12: a target-1 signature applies to a valid PE only. decoy/ holds the marker string in a
// compiled PE (decoy_string.exe), a DOS program without PE header (dos_string.exe, manifest
// malformed: true) and a text file; tests/signatures/data/marker.ndb has the marker as a target-1
// and a target-0 signature. Which file each must match follows from its bytes and the manifest.
TEST_CASE("target-1 signatures match valid PEs only, not a DOS program carrying the bytes",
          "[e2e][corpus][signatures]") {
  const json manifest = load_manifest();
  const std::string marker = "~Fun Loving Criminal~";
  const std::string read_mode = GENERATE(as<std::string>{}, "--stream-above 0 ");
  INFO("options: " << read_mode);
  const Run run = run_flscan(read_mode + "-d " + std::string(FLSCAN_SOURCE_DIR) + "/tests/signatures/data/marker.ndb " +
                             kCorpus + "/decoy");
  std::map<std::string, std::set<std::string>> rules;
  for (const json& r : run.report.at("results")) {
    for (const json& f : r.at("findings")) rules[relative(r.at("path"))].insert(f.at("rule").get<std::string>());
  }
  bool dos_program_seen = false;
  for (const json& entry : manifest.at("files")) {
    const std::string path = entry.at("path");
    if (!path.starts_with("decoy/")) continue;
    std::ifstream in(kCorpus + "/" + path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const bool has_marker = bytes.find(marker) != std::string::npos;
    const bool valid_pe = bytes.starts_with("MZ") && !entry.at("malformed").get<bool>();
    INFO(path << ": marker " << has_marker << ", valid PE " << valid_pe);
    CHECK(rules[path].count("sig:Flscan.Test.MarkerAny") == (has_marker ? 1u : 0u));
    CHECK(rules[path].count("sig:Flscan.Test.MarkerPe") == (has_marker && valid_pe ? 1u : 0u));
    if (path == "decoy/dos_string.exe") {
      dos_program_seen = true;
      CHECK(bytes.starts_with("MZ"));
      CHECK(has_marker);
      CHECK_FALSE(valid_pe);
    }
  }
  CHECK(dos_program_seen);
}

// Issue 12: each hives/ installation gives the hive status, error, verdict, exit code and note the
// manifest's hive_samples derive from how the hive was built (corpus/build_corpus.py HIVE_SAMPLES,
// re-checked against the bytes by corpus/check_manifest.py).
TEST_CASE("every corpus hive sample: SYSTEM by content, partial reads incomplete, dirty hives noted",
          "[e2e][corpus][host]") {
  const json manifest = load_manifest();
  REQUIRE(manifest.contains("hive_samples"));
  REQUIRE(manifest.at("hive_samples").size() >= 8);
  for (const json& sample : manifest.at("hive_samples")) {
    const std::string root = sample.at("root");
    INFO(root << ": " << sample.value("how", ""));
    const Run run = run_flscan(kCorpus + "/" + root);
    CHECK(run.exit_code == sample.at("exit_code").get<int>());
    REQUIRE(run.report.at("hosts").size() == 1);
    const json& host = run.report.at("hosts").at(0);
    CHECK(relative(host.at("system_hive")) == sample.at("system_hive").get<std::string>());
    CHECK(host.at("verdict") == sample.at("expected_verdict"));
    const json& hive = host.at("hive");
    CHECK(hive.at("status") == sample.at("hive_status"));
    std::string service_row;
    for (const json& s : host.at("symptoms")) {
      if (s.at("id") == "flcss-service") service_row = s.at("status");
    }
    const std::string verdict = sample.at("expected_verdict");
    CHECK(service_row == (verdict == "q317218" ? "found" : verdict == "incomplete" ? "error" : "not-found"));
    const std::string hive_path = kCorpus + "/" + sample.at("system_hive").get<std::string>();
    if (sample.at("error_prefix").is_string()) {
      const std::string prefix = sample.at("error_prefix");
      CHECK(hive.at("error").get<std::string>().starts_with(prefix));
      REQUIRE(host.at("errors").size() == 1);
      CHECK(host.at("errors").at(0).get<std::string>().starts_with("SYSTEM hive " + hive_path + ": " + prefix));
    } else {
      CHECK(hive.at("error").is_null());
      CHECK(hive.at("dirty") == sample.at("dirty"));
      CHECK(hive.at("partial") == sample.at("partial"));
      // Read in part: a host error says so (the verdict stays q317218 when FunLove was found).
      CHECK(host.at("errors").size() == (sample.at("partial").get<bool>() ? 1u : 0u));
    }
    // A hive not closed cleanly is a note, never an error.
    CHECK(host.at("notes").size() == (sample.at("dirty").get<bool>() ? 1u : 0u));
  }
}
