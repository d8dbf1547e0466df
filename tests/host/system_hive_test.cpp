// read_system_hive on well-formed SYSTEM hives written by corpus/windows_fixtures.py (each
// scenario's docstring there states the facts checked here).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "fixtures.h"
#include "scanner/host/system_hive.h"

using flscan::host::ControlSet;
using flscan::host::image_path_names_flcss;
using flscan::host::read_system_hive;
using flscan::host::SystemHiveEvidence;
using flscan::test::host_fixture;
using flscan::test::host_scratch;

namespace {

SystemHiveEvidence read_ok(std::string_view scenario) {
  auto result = read_system_hive(host_fixture(scenario));
  if (!result) FAIL_CHECK(result.error().reason);
  REQUIRE(result);
  return std::move(*result);
}

const ControlSet& set_number(const SystemHiveEvidence& evidence, std::uint32_t number) {
  for (const auto& set : evidence.control_sets) {
    if (set.number == number) return set;
  }
  FAIL("control set " << number << " not read");
  return evidence.control_sets.front();
}

std::string joined(const std::vector<std::string>& notes) {
  std::string out;
  for (const auto& n : notes) out += n + "\n";
  return out;
}

}  // namespace

TEST_CASE("FLC service in ControlSet001, the current set", "[host][hive]") {
  const auto evidence = read_ok("hive-flc-cs001");
  INFO(joined(evidence.notes));
  CHECK_FALSE(evidence.partial);
  CHECK(evidence.notes.empty());
  CHECK(evidence.select.present);
  CHECK(evidence.select.current == 1u);
  CHECK(evidence.select.default_set == 1u);
  CHECK(evidence.select.last_known_good == 2u);
  CHECK(evidence.select.failed == 0u);
  CHECK(evidence.current_control_set == 1u);
  CHECK(evidence.control_sets_present == std::vector<std::uint32_t>{1, 2});
  REQUIRE(evidence.control_sets.size() == 2);
  REQUIRE(evidence.current() != nullptr);
  CHECK(evidence.current()->name == "ControlSet001");

  const auto& cs1 = set_number(evidence, 1);
  CHECK(cs1.is_current);
  CHECK(cs1.is_default);
  CHECK_FALSE(cs1.is_last_known_good);
  CHECK(cs1.services_key_present);
  CHECK(cs1.services_examined == 5);
  REQUIRE(cs1.flc_services.size() == 1);
  const auto& flc = cs1.flc_services[0];
  CHECK(flc.key_name == "FLC");
  CHECK(flc.control_set == "ControlSet001");
  CHECK(flc.control_set_number == 1);
  CHECK(flc.in_current_control_set);
  CHECK(flc.match.by_name);
  CHECK(flc.match.by_image_path);
  // infection-model section 6: type 0x20, start 2, error control 1, LocalSystem.
  CHECK(flc.values.type == 0x20u);
  CHECK(flc.values.start == 2u);
  CHECK(flc.values.error_control == 1u);
  CHECK(flc.values.image_path == std::string(R"(%SystemRoot%\System32\flcss.exe)"));
  CHECK(flc.values.object_name == std::string("LocalSystem"));
  CHECK(flc.values.display_name == std::string("FLC"));
  CHECK(flc.notes.empty());

  const auto& cs2 = set_number(evidence, 2);
  CHECK_FALSE(cs2.is_current);
  CHECK(cs2.is_last_known_good);
  CHECK(cs2.flc_services.empty());
  CHECK(evidence.has_flc_service());
  CHECK(evidence.flc_services().size() == 1);
}

TEST_CASE("FLCSS in ControlSet002 only: found, not in the current set", "[host][hive]") {
  const auto evidence = read_ok("hive-flcss-cs002-only");
  CHECK(evidence.current_control_set == 1u);
  CHECK(set_number(evidence, 1).flc_services.empty());
  const auto& cs2 = set_number(evidence, 2);
  CHECK(cs2.is_last_known_good);
  REQUIRE(cs2.flc_services.size() == 1);
  const auto& flcss = cs2.flc_services[0];
  CHECK(flcss.key_name == "flcss");  // matched case-insensitively, reported as stored
  CHECK(flcss.match.by_name);
  CHECK(flcss.match.by_image_path);
  CHECK(flcss.values.image_path == std::string(R"(\SystemRoot\System32\FLCSS.EXE)"));
  CHECK(flcss.values.display_name == std::string("FLCSS service"));
  CHECK(flcss.control_set_number == 2);
  CHECK_FALSE(flcss.in_current_control_set);
  const auto all = evidence.flc_services();
  REQUIRE(all.size() == 1);
  CHECK(all[0]->control_set == "ControlSet002");
}

TEST_CASE("A service named Foo whose ImagePath ends in flcss.exe", "[host][hive]") {
  const auto evidence = read_ok("hive-foo-image-path");
  CHECK(evidence.current_control_set == 2u);
  CHECK(evidence.control_sets_present == std::vector<std::uint32_t>{2});
  const auto& cs2 = set_number(evidence, 2);
  CHECK(cs2.is_current);
  REQUIRE(cs2.flc_services.size() == 1);  // Bar's notflcss.exe is not flcss.exe
  const auto& foo = cs2.flc_services[0];
  CHECK(foo.key_name == "Foo");
  CHECK_FALSE(foo.match.by_name);
  CHECK(foo.match.by_image_path);
  CHECK(foo.values.image_path == std::string(R"(\??\C:\WINNT\system32\FlCsS.exe)"));
  CHECK(foo.values.display_name == std::string("Foo Helper"));
  CHECK(foo.in_current_control_set);
}

TEST_CASE("Spooler and ProtectedStorage ImagePath and DisplayName per control set", "[host][hive]") {
  const auto evidence = read_ok("hive-clean");
  for (const auto& set : evidence.control_sets) {
    INFO(set.name);
    CHECK(set.spooler.present);
    CHECK(set.spooler.image_path == std::string(R"(%SystemRoot%\system32\spoolsv.exe)"));
    CHECK(set.spooler.display_name == std::string("Print Spooler"));
    CHECK(set.spooler.notes.empty());
    CHECK(set.protected_storage.present);
    CHECK(set.protected_storage.image_path == std::string(R"(%SystemRoot%\system32\lsass.exe)"));
    CHECK(set.protected_storage.display_name == std::string("Protected Storage"));
  }
}

TEST_CASE("Missing Spooler / ProtectedStorage keys and a missing ImagePath are said so", "[host][hive]") {
  const auto evidence = read_ok("hive-spooler-missing");
  const auto& cs1 = set_number(evidence, 1);
  CHECK_FALSE(cs1.spooler.present);
  CHECK_FALSE(cs1.spooler.image_path);
  REQUIRE(cs1.spooler.notes.size() == 1);
  CHECK(cs1.spooler.notes[0] == R"(ControlSet001\Services\Spooler: key not present)");
  CHECK_FALSE(cs1.protected_storage.present);
  CHECK_FALSE(cs1.protected_storage.notes.empty());

  const auto& cs2 = set_number(evidence, 2);
  CHECK(cs2.spooler.present);
  CHECK_FALSE(cs2.spooler.image_path);
  CHECK(cs2.spooler.display_name == std::string("Print Spooler"));
  REQUIRE(cs2.spooler.notes.size() == 1);
  CHECK(cs2.spooler.notes[0] == R"(ControlSet002\Services\Spooler: no ImagePath value)");
  CHECK(cs2.protected_storage.image_path == std::string(R"(%SystemRoot%\system32\pstores.exe)"));
}

TEST_CASE("A clean hive has no FunLove evidence", "[host][hive]") {
  const auto evidence = read_ok("hive-clean");
  CHECK_FALSE(evidence.has_flc_service());
  CHECK_FALSE(evidence.partial);
  CHECK(evidence.notes.empty());
  CHECK(evidence.control_sets.size() == 2);
  for (const auto& set : evidence.control_sets) CHECK(set.services_examined == 4);
}

TEST_CASE("Hive 1.5 layout with lh lists and a UTF-16 key name", "[host][hive]") {
  const auto evidence = read_ok("hive-lh-unicode");
  CHECK_FALSE(evidence.partial);
  const auto& cs1 = set_number(evidence, 1);
  CHECK(cs1.services_examined == 6);
  REQUIRE(cs1.flc_services.size() == 1);
  CHECK(cs1.flc_services[0].key_name == "FLC");
}

TEST_CASE("image_path_names_flcss: the file name must be flcss.exe", "[host][hive]") {
  CHECK(image_path_names_flcss(R"(%SystemRoot%\System32\flcss.exe)"));
  CHECK(image_path_names_flcss(R"(%systemroot%\system32\FLCSS.EXE)"));
  CHECK(image_path_names_flcss(R"(\SystemRoot\System32\flcss.exe)"));
  CHECK(image_path_names_flcss(R"(\??\C:\WINNT\System32\Flcss.Exe)"));
  CHECK(image_path_names_flcss(R"(C:flcss.exe)"));
  CHECK(image_path_names_flcss("flcss.exe"));
  CHECK(image_path_names_flcss(R"("C:\WINNT\system32\flcss.exe")"));
  CHECK(image_path_names_flcss("C:/WINNT/system32/flcss.exe  "));
  CHECK_FALSE(image_path_names_flcss(R"(C:\WINNT\system32\notflcss.exe)"));
  CHECK_FALSE(image_path_names_flcss(R"(C:\WINNT\system32\flcss.exe.bak)"));
  CHECK_FALSE(image_path_names_flcss(R"(C:\WINNT\flcss.exe\spoolsv.exe)"));
  CHECK_FALSE(image_path_names_flcss(""));
}

TEST_CASE("Files that are not hives are errors, not crashes", "[host][hive]") {
  SECTION("missing file") {
    auto result = read_system_hive(host_scratch("does-not-exist"));
    REQUIRE_FALSE(result);
    CHECK(result.error().reason.find("cannot open") == 0);
    CHECK(result.error().path.find("does-not-exist") != std::string::npos);
  }
  SECTION("empty file") {
    const auto path = host_scratch("empty.hiv");
    std::ofstream(path).close();
    auto result = read_system_hive(path);
    REQUIRE_FALSE(result);
    CHECK(result.error().reason.find("regf") != std::string::npos);
  }
  SECTION("an EVT log is not a hive") {
    auto result = read_system_hive(host_fixture("evt-q317218"));
    REQUIRE_FALSE(result);
  }
  SECTION("a directory") {
    auto result = read_system_hive(host_scratch(""));
    REQUIRE_FALSE(result);
    CHECK(result.error().reason == "not a regular file");
  }
  SECTION("a FIFO does not block") {
    const auto path = host_scratch("fifo");
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    auto result = read_system_hive(path);
    REQUIRE_FALSE(result);
    CHECK(result.error().reason == "not a regular file");
  }
}

// Issue 12: a SYSTEM hive is one by content. Each scenario's docstring in
// corpus/windows_fixtures.py says which root keys it was built with.
namespace {

std::string read_error(std::string_view scenario) {
  auto result = read_system_hive(host_fixture(scenario));
  if (result)
    FAIL_CHECK(scenario << " was read as a SYSTEM hive with " << result->control_sets.size() << " control sets");
  REQUIRE_FALSE(result);
  CHECK(result.error().path == host_fixture(scenario).string());
  return result.error().reason;
}

}  // namespace

TEST_CASE("hives that are not SYSTEM hives are errors naming what is missing and what the root holds", "[host][hive]") {
  CHECK(read_error("hive-ntuser") ==
        "not a SYSTEM hive: no Select key and no ControlSetNNN key; root holds AppEvents, Console, Control Panel, "
        "Environment, Keyboard Layout, Network, Printers, Software and 1 more");  // kMaxRootNamesQuoted 8 of 9
  CHECK(read_error("hive-sam") == "not a SYSTEM hive: no Select key and no ControlSetNNN key; root holds SAM");
  CHECK(read_error("hive-security") ==
        "not a SYSTEM hive: no Select key and no ControlSetNNN key; root holds Cache, Policy, RXACT, SAM");
  CHECK(read_error("hive-no-control-set") == "not a SYSTEM hive: no ControlSetNNN key; root holds Select, Setup");
  CHECK(read_error("hive-no-select-clean") == "not a SYSTEM hive: no Select key; root holds ControlSet001, Setup");
}

TEST_CASE("no control set whose Services can be listed: an error, not an empty read", "[host][hive]") {
  const std::string reason = read_error("hive-services-unreadable");
  CHECK(reason == "no readable control set: no Services key whose subkeys could be listed in ControlSet001");
}

TEST_CASE("no Select key but an FLC service: the evidence is kept, the read is partial", "[host][hive]") {
  const auto evidence = read_ok("hive-no-select-flc");
  INFO(joined(evidence.notes));
  CHECK(evidence.partial);
  CHECK_FALSE(evidence.select.present);
  CHECK_FALSE(evidence.current_control_set);
  REQUIRE(evidence.flc_services().size() == 1);
  CHECK(evidence.flc_services()[0]->key_name == "FLC");
  CHECK(joined(evidence.notes).find("not a SYSTEM hive: no Select key; root holds ControlSet001, Setup") !=
        std::string::npos);
}

TEST_CASE("a control set whose Services cannot be listed: partial, the other set read", "[host][hive]") {
  const auto evidence = read_ok("hive-partial-clean");
  INFO(joined(evidence.notes));
  CHECK(evidence.partial);
  CHECK_FALSE(evidence.has_flc_service());
  CHECK(set_number(evidence, 1).services_listed);
  CHECK(set_number(evidence, 1).services_examined == 4);  // windows_fixtures.ordinary_services()
  CHECK(set_number(evidence, 2).services_key_present);
  CHECK_FALSE(set_number(evidence, 2).services_listed);
  CHECK(joined(evidence.notes).find("ControlSet002\\Services: subkeys unreadable") != std::string::npos);
}

TEST_CASE("a hive not closed cleanly: sequence numbers kept and noted", "[host][hive]") {
  const auto dirty = read_ok("hive-dirty");
  CHECK(dirty.sequence.primary == 0x3A1u);
  CHECK(dirty.sequence.secondary == 0x3A0u);
  CHECK(dirty.sequence.dirty());
  CHECK_FALSE(dirty.partial);  // a note, not a skip
  REQUIRE(dirty.notes.size() == 1);
  CHECK(dirty.notes[0] ==
        "the hive was not closed cleanly: base block sequence numbers differ (primary 929, secondary 928); its latest "
        "changes may sit in SYSTEM.LOG, SYSTEM.LOG1 or SYSTEM.LOG2, which flscan does not apply");
  // Built with both numbers 1 (windows_fixtures.build_hive).
  const auto clean = read_ok("hive-clean");
  CHECK(clean.sequence.primary == 1u);
  CHECK(clean.sequence.secondary == 1u);
  CHECK_FALSE(clean.sequence.dirty());
  CHECK(clean.notes.empty());
}

TEST_CASE("ComputerName of the current control set (issue 17)", "[host][hive]") {
  const auto evidence = read_ok("hive-computer-name");
  INFO(joined(evidence.notes));
  CHECK_FALSE(evidence.partial);
  CHECK(evidence.current_control_set == 2u);
  CHECK(evidence.computer_name == "flscan-nt4");
  CHECK(set_number(evidence, 1).computer_name == "OLD-NAME");
  CHECK(set_number(evidence, 2).computer_name == "flscan-nt4");
  // A hive without the key: no name, and no note (real hives may lack it).
  const auto clean = read_ok("hive-clean");
  CHECK_FALSE(clean.computer_name);
  CHECK(clean.notes.empty());
}
