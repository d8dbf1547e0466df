#include "engine/byte_view.h"

#include <string.h>

#include <algorithm>
#include <functional>

namespace flscan {

const std::uint8_t* find_bytes(const std::uint8_t* haystack, std::size_t size, const std::uint8_t* needle,
                               std::size_t needle_size) {
#if defined(_WIN32)
  // The Windows C runtime has no memmem (flscan-live.exe, issue 17): the standard searcher,
  // O(size * needle_size) at worst; flscan-live loads no signatures, so its only search is the
  // 21-byte marker string of funlove.h.
  const auto* end = haystack + size;
  const auto* hit = std::search(haystack, end, std::boyer_moore_horspool_searcher(needle, needle + needle_size));
  return hit == end ? nullptr : hit;
#else
  // glibc's memmem (two-way, vectorised first-byte scan): linear, no table to build per call.
  return static_cast<const std::uint8_t*>(::memmem(haystack, size, needle, needle_size));
#endif
}

std::optional<std::size_t> ByteView::find(std::span<const std::uint8_t> needle, std::size_t from) const {
  if (needle.empty() || from > bytes_.size() || needle.size() > bytes_.size() - from) return std::nullopt;
  const std::uint8_t* hit = find_bytes(bytes_.data() + from, bytes_.size() - from, needle.data(), needle.size());
  if (hit == nullptr) return std::nullopt;
  return static_cast<std::size_t>(hit - bytes_.data());
}

bool ByteView::all_zero(std::uint64_t off, std::uint64_t len) const {
  if (!contains(off, len)) return false;
  const auto* p = bytes_.data() + off;
  return std::all_of(p, p + len, [](std::uint8_t b) { return b == 0; });
}

}  // namespace flscan
