// engine/event_record.h on record bytes the test builds itself, field by field, per the
// EVENTLOGRECORD layout (winnt.h; libyal "Windows Event Log (EVT) format", "Event record"):
// Length, "LfLe", RecordNumber, TimeGenerated, TimeWritten, EventID, EventType, NumStrings,
// EventCategory, ReservedFlags, ClosingRecordNumber, StringOffset, UserSidLength, UserSidOffset,
// DataLength, DataOffset (56 bytes), then SourceName and Computername (UTF-16LE, NUL-terminated),
// the strings at StringOffset, padding, and Length again. flscan-live.exe reads the running
// machine's System log as such records (ReadEventLogW); Wine's event-log API is a stub, so this
// is where the live tool's event-log parsing and rules are tested.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/event_record.h"
#include "engine/limits.h"
#include "engine/utc_time.h"

using namespace flscan;

namespace {

struct RecordSpec {
  std::uint32_t record_number = 1;
  std::uint32_t time_generated = 1014940800;  // 2002-03-01T00:00:00Z
  std::uint32_t time_written = 1014940801;
  std::uint32_t event_id = 0xC0001B70;  // 7024 with the error severity bits
  std::uint16_t event_type = 1;
  std::u16string source = u"Service Control Manager";
  std::u16string computer = u"VICTIM";
  std::vector<std::u16string> strings = {u"Protected Storage", u"2148270091"};
};

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void append_wide(std::vector<std::uint8_t>& b, const std::u16string& s) {
  for (char16_t c : s) {
    b.push_back(static_cast<std::uint8_t>(c));
    b.push_back(static_cast<std::uint8_t>(c >> 8));
  }
  b.push_back(0);
  b.push_back(0);
}

// Offsets of the fixed header's fields.
constexpr std::size_t kLength = 0, kStringOffset = 36, kNumStrings = 26;

std::vector<std::uint8_t> build(const RecordSpec& spec) {
  std::vector<std::uint8_t> b(56, 0);
  put32(b, 4, 0x654C664C);  // "LfLe"
  put32(b, 8, spec.record_number);
  put32(b, 12, spec.time_generated);
  put32(b, 16, spec.time_written);
  put32(b, 20, spec.event_id);
  put16(b, 24, spec.event_type);
  put16(b, kNumStrings, static_cast<std::uint16_t>(spec.strings.size()));
  append_wide(b, spec.source);
  append_wide(b, spec.computer);
  while (b.size() % 4 != 0) b.push_back(0);  // the user SID would start on a DWORD boundary
  put32(b, kStringOffset, static_cast<std::uint32_t>(b.size()));
  for (const auto& s : spec.strings) append_wide(b, s);
  put32(b, 48, 0);                                     // DataLength
  put32(b, 52, static_cast<std::uint32_t>(b.size()));  // DataOffset
  while (b.size() % 4 != 0) b.push_back(0);
  b.resize(b.size() + 4);
  const auto length = static_cast<std::uint32_t>(b.size());
  put32(b, kLength, length);
  put32(b, b.size() - 4, length);
  return b;
}

ByteView view(const std::vector<std::uint8_t>& b) { return ByteView(b.data(), b.size()); }

}  // namespace

TEST_CASE("a 7024 Protected Storage record parses field by field", "[evt]") {
  RecordSpec spec;
  spec.record_number = 4242;
  const auto bytes = build(spec);
  const auto r = evt::parse_record(view(bytes));
  REQUIRE(r);
  CHECK(r->length == bytes.size());
  CHECK(r->record_number == 4242);
  CHECK(r->time_generated == 1014940800);
  CHECK(r->time_written == 1014940801);
  CHECK(r->event_identifier == 0xC0001B70);
  CHECK(r->event_code() == 7024);
  CHECK(r->event_type == 1);
  CHECK(r->source_name == "Service Control Manager");
  CHECK(r->computer_name == "VICTIM");
  REQUIRE(r->strings.size() == 2);
  CHECK(r->strings[0] == "Protected Storage");
  CHECK(r->strings[1] == "2148270091");
  CHECK_FALSE(r->strings_cut);
  CHECK(evt::classify(r->event_code(), r->source_name, r->strings) == evt::Kind::protected_storage_7024);
  CHECK(format_utc_iso8601(r->time_written) == "2002-03-01T00:00:01Z");
}

TEST_CASE("the evidence rules: 7024 Protected Storage 2148270091, 7000 Spooler %%2, low 16 bits", "[evt]") {
  using evt::Kind;
  auto kind_of = [](const RecordSpec& spec) {
    const auto bytes = build(spec);
    const auto r = evt::parse_record(view(bytes));
    REQUIRE(r);
    return evt::classify(r->event_code(), r->source_name, r->strings);
  };
  RecordSpec pst;
  CHECK(kind_of(pst) == Kind::protected_storage_7024);
  pst.event_id = 7024;  // without severity bits: the same event
  CHECK(kind_of(pst) == Kind::protected_storage_7024);
  pst.strings[1] = u"0x800c000b";
  CHECK(kind_of(pst) == Kind::protected_storage_7024);
  pst.strings[1] = u"2148270092";
  CHECK(kind_of(pst) == Kind::other_scm_7024);
  pst.strings = {u"Protected Storage"};  // no error string
  CHECK(kind_of(pst) == Kind::other_scm_7024);

  RecordSpec spooler;
  spooler.event_id = 0xC0001B58;  // 7000 with severity bits
  spooler.strings = {u"Spooler", u"%%2"};
  CHECK(kind_of(spooler) == Kind::spooler_7000);
  spooler.strings = {u"Print Spooler", u" %%2 "};
  CHECK(kind_of(spooler) == Kind::spooler_7000);
  spooler.strings = {u"Spooler", u"%%5"};
  CHECK(kind_of(spooler) == Kind::other_scm_7000);
  spooler.strings = {u"Spooler", u"%%2"};
  spooler.source = u"Print";  // another source: not the SCM's event
  CHECK(kind_of(spooler) == Kind::other);
  spooler.source = u"service control manager";  // source compared without case
  CHECK(kind_of(spooler) == Kind::spooler_7000);
  spooler.event_id = 0x00011B58;  // low 16 bits 7000, other high bits
  CHECK(kind_of(spooler) == Kind::spooler_7000);
  spooler.event_id = 0x00001B59;  // 7001
  CHECK(kind_of(spooler) == Kind::other);
}

TEST_CASE("records packed one after another parse by their Length", "[evt]") {
  RecordSpec a;
  RecordSpec b;
  b.record_number = 2;
  b.event_id = 7000;
  b.strings = {u"Spooler", u"%%2"};
  auto bytes = build(a);
  const auto second = build(b);
  bytes.insert(bytes.end(), second.begin(), second.end());
  const auto first = evt::parse_record(view(bytes));
  REQUIRE(first);
  const auto next = evt::parse_record(view(bytes).clip(first->length, bytes.size()));
  REQUIRE(next);
  CHECK(next->record_number == 2);
  CHECK(next->event_code() == 7000);
}

TEST_CASE("hostile lengths and offsets are refused, never read past", "[evt]") {
  const auto good = build(RecordSpec{});
  SECTION("shorter than the header") { CHECK_FALSE(evt::parse_record(view(good).clip(0, 55))); }
  SECTION("no LfLe signature") {
    auto b = good;
    b[4] = 'X';
    CHECK_FALSE(evt::parse_record(view(b)));
  }
  SECTION("Length past the bytes given") {
    auto b = good;
    put32(b, kLength, static_cast<std::uint32_t>(b.size() + 4));
    const auto r = evt::parse_record(view(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().find("past the bytes") != std::string::npos);
  }
  SECTION("Length below the minimum, zero included") {
    for (std::uint32_t len : {0u, 4u, 56u, 63u}) {
      auto b = good;
      put32(b, kLength, len);
      CHECK_FALSE(evt::parse_record(view(b)));
    }
  }
  SECTION("Length above the cap") {
    std::vector<std::uint8_t> b(limits::kMaxEventRecordBytes + 8, 0);
    std::copy(good.begin(), good.end() - 4, b.begin());
    put32(b, kLength, static_cast<std::uint32_t>(b.size()));
    put32(b, b.size() - 4, static_cast<std::uint32_t>(b.size()));
    CHECK_FALSE(evt::parse_record(view(b)));
  }
  SECTION("trailing Length differs") {
    auto b = good;
    put32(b, b.size() - 4, 0x1000);
    CHECK_FALSE(evt::parse_record(view(b)));
  }
  SECTION("StringOffset outside the record") {
    for (std::uint32_t off : {0u, 8u, static_cast<std::uint32_t>(good.size() - 4), 0xFFFFFFF0u}) {
      auto b = good;
      put32(b, kStringOffset, off);
      CHECK_FALSE(evt::parse_record(view(b)));
    }
  }
  SECTION("more strings claimed than the record holds") {
    auto b = good;
    put16(b, kNumStrings, 0xFFFF);
    const auto r = evt::parse_record(view(b));
    // The two real strings end where the record's padding starts; the rest runs into the trailing
    // Length: an unterminated string, refused.
    CHECK_FALSE(r);
  }
  SECTION("a string without terminator up to the end of the record") {
    RecordSpec spec;
    spec.strings = {u"Protected Storage", u"2148270091"};
    auto b = build(spec);
    // Overwrite every NUL of the string area (from StringOffset to the trailing Length) with 'A'.
    const std::uint32_t at = b[kStringOffset] | (b[kStringOffset + 1] << 8);
    for (std::size_t i = at; i + 4 < b.size(); ++i) b[i] = 'A';
    CHECK_FALSE(evt::parse_record(view(b)));
  }
  SECTION("source name without terminator") {
    auto b = good;
    for (std::size_t i = 56; i + 4 < b.size(); ++i) b[i] = 'A';
    CHECK_FALSE(evt::parse_record(view(b)));
  }
}

TEST_CASE("many strings are kept up to the cap, long ones cut, bad UTF-16 replaced", "[evt]") {
  RecordSpec spec;
  spec.strings.assign(limits::kMaxEventRecordStrings + 5, u"x");
  auto r = evt::parse_record(view(build(spec)));
  REQUIRE(r);
  CHECK(r->strings.size() == limits::kMaxEventRecordStrings);
  CHECK(r->number_of_strings == limits::kMaxEventRecordStrings + 5);
  CHECK(r->strings_cut);

  spec.strings = {std::u16string(limits::kMaxEventRecordStringChars + 10, u'a')};
  r = evt::parse_record(view(build(spec)));
  REQUIRE(r);
  CHECK(r->strings[0].size() == limits::kMaxEventRecordStringChars);
  CHECK(r->strings_cut);

  spec.strings = {std::u16string{u'a', static_cast<char16_t>(0xD800), u'b'}, u"\u00e9\U0001F600"};
  r = evt::parse_record(view(build(spec)));
  REQUIRE(r);
  CHECK(r->strings[0] ==
        "a\xEF\xBF\xBD"
        "b");  // unpaired surrogate -> U+FFFD
  CHECK(r->strings[1] == "\xC3\xA9\xF0\x9F\x98\x80");
}
