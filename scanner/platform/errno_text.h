// The text of an errno value, for reports and messages: what strerror(3) gives. On glibc that is
// also what std::system_category().message gives (the walk, the report files and the quarantine
// used that; the host stage used strerror): tests/platform/errno_text_test.cpp checks that they
// agree, so every message kept its text when they became this one function (issue 14).
#pragma once

#include <string>

namespace flscan::scanner {

[[nodiscard]] std::string errno_text(int error);

}  // namespace flscan::scanner
