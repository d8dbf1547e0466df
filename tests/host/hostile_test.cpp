// Hostile hives and logs (corpus/windows_fixtures.py HOSTILE_HIVES / HOSTILE_EVTS): each one
// must give an error value or (partial) evidence -- never a crash, a hang or an over-read. Run
// them under the asan preset too.
#include <catch2/catch.hpp>
#include <string>

#include "fixtures.h"
#include "scanner/host/event_log.h"
#include "scanner/host/system_hive.h"

using flscan::host::read_event_log;
using flscan::host::read_system_hive;
using flscan::test::host_fixture;

namespace {

std::string joined(const std::vector<std::string>& notes) {
  std::string out;
  for (const auto& n : notes) out += n + "\n";
  return out;
}

bool any_note_has(const std::vector<std::string>& notes, std::string_view needle) {
  for (const auto& n : notes) {
    if (n.find(needle) != std::string::npos) return true;
  }
  return false;
}

// Every hostile hive kind, and whether it must be rejected outright.
struct HiveCase {
  const char* kind;
  bool must_fail;
};
constexpr HiveCase kHiveCases[] = {
    {"truncated", true},
    {"truncated-at-bin", false},
    {"header-only", true},
    {"bad-checksum", true},
    {"garbage-bins", true},
    {"root-offset-mid-cell", true},
    {"root-offset-huge", true},
    {"bins-size-huge", false},
    {"cell-size-odd", true},
    {"cell-size-overruns-bin", true},
    {"hbin-size-wrong", true},
    {"subkey-count-absurd", false},
    {"subkey-count-mismatch", false},
    {"lf-count-absurd", false},
    {"subkey-list-wrong-offset", false},
    {"subkey-points-to-vk", false},
    {"loop-controlset-in-services", false},
    {"loop-root-in-services", false},
    {"ri-self-loop", false},
    {"value-count-absurd", false},
    {"value-list-wrong-offset", false},
    {"value-data-len-huge", false},
    {"value-data-longer-than-cell", false},
    {"value-db-absurd-blocks", false},
    {"name-len-overruns-cell", false},
    {"odd-utf16-values", false},
    {"select-points-nowhere", false},
    {"many-control-sets", false},
    {"many-services", false},
};

}  // namespace

TEST_CASE("Every hostile hive gives an error or evidence", "[host][hive][hostile]") {
  for (const auto& c : kHiveCases) {
    const std::string scenario = std::string("hostile-hive-") + c.kind;
    INFO(scenario);
    auto result = read_system_hive(host_fixture(scenario));
    if (c.must_fail) {
      CHECK_FALSE(result);
    }
    if (result) {
      INFO(joined(result->notes));
      CHECK(result->control_sets.size() <= 16);
    } else {
      CHECK_FALSE(result.error().reason.empty());
    }
  }
}

TEST_CASE("Hostile hives: the specific outcomes", "[host][hive][hostile]") {
  SECTION("bad checksum names the checksum") {
    auto result = read_system_hive(host_fixture("hostile-hive-bad-checksum"));
    REQUIRE_FALSE(result);
    CHECK(result.error().reason.find("checksum") != std::string::npos);
  }
  SECTION("truncated: refused with the reason, or read in part when the cut is at a hive bin") {
    auto cut = read_system_hive(host_fixture("hostile-hive-truncated"));
    REQUIRE_FALSE(cut);
    CHECK(cut.error().reason.find("truncated?") != std::string::npos);
    auto at_bin = read_system_hive(host_fixture("hostile-hive-truncated-at-bin"));
    REQUIRE(at_bin);
    INFO(joined(at_bin->notes));
    CHECK(at_bin->partial);
    CHECK(any_note_has(at_bin->notes, "truncated?"));
    REQUIRE(at_bin->flc_services().size() == 1);  // the FLC key survived in the first bin
    CHECK(at_bin->flc_services()[0]->match.by_name);
  }
  SECTION("an absurd subkey count under Services: partial, noted, the other set still read") {
    auto result = read_system_hive(host_fixture("hostile-hive-subkey-count-absurd"));
    REQUIRE(result);
    INFO(joined(result->notes));
    CHECK(result->partial);
    CHECK(any_note_has(result->notes, "ControlSet001\\Services: subkeys unreadable"));
    CHECK(result->control_sets.size() == 2);
    CHECK(result->current_control_set == 1u);
  }
  SECTION("a loop in the key tree (Services lists ControlSet001 and the root) ends") {
    for (const char* kind : {"hostile-hive-loop-controlset-in-services", "hostile-hive-loop-root-in-services"}) {
      INFO(kind);
      auto result = read_system_hive(host_fixture(kind));
      REQUIRE(result);
      // The looping entries are just keys with odd names; FLC is still found in its place.
      CHECK(result->has_flc_service());
    }
  }
  SECTION("ri list pointing at itself (CVE-2021-3622 shape) is refused by hivex, noted") {
    auto result = read_system_hive(host_fixture("hostile-hive-ri-self-loop"));
    REQUIRE(result);
    CHECK(result->partial);
    CHECK_FALSE(result->has_flc_service());
  }
  SECTION("absurd value count: the service is still reported by name, values not read") {
    auto result = read_system_hive(host_fixture("hostile-hive-value-count-absurd"));
    REQUIRE(result);
    REQUIRE(result->flc_services().size() == 1);
    const auto* flc = result->flc_services()[0];
    CHECK(flc->match.by_name);
    CHECK_FALSE(flc->values.image_path);
    CHECK(any_note_has(flc->notes, "values (limit"));
    CHECK(result->partial);
  }
  SECTION("value data longer than the cap or than its cell is not read") {
    for (const char* kind : {"hostile-hive-value-data-len-huge", "hostile-hive-value-data-longer-than-cell",
                             "hostile-hive-value-db-absurd-blocks"}) {
      INFO(kind);
      auto result = read_system_hive(host_fixture(kind));
      REQUIRE(result);
      REQUIRE(result->flc_services().size() == 1);
      const auto* flc = result->flc_services()[0];
      INFO(joined(flc->notes));
      CHECK_FALSE(flc->values.image_path);
      CHECK(flc->values.type == 0x20u);  // the other values still read
      CHECK(flc->values.display_name == std::string("FLC"));
      CHECK(any_note_has(flc->notes, "ImagePath: value data"));
    }
  }
  SECTION("odd-length UTF-16, lone surrogate, wrong value types") {
    auto result = read_system_hive(host_fixture("hostile-hive-odd-utf16-values"));
    REQUIRE(result);
    REQUIRE(result->flc_services().size() == 1);
    const auto* flc = result->flc_services()[0];
    INFO(joined(flc->notes));
    CHECK(flc->values.image_path == std::string(R"(C:\WINNT\System32\flcss.exe)"));
    CHECK(flc->match.by_image_path);
    CHECK(flc->values.display_name == std::string("\xEF\xBF\xBD"
                                                  "FLC"));
    CHECK_FALSE(flc->values.type);   // 2-byte REG_DWORD
    CHECK_FALSE(flc->values.start);  // REG_SZ "2"
    CHECK(flc->values.error_control == 1u);
    CHECK(any_note_has(flc->notes, "odd number of bytes"));
    CHECK(any_note_has(flc->notes, "U+FFFD"));
    CHECK(any_note_has(flc->notes, "Type: expected a 4-byte REG_DWORD"));
  }
  SECTION("Select naming a control set that is not there") {
    auto result = read_system_hive(host_fixture("hostile-hive-select-points-nowhere"));
    REQUIRE(result);
    CHECK(result->select.current == 7u);
    CHECK_FALSE(result->current_control_set);
    CHECK(result->current() == nullptr);
    CHECK(any_note_has(result->notes, "ControlSet007 is not in the hive"));
    REQUIRE(result->flc_services().size() == 1);
    CHECK_FALSE(result->flc_services()[0]->in_current_control_set);
  }
  SECTION("40 control sets: capped, the current one (040) always read") {
    auto result = read_system_hive(host_fixture("hostile-hive-many-control-sets"));
    REQUIRE(result);
    CHECK(result->control_sets_present.size() == 40);
    CHECK(result->control_sets.size() == 16);
    CHECK(result->partial);
    REQUIRE(result->current() != nullptr);
    CHECK(result->current()->name == "ControlSet040");
    CHECK(result->current()->flc_services.size() == 1);
  }
  SECTION("3001 services: all examined, the late one found by ImagePath") {
    auto result = read_system_hive(host_fixture("hostile-hive-many-services"));
    REQUIRE(result);
    REQUIRE(result->control_sets.size() == 1);
    CHECK(result->control_sets[0].services_examined == 3001);
    REQUIRE(result->flc_services().size() == 1);
    CHECK(result->flc_services()[0]->key_name == "zz_FLC_late");
    CHECK(result->flc_services()[0]->match.by_image_path);
    CHECK_FALSE(result->flc_services()[0]->match.by_name);
  }
}

TEST_CASE("Every hostile EVT gives an error or evidence", "[host][evt][hostile]") {
  for (const char* kind : {"truncated", "header-only", "record-size-absurd", "record-size-tiny", "record-size-zero",
                           "first-offset-past-eof", "eof-offset-wrong", "dirty-wrong-offsets", "strings-count-absurd",
                           "strings-offset-outside", "strings-unterminated", "size-copy-mismatch", "header-size-wrong",
                           "garbage-records", "many-records"}) {
    const std::string scenario = std::string("hostile-evt-") + kind;
    INFO(scenario);
    auto result = read_event_log(host_fixture(scenario));
    if (!result) {
      CHECK_FALSE(result.error().reason.empty());
      continue;
    }
    INFO(joined(result->notes));
    CHECK(result->records_read <= result->records_total + result->recovered_total);
    CHECK(result->protected_storage_7024.count <= 2);
    CHECK(result->spooler_7000.count <= 1);
  }
}

TEST_CASE("Hostile EVTs: the specific outcomes", "[host][evt][hostile]") {
  SECTION("an absurd record size stops the live range; the rest is recovered, not lost") {
    auto result = read_event_log(host_fixture("hostile-evt-record-size-absurd"));
    REQUIRE(result);
    INFO(joined(result->notes));
    CHECK(result->records_total == 1);
    CHECK(result->recovered_total >= 3);
    CHECK(result->spooler_7000.count == 1);
    REQUIRE(result->spooler_7000.records.size() == 1);
    CHECK(result->spooler_7000.records[0].recovered);
  }
  SECTION("first-record offset past the end: everything comes back recovered, once each") {
    auto result = read_event_log(host_fixture("hostile-evt-first-offset-past-eof"));
    REQUIRE(result);
    INFO(joined(result->notes));
    CHECK(result->records_total == 0);
    CHECK(result->recovered_duplicates > 0);
    CHECK(result->protected_storage_7024.count == 2);
    CHECK(result->spooler_7000.count == 1);
    for (const auto& record : result->protected_storage_7024.records) CHECK(record.recovered);
  }
  SECTION("dirty header with stale offsets") {
    auto result = read_event_log(host_fixture("hostile-evt-dirty-wrong-offsets"));
    REQUIRE(result);
    CHECK(result->header.dirty);
    CHECK(result->protected_storage_7024.count == 2);
    CHECK(result->spooler_7000.count == 1);
  }
  SECTION("an absurd string count reads at most the cap") {
    auto result = read_event_log(host_fixture("hostile-evt-strings-count-absurd"));
    REQUIRE(result);
    for (const auto& record : result->protected_storage_7024.records) CHECK(record.strings.size() <= 32);
  }
  SECTION("3000 other 7000 records are counted, one Spooler record is evidence") {
    auto result = read_event_log(host_fixture("hostile-evt-many-records"));
    REQUIRE(result);
    CHECK(result->records_total == 3001);
    CHECK(result->other_scm_7000 == 3000);
    CHECK(result->spooler_7000.count == 1);
  }
}
