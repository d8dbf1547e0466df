// Small helpers shared by the signature tests: byte buffers written as hex, and views over them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/byte_view.h"

namespace flscan::test {

using Bytes = std::vector<std::uint8_t>;

// "41 42 4344" -> {0x41, 0x42, 0x43, 0x44}; spaces are ignored.
inline Bytes hex_bytes(std::string_view hex) {
  Bytes out;
  int hi = -1;
  for (char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

inline Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

inline ByteView view_of(const Bytes& b) { return ByteView(b.data(), b.size()); }

inline void put_bytes(Bytes& b, std::size_t at, const Bytes& what) {
  if (b.size() < at + what.size()) b.resize(at + what.size(), 0);
  std::copy(what.begin(), what.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
}

}  // namespace flscan::test
