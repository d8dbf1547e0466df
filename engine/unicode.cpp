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

std::size_t utf8_sequence_length(std::string_view bytes, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[pos + i]); };
  const std::uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint8_t second_min = 0x80;
  std::uint8_t second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // below: an overlong form of U+0000..U+07FF
    if (lead == 0xED) second_max = 0x9F;  // above: a surrogate, U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // below: an overlong form of U+0000..U+FFFF
    if (lead == 0xF4) second_max = 0x8F;  // above: past U+10FFFF
  } else {
    return 0;  // a continuation byte, an overlong lead (C0, C1) or one past U+10FFFF (F5..FF)
  }
  if (bytes.size() - pos < length) return 0;
  if (byte(1) < second_min || byte(1) > second_max) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
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
