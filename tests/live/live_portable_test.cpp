// The portable parts of flscan-live.exe, tested on Linux: the JSON writer (every string escaped,
// invalid UTF-8 replaced, so LIVE_JSON.md's "valid UTF-8, every string" holds) and the service
// binary path rules (live/image_path.h).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "live/image_path.h"
#include "live/json_writer.h"

using namespace flscan::live;

TEST_CASE("json_escape escapes quotes, backslashes and every control character", "[live]") {
  CHECK(json_escape("C:\\WINNT\\system32") == "\"C:\\\\WINNT\\\\system32\"");
  CHECK(json_escape("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(json_escape("a\nb\rc\td") == "\"a\\nb\\rc\\td\"");
  CHECK(json_escape(std::string("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\\u007f\"");
  CHECK(json_escape(std::string("nul\0here", 8)) == "\"nul\\u0000here\"");
  // Valid UTF-8 passes unchanged; every invalid byte is one U+FFFD.
  CHECK(json_escape("\xC3\xA9\xF0\x9F\x98\x80") == "\"\xC3\xA9\xF0\x9F\x98\x80\"");
  CHECK(json_escape("a\xFF"
                    "b") ==
        "\"a\xEF\xBF\xBD"
        "b\"");
  CHECK(json_escape("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // overlong '/'
  CHECK(json_escape("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
  CHECK(json_escape("\xE2\x82") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // cut sequence
}

TEST_CASE("JsonWriter output parses back with the values written", "[live]") {
  JsonWriter json;
  json.begin_object();
  json.key("format").string("flscan-live");
  json.key("n").number(18446744073709551615ull);
  json.key("none").null();
  json.key("yes").boolean(true);
  json.key("empty").begin_array();
  json.end_array();
  json.key("list").begin_array();
  json.string(std::string("\"\\\x01\xFF", 4));
  json.begin_object();
  json.end_object();
  json.end_array();
  json.key("maybe").string_or_null(std::nullopt);
  json.end_object();
  const auto doc = nlohmann::json::parse(json.finish());
  CHECK(doc["format"] == "flscan-live");
  CHECK(doc["n"].get<std::uint64_t>() == 18446744073709551615ull);
  CHECK(doc["none"].is_null());
  CHECK(doc["yes"] == true);
  CHECK(doc["empty"].empty());
  CHECK(doc["list"][0] == "\"\\\x01\xEF\xBF\xBD");
  CHECK(doc["list"][1].empty());
  CHECK(doc["maybe"].is_null());
}

TEST_CASE("service binary paths resolve to the executable", "[live]") {
  const std::wstring windir = L"C:\\WINNT";
  CHECK(service_executable(L"%SystemRoot%\\System32\\flcss.exe", windir) == L"C:\\WINNT\\System32\\flcss.exe");
  CHECK(service_executable(L"C:\\WINNT\\system32\\svchost.exe -k netsvcs", windir) ==
        L"C:\\WINNT\\system32\\svchost.exe");
  CHECK(service_executable(L"\"C:\\Program Files\\A B\\svc.exe\" /run", windir) == L"C:\\Program Files\\A B\\svc.exe");
  CHECK(service_executable(L"C:\\Program Files\\A B\\svc.exe /run", windir) == L"C:\\Program Files\\A B\\svc.exe");
  CHECK(service_executable(L"System32\\drivers\\tcpip.sys", windir) == L"C:\\WINNT\\System32\\drivers\\tcpip.sys");
  CHECK(service_executable(L"\\SystemRoot\\System32\\drivers\\x.sys", windir) ==
        L"C:\\WINNT\\System32\\drivers\\x.sys");
  CHECK(service_executable(L"\\??\\C:\\WINNT\\system32\\flcss.exe", windir) == L"C:\\WINNT\\system32\\flcss.exe");
  CHECK(service_executable(L"  ", windir).empty());
  CHECK(service_executable(L"\"unterminated", windir) == L"C:\\WINNT\\unterminated");
  CHECK(base_name(service_executable(L"%windir%\\system32\\FLCSS.EXE", windir)) == L"FLCSS.EXE");
  CHECK(iequals_wide(base_name(L"C:\\x\\FlCsS.ExE"), L"flcss.exe"));
  CHECK_FALSE(iequals_wide(base_name(L"C:\\x\\flcss.exe.bak"), L"flcss.exe"));
}
