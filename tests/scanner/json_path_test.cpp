// The JSON path codec (scanner/report/json_path.h, scanner/JSON.md "Paths"): {"text"} for UTF-8,
// {"bytes": base64} for anything else, read back exactly, and a malformed path object refused with
// its reason, in the report reader and in the quarantine manifest alike (one codec, issue 14).
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "scanner/remedy/quarantine.h"
#include "scanner/report/json_path.h"
#include "test_support.h"

using namespace flscan::scanner;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// Written, then read back from both JSON flavours and from the written text.
std::string round_trip(const std::string& path) {
  const ordered_json written = path_to_json(path);
  const auto back = path_from_json(written);
  REQUIRE(back);
  const auto parsed = path_from_json(json::parse(written.dump()));
  REQUIRE(parsed);
  CHECK(*parsed == *back);
  return *back;
}

}  // namespace

TEST_CASE("json path: UTF-8 as text, other bytes as base64, each read back exactly", "[json_path]") {
  CHECK(path_to_json("WINNT/System32/calc.exe") == ordered_json{{"text", "WINNT/System32/calc.exe"}});
  CHECK(round_trip("WINNT/System32/calc.exe") == "WINNT/System32/calc.exe");
  // "WINNT/caf\xE9.exe": Latin-1, not UTF-8 (the example of scanner/JSON.md).
  const std::string latin1 = "WINNT/caf\xE9.exe";
  CHECK(path_to_json(latin1) == ordered_json{{"bytes", "V0lOTlQvY2Fm6S5leGU="}});
  CHECK(round_trip(latin1) == latin1);
  const std::string overlong =
      "a\xC0\xAF"
      "b";  // an overlong '/': not UTF-8 (RFC 3629)
  CHECK(path_to_json(overlong).contains("bytes"));
  CHECK(round_trip(overlong) == overlong);
  const std::string all_bytes = [] {
    std::string s;
    for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
    return s;
  }();
  CHECK(round_trip(all_bytes) == all_bytes);
}

TEST_CASE("json path: control characters stay text, escaped by JSON, and come back", "[json_path]") {
  const std::string controls = std::string("new\nline\ttab\x1b[31mred\x7f", 21) + std::string(1, '\0') + "nul";
  const ordered_json written = path_to_json(controls);
  CHECK(written.contains("text"));
  const std::string text = written.dump();
  CHECK(text.find('\n') == std::string::npos);  // the document holds \n, \u001b, \u0000 escapes
  CHECK(text.find("\\u001b") != std::string::npos);
  CHECK(text.find("\\u0000") != std::string::npos);
  CHECK(round_trip(controls) == controls);
}

TEST_CASE("json path: the empty path", "[json_path]") {
  CHECK(path_to_json("") == ordered_json{{"text", ""}});
  CHECK(round_trip("").empty());
  const auto empty_bytes = path_from_json(json{{"bytes", ""}});
  REQUIRE(empty_bytes);
  CHECK(empty_bytes->empty());
}

TEST_CASE("json path: malformed path objects are refused with the reason", "[json_path]") {
  const auto reason = [](const json& value) {
    const auto path = path_from_json(value);
    REQUIRE_FALSE(path);
    return path.error();
  };
  CHECK(reason(json{{"bytes", "Zm9v!"}}) == "\"bytes\" is not base64");
  CHECK(reason(json{{"bytes", "Zm9"}}) == "\"bytes\" is not base64");       // not a multiple of 4
  CHECK(reason(json{{"bytes", "Zg==Zg=="}}) == "\"bytes\" is not base64");  // data after '='
  CHECK(reason(json{{"bytes", 7}}) == "\"bytes\" is not a string");
  CHECK(reason(json{{"text", nullptr}}) == "\"text\" is not a string");
  CHECK(reason(json("plain string")) == "not a path ({\"text\": ...} or {\"bytes\": ...})");
  CHECK(reason(json::object()) == "not a path ({\"text\": ...} or {\"bytes\": ...})");
  CHECK(reason(json{{"name", "x"}}) == "not a path ({\"text\": ...} or {\"bytes\": ...})");
  // Exactly one key: a document naming two paths at once is not flscan's.
  CHECK(reason(json{{"text", "/a"}, {"bytes", "L2I="}}) == "not a path ({\"text\": ...} or {\"bytes\": ...})");
  const auto ordered = path_from_json(ordered_json{{"bytes", "%%%%"}});
  REQUIRE_FALSE(ordered);
  CHECK(ordered.error() == "\"bytes\" is not base64");
}

TEST_CASE("json path: the quarantine manifest reads its paths with the same codec", "[json_path][quarantine]") {
  flscan::test::TempDir tmp;
  const auto manifest_with_path = [](const json& path) {
    const json entry = {{"file", "0123456789abcdef0123456789abcdef.flq"},
                        {"path", path},
                        {"size", 0},
                        {"sha256", std::string(64, '0')},
                        {"mode", 0644},
                        {"uid", 0},
                        {"gid", 0},
                        {"atime_ns", 0},
                        {"mtime_ns", 0},
                        {"state", "infected"},
                        {"rule", "funlove.infected"},
                        {"quarantined_at", 0},
                        {"repaired_sha256", nullptr}};
    return json{{"schema", "flscan-quarantine"}, {"schema_version", 1}, {"entries", json::array({entry})}}.dump();
  };
  // A non-UTF-8 path written as bytes is read back (the directory opens).
  flscan::test::write_file(tmp / "good/manifest.json", manifest_with_path(path_to_json("/srv/Caf\xE9.exe")));
  const auto good = Quarantine::open(tmp / "good");
  CHECK(good);
  // Invalid base64: refused, and the reason is the codec's.
  flscan::test::write_file(tmp / "bad/manifest.json", manifest_with_path(json{{"bytes", "not base64!"}}));
  const auto bad = Quarantine::open(tmp / "bad");
  REQUIRE_FALSE(bad);
  INFO(bad.error());
  CHECK(bad.error().find("\"path\": \"bytes\" is not base64") != std::string::npos);
  // Two keys: refused like the report reader refuses it.
  flscan::test::write_file(tmp / "two/manifest.json", manifest_with_path(json{{"text", "/a"}, {"bytes", "L2I="}}));
  const auto two = Quarantine::open(tmp / "two");
  REQUIRE_FALSE(two);
  INFO(two.error());
  CHECK(two.error().find("not a path") != std::string::npos);
}
