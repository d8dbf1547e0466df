// Fuzz target: the offline EVT event log reader (scanner/host/event_log.h) on the input bytes,
// through its production entry point read_event_log(path): the input is a memory file
// (memfd_input.h), which the reader copies privately and hands to libevt.
//
// libevt is not instrumented (a Debian library): memory errors inside it show only when they
// fault; flscan's own header check and record handling are checked by ASan.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.h"
#include "fuzz/host_checks.h"
#include "fuzz/memfd_input.h"
#include "scanner/host/event_log.h"
#include "scanner/host/limits.h"

namespace {

namespace host = flscan::host;
namespace limits = flscan::host::limits;
using flscan::fuzz::check_text;

void check_record(const host::EventRecord& record) {
  FUZZ_CHECK(record.event_code == static_cast<std::uint16_t>(record.event_identifier & 0xFFFF),
             "event_code is the identifier's low 16 bits");
  check_text(record.source_name, "source name is valid UTF-8");
  check_text(record.computer_name, "computer name is valid UTF-8");
  check_text(record.time_written_utc, "time is valid UTF-8");
  FUZZ_CHECK(record.strings.size() <= static_cast<std::size_t>(limits::kMaxEventStringsPerRecord),
             "strings per record are capped");
  for (const std::string& text : record.strings) {
    FUZZ_CHECK(text.size() < limits::kMaxEventStringBytes, "insertion strings are capped");
    check_text(text, "insertion strings are valid UTF-8");
  }
}

void check_kind(const host::EventEvidence& evidence) {
  FUZZ_CHECK(evidence.records.size() <= limits::kMaxEvidenceRecordsKept, "kept records are capped");
  FUZZ_CHECK(evidence.records.size() <= evidence.count, "kept records are counted");
  FUZZ_CHECK(evidence.record_numbers.size() == evidence.records.size(), "one number per kept record");
  FUZZ_CHECK(evidence.found() == evidence.first_written.has_value(), "a found kind has a first time");
  if (evidence.first_written && evidence.last_written) {
    FUZZ_CHECK(*evidence.first_written <= *evidence.last_written, "first written is not after last written");
  }
  FUZZ_CHECK(evidence.found() != evidence.first_written_utc.empty(), "a found kind has its time in text");
  for (const host::EventRecord& record : evidence.records) check_record(record);
}

void check_evidence(const host::EventLogEvidence& evidence) {
  flscan::fuzz::check_notes(evidence.notes);
  FUZZ_CHECK(evidence.records_read <= limits::kMaxEventRecords, "records read are capped");
  FUZZ_CHECK(evidence.records_read <= evidence.records_total + evidence.recovered_total,
             "only existing records are read");
  check_kind(evidence.protected_storage_7024);
  check_kind(evidence.spooler_7000);
  const std::size_t classified = evidence.protected_storage_7024.count + evidence.spooler_7000.count +
                                 evidence.other_scm_7024 + evidence.other_scm_7000 + evidence.other_records;
  FUZZ_CHECK(classified <= evidence.records_read, "each record read is counted at most once");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const flscan::fuzz::RegularFileInput input(data, size);
  const auto result = host::read_event_log(input.path());
  if (!result) {
    flscan::fuzz::check_error(result.error(), input.path());
    return 0;
  }
  FUZZ_CHECK(result->path == input.path(), "the evidence names the file read");
  check_evidence(*result);
  return 0;
}
