#include "scanner/report/text_encoding.h"

#include <cstdint>

#include "engine/unicode.h"

namespace flscan::scanner {
namespace {

// Decodes the valid UTF-8 sequence of `length` bytes at `pos` (unicode::utf8_sequence_length said so).
char32_t code_point(std::string_view bytes, std::size_t pos, std::size_t length) {
  const auto byte = [&](std::size_t i) { return static_cast<char32_t>(static_cast<std::uint8_t>(bytes[pos + i])); };
  if (length == 1) return byte(0);
  char32_t value = byte(0) & (length == 2 ? 0x1Fu : length == 3 ? 0x0Fu : 0x07u);
  for (std::size_t i = 1; i < length; ++i) value = (value << 6) | (byte(i) & 0x3Fu);
  return value;
}

void append_hex_escape(std::string& out, std::uint8_t value) {
  constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[value >> 4];
  out += kHex[value & 0x0F];
}

}  // namespace

bool is_valid_utf8(std::string_view bytes) {
  for (std::size_t pos = 0; pos < bytes.size();) {
    const std::size_t length = unicode::utf8_sequence_length(bytes, pos);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

std::string base64_encode(std::string_view bytes) {
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t pos = 0;
  for (; bytes.size() - pos >= 3; pos += 3) {
    const std::uint32_t group = static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[pos])) << 16 |
                                static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[pos + 1])) << 8 |
                                static_cast<std::uint8_t>(bytes[pos + 2]);
    out += kAlphabet[(group >> 18) & 0x3F];
    out += kAlphabet[(group >> 12) & 0x3F];
    out += kAlphabet[(group >> 6) & 0x3F];
    out += kAlphabet[group & 0x3F];
  }
  const std::size_t rest = bytes.size() - pos;
  if (rest > 0) {
    std::uint32_t group = static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[pos])) << 16;
    if (rest == 2) group |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[pos + 1])) << 8;
    out += kAlphabet[(group >> 18) & 0x3F];
    out += kAlphabet[(group >> 12) & 0x3F];
    out += rest == 2 ? kAlphabet[(group >> 6) & 0x3F] : '=';
    out += '=';
  }
  return out;
}

namespace {

struct CodePointRange {
  char32_t first;
  char32_t last;
};

// Every Default_Ignorable_Code_Point of Unicode 15.1 (DerivedCoreProperties.txt,
// https://www.unicode.org/Public/15.1.0/ucd/DerivedCoreProperties.txt: drawn as nothing, so a
// name holding one looks like another name; issue 13), plus the C1 controls, the line and
// paragraph separators and the interlinear annotation controls. Adjacent ranges are merged;
// sorted by first code point.
constexpr CodePointRange kInvisible[] = {
    {0x0080, 0x009F},    // C1 controls
    {0x00AD, 0x00AD},    // soft hyphen (DI)
    {0x034F, 0x034F},    // combining grapheme joiner (DI)
    {0x061C, 0x061C},    // Arabic letter mark (DI, Bidi_Control)
    {0x115F, 0x1160},    // Hangul choseong and jungseong fillers (DI)
    {0x17B4, 0x17B5},    // Khmer inherent vowels AQ, AA (DI)
    {0x180B, 0x180F},    // Mongolian free variation selectors, vowel separator (DI)
    {0x200B, 0x200F},    // zero width space, ZWNJ, ZWJ, LRM, RLM (DI, Bidi_Control)
    {0x2028, 0x2029},    // line and paragraph separators
    {0x202A, 0x202E},    // LRE, RLE, PDF, LRO, RLO (DI, Bidi_Control)
    {0x2060, 0x206F},    // word joiner, invisible operators, LRI, RLI, FSI, PDI, deprecated format (DI)
    {0x3164, 0x3164},    // Hangul filler (DI)
    {0xFE00, 0xFE0F},    // variation selectors 1-16 (DI)
    {0xFEFF, 0xFEFF},    // zero width no-break space, byte order mark (DI)
    {0xFFA0, 0xFFA0},    // halfwidth Hangul filler (DI)
    {0xFFF0, 0xFFF8},    // unassigned specials (DI)
    {0xFFF9, 0xFFFB},    // interlinear annotation controls
    {0x1BCA0, 0x1BCA3},  // shorthand format controls (DI)
    {0x1D173, 0x1D17A},  // musical symbol format controls (DI)
    {0xE0000, 0xE0FFF},  // tag characters, variation selectors 17-256, unassigned (DI)
};

}  // namespace

bool is_invisible_control(char32_t c) {
  for (const CodePointRange& range : kInvisible) {
    if (c < range.first) return false;
    if (c <= range.last) return true;
  }
  return false;
}

bool is_printable_text(std::string_view bytes) { return escape(bytes, false) == bytes; }

std::string escape_for_terminal(std::string_view bytes) { return escape(bytes, false); }

std::string escape_path_for_terminal(std::string_view bytes) { return escape(bytes, true); }

std::string escape(std::string_view bytes, bool escape_backslash) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t pos = 0; pos < bytes.size();) {
    const auto lead = static_cast<std::uint8_t>(bytes[pos]);
    const std::size_t length = unicode::utf8_sequence_length(bytes, pos);
    if (length == 0 || lead < 0x20 || lead == 0x7F || (escape_backslash && lead == '\\')) {
      append_hex_escape(out, lead);
      ++pos;
      continue;
    }
    // C1 control characters (U+0080..U+009F) steer terminals as much as C0 ones do, and the
    // invisible formatting characters reorder or hide what is shown: each byte as \xNN too.
    if (length > 1 && is_invisible_control(code_point(bytes, pos, length))) {
      for (std::size_t i = 0; i < length; ++i) append_hex_escape(out, static_cast<std::uint8_t>(bytes[pos + i]));
      pos += length;
      continue;
    }
    out.append(bytes.substr(pos, length));
    pos += length;
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after '='
      v[j] = value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const unsigned triple = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                            (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out.push_back(static_cast<char>((triple >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>((triple >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(triple & 0xFF));
  }
  return out;
}

}  // namespace flscan::scanner
