// Fuzz target: evt::parse_record and evt::classify (engine/event_record.h), the EVENTLOGRECORD
// parser flscan-live.exe runs on ReadEventLogW's buffers and the rule set the offline reader
// shares. The input is read the way flscan-live walks a ReadEventLogW buffer: a record at offset
// 0, the next one `length` bytes on, until a record does not parse or the bytes end.
//
// Checks the header's contract: a parsed record's length is at least the fixed header and inside
// the bytes given (so the walk advances and stays in bounds), its strings stay under the cap, and
// every string it returns is valid UTF-8.
#include <cstddef>
#include <cstdint>

#include "engine/event_record.h"
#include "engine/limits.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/host_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const flscan::ByteView bytes(data, size);
  std::size_t offset = 0;
  while (offset < size) {
    const auto record = flscan::evt::parse_record(bytes.clip(offset, size - offset));
    if (!record) {
      FUZZ_CHECK(!record.error().empty(), "a refused record says why");
      break;
    }
    FUZZ_CHECK(record->length >= flscan::evt::kRecordHeaderSize, "a record is at least its fixed header");
    FUZZ_CHECK(record->length <= size - offset, "a record lies inside the bytes given");
    FUZZ_CHECK(record->strings.size() <= flscan::limits::kMaxEventRecordStrings, "strings under the cap");
    flscan::fuzz::check_text(record->source_name, "the source name is valid UTF-8");
    flscan::fuzz::check_text(record->computer_name, "the computer name is valid UTF-8");
    for (const std::string& text : record->strings) flscan::fuzz::check_text(text, "strings are valid UTF-8");
    (void)flscan::evt::classify(record->event_code(), record->source_name, record->strings);
    offset += record->length;
  }
  return 0;
}
