// Unit tests of the string helpers shared by the host readers (scanner/host/host_common.h).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "scanner/host/host_common.h"

using flscan::host::decode_utf16le;
using flscan::host::iequals;
using flscan::host::sanitize_utf8;

namespace {
std::vector<std::uint8_t> utf16(std::u16string_view text, bool terminator = true) {
  std::vector<std::uint8_t> out;
  for (char16_t c : text) {
    out.push_back(static_cast<std::uint8_t>(c & 0xFF));
    out.push_back(static_cast<std::uint8_t>(c >> 8));
  }
  if (terminator) out.insert(out.end(), {0, 0});
  return out;
}
}  // namespace

TEST_CASE("decode_utf16le stops at the terminator and ignores what follows", "[host][utf16]") {
  auto data = utf16(u"flcss.exe");
  data.insert(data.end(), {'J', 0, 'U', 0, 'N', 0, 'K', 0});
  const auto decoded = decode_utf16le(data, 100);
  CHECK(decoded.text == "flcss.exe");
  CHECK(decoded.terminated);
  CHECK_FALSE(decoded.odd_length);
  CHECK_FALSE(decoded.replaced);
}

TEST_CASE("decode_utf16le: odd length, no terminator", "[host][utf16]") {
  auto data = utf16(u"C:\\x", false);
  data.push_back(0x41);
  const auto decoded = decode_utf16le(data, 100);
  CHECK(decoded.text == "C:\\x");
  CHECK(decoded.odd_length);
  CHECK_FALSE(decoded.terminated);
}

TEST_CASE("decode_utf16le: surrogates", "[host][utf16]") {
  SECTION("a valid pair becomes one 4-byte UTF-8 sequence") {
    const auto decoded = decode_utf16le(utf16(u"\U0001F600"), 10);
    CHECK(decoded.text == "\xF0\x9F\x98\x80");
    CHECK_FALSE(decoded.replaced);
  }
  SECTION("lone high surrogate at the end, lone low surrogate, high followed by a letter") {
    const std::vector<std::uint8_t> data = {0x00, 0xD8, 'A', 0, 0x00, 0xDC, 0x00, 0xD8};
    const auto decoded = decode_utf16le(data, 10);
    CHECK(decoded.text ==
          "\xEF\xBF\xBD"
          "A"
          "\xEF\xBF\xBD"
          "\xEF\xBF\xBD");
    CHECK(decoded.replaced);
  }
  SECTION("non-ASCII BMP characters") {
    CHECK(decode_utf16le(utf16(u"Dienst\u00e9\u4e2d"), 10).text == "Dienst\xC3\xA9\xE4\xB8\xAD");
  }
}

TEST_CASE("decode_utf16le caps the number of characters", "[host][utf16]") {
  const auto decoded = decode_utf16le(utf16(u"abcdef"), 3);
  CHECK(decoded.text == "abc");
  CHECK(decoded.truncated);
  CHECK(decode_utf16le({}, 3).text.empty());
}

TEST_CASE("sanitize_utf8 replaces invalid bytes and keeps valid text", "[host][utf8]") {
  CHECK(sanitize_utf8("Protected Storage", 100) == "Protected Storage");
  CHECK(sanitize_utf8("a\xFF"
                      "b",
                      100) ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(sanitize_utf8("\xC3", 100) == "\xEF\xBF\xBD");                          // truncated sequence
  CHECK(sanitize_utf8("\xC0\xAF", 100) == "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong
  CHECK(sanitize_utf8("\xED\xA0\x80", 100).find("\xED") == std::string::npos);  // encoded surrogate
  CHECK(sanitize_utf8("\xE4\xB8\xAD\xE4\xB8\xAD", 1) == "\xE4\xB8\xAD");
}

TEST_CASE("iequals folds ASCII only", "[host]") {
  CHECK(iequals("FLCSS", "flcss"));
  CHECK(iequals("Service Control Manager", "SERVICE CONTROL MANAGER"));
  CHECK_FALSE(iequals("FLC", "FLCS"));
  CHECK_FALSE(iequals("\xC3\xA9", "\xC3\x89"));  // é vs É: not folded
}
