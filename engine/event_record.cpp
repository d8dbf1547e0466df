#include "engine/event_record.h"

#include "engine/limits.h"
#include "engine/unicode.h"

namespace flscan::evt {
namespace {

std::string_view trim(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

// The NUL-terminated UTF-16LE string at `at` inside `area` (offsets relative to the area): its
// text and the offset after its terminator; nothing when no terminator lies inside the area.
struct WideString {
  std::string text;
  std::uint64_t next = 0;
  bool cut = false;
};
std::optional<WideString> read_wide(ByteView area, std::uint64_t at) {
  for (std::uint64_t end = at; end + 2 <= area.size(); end += 2) {
    if (*area.u16le(end) != 0) continue;
    unicode::Utf16Text decoded =
        unicode::decode_utf16le(*area.sub(at, end - at), limits::kMaxEventRecordStringChars, unicode::AtNul::keep);
    return WideString{std::move(decoded.text), end + 2, decoded.truncated};
  }
  return std::nullopt;
}

}  // namespace

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

tl::expected<Record, std::string> parse_record(ByteView bytes) {
  const auto fail = [](std::string why) { return tl::make_unexpected(std::move(why)); };
  if (bytes.size() < kRecordHeaderSize) return fail("record shorter than its 56-byte header");
  Record r;
  r.length = *bytes.u32le(0);
  if (*bytes.u32le(4) != kRecordSignature) return fail("no \"LfLe\" signature");
  // Header, two terminators at least (source, computer) and the trailing copy of Length.
  if (r.length < kRecordHeaderSize + 4 + 4) return fail("Length " + std::to_string(r.length) + " below the minimum");
  if (r.length > limits::kMaxEventRecordBytes) return fail("Length " + std::to_string(r.length) + " above the cap");
  if (r.length > bytes.size()) return fail("Length " + std::to_string(r.length) + " past the bytes read");
  const ByteView record = *bytes.sub(0, r.length);
  if (*record.u32le(r.length - 4) != r.length) return fail("trailing Length differs from the leading one");
  r.record_number = *record.u32le(8);
  r.time_generated = *record.u32le(12);
  r.time_written = *record.u32le(16);
  r.event_identifier = *record.u32le(20);
  r.event_type = *record.u16le(24);
  r.number_of_strings = *record.u16le(26);
  const std::uint32_t string_offset = *record.u32le(36);

  // Source and computer name: after the header, inside the record body (before its trailing Length).
  const ByteView body = *record.sub(0, r.length - 4);
  auto source = read_wide(body, kRecordHeaderSize);
  if (!source) return fail("source name unterminated");
  auto computer = read_wide(body, source->next);
  if (!computer) return fail("computer name unterminated");
  r.source_name = std::move(source->text);
  r.computer_name = std::move(computer->text);
  r.strings_cut = source->cut || computer->cut;

  if (r.number_of_strings > 0) {
    if (string_offset < kRecordHeaderSize || string_offset >= body.size()) {
      return fail("StringOffset " + std::to_string(string_offset) + " outside the record");
    }
    std::uint64_t at = string_offset;
    for (std::uint16_t i = 0; i < r.number_of_strings; ++i) {
      if (r.strings.size() == limits::kMaxEventRecordStrings) {
        r.strings_cut = true;
        break;
      }
      auto text = read_wide(body, at);
      if (!text) return fail("string " + std::to_string(i + 1) + " unterminated");
      r.strings.push_back(std::move(text->text));
      r.strings_cut = r.strings_cut || text->cut;
      at = text->next;
    }
  }
  return r;
}

Kind classify(std::uint16_t event_code, std::string_view source, const std::vector<std::string>& strings) {
  if (!iequals_ascii(source, kScmSource)) return Kind::other;
  const std::string_view name = strings.empty() ? std::string_view() : trim(strings[0]);
  const std::string_view error = strings.size() < 2 ? std::string_view() : std::string_view(strings[1]);
  if (event_code == kEvent7024) {
    // 7024's first string is the display name ("Protected Storage"), the second the error.
    return iequals_ascii(name, "Protected Storage") && is_pst_disk_image_mismatch(error) ? Kind::protected_storage_7024
                                                                                         : Kind::other_scm_7024;
  }
  if (event_code == kEvent7000) {
    // NT4 writes the service name ("Spooler", Q317218); 2000/XP the display name ("Print Spooler").
    const bool spooler = iequals_ascii(name, "Spooler") || iequals_ascii(name, "Print Spooler");
    return spooler && is_file_not_found_insertion(error) ? Kind::spooler_7000 : Kind::other_scm_7000;
  }
  return Kind::other;
}

bool is_pst_disk_image_mismatch(std::string_view error_text) {
  const std::string_view text = trim(error_text);
  if (text == "2148270091" || text == "-2146697205") return true;
  std::string_view hex = text;
  if (hex.size() > 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  return iequals_ascii(hex, "800C000B");
}

bool is_file_not_found_insertion(std::string_view error_text) { return trim(error_text) == "%%2"; }

}  // namespace flscan::evt
