#include <catch2/catch.hpp>

#include <functional>

#include "engine/pe.h"
#include "tests/support/pe_builder.h"

using namespace flscan;
using namespace flscan::test;

namespace {
ByteView view(const Buffer& b) { return ByteView(b.data(), b.size()); }
}  // namespace

TEST_CASE("parses a valid PE32 image", "[pe]") {
  PeSpec spec;
  spec.overlay = 0x123;
  const Buffer file = build_pe(spec);
  auto image = pe::parse(view(file));
  REQUIRE(image);
  CHECK_FALSE(image->pe32_plus);
  CHECK(image->machine == 0x14C);
  CHECK(image->e_lfanew == kLfanew);
  CHECK(image->e_lfarlc == 0x40);
  CHECK(image->subsystem == 2);
  CHECK(image->image_base == 0x400000);
  REQUIRE(image->sections.size() == 2);
  CHECK(image->sections[0].name == ".text");
  CHECK(image->sections[1].pointer_to_raw_data == 0x1C00);
  CHECK(image->last_section() == &image->sections[1]);
  CHECK(image->entry_section() == &image->sections[0]);
  CHECK(image->entry_offset() == std::optional<std::uint64_t>(0x400));
  CHECK(image->rva_to_offset(0x2004) == std::optional<std::uint64_t>(0x1404));  // .text: VA 0x1000, raw 0x400
  CHECK(image->rva_to_offset(0x3004) == std::optional<std::uint64_t>(0x1C04));  // .data: VA 0x3000, raw 0x1C00
  CHECK(image->rva_to_offset(0x10) == std::optional<std::uint64_t>(0x10));      // headers map 1:1
  CHECK_FALSE(image->rva_to_offset(0x9000).has_value());
  CHECK(image->overlay_size() == 0x123);
  CHECK(image->anomalies.empty());
}

TEST_CASE("parses PE32+ optional header fields", "[pe]") {
  Buffer file = build_pe(PeSpec{});
  put16(file, kOptional, 0x20B);
  put32(file, kOptional + 24, 0x40000000);
  put32(file, kOptional + 28, 0x1);  // high dword of the 64-bit ImageBase
  auto image = pe::parse(view(file));
  REQUIRE(image);
  CHECK(image->pe32_plus);
  CHECK(image->image_base == 0x0000000140000000ull);
}

TEST_CASE("an RVA in a section's zero-filled tail has no file offset", "[pe]") {
  PeSpec spec;
  spec.sections = {{".text", 0x3000, 0x200, 0x60000020, 0xCC}};
  const Buffer file = build_pe(spec);
  auto image = pe::parse(view(file));
  REQUIRE(image);
  CHECK(image->rva_to_offset(0x1100).has_value());
  CHECK_FALSE(image->rva_to_offset(0x2000).has_value());
}

TEST_CASE("malformed headers are errors with an offset and a reason", "[pe][malformed]") {
  const Buffer good = build_pe(PeSpec{});
  struct Case {
    const char* what;
    std::function<void(Buffer&)> mutate;
    std::uint64_t offset;
  };
  const std::vector<Case> cases = {
      {"no MZ", [](Buffer& b) { b[0] = 'X'; }, 0},
      {"DOS header truncated", [](Buffer& b) { b.resize(0x20); }, 0},
      {"e_lfanew past EOF", [](Buffer& b) { put32(b, 0x3C, static_cast<std::uint32_t>(b.size())); }, 0x3C},
      {"e_lfanew huge", [](Buffer& b) { put32(b, 0x3C, 0xFFFFFFF0u); }, 0x3C},
      {"no PE signature", [](Buffer& b) { b[kLfanew] = 'N'; }, kLfanew},
      {"COFF truncated", [](Buffer& b) { b.resize(kLfanew + 10); }, kLfanew + 4},
      {"optional header too small", [](Buffer& b) { put16(b, kLfanew + 20, 8); }, kLfanew + 20},
      {"optional header truncated", [](Buffer& b) { b.resize(kOptional + 30); }, kOptional},
      {"bad magic", [](Buffer& b) { put16(b, kOptional, 0x999); }, kOptional},
      {"too many sections", [](Buffer& b) { put16(b, kLfanew + 6, 0xFFFF); }, kLfanew + 6},
      {"section table past EOF", [](Buffer& b) { put16(b, kLfanew + 20, 0xF000); }, kOptional + 0xF000},
  };
  for (const auto& c : cases) {
    SECTION(c.what) {
      Buffer file = good;
      c.mutate(file);
      auto image = pe::parse(view(file));
      REQUIRE_FALSE(image);
      CHECK(image.error().offset == c.offset);
      CHECK_FALSE(image.error().reason.empty());
    }
  }
}

TEST_CASE("recoverable oddities are anomalies, not errors", "[pe][malformed]") {
  Buffer file = build_pe(PeSpec{});
  put32(file, kSectionTable + 40 + 16, 0x100000);  // .data raw size past EOF
  put32(file, kOptional + 16, 0x80000);            // EP outside every section
  put16(file, kOptional + 36, 0);                  // FileAlignment 0
  put32(file, kOptional + 36, 0);
  auto image = pe::parse(view(file));
  REQUIRE(image);
  CHECK(image->anomalies.size() == 3);
  CHECK_FALSE(image->entry_offset().has_value());
}

TEST_CASE("zero sections parse with an anomaly", "[pe][malformed]") {
  PeSpec spec;
  spec.sections.clear();
  const Buffer file = build_pe(spec);
  auto image = pe::parse(view(file));
  REQUIRE(image);
  CHECK(image->sections.empty());
  CHECK(image->last_section() == nullptr);
  CHECK(image->entry_section() == nullptr);
  CHECK(image->anomalies.size() >= 1);
}

TEST_CASE("PE checksum: one's-complement word sum with carries folded, field skipped, plus length", "[pe][checksum]") {
  // Words 0x0001 and 0x0002, length 4: 1 + 2 + 4.
  const Buffer small = {0x01, 0x00, 0x02, 0x00};
  CHECK(pe::compute_checksum(ByteView(small.data(), small.size()), 100) == 7);
  // 0xFFFF + 0x0002 = 0x10001, folded to 0x0002; plus length 4.
  const Buffer carry = {0xFF, 0xFF, 0x02, 0x00};
  CHECK(pe::compute_checksum(ByteView(carry.data(), carry.size()), 100) == 6);
  // The 4-byte field at offset 2 counts as zero; an odd trailing byte counts as a low byte.
  const Buffer field = {0x05, 0x00, 0xAA, 0xBB, 0xCC, 0xDD, 0x03};
  CHECK(pe::compute_checksum(ByteView(field.data(), field.size()), 2) == 5 + 3 + 7);
}
