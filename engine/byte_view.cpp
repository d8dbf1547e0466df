#include "engine/byte_view.h"

#include <algorithm>
#include <functional>

namespace flscan {

std::optional<std::size_t> ByteView::find(std::span<const std::uint8_t> needle, std::size_t from) const {
  if (needle.empty() || from > bytes_.size() || needle.size() > bytes_.size() - from) return std::nullopt;
  const auto* first = bytes_.data() + from;
  const auto* last = bytes_.data() + bytes_.size();
  const auto* hit = std::search(first, last, std::boyer_moore_horspool_searcher(needle.begin(), needle.end()));
  if (hit == last) return std::nullopt;
  return static_cast<std::size_t>(hit - bytes_.data());
}

bool ByteView::all_zero(std::uint64_t off, std::uint64_t len) const {
  if (!contains(off, len)) return false;
  const auto* p = bytes_.data() + off;
  return std::all_of(p, p + len, [](std::uint8_t b) { return b == 0; });
}

}  // namespace flscan
