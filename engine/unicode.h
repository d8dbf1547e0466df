// Unicode text from hostile bytes, written once for every reader: UTF-16LE strings of event
// records (event_record.h), registry values (scanner/host/system_hive.cpp) and Windows API
// results (live/), the UTF-8 they become, and what counts as valid UTF-8 for the reports
// (scanner/report/text_encoding.cpp, scanner/host's sanitize_utf8, live/json_writer.cpp). Whatever the input, the
// output is valid UTF-8: what is no valid UTF-16 becomes U+FFFD, and every loop is bounded by the input and a character
// cap the caller names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/byte_view.h"

namespace flscan::unicode {

// U+FFFD REPLACEMENT CHARACTER: what stands for a code unit or byte that is no valid text.
inline constexpr std::uint32_t kReplacement = 0xFFFD;

// Appends the code point `cp` (at most U+10FFFF, no surrogate) to `out` as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp);

// Length of the valid UTF-8 sequence at bytes[pos] (pos < bytes.size()), or 0 when the bytes
// there are none: strict UTF-8 (RFC 3629 section 4, whose second-byte ranges exclude overlong
// forms, surrogates and code points above U+10FFFF), and a sequence cut by the end of `bytes` is
// none either.
[[nodiscard]] std::size_t utf8_sequence_length(std::string_view bytes, std::size_t pos);

// What a NUL code unit means to decode_utf16le.
enum class AtNul {
  stop,  // the terminator: the string ends there (a registry REG_SZ value, whose data may hold
         // more after it)
  keep,  // a character like any other, kept as U+0000 (a string whose length is given: an event
         // record string already cut at its terminator, a Windows API result)
};

struct Utf16Text {
  std::string text;         // UTF-8
  bool terminated = false;  // AtNul::stop: a NUL code unit ended the string
  bool odd_length = false;  // the bytes were an odd number: the last one was dropped
  bool replaced = false;    // some code unit was no valid UTF-16 (an unpaired surrogate): now U+FFFD
  bool truncated = false;   // more than max_chars code points: the rest was dropped
};

// UTF-16LE bytes -> UTF-8. A high surrogate followed by a low one is one code point; any other
// surrogate is U+FFFD (one per code unit, and the unit after an unpaired high surrogate is decoded
// on its own). At most `max_chars` code points are kept.
[[nodiscard]] Utf16Text decode_utf16le(ByteView bytes, std::size_t max_chars, AtNul at_nul);

}  // namespace flscan::unicode
