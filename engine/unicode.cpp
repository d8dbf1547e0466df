#include "engine/unicode.h"

namespace flscan::unicode {
namespace {

bool is_high_surrogate(std::uint32_t unit) { return unit >= 0xD800 && unit <= 0xDBFF; }
bool is_low_surrogate(std::uint32_t unit) { return unit >= 0xDC00 && unit <= 0xDFFF; }

}  // namespace

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

Utf16Text decode_utf16le(ByteView bytes, std::size_t max_chars, AtNul at_nul) {
  Utf16Text result;
  result.odd_length = bytes.size() % 2 != 0;
  const std::uint64_t units = bytes.size() / 2;
  std::size_t chars = 0;
  for (std::uint64_t i = 0; i < units; ++i) {
    const std::uint32_t unit = *bytes.u16le(2 * i);
    if (unit == 0 && at_nul == AtNul::stop) {
      result.terminated = true;
      break;
    }
    if (chars == max_chars) {
      result.truncated = true;
      break;
    }
    std::uint32_t cp = unit;
    const std::uint32_t next = i + 1 < units ? std::uint32_t{*bytes.u16le(2 * (i + 1))} : 0u;
    if (is_high_surrogate(unit) && is_low_surrogate(next)) {
      cp = 0x10000 + ((unit - 0xD800) << 10) + (next - 0xDC00);
      ++i;
    } else if (is_high_surrogate(unit) || is_low_surrogate(unit)) {
      cp = kReplacement;
      result.replaced = true;
    }
    append_utf8(result.text, cp);
    ++chars;
  }
  return result;
}

}  // namespace flscan::unicode
