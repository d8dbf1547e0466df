// One Windows event log record (EVENTLOGRECORD, the layout ReadEventLogW returns and SysEvent.Evt
// stores: libyal "Windows Event Log (EVT) format", "Event record"; winnt.h EVENTLOGRECORD) and the
// Q317218 evidence rules (infection-model section 8), shared by the offline reader
// (scanner/host/event_log.cpp, records read through libevt) and flscan-live.exe (live/, records
// read through ReadEventLogW): one rule set for both (issue 17).
//   7024 from "Service Control Manager": ("Protected Storage", "2148270091") -- 0x800C000B,
//        PST_E_DISK_IMAGE_MISMATCH;
//   7000 from "Service Control Manager": ("Spooler" or "Print Spooler", "%%2") -- error 2.
// Event identifiers carry severity bits (7024 is stored as 0xC0001B70): the low 16 bits are
// compared.
//
// The parser is bounded: every offset and length of the record is checked against the record's
// own length and the bytes given; strings are cut at limits.h's caps and converted from UTF-16LE
// to UTF-8 with U+FFFD for what is no valid UTF-16 (engine/unicode.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "engine/byte_view.h"

namespace flscan::evt {

inline constexpr std::uint16_t kEvent7024 = 7024;  // "The %1 service terminated with service-specific error %2."
inline constexpr std::uint16_t kEvent7000 = 7000;  // "The %1 service failed to start due to the following error: %2"
inline constexpr std::string_view kScmSource = "Service Control Manager";
// The fixed part of EVENTLOGRECORD (Length .. DataOffset), and the "LfLe" signature after Length.
inline constexpr std::size_t kRecordHeaderSize = 56;
inline constexpr std::uint32_t kRecordSignature = 0x654C664C;

struct Record {
  std::uint32_t length = 0;  // the record's Length field: where the next one starts
  std::uint32_t record_number = 0;
  std::uint32_t time_generated = 0;     // POSIX seconds, UTC
  std::uint32_t time_written = 0;       // POSIX seconds, UTC
  std::uint32_t event_identifier = 0;   // all 32 bits, e.g. 0xC0001B70
  std::uint16_t event_type = 0;         // 1 error, 2 warning, 4 information, 8/16 audit
  std::uint16_t number_of_strings = 0;  // as the record claims (strings holds at most the cap)
  std::string source_name;              // UTF-8
  std::string computer_name;            // UTF-8
  std::vector<std::string> strings;     // the insertion strings, UTF-8, at most kMaxEventRecordStrings
  bool strings_cut = false;             // fewer strings or shorter ones kept than the record has
  [[nodiscard]] std::uint16_t event_code() const { return static_cast<std::uint16_t>(event_identifier & 0xFFFFu); }
};

// Parses the record at the start of `bytes` (which may hold more records after it). The error
// names the field that is out of bounds or malformed.
[[nodiscard]] tl::expected<Record, std::string> parse_record(ByteView bytes);

// What a record is evidence of.
enum class Kind { protected_storage_7024, spooler_7000, other_scm_7024, other_scm_7000, other };

// The rule set: event code (low 16 bits), source and insertion strings -> kind.
[[nodiscard]] Kind classify(std::uint16_t event_code, std::string_view source, const std::vector<std::string>& strings);

// The two insertion-string tests. "2148270091", "-2146697205" (as signed), "0x800C000B" /
// "800C000B" (any case), blanks around.
[[nodiscard]] bool is_pst_disk_image_mismatch(std::string_view error_text);
// "%%2" (the insertion code for Win32 error 2), blanks around.
[[nodiscard]] bool is_file_not_found_insertion(std::string_view error_text);

// ASCII case-insensitive equality.
[[nodiscard]] bool iequals_ascii(std::string_view a, std::string_view b);

}  // namespace flscan::evt
