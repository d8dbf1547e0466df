#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <vector>

#include "engine/byte_view.h"

using flscan::ByteView;

TEST_CASE("ByteView bounds checks cannot overflow", "[byte_view]") {
  const std::vector<std::uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8};
  const ByteView view(data.data(), data.size());
  CHECK(view.contains(0, 8));
  CHECK(view.contains(8, 0));
  CHECK_FALSE(view.contains(9, 0));
  CHECK_FALSE(view.contains(1, 8));
  // off + len would wrap to a small number; the check must still refuse it.
  CHECK_FALSE(view.contains(4, std::numeric_limits<std::uint64_t>::max() - 2));
  CHECK_FALSE(view.u32le(std::numeric_limits<std::uint64_t>::max() - 1).has_value());
  CHECK(*view.u32le(0) == 0x04030201u);
  CHECK(*view.u16le(6) == 0x0807u);
  CHECK_FALSE(view.u16le(7).has_value());
  CHECK_FALSE(view.sub(6, 3).has_value());
  CHECK(view.clip(6, 100).size() == 2);
  CHECK(view.clip(100, 1).empty());
}

TEST_CASE("ByteView reads big-endian fields most significant byte first, bounds-checked", "[byte_view]") {
  const std::vector<std::uint8_t> data = {0x51, 0x46, 0x49, 0xFB, 0x00, 0x00, 0x00, 0x03, 0xFF};
  const ByteView view(data.data(), data.size());
  CHECK(*view.u32be(0) == 0x514649FBu);  // qcow2's magic as the spec writes it
  CHECK(*view.u16be(6) == 0x0003u);
  CHECK(*view.u64be(1) == 0x4649FB00000003FFull);
  CHECK(*view.u64be(0) == 0x514649FB00000003ull);
  CHECK_FALSE(view.u64be(2).has_value());
  CHECK_FALSE(view.u16be(8).has_value());
  CHECK_FALSE(view.u32be(std::numeric_limits<std::uint64_t>::max() - 1).has_value());
}

TEST_CASE("ByteView find and all_zero", "[byte_view]") {
  const std::vector<std::uint8_t> data = {0, 0, 0xAB, 0xCD, 0, 0xAB, 0xCD};
  const ByteView view(data.data(), data.size());
  const std::uint8_t needle[] = {0xAB, 0xCD};
  CHECK(view.find(needle) == std::optional<std::size_t>(2));
  CHECK(view.find(needle, 3) == std::optional<std::size_t>(5));
  CHECK_FALSE(view.find(needle, 6).has_value());
  CHECK(view.all_zero(0, 2));
  CHECK_FALSE(view.all_zero(0, 3));
  CHECK_FALSE(view.all_zero(6, 2));
}
