// Number formatting shared by the engine's error and evidence texts.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace flscan {

// "0x1f": offsets and header values as people compare them with a hex editor.
inline std::string hex(std::uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace flscan
