// --shard K/N: the parser, the hash and the predicate (scanner/report/shard.h), and the JSON report
// reader's refusals (scanner/report/report_json_read.h). Expected shard numbers are computed here from
// the definition, shard = FNV-1a-64(key) mod N + 1, with the FNV-1a 64 values of the published
// test vectors (Fowler/Noll/Vo reference: "" -> cbf29ce484222325, "a" -> af63dc4c8601ec8c,
// "foobar" -> 85944171f73967e8), never taken from the program's output.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scanner/report/report.h"
#include "scanner/report/report_json_read.h"
#include "scanner/report/shard.h"

using namespace flscan::scanner;

TEST_CASE("parse_shard accepts K/N with 1 <= K <= N <= the cap", "[shard]") {
  auto one = parse_shard("1/1");
  REQUIRE(one);
  CHECK(*one == Shard{1, 1});
  auto two = parse_shard("2/5");
  REQUIRE(two);
  CHECK(*two == Shard{2, 5});
  auto top = parse_shard(std::to_string(kMaxShards) + "/" + std::to_string(kMaxShards));
  REQUIRE(top);
  CHECK(top->n == kMaxShards);
  CHECK(to_string(Shard{3, 8}) == "3/8");
  auto padded = parse_shard("02/05");
  REQUIRE(padded);
  CHECK(*padded == Shard{2, 5});
}

TEST_CASE("parse_shard refuses everything else with a reason", "[shard]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "is not K/N"},
      {"3", "is not K/N"},
      {"0/4", "counted from 1"},
      {"5/4", "between 1 and N"},
      {"1/0", "at least 1"},
      {"1/" + std::to_string(kMaxShards + 1), "at most"},
      {"-1/4", "whole numbers"},
      {"1/4/2", "whole numbers"},
      {" 1/4", "whole numbers"},
      {"1/4 ", "whole numbers"},
      {"a/b", "whole numbers"},
      {"1/", "whole numbers"},
      {"/4", "whole numbers"},
      {"99999999999/4", "whole numbers"},  // too many digits: no overflow
      {"1/18446744073709551617", "whole numbers"},
  };
  for (const auto& [text, reason] : cases) {
    INFO("--shard '" << text << "'");
    auto parsed = parse_shard(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().find(reason) != std::string::npos);
  }
}

TEST_CASE("FNV-1a 64 matches the published test vectors", "[shard]") {
  CHECK(fnv1a_64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a_64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a_64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("shard_of is the hash mod N plus 1, the same for every build", "[shard]") {
  const std::vector<std::pair<std::string, std::uint64_t>> vectors = {
      {"", 0xcbf29ce484222325ULL}, {"a", 0xaf63dc4c8601ec8cULL}, {"foobar", 0x85944171f73967e8ULL}};
  for (const auto& [key, hash] : vectors) {
    for (std::uint32_t n : {1u, 2u, 3u, 5u, 7u, 64u, kMaxShards}) {
      INFO("key '" << key << "', N " << n);
      const auto expected = static_cast<std::uint32_t>(hash % n) + 1;
      CHECK(shard_of(key, n) == expected);
      for (std::uint32_t k = 1; k <= std::min(n, 7u); ++k) CHECK(in_shard(key, Shard{k, n}) == (k == expected));
    }
  }
  // Spelled out for three of them (hash mod N by hand): 0xcbf29ce484222325 mod 5 = 2,
  // 0xaf63dc4c8601ec8c mod 2 = 0 (even), 0x85944171f73967e8 mod 3 = 0.
  CHECK(shard_of("", 5) == 3);
  CHECK(shard_of("a", 2) == 1);
  CHECK(shard_of("foobar", 3) == 1);
  // Bytes, not text: a name that is not UTF-8 has a shard like any other, and it differs from
  // the same name with the byte replaced.
  const std::string raw = std::string("x") + static_cast<char>(0xFF) + ".exe";
  CHECK(shard_of(raw, 1000) >= 1);
  CHECK(fnv1a_64(raw) != fnv1a_64("x?.exe"));
}

TEST_CASE("every key lands in exactly one shard, and the shards are of similar size", "[shard]") {
  // Paths shaped like a Windows tree: many similar names differing in a digit or two.
  std::vector<std::string> keys;
  for (int dir = 0; dir < 40; ++dir) {
    for (int file = 0; file < 250; ++file) {
      keys.push_back("WINNT/dir" + std::to_string(dir) + "/file" + std::to_string(file) + ".exe");
    }
  }
  for (std::uint32_t n : {2u, 3u, 5u, 8u, 16u}) {
    std::vector<std::size_t> sizes(n + 1, 0);
    for (const std::string& key : keys) {
      std::size_t owners = 0;
      for (std::uint32_t k = 1; k <= n; ++k) owners += in_shard(key, Shard{k, n}) ? 1 : 0;
      REQUIRE(owners == 1);
      ++sizes[shard_of(key, n)];
    }
    const double expected = static_cast<double>(keys.size()) / n;
    for (std::uint32_t k = 1; k <= n; ++k) {
      INFO("N " << n << ", shard " << k << ": " << sizes[k] << " of " << keys.size());
      CHECK(static_cast<double>(sizes[k]) > expected * 0.85);
      CHECK(static_cast<double>(sizes[k]) < expected * 1.15);
    }
  }
}

TEST_CASE("key_below gives the path relative to its PATH operand", "[shard]") {
  CHECK(key_below("mnt/c/WINNT/calc.exe", "mnt/c") == std::optional<std::string>("WINNT/calc.exe"));
  CHECK(key_below("mnt/c/WINNT/calc.exe", "mnt/c/") == std::optional<std::string>("WINNT/calc.exe"));
  CHECK(key_below("./x/a.exe", ".") == std::optional<std::string>("x/a.exe"));
  CHECK(key_below("/NTLDR", "/") == std::optional<std::string>("NTLDR"));
  CHECK(key_below("disk.img:p1/WINNT/calc.exe", "disk.img") == std::optional<std::string>("p1/WINNT/calc.exe"));
  CHECK(key_below("mnt/c", "mnt/c") == std::optional<std::string>("c"));  // the operand: its name
  CHECK(key_below("dir/setup.exe", "dir/setup.exe") == std::optional<std::string>("setup.exe"));
  CHECK_FALSE(key_below("mnt/cd/x", "mnt/c"));
  CHECK_FALSE(key_below("other/x", "mnt/c"));
  CHECK(operand_key("a/b/") == "b");
  CHECK(operand_key("/") == "/");
  CHECK(operand_key("file.exe") == "file.exe");
}

TEST_CASE("the report reader refuses what is not a valid flscan report, naming the key", "[shard][json]") {
  using Json = nlohmann::json;
  auto error_of = [](const Json& document) {
    auto read = report_from_json(document);
    return read ? std::string() : read.error();
  };
  CHECK(error_of(Json::array()).find("not a JSON object") != std::string::npos);
  CHECK(error_of(Json{{"schema", "other"}}).find("schema") != std::string::npos);
  CHECK(error_of(Json{{"schema", "flscan-report"}, {"schema_version", 2}}).find("schema_version") != std::string::npos);
  CHECK(error_of(Json{{"schema", "flscan-report"}, {"schema_version", 1}}).find("flscan_version") != std::string::npos);

  CHECK(path_from_json(Json{{"text", "a/b"}}).value() == "a/b");
  CHECK(path_from_json(Json{{"bytes", "YS/h"}}).value() == std::string("a/") + static_cast<char>(0xE1));
  CHECK_FALSE(path_from_json(Json{{"bytes", "YS/"}}));   // not a multiple of 4
  CHECK_FALSE(path_from_json(Json{{"bytes", "Y=S/"}}));  // '=' inside
  CHECK_FALSE(path_from_json(Json{{"text", 3}}));
  CHECK_FALSE(path_from_json(Json{{"text", "a"}, {"bytes", "YQ=="}}));
  CHECK_FALSE(path_from_json(Json("a")));
}

TEST_CASE("counters summed from shard reports saturate instead of wrapping around", "[shard][merge]") {
  // flscan merge adds each shard's counters; a crafted report could make a sum wrap to zero, and a
  // lost_reports or NOT SCANNED count of zero would make the merged scan look complete.
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  ScanReport merged;
  ScanCounters crafted;
  crafted.lost_reports = kMax;
  crafted.files_seen = kMax - 1;
  crafted.not_scanned_by_reason[0] = kMax;
  crafted.not_scanned_by_reason[1] = 2;
  crafted.skipped_by_reason[0] = kMax;
  crafted.skipped_by_reason[1] = 5;
  ScanCounters one;
  one.lost_reports = 1;
  one.files_seen = 3;
  merged.counters += crafted;
  merged.counters += one;
  CHECK(merged.counters.lost_reports == kMax);
  CHECK(merged.counters.files_seen == kMax);
  CHECK(merged.counters.not_scanned_total() == kMax);
  CHECK(merged.counters.skipped_total() == kMax);
  CHECK_FALSE(merged.complete());
  // Ordinary sums are exact.
  ScanCounters a;
  a.files_seen = 40;
  a.bytes_read = 1000;
  ScanCounters b;
  b.files_seen = 2;
  b.bytes_read = 24;
  a += b;
  CHECK(a.files_seen == 42);
  CHECK(a.bytes_read == 1024);
}
