// Unit tests of the UTF-16LE decoder every reader shares (engine/unicode.h): registry strings
// (AtNul::stop), event record strings and Windows API results (AtNul::keep); and of the strict
// UTF-8 test the report escaper, the host's sanitize_utf8 and flscan-live's JSON writer share.
// Expected bytes are the UTF-8 of the code points built into each input (RFC 3629), U+FFFD being
// EF BF BD.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/unicode.h"

using flscan::ByteView;
using flscan::unicode::AtNul;
using flscan::unicode::decode_utf16le;

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

ByteView view(const std::vector<std::uint8_t>& bytes) { return ByteView(bytes.data(), bytes.size()); }

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

}  // namespace

TEST_CASE("decode_utf16le, AtNul::stop: the string ends at the terminator, what follows is ignored",
          "[unicode][utf16]") {
  auto data = utf16(u"flcss.exe");
  data.insert(data.end(), {'J', 0, 'U', 0, 'N', 0, 'K', 0});
  const auto decoded = decode_utf16le(view(data), 100, AtNul::stop);
  CHECK(decoded.text == "flcss.exe");
  CHECK(decoded.terminated);
  CHECK_FALSE(decoded.odd_length);
  CHECK_FALSE(decoded.replaced);
  CHECK_FALSE(decoded.truncated);
}

TEST_CASE("decode_utf16le, AtNul::keep: an embedded NUL is a character like any other", "[unicode][utf16]") {
  auto data = utf16(u"C:\\a", false);
  data.insert(data.end(), {0, 0, 'b', 0});
  const auto decoded = decode_utf16le(view(data), 100, AtNul::keep);
  CHECK(decoded.text == std::string("C:\\a\0b", 6));
  CHECK_FALSE(decoded.terminated);
  CHECK_FALSE(decoded.truncated);
}

TEST_CASE("decode_utf16le: an odd trailing byte is dropped and flagged", "[unicode][utf16]") {
  auto data = utf16(u"C:\\x", false);
  data.push_back(0x41);
  for (const AtNul at_nul : {AtNul::stop, AtNul::keep}) {
    const auto decoded = decode_utf16le(view(data), 100, at_nul);
    CHECK(decoded.text == "C:\\x");
    CHECK(decoded.odd_length);
    CHECK_FALSE(decoded.terminated);
  }
  // One byte alone: no code unit at all.
  const std::vector<std::uint8_t> one = {0x41};
  const auto decoded = decode_utf16le(view(one), 100, AtNul::keep);
  CHECK(decoded.text.empty());
  CHECK(decoded.odd_length);
}

TEST_CASE("decode_utf16le: surrogates", "[unicode][utf16]") {
  for (const AtNul at_nul : {AtNul::stop, AtNul::keep}) {
    INFO("at_nul " << (at_nul == AtNul::stop ? "stop" : "keep"));
    // A valid pair becomes one 4-byte UTF-8 sequence.
    const auto pair = decode_utf16le(view(utf16(u"\U0001F600", false)), 10, at_nul);
    CHECK(pair.text == "\xF0\x9F\x98\x80");
    CHECK_FALSE(pair.replaced);

    // A lone high surrogate before a letter, a lone low surrogate, a lone high surrogate at the end.
    const std::vector<std::uint8_t> lone = {0x00, 0xD8, 'A', 0, 0x00, 0xDC, 0x00, 0xD8};
    const auto decoded = decode_utf16le(view(lone), 10, at_nul);
    CHECK(decoded.text == std::string(kFffd) + "A" + std::string(kFffd) + std::string(kFffd));
    CHECK(decoded.replaced);

    // A low surrogate before a high one is no pair.
    const std::vector<std::uint8_t> reversed = {0x00, 0xDC, 0x00, 0xD8};
    CHECK(decode_utf16le(view(reversed), 10, at_nul).text == std::string(kFffd) + std::string(kFffd));

    // A high surrogate, a NUL, a low surrogate: no pair across the NUL.
    const std::vector<std::uint8_t> split = {0x3D, 0xD8, 0, 0, 0x00, 0xDE};
    const auto across = decode_utf16le(view(split), 10, at_nul);
    CHECK(across.text == (at_nul == AtNul::stop ? std::string(kFffd)
                                                : std::string(kFffd) + std::string("\0", 1) + std::string(kFffd)));

    // Characters of the Basic Multilingual Plane outside ASCII.
    CHECK(decode_utf16le(view(utf16(u"Dienst\u00e9\u4e2d", false)), 10, at_nul).text == "Dienst\xC3\xA9\xE4\xB8\xAD");
  }
}

TEST_CASE("decode_utf16le caps the number of code points, a pair counting as one", "[unicode][utf16]") {
  for (const AtNul at_nul : {AtNul::stop, AtNul::keep}) {
    INFO("at_nul " << (at_nul == AtNul::stop ? "stop" : "keep"));
    const auto decoded = decode_utf16le(view(utf16(u"abcdef", false)), 3, at_nul);
    CHECK(decoded.text == "abc");
    CHECK(decoded.truncated);
    // Exactly at the cap: nothing dropped.
    const auto exact = decode_utf16le(view(utf16(u"a\U0001F600c", false)), 3, at_nul);
    CHECK(exact.text ==
          "a\xF0\x9F\x98\x80"
          "c");
    CHECK_FALSE(exact.truncated);
    CHECK(decode_utf16le(ByteView(), 3, at_nul).text.empty());
  }
  // The terminator right after the cap's last character ends the string: not cut.
  const auto at_cap = decode_utf16le(view(utf16(u"abc")), 3, AtNul::stop);
  CHECK(at_cap.text == "abc");
  CHECK(at_cap.terminated);
  CHECK_FALSE(at_cap.truncated);
}

// The boundaries of RFC 3629 section 4's table, each valid sequence beside the nearest invalid
// one: what the report escaper, the host's sanitize_utf8 and flscan-live's JSON writer all accept.
TEST_CASE("utf8_sequence_length accepts strict UTF-8 only", "[unicode][utf8]") {
  using flscan::unicode::utf8_sequence_length;
  const auto length = [](std::string_view bytes) { return utf8_sequence_length(bytes, 0); };
  CHECK(length("A") == 1);
  CHECK(length(std::string_view("\0", 1)) == 1);
  CHECK(length("\x7F") == 1);
  CHECK(length("\x80") == 0);              // a continuation byte leads nothing
  CHECK(length("\xC0\x80") == 0);          // overlong U+0000
  CHECK(length("\xC1\xBF") == 0);          // overlong U+007F
  CHECK(length("\xC2\x80") == 2);          // U+0080
  CHECK(length("\xDF\xBF") == 2);          // U+07FF
  CHECK(length("\xE0\x9F\xBF") == 0);      // overlong U+07FF
  CHECK(length("\xE0\xA0\x80") == 3);      // U+0800
  CHECK(length("\xED\x9F\xBF") == 3);      // U+D7FF
  CHECK(length("\xED\xA0\x80") == 0);      // U+D800, a surrogate
  CHECK(length("\xED\xBF\xBF") == 0);      // U+DFFF
  CHECK(length("\xEE\x80\x80") == 3);      // U+E000
  CHECK(length("\xEF\xBF\xBD") == 3);      // U+FFFD
  CHECK(length("\xF0\x8F\xBF\xBF") == 0);  // overlong U+FFFF
  CHECK(length("\xF0\x90\x80\x80") == 4);  // U+10000
  CHECK(length("\xF4\x8F\xBF\xBF") == 4);  // U+10FFFF
  CHECK(length("\xF4\x90\x80\x80") == 0);  // U+110000
  CHECK(length("\xF5\x80\x80\x80") == 0);
  CHECK(length("\xFF") == 0);
  CHECK(length("\xE4\xB8") == 0);          // cut by the end of the bytes
  CHECK(length("\xE4\x41\xAD") == 0);      // a continuation byte missing
  CHECK(length("\xF0\x90\x80\x41") == 0);  // the last one missing
  // pos counts from the start of the bytes given, and the end is theirs.
  CHECK(utf8_sequence_length("a\xC3\xA9", 1) == 2);
  CHECK(utf8_sequence_length(std::string_view("a\xC3\xA9", 2), 1) == 0);
}
