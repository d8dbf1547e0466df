#include "fixtures.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <system_error>

namespace flscan::test {

namespace {

class FixtureDir {
 public:
  FixtureDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "flscan-host-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~FixtureDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  FixtureDir(const FixtureDir&) = delete;
  FixtureDir& operator=(const FixtureDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

FixtureDir& dir() {
  static FixtureDir instance;
  return instance;
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::filesystem::path host_fixture(std::string_view scenario) {
  // One generator run writes every scenario (python start-up dominates the cost).
  static const bool generated = [] {
    const std::string command = quoted(FLSCAN_PYTHON3) + " " +
                                quoted(std::string(FLSCAN_SOURCE_DIR) + "/corpus/windows_fixtures.py") + " all " +
                                quoted((dir().path() / "fixtures").string());
    return std::system(command.c_str()) == 0;
  }();
  REQUIRE(generated);
  // windows_fixtures.scenario_file_name: NAME.hiv for hives, NAME.evt for event logs.
  const bool hive = scenario.rfind("hive-", 0) == 0 || scenario.rfind("hostile-hive-", 0) == 0;
  const auto path = dir().path() / "fixtures" / (std::string(scenario) + (hive ? ".hiv" : ".evt"));
  INFO(path.string());
  REQUIRE(std::filesystem::is_regular_file(path));
  return path;
}

std::filesystem::path host_scratch(std::string_view name) { return dir().path() / std::string(name); }

host::SymptomStatus row(const host::HostReport& host, std::string_view id) {
  for (const auto& symptom : host.symptoms) {
    if (symptom.id == id) return symptom.status;
  }
  FAIL("no symptom row " << id);
  return host::SymptomStatus::error;
}

host::FileStatus program(const host::HostReport& host, std::string_view name) {
  for (const auto& check : host.programs) {
    if (check.name == name) return check.status;
  }
  FAIL("no program " << name);
  return host::FileStatus::not_scanned;
}

}  // namespace flscan::test
