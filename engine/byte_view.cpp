#include "engine/byte_view.h"

#include <string.h>

#include <algorithm>

namespace flscan {

std::optional<std::size_t> ByteView::find(std::span<const std::uint8_t> needle, std::size_t from) const {
  if (needle.empty() || from > bytes_.size() || needle.size() > bytes_.size() - from) return std::nullopt;
  // glibc's memmem (two-way, vectorised first-byte scan): linear, no table to build per call.
  const void* hit = ::memmem(bytes_.data() + from, bytes_.size() - from, needle.data(), needle.size());
  if (hit == nullptr) return std::nullopt;
  return static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - bytes_.data());
}

bool ByteView::all_zero(std::uint64_t off, std::uint64_t len) const {
  if (!contains(off, len)) return false;
  const auto* p = bytes_.data() + off;
  return std::all_of(p, p + len, [](std::uint8_t b) { return b == 0; });
}

}  // namespace flscan
