// The enum tables (engine/enum_table.h, issue 14): every value of every enum the reports write as a
// code has exactly one row, its code reads back as the same value, no two values share a code, and
// every code is documented in scanner/JSON.md. Each enum is named here with its last value, so a
// missing, duplicated or reordered row fails these checks even apart from the tables' own
// static_asserts; the checker behind those static_asserts is tested on deliberately broken tables.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "engine/enum_table.h"
#include "engine/finding.h"
#include "engine/scan.h"
#include "scanner/host/host_report.h"
#include "scanner/remedy/quarantine.h"
#include "scanner/report/report.h"

using namespace flscan;

namespace {

std::string json_md() {
  std::ifstream in(std::string(FLSCAN_SOURCE_DIR) + "/scanner/JSON.md");
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

enum class Documented { no, yes };

// Values 0..last (the enums are dense from 0, no explicit values).
template <typename Enum>
void check_table(const char* name, Enum last, Documented documented) {
  INFO(name);
  const auto& rows = table_of<Enum>();
  const auto count = static_cast<std::size_t>(last) + 1;
  CHECK(rows.size() == count);
  CHECK(kEnumCount<Enum> == count);
  static const std::string doc = json_md();
  std::set<std::string_view> codes;
  for (std::size_t i = 0; i < count; ++i) {
    const auto value = static_cast<Enum>(i);
    const std::string_view code = code_of(value);
    INFO("value " << i << " code \"" << code << "\"");
    CHECK((i < rows.size() && rows[i].value == value));
    CHECK(code != "unknown");
    CHECK_FALSE(code.empty());
    CHECK(from_code<Enum>(code) == value);  // to code and back
    CHECK(codes.insert(code).second);       // unique
    if (documented == Documented::yes) CHECK(doc.find("`" + std::string(code) + "`") != std::string::npos);
  }
  CHECK(code_of(static_cast<Enum>(count)) == "unknown");  // nothing past the last value
  CHECK_FALSE(from_code<Enum>("unknown"));
  CHECK_FALSE(from_code<Enum>(""));
}

enum class Sample { a, b, c };
constexpr std::array<EnumRow<Sample>, 3> kComplete = {EnumRow{Sample::a, "a"}, EnumRow{Sample::b, "b"},
                                                      EnumRow{Sample::c, "c"}};
constexpr std::array<EnumRow<Sample>, 2> kLastMissing = {EnumRow{Sample::a, "a"}, EnumRow{Sample::b, "b"}};
constexpr std::array<EnumRow<Sample>, 2> kMiddleMissing = {EnumRow{Sample::a, "a"}, EnumRow{Sample::c, "c"}};
constexpr std::array<EnumRow<Sample>, 3> kRowTwice = {EnumRow{Sample::a, "a"}, EnumRow{Sample::b, "b"},
                                                      EnumRow{Sample::b, "b"}};
constexpr std::array<EnumRow<Sample>, 3> kCodeTwice = {EnumRow{Sample::a, "a"}, EnumRow{Sample::b, "b"},
                                                       EnumRow{Sample::c, "a"}};
constexpr std::array<EnumRow<Sample>, 3> kSwapped = {EnumRow{Sample::a, "a"}, EnumRow{Sample::c, "c"},
                                                     EnumRow{Sample::b, "b"}};
constexpr std::array<EnumRow<Sample>, 3> kEmptyCode = {EnumRow{Sample::a, "a"}, EnumRow{Sample::b, ""},
                                                       EnumRow{Sample::c, "c"}};
constexpr std::array<EnumRow<Sample>, 4> kRowPastTheEnd = {
    EnumRow{Sample::a, "a"}, EnumRow{Sample::b, "b"}, EnumRow{Sample::c, "c"}, EnumRow{static_cast<Sample>(3), "d"}};

}  // namespace

TEST_CASE("enum tables: the checker of the static_asserts refuses a missing, doubled or misplaced row",
          "[enum_table]") {
  STATIC_REQUIRE(is_complete_table(kComplete));
  STATIC_REQUIRE_FALSE(is_complete_table(kLastMissing));
  STATIC_REQUIRE_FALSE(is_complete_table(kMiddleMissing));
  STATIC_REQUIRE_FALSE(is_complete_table(kRowTwice));
  STATIC_REQUIRE_FALSE(is_complete_table(kCodeTwice));
  STATIC_REQUIRE_FALSE(is_complete_table(kSwapped));
  STATIC_REQUIRE_FALSE(is_complete_table(kEmptyCode));
  STATIC_REQUIRE_FALSE(is_complete_table(kRowPastTheEnd));
}

TEST_CASE("enum tables: every value has one row whose code reads back as it, codes unique and documented",
          "[enum_table]") {
  check_table("FindingKind", FindingKind::decoy, Documented::yes);
  check_table("Severity", Severity::informational, Documented::yes);
  check_table("Confidence", Confidence::high, Documented::yes);
  check_table("ContentType", ContentType::pe, Documented::yes);
  check_table("NotScannedReason", scanner::NotScannedReason::key_rejected, Documented::yes);
  check_table("RootKind", scanner::RootKind::unknown, Documented::yes);
  check_table("ReadOrder", scanner::ReadOrder::disk, Documented::yes);
  check_table("SkipReason", scanner::SkipReason::other_type, Documented::yes);
  check_table("ActionResult", scanner::ActionResult::left_in_place, Documented::yes);
  check_table("RepairStatus", scanner::RepairStatus::failed, Documented::yes);
  check_table("VolumeStatus", scanner::VolumeStatus::error, Documented::yes);
  check_table("SymptomStatus", host::SymptomStatus::error, Documented::yes);
  check_table("FileStatus", host::FileStatus::other_shard, Documented::yes);
  check_table("Verdict", host::Verdict::no_evidence, Documented::yes);
  check_table("TimeSource", host::TimeSource::image, Documented::yes);
  check_table("TimelineKind", host::TimelineKind::event_7000, Documented::yes);
  check_table("LiveJoinState", host::LiveJoinState::ambiguous, Documented::yes);
  // In error texts only ("write-copy: ..."), not a JSON field.
  check_table("QuarantineStep", scanner::QuarantineStep::sync_copy_dir, Documented::no);
}

TEST_CASE("enum tables: the reasons' descriptions are the tables' third column", "[enum_table]") {
  for (const auto& row : scanner::kNotScannedReasons) {
    INFO(row.code);
    CHECK_FALSE(row.description.empty());
    CHECK(scanner::describe(row.value) == row.description);
  }
  for (const auto& row : scanner::kSkipReasons) {
    INFO(row.code);
    CHECK_FALSE(row.description.empty());
    CHECK(scanner::describe(row.value) == row.description);
  }
  // Printed as they were before the tables (report_text's NOT SCANNED and SKIPPED lines).
  CHECK(scanner::describe(scanner::NotScannedReason::too_large) == "larger than --max-filesize");
  CHECK(scanner::describe(scanner::SkipReason::symlink) == "symbolic link, not followed (see --follow-symlinks)");
  CHECK(to_code(scanner::NotScannedReason::truncated) == "truncated-while-reading");
  CHECK(to_code(ContentType::mz_not_pe) == "mz");
}

TEST_CASE("enum tables: the Quarantine summary counts files per ActionResult, in the table's words", "[enum_table]") {
  scanner::ScanReport report;
  const auto add = [&report](std::optional<scanner::ActionResult> result) {
    scanner::FileResult file;
    file.path = "f" + std::to_string(report.results.size());
    file.findings.push_back(Finding{});
    if (result) {
      file.action.emplace();
      file.action->result = *result;
    }
    report.results.push_back(std::move(file));
  };
  add(std::nullopt);  // a finding flscan did not act on: counted nowhere
  CHECK(scanner::action_summary(report).empty());
  add(scanner::ActionResult::quarantined);
  add(scanner::ActionResult::left_in_place);
  add(scanner::ActionResult::quarantined);
  add(scanner::ActionResult::left_in_place);
  add(scanner::ActionResult::left_in_place);
  const std::array<std::uint64_t, 3> expected = {2, 0, 3};
  CHECK(scanner::action_counts(report) == expected);
  // The words of the text and HTML reports' Quarantine line, zeros included.
  CHECK(scanner::action_summary(report) == "2 quarantined, 0 repaired in place, 3 left in place");
}
