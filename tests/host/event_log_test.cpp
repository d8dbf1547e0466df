// read_event_log on well-formed EVT logs written by corpus/windows_fixtures.py (each scenario's
// docstring there states the facts checked here).
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "engine/event_record.h"
#include "engine/utc_time.h"
#include "fixtures.h"
#include "scanner/host/event_log.h"

using flscan::format_utc_iso8601;
using flscan::host::EventLogEvidence;
using flscan::host::is_file_not_found_insertion;
using flscan::host::is_pst_disk_image_mismatch;
using flscan::host::read_event_log;
using flscan::test::host_fixture;
using flscan::test::host_scratch;

namespace {

EventLogEvidence read_ok(std::string_view scenario) {
  auto result = read_event_log(host_fixture(scenario));
  if (!result) FAIL_CHECK(result.error().reason);
  REQUIRE(result);
  return std::move(*result);
}

std::string joined(const std::vector<std::string>& notes) {
  std::string out;
  for (const auto& n : notes) out += n + "\n";
  return out;
}

// The facts of the Q317218 record set (windows_fixtures._q317218_records).
void check_q317218_records(const EventLogEvidence& evidence) {
  const auto& pst = evidence.protected_storage_7024;
  CHECK(pst.count == 2);
  CHECK(pst.first_written_utc == "2002-03-01T00:00:00Z");
  CHECK(pst.last_written_utc == "2002-03-02T00:00:00Z");
  CHECK(pst.record_numbers == std::vector<std::uint32_t>{2, 5});
  REQUIRE(pst.records.size() == 2);
  const auto& first = pst.records[0];
  CHECK(first.event_identifier == 0xC0001B70u);
  CHECK(first.event_code == 7024);
  CHECK(first.event_type == 1);
  CHECK(first.source_name == "Service Control Manager");
  CHECK(first.computer_name == "FLSCAN-NT4");
  CHECK(first.strings == std::vector<std::string>{"Protected Storage", "2148270091"});
  CHECK(first.time_written_utc == "2002-03-01T00:00:00Z");
  CHECK_FALSE(first.recovered);

  const auto& spooler = evidence.spooler_7000;
  CHECK(spooler.count == 1);
  CHECK(spooler.record_numbers == std::vector<std::uint32_t>{3});
  CHECK(spooler.first_written_utc == "2002-03-01T00:00:05Z");
  CHECK(spooler.last_written_utc == spooler.first_written_utc);
  REQUIRE(spooler.records.size() == 1);
  CHECK(spooler.records[0].strings == std::vector<std::string>{"Spooler", "%%2"});
  CHECK(spooler.records[0].event_identifier == 0xC0001B58u);

  CHECK(evidence.other_scm_7000 == 1);  // Messenger, %%1058: counted, not evidence
  CHECK(evidence.other_scm_7024 == 0);
  CHECK(evidence.other_records == 1);  // the EventLog record
}

}  // namespace

TEST_CASE("Q317218 log: 7024 Protected Storage and 7000 Spooler records", "[host][evt]") {
  const auto evidence = read_ok("evt-q317218");
  INFO(joined(evidence.notes));
  CHECK(evidence.records_total == 5);
  CHECK(evidence.recovered_total == 0);
  CHECK(evidence.records_read == 5);
  CHECK_FALSE(evidence.header.dirty);
  CHECK_FALSE(evidence.header.wrapped);
  CHECK(evidence.header.major_version == 1);
  CHECK(evidence.header.minor_version == 1);
  CHECK_FALSE(evidence.corrupted);
  CHECK_FALSE(evidence.partial);
  CHECK(evidence.notes.empty());
  check_q317218_records(evidence);
}

TEST_CASE("7000 and 7024 for other services or sources are not evidence", "[host][evt]") {
  const auto evidence = read_ok("evt-clean");
  CHECK_FALSE(evidence.protected_storage_7024.found());
  CHECK_FALSE(evidence.spooler_7000.found());
  CHECK(evidence.protected_storage_7024.first_written_utc.empty());
  CHECK(evidence.other_scm_7000 == 2);  // Messenger %%1058, Alerter %%2
  CHECK(evidence.other_scm_7024 == 1);  // Print Spooler with the PST error
  CHECK(evidence.other_records == 1);   // 7024 from "Some Other Source"
}

TEST_CASE("Error written in hex or signed, names in other case, no severity bits", "[host][evt]") {
  const auto evidence = read_ok("evt-variants");
  const auto& pst = evidence.protected_storage_7024;
  CHECK(pst.count == 2);
  REQUIRE(pst.records.size() == 2);
  CHECK(pst.records[0].strings[1] == "0x800C000B");  // raw, as stored
  CHECK(pst.records[1].strings[0] == "PROTECTED STORAGE");
  CHECK(pst.records[1].strings[1] == "-2146697205");
  CHECK(evidence.other_scm_7024 == 1);  // Protected Storage with %%2 is another failure
  const auto& spooler = evidence.spooler_7000;
  CHECK(spooler.count == 2);
  REQUIRE(spooler.records.size() == 2);
  CHECK(spooler.records[0].strings[0] == "Print Spooler");
  CHECK(spooler.records[1].event_identifier == 0x00001B58u);
  CHECK(spooler.records[1].event_code == 7000);
}

TEST_CASE("Wrapped log: a record straddling the end of the file is read", "[host][evt]") {
  const auto evidence = read_ok("evt-wrapped");
  INFO(joined(evidence.notes));
  CHECK(evidence.header.wrapped);
  CHECK(evidence.records_total == 5);
  check_q317218_records(evidence);
}

TEST_CASE("Dirty header: records read, state noted", "[host][evt]") {
  const auto evidence = read_ok("evt-dirty");
  CHECK(evidence.header.dirty);
  CHECK(evidence.header.flags == 1u);
  REQUIRE_FALSE(evidence.notes.empty());
  CHECK(evidence.notes[0].find("dirty") != std::string::npos);
  check_q317218_records(evidence);
}

TEST_CASE("Insertion-string tests", "[host][evt]") {
  CHECK(is_pst_disk_image_mismatch("2148270091"));
  CHECK(is_pst_disk_image_mismatch(" 2148270091 "));
  CHECK(is_pst_disk_image_mismatch("-2146697205"));
  CHECK(is_pst_disk_image_mismatch("0x800C000B"));
  CHECK(is_pst_disk_image_mismatch("0x800c000b"));
  CHECK(is_pst_disk_image_mismatch("800C000B"));
  CHECK_FALSE(is_pst_disk_image_mismatch("2148270092"));
  CHECK_FALSE(is_pst_disk_image_mismatch("%%2"));
  CHECK_FALSE(is_pst_disk_image_mismatch(""));
  CHECK_FALSE(is_pst_disk_image_mismatch("0x"));
  CHECK(is_file_not_found_insertion("%%2"));
  CHECK_FALSE(is_file_not_found_insertion("%%20"));
  CHECK_FALSE(is_file_not_found_insertion("2"));
}

TEST_CASE("format_utc_iso8601", "[host][evt]") {
  CHECK(format_utc_iso8601(0) == "1970-01-01T00:00:00Z");
  CHECK(format_utc_iso8601(1014940800) == "2002-03-01T00:00:00Z");
  CHECK(format_utc_iso8601(951782399) == "2000-02-28T23:59:59Z");
  CHECK(format_utc_iso8601(951868800) == "2000-03-01T00:00:00Z");  // 2000 is a leap year
  CHECK(format_utc_iso8601(0xFFFFFFFFu) == "2106-02-07T06:28:15Z");
}

TEST_CASE("Files that are not EVT logs are errors", "[host][evt]") {
  SECTION("missing") { CHECK_FALSE(read_event_log(host_scratch("no-such.evt"))); }
  SECTION("empty") {
    const auto path = host_scratch("empty.evt");
    std::ofstream(path).close();
    auto result = read_event_log(path);
    REQUIRE_FALSE(result);
    CHECK(result.error().reason.find("too short") != std::string::npos);
  }
  SECTION("a hive") {
    auto result = read_event_log(host_fixture("hive-clean"));
    REQUIRE_FALSE(result);
    CHECK(result.error().reason.find("LfLe") != std::string::npos);
  }
}

// flscan-live.exe reads the running machine's records through ReadEventLogW, which hands out the
// same EVENTLOGRECORD bytes the .evt file stores (issue 17): engine/event_record's parser and rule
// set, applied record by record from the end of the file header, must give what the offline
// reader (libevt) finds in the same fixture, down to the record numbers.
TEST_CASE("engine/event_record on a fixture's records gives the offline reader's evidence", "[host][evt]") {
  struct Expected {
    const char* scenario;
    std::size_t pst_7024, spooler_7000;  // from corpus/windows_fixtures.py's scenarios
  };
  for (const Expected& e :
       {Expected{"evt-q317218", 2, 1}, Expected{"evt-clean", 0, 0}, Expected{"evt-variants", 2, 2}}) {
    INFO(e.scenario);
    const auto offline = read_ok(e.scenario);
    std::ifstream in(host_fixture(e.scenario), std::ios::binary);
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const flscan::ByteView file(bytes.data(), bytes.size());
    std::size_t at = 0x30, parsed = 0, other_7024 = 0, other_7000 = 0;
    std::vector<std::uint32_t> pst, spooler;
    // Records one after another until the end-of-file record (no "LfLe": the parse stops there).
    while (auto record = flscan::evt::parse_record(file.clip(at, bytes.size()))) {
      ++parsed;
      at += record->length;
      switch (flscan::evt::classify(record->event_code(), record->source_name, record->strings)) {
        case flscan::evt::Kind::protected_storage_7024:
          pst.push_back(record->record_number);
          break;
        case flscan::evt::Kind::spooler_7000:
          spooler.push_back(record->record_number);
          break;
        case flscan::evt::Kind::other_scm_7024:
          ++other_7024;
          break;
        case flscan::evt::Kind::other_scm_7000:
          ++other_7000;
          break;
        case flscan::evt::Kind::other:
          break;
      }
    }
    CHECK(parsed == offline.records_read);
    CHECK(pst.size() == e.pst_7024);
    CHECK(spooler.size() == e.spooler_7000);
    CHECK(pst == offline.protected_storage_7024.record_numbers);
    CHECK(spooler == offline.spooler_7000.record_numbers);
    CHECK(other_7024 == offline.other_scm_7024);
    CHECK(other_7000 == offline.other_scm_7000);
  }
}
