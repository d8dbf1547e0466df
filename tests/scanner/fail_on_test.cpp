// --fail-on: the parser, and the exit code of the flscan binary for every policy over corpus files
// whose state comes from corpus/manifest.json (infected, kernel-modified = suspicious, clean), a
// directory loop (NOT SCANNED: incomplete) and a PATH that does not exist (a failed run).
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scanner/report/fail_on.h"
#include "test_support.h"

using flscan::scanner::FailOn;
using flscan::scanner::kDefaultFailOn;
using flscan::scanner::parse_fail_on;
using flscan::test::run_flscan;
using flscan::test::RunResult;
using flscan::test::TempDir;
using nlohmann::json;

namespace {

const std::string kCorpus = FLSCAN_CORPUS_DIR;

json manifest() {
  std::ifstream in(kCorpus + "/manifest.json");
  REQUIRE(in.good());
  return json::parse(in);
}

// The first manifest file built as `state`, as a path into the corpus.
std::string sample(const json& files, const std::string& state) {
  for (const json& file : files) {
    if (file.at("expected") == state && file.at("path").get<std::string>().ends_with(".exe")) {
      return kCorpus + "/" + file.at("path").get<std::string>();
    }
  }
  FAIL("no " << state << " .exe in the manifest");
  return {};
}

// What a scan of some inputs holds, from how the inputs were built.
struct Scenario {
  std::string name;
  std::vector<std::string> paths;
  bool infected = false;
  bool suspicious = false;
  bool incomplete = false;
};

// The documented rule: infected or suspicious (when the policy names it) gives 1, else
// incomplete (when named) gives 2, else 0.
int expected_exit(const Scenario& s, const FailOn& f) {
  if ((f.infected && s.infected) || (f.suspicious && s.suspicious)) return 1;
  if (f.incomplete && s.incomplete) return 2;
  return 0;
}

// The scan inputs of the scenarios: corpus samples by manifest state, and a directory that holds
// itself through a symlink (with -L it is NOT SCANNED: loop).
struct Inputs {
  std::string infected, clean, suspicious, looping;
  TempDir dir;

  Inputs() {
    const json files = manifest().at("files");
    infected = sample(files, "infected");
    clean = sample(files, "clean");
    for (const json& file : files) {
      if (file.at("expected") == "kernel-modified") suspicious = kCorpus + "/" + file.at("path").get<std::string>();
    }
    REQUIRE_FALSE(suspicious.empty());
    std::filesystem::create_directories(dir.path() / "looping");
    flscan::test::make_symlink(".", dir / "looping/again");
    looping = dir / "looping";
  }

  [[nodiscard]] std::vector<Scenario> scenarios() const {
    return {
        {"clean", {clean}, false, false, false},
        {"infected", {infected, clean}, true, false, false},
        {"suspicious", {suspicious, clean}, false, true, false},
        {"incomplete", {looping, clean}, false, false, true},
        {"infected+incomplete", {infected, looping}, true, false, true},
        {"suspicious+incomplete", {suspicious, looping}, false, true, true},
        {"infected+suspicious", {infected, suspicious}, true, true, false},
        {"all three", {infected, suspicious, looping}, true, true, true},
    };
  }
};

}  // namespace

TEST_CASE("fail-on: parsing", "[fail-on]") {
  CHECK(kDefaultFailOn == FailOn{true, false, true});
  CHECK(to_string(kDefaultFailOn) == "infected,incomplete");
  CHECK(*parse_fail_on("infected,incomplete") == kDefaultFailOn);
  CHECK(*parse_fail_on("none") == FailOn{false, false, false});
  CHECK(to_string(FailOn{false, false, false}) == "none");
  CHECK(*parse_fail_on("suspicious") == FailOn{false, true, false});
  CHECK(*parse_fail_on("incomplete,suspicious,infected") == FailOn{true, true, true});
  CHECK(to_string(*parse_fail_on("incomplete,suspicious,infected")) == "infected,suspicious,incomplete");
  for (const char* bad : {"", "infected,", ",infected", "infected,,incomplete", "infected,infected", "none,infected",
                          "infected,none", "Infected", " infected", "informational", "all"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_fail_on(bad).has_value());
  }
}

TEST_CASE("fail-on: the exit code for every policy over corpus samples", "[fail-on][corpus]") {
  const Inputs inputs;
  const std::vector<Scenario> scenarios = inputs.scenarios();
  std::vector<std::string> policies = {"none"};
  for (int bits = 1; bits < 8; ++bits) {
    policies.push_back(to_string(FailOn{(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0}));
  }
  for (const Scenario& scenario : scenarios) {
    for (const std::string& policy : policies) {
      std::vector<std::string> args = {"-L", "--fail-on", policy, "--json", "-"};
      args.insert(args.end(), scenario.paths.begin(), scenario.paths.end());
      const RunResult run = run_flscan(args);
      INFO(scenario.name << " with --fail-on " << policy << "\n" << run.err);
      CHECK(run.exit_code == expected_exit(scenario, *parse_fail_on(policy)));
      // The JSON report states the same exit code, and the policy it was computed for.
      const json document = json::parse(run.out);
      CHECK(document.at("exit_code") == run.exit_code);
      CHECK(document.at("options").at("fail_on") == policy);
    }
    // No --fail-on: the default policy, infected,incomplete.
    std::vector<std::string> args = {"-q", "-L"};
    args.insert(args.end(), scenario.paths.begin(), scenario.paths.end());
    const RunResult run = run_flscan(args);
    INFO(scenario.name << " without --fail-on");
    CHECK(run.exit_code == expected_exit(scenario, kDefaultFailOn));
  }
}

// Issue 12: the text report's Result line states the code the process returns under the active
// --fail-on, not the default policy's, and says in words why when the policy changed it.
TEST_CASE("fail-on: the text Result line states the exit code the process returns", "[fail-on][corpus]") {
  const Inputs inputs;
  const std::vector<Scenario> scenarios = inputs.scenarios();
  for (const Scenario& scenario : scenarios) {
    for (const char* policy : {"none", "infected", "suspicious", "incomplete", "infected,incomplete"}) {
      std::vector<std::string> args = {"-L", "--fail-on", policy};
      args.insert(args.end(), scenario.paths.begin(), scenario.paths.end());
      const RunResult run = run_flscan(args);
      const int expected = expected_exit(scenario, *parse_fail_on(policy));
      INFO(scenario.name << " with --fail-on " << policy << "\n" << run.out);
      REQUIRE(run.exit_code == expected);
      const auto at = run.out.find("Result:");
      REQUIRE(at != std::string::npos);
      const std::string result = run.out.substr(at, run.out.find('\n', at) - at);
      CHECK(result.find("(exit code " + std::to_string(expected)) != std::string::npos);
      // An outcome the scan holds that the policy leaves out is named as the reason.
      const FailOn f = *parse_fail_on(policy);
      const bool uncounted = (scenario.infected && !f.infected) || (scenario.incomplete && !f.incomplete);
      CHECK((result.find("does not count") != std::string::npos) == uncounted);
      if (scenario.infected && !f.infected) CHECK(result.find("does not count FunLove evidence") != std::string::npos);
      if (expected == 1 && !(scenario.infected && f.infected)) {
        CHECK(result.find("suspicious findings, and --fail-on counts them") != std::string::npos);
      }
    }
  }
  // The case of the issue: --fail-on none on an infected tree exits 0 and says so.
  const RunResult none = run_flscan({"--fail-on", "none", inputs.infected});
  CHECK(none.exit_code == 0);
  CHECK(none.out.find("Result:       FunLove evidence FOUND (exit code 0: --fail-on none does not count FunLove "
                      "evidence)") != std::string::npos);
}

TEST_CASE("fail-on: a PATH that does not exist fails the run whatever the policy", "[fail-on]") {
  const json files = manifest().at("files");
  const std::string infected = sample(files, "infected");
  const TempDir dir;
  const std::string missing = dir / "not-mounted";
  for (const char* policy : {"none", "infected", "suspicious", "incomplete", "infected,suspicious,incomplete"}) {
    INFO("--fail-on " << policy);
    CHECK(run_flscan({"-q", "--fail-on", policy, missing}).exit_code == 2);
    // With FunLove evidence elsewhere, 1 still wins when the policy counts it.
    const bool counts_infection = std::string(policy).find("infected") != std::string::npos;
    CHECK(run_flscan({"-q", "--fail-on", policy, infected, missing}).exit_code == (counts_infection ? 1 : 2));
  }
}

TEST_CASE("fail-on: bad lists are usage errors, --help documents the option and its default", "[fail-on][cli]") {
  const TempDir dir;
  for (const char* bad : {"everything", "none,infected", ""}) {
    const RunResult run = run_flscan({"--fail-on", bad, dir.path().string()});
    INFO("'" << bad << "': " << run.err);
    CHECK(run.exit_code == 2);
    CHECK(run.err.find("--fail-on") != std::string::npos);
  }
  const RunResult help = run_flscan({"--help"});
  CHECK(help.exit_code == 0);
  for (const char* text : {"--fail-on", "Default: infected,incomplete",
                           "--fail-on infected,suspicious,incomplete --sarif", "--sarif", "SARIF 2.1.0"}) {
    INFO(text);
    CHECK(help.out.find(text) != std::string::npos);
  }
  const RunResult both = run_flscan({"--json", "-", "--sarif", "-", dir.path().string()});
  CHECK(both.exit_code == 2);
}

// A kernel-modified file (the manifest: a checksum mismatch FunLove's patch does not explain) is
// suspicious but no FunLove evidence (infection-model section 7, issue 12): its report line must
// not name the virus, in text or SARIF.
TEST_CASE("fail-on: a kernel-modified finding is not worded as FunLove evidence", "[fail-on][corpus]") {
  const Inputs inputs;
  TempDir out;
  const RunResult run = run_flscan({"--sarif", out / "r.sarif", inputs.suspicious});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  const auto headline_start = run.out.find(": ");
  REQUIRE(headline_start != std::string::npos);
  const std::string headline = run.out.substr(headline_start, run.out.find('\n') - headline_start);
  CHECK(headline.find("kernel-modified") != std::string::npos);
  CHECK(headline.find("not FunLove evidence") != std::string::npos);
  CHECK(headline.find("FunLove.4099") == std::string::npos);
  std::ifstream sarif_in(out / "r.sarif");
  const json sarif = json::parse(sarif_in);
  const json& results = sarif.at("runs").at(0).at("results");
  bool seen = false;
  for (const json& result : results) {
    if (result.at("ruleId") != "FL007") continue;
    seen = true;
    const std::string text = result.at("message").at("text");
    CHECK(text.find("not FunLove evidence") != std::string::npos);
    CHECK(text.find("FunLove.4099 (suspicious") == std::string::npos);
  }
  CHECK(seen);
}
