// Unit tests of the string helpers shared by the host readers (scanner/host/host_common.h).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "scanner/host/host_common.h"

using flscan::host::iequals;
using flscan::host::sanitize_utf8;

TEST_CASE("sanitize_utf8 replaces invalid bytes and keeps valid text", "[host][utf8]") {
  CHECK(sanitize_utf8("Protected Storage", 100) == "Protected Storage");
  CHECK(sanitize_utf8("a\xFF"
                      "b",
                      100) ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(sanitize_utf8("\xC3", 100) == "\xEF\xBF\xBD");                          // truncated sequence
  CHECK(sanitize_utf8("\xC0\xAF", 100) == "\xEF\xBF\xBD\xEF\xBF\xBD");          // overlong
  CHECK(sanitize_utf8("\xED\xA0\x80", 100).find("\xED") == std::string::npos);  // encoded surrogate
  CHECK(sanitize_utf8("\xE4\xB8\xAD\xE4\xB8\xAD", 1) == "\xE4\xB8\xAD");
}

TEST_CASE("iequals folds ASCII only", "[host]") {
  CHECK(iequals("FLCSS", "flcss"));
  CHECK(iequals("Service Control Manager", "SERVICE CONTROL MANAGER"));
  CHECK_FALSE(iequals("FLC", "FLCS"));
  CHECK_FALSE(iequals("\xC3\xA9", "\xC3\x89"));  // é vs É: not folded
}
