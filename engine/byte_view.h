// A bounds-checked, read-only view over bytes. Every byte of scanned input is read through it.
// The bounds test is always `off <= size && len <= size - off` (style guide habit 1), which
// cannot overflow, never `off + len <= size`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace flscan {

// The first occurrence of needle[0, needle_size) in haystack[0, size), or nullptr (memmem; needle
// not empty). Linear on Linux (glibc's two-way search).
[[nodiscard]] const std::uint8_t* find_bytes(const std::uint8_t* haystack, std::size_t size, const std::uint8_t* needle,
                                             std::size_t needle_size);

class ByteView {
 public:
  constexpr ByteView() = default;
  constexpr ByteView(const std::uint8_t* data, std::size_t size) : bytes_(data, size) {}
  constexpr explicit ByteView(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  [[nodiscard]] constexpr std::size_t size() const { return bytes_.size(); }
  [[nodiscard]] constexpr bool empty() const { return bytes_.empty(); }
  [[nodiscard]] constexpr const std::uint8_t* data() const { return bytes_.data(); }
  [[nodiscard]] constexpr std::span<const std::uint8_t> span() const { return bytes_; }

  // True when [off, off+len) lies inside the view.
  [[nodiscard]] constexpr bool contains(std::uint64_t off, std::uint64_t len) const {
    return off <= bytes_.size() && len <= bytes_.size() - off;
  }

  // The sub-view [off, off+len), or nothing when it does not fit.
  [[nodiscard]] std::optional<ByteView> sub(std::uint64_t off, std::uint64_t len) const {
    if (!contains(off, len)) return std::nullopt;
    return ByteView(bytes_.data() + off, static_cast<std::size_t>(len));
  }
  // The sub-view [off, off+len) clipped to the view (possibly empty).
  [[nodiscard]] ByteView clip(std::uint64_t off, std::uint64_t len) const {
    if (off >= bytes_.size()) return {};
    const std::size_t avail = bytes_.size() - static_cast<std::size_t>(off);
    const std::size_t n = len < avail ? static_cast<std::size_t>(len) : avail;
    return ByteView(bytes_.data() + off, n);
  }

  [[nodiscard]] std::optional<std::uint8_t> u8(std::uint64_t off) const {
    if (!contains(off, 1)) return std::nullopt;
    return bytes_[static_cast<std::size_t>(off)];
  }
  [[nodiscard]] std::optional<std::uint16_t> u16le(std::uint64_t off) const { return read_le<std::uint16_t>(off); }
  [[nodiscard]] std::optional<std::uint32_t> u32le(std::uint64_t off) const { return read_le<std::uint32_t>(off); }
  [[nodiscard]] std::optional<std::uint64_t> u64le(std::uint64_t off) const { return read_le<std::uint64_t>(off); }
  // Big-endian fields (qcow2, VHD, LUKS headers).
  [[nodiscard]] std::optional<std::uint16_t> u16be(std::uint64_t off) const { return read_be<std::uint16_t>(off); }
  [[nodiscard]] std::optional<std::uint32_t> u32be(std::uint64_t off) const { return read_be<std::uint32_t>(off); }
  [[nodiscard]] std::optional<std::uint64_t> u64be(std::uint64_t off) const { return read_be<std::uint64_t>(off); }

  // True when the bytes at `off` equal `expected` exactly (false when out of bounds).
  [[nodiscard]] bool equals_at(std::uint64_t off, std::span<const std::uint8_t> expected) const {
    if (!contains(off, expected.size())) return false;
    return expected.empty() || std::memcmp(bytes_.data() + off, expected.data(), expected.size()) == 0;
  }
  [[nodiscard]] bool equals_at(std::uint64_t off, std::string_view expected) const {
    return equals_at(
        off, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(expected.data()), expected.size()));
  }

  // Offset of the first occurrence of `needle` at or after `from`, or nothing.
  [[nodiscard]] std::optional<std::size_t> find(std::span<const std::uint8_t> needle, std::size_t from = 0) const;

  // True when every byte of [off, off+len) is zero (false when out of bounds).
  [[nodiscard]] bool all_zero(std::uint64_t off, std::uint64_t len) const;

 private:
  // Little-endian read through memcpy: no alignment or aliasing assumptions about the buffer.
  template <typename T>
  [[nodiscard]] std::optional<T> read_le(std::uint64_t off) const {
    if (!contains(off, sizeof(T))) return std::nullopt;
    std::uint8_t raw[sizeof(T)];
    std::memcpy(raw, bytes_.data() + off, sizeof(T));
    T value = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) value = static_cast<T>((value << 8) | raw[i]);
    return value;
  }
  template <typename T>
  [[nodiscard]] std::optional<T> read_be(std::uint64_t off) const {
    if (!contains(off, sizeof(T))) return std::nullopt;
    std::uint8_t raw[sizeof(T)];
    std::memcpy(raw, bytes_.data() + off, sizeof(T));
    T value = 0;
    for (const std::uint8_t byte : raw) value = static_cast<T>((value << 8) | byte);
    return value;
  }

  std::span<const std::uint8_t> bytes_;
};

}  // namespace flscan
