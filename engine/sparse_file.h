// A file the engine streamed rather than held whole: its size, the few byte ranges the FunLove
// detector reads (kept while the file streamed by), and two facts gathered over every byte (where
// the last non-zero byte is, where a searched string first occurs). It answers the read calls the
// detector makes on a ByteView, so one detector serves both kinds of file (funlove.h).
//
// A read of bytes that were not kept cannot be answered. It returns "no" like an out-of-bounds
// read, and it is recorded: a verdict built on such an answer is discarded by the caller (scan.h),
// so a planning mistake shows up as "not scanned", never as a silently clean file.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/byte_view.h"

namespace flscan {

class SparseFile {
 public:
  struct Range {
    std::uint64_t offset = 0;
    std::vector<std::uint8_t> bytes;
  };

  SparseFile(std::uint64_t size, std::vector<Range> ranges, std::optional<std::uint64_t> last_nonzero,
             std::vector<std::uint8_t> searched, std::optional<std::uint64_t> searched_at)
      : size_(size),
        ranges_(std::move(ranges)),
        last_nonzero_(last_nonzero),
        searched_(std::move(searched)),
        searched_at_(searched_at) {}

  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  // True when [off, off+len) lies inside the file (kept or not).
  [[nodiscard]] bool contains(std::uint64_t off, std::uint64_t len) const { return off <= size_ && len <= size_ - off; }

  [[nodiscard]] std::optional<ByteView> sub(std::uint64_t off, std::uint64_t len) const {
    if (!contains(off, len)) return std::nullopt;
    return kept(off, len);
  }
  [[nodiscard]] ByteView clip(std::uint64_t off, std::uint64_t len) const {
    if (off >= size_) return {};
    const std::uint64_t n = std::min(len, size_ - off);
    return kept(off, n).value_or(ByteView());
  }
  [[nodiscard]] std::optional<std::uint32_t> u32le(std::uint64_t off) const {
    const auto bytes = sub(off, 4);
    return bytes ? bytes->u32le(0) : std::nullopt;
  }
  [[nodiscard]] bool equals_at(std::uint64_t off, std::span<const std::uint8_t> expected) const {
    const auto bytes = sub(off, expected.size());
    return bytes && bytes->equals_at(0, expected);
  }
  // Ranges that end at the end of the file are answered from the last non-zero byte; others only
  // from kept bytes.
  [[nodiscard]] bool all_zero(std::uint64_t off, std::uint64_t len) const {
    if (!contains(off, len)) return false;
    if (len == size_ - off) return !last_nonzero_ || *last_nonzero_ < off;
    const auto bytes = kept(off, len);
    return bytes && bytes->all_zero(0, len);
  }
  // Only the string searched while streaming can be found, from the start of the file.
  [[nodiscard]] std::optional<std::size_t> find(std::span<const std::uint8_t> needle, std::size_t from = 0) const {
    if (from != 0 || !std::equal(needle.begin(), needle.end(), searched_.begin(), searched_.end())) {
      missed_ = true;
      return std::nullopt;
    }
    if (!searched_at_) return std::nullopt;
    return static_cast<std::size_t>(*searched_at_);
  }

  // True when some read asked for bytes that were not kept: the answers given are not the file's.
  [[nodiscard]] bool missed() const { return missed_; }

 private:
  [[nodiscard]] std::optional<ByteView> kept(std::uint64_t off, std::uint64_t len) const {
    for (const Range& r : ranges_) {
      const ByteView view(r.bytes.data(), r.bytes.size());
      if (off >= r.offset && view.contains(off - r.offset, len)) return view.sub(off - r.offset, len);
    }
    missed_ = true;
    return std::nullopt;
  }

  std::uint64_t size_;
  std::vector<Range> ranges_;
  std::optional<std::uint64_t> last_nonzero_;
  std::vector<std::uint8_t> searched_;
  std::optional<std::uint64_t> searched_at_;
  mutable bool missed_ = false;
};

}  // namespace flscan
