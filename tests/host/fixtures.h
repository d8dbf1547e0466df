// Fixtures for the host-evidence tests: on first use, every scenario of corpus/windows_fixtures.py
// is written into a temporary directory private to this test process (removed at exit).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "scanner/host/host_report.h"

namespace flscan::test {

// The path of the scenario's file, generating it first if needed. Fails the test (REQUIRE) when
// the generator fails.
std::filesystem::path host_fixture(std::string_view scenario);

// A scratch path inside the same private directory, for files a test writes itself.
std::filesystem::path host_scratch(std::string_view name);

// The status of the Q317218 symptom row `id` / of the system32 program `name` in `host`; fails the
// test when the report has no such row or program.
host::SymptomStatus row(const host::HostReport& host, std::string_view id);
host::FileStatus program(const host::HostReport& host, std::string_view name);

}  // namespace flscan::test
