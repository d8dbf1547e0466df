// Every state of infection-model section 5 on synthetic in-memory images built by
// tests/support/pe_builder.h (an implementation of sections 2-4 independent of the detector).
#include <catch2/catch.hpp>

#include "engine/funlove.h"
#include "engine/pe.h"
#include "tests/support/pe_builder.h"

using namespace flscan;
using namespace flscan::test;

namespace {

ByteView view(const Buffer& b) { return ByteView(b.data(), b.size()); }

funlove::Result detect(const Buffer& file) {
  auto image = pe::parse(view(file));
  REQUIRE(image);
  return funlove::detect(view(file), &*image, funlove::FileRole::ordinary);
}

std::optional<FindingKind> state(const Buffer& file) {
  const auto r = detect(file);
  if (r.findings.empty()) return std::nullopt;
  return r.findings.front().kind;
}

}  // namespace

TEST_CASE("a clean program gives no finding", "[funlove]") { CHECK_FALSE(state(build_pe(PeSpec{})).has_value()); }

TEST_CASE("infected: stub at EP calls B+0x200 and the body is intact", "[funlove]") {
  const Buffer host = build_pe(PeSpec{});
  const Infection inf = infect(host);
  const auto r = detect(inf.file);
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].kind == FindingKind::infected);
  CHECK(r.findings[0].severity == Severity::infection);
  CHECK(r.findings[0].confidence == Confidence::high);
  CHECK(r.findings[0].offset == inf.body_offset);
  REQUIRE(r.geometry);
  CHECK(r.geometry->body_offset == inf.body_offset);
  CHECK(r.geometry->entry_offset == inf.entry_offset);
  // The body always starts at EOF - 4099 (section 2).
  CHECK(inf.body_offset == inf.file.size() - 0x1003);
}

TEST_CASE("infected regardless of the virus's own filters (console, small, odd names)", "[funlove]") {
  PeSpec console;
  console.subsystem = 3;
  console.sections = {{".text", 0x300, 0x200, 0x60000020, 0xC3}};
  CHECK(state(infect(build_pe(console)).file) == FindingKind::infected);
}

TEST_CASE("infected when the host had a large virtual size in its last section (padding)", "[funlove]") {
  PeSpec spec;
  spec.sections = {{".text", 0x1000, 0x1000, 0x60000020, 0xCC}, {".bss", 0x5000, 0x200, 0xC0000080, 0x00}};
  const Infection inf = infect(build_pe(spec));
  CHECK(state(inf.file) == FindingKind::infected);
}

TEST_CASE("damaged: body truncated, cut at B, or partly zeroed", "[funlove]") {
  const Infection inf = infect(build_pe(PeSpec{}));
  SECTION("cut at B+0x300") {
    Buffer f = inf.file;
    f.resize(inf.body_offset + 0x300);
    CHECK(state(f) == FindingKind::damaged);
  }
  SECTION("cut exactly at B") {
    Buffer f = inf.file;
    f.resize(inf.body_offset);
    CHECK(state(f) == FindingKind::damaged);
  }
  SECTION("string and code zeroed, MZ left") {
    Buffer f = inf.file;
    std::fill(f.begin() + static_cast<long>(inf.body_offset) + 0x50,
              f.begin() + static_cast<long>(inf.body_offset) + 0x300, 0);
    CHECK(state(f) == FindingKind::damaged);
  }
  SECTION("whole body zeroed but the stub still calls it") {
    Buffer f = inf.file;
    std::fill(f.begin() + static_cast<long>(inf.body_offset), f.end(), 0);
    CHECK(state(f) == FindingKind::damaged);
  }
}

TEST_CASE("remnant: body zeroed and entry point restored, geometry left", "[funlove]") {
  const Buffer host = build_pe(PeSpec{});
  Infection inf = infect(host);
  std::fill(inf.file.begin() + static_cast<long>(inf.body_offset), inf.file.end(), 0);
  std::copy(host.begin() + static_cast<long>(inf.entry_offset), host.begin() + static_cast<long>(inf.entry_offset) + 8,
            inf.file.begin() + static_cast<long>(inf.entry_offset));
  const auto r = detect(inf.file);
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].kind == FindingKind::remnant);
  CHECK(r.findings[0].severity == Severity::informational);
}

TEST_CASE("a body left behind after the entry point was restored is inert, not infected", "[funlove]") {
  const Buffer host = build_pe(PeSpec{});
  Infection inf = infect(host);
  std::copy(host.begin() + static_cast<long>(inf.entry_offset), host.begin() + static_cast<long>(inf.entry_offset) + 8,
            inf.file.begin() + static_cast<long>(inf.entry_offset));
  const auto kind = state(inf.file);
  REQUIRE(kind);
  CHECK(severity_of(*kind) == Severity::informational);
}

TEST_CASE("inoculated: a clean PE padded with zeros to size % 256 == 3", "[funlove]") {
  PeSpec spec;
  Buffer plain = build_pe(spec);
  spec.overlay = 256 - plain.size() % 256 + 3;
  const Buffer padded = build_pe(spec);
  REQUIRE(padded.size() % 256 == 3);
  const auto r = detect(padded);
  REQUIRE(r.findings.size() == 1);
  CHECK(r.findings[0].kind == FindingKind::inoculated);
  CHECK(r.findings[0].severity == Severity::informational);
}

TEST_CASE("size % 256 == 3 by chance, without zero padding, is clean", "[funlove]") {
  PeSpec spec;
  spec.sections = {{".text", 0x1000, 0x1000, 0x60000020, 0xCC}};
  Buffer file = build_pe(spec);
  const std::size_t want = file.size() + (256 - file.size() % 256) + 3;
  file.resize(want, 0x41);  // an overlay of non-zero data
  CHECK_FALSE(state(file).has_value());
}

TEST_CASE("decoys stay clean", "[funlove]") {
  SECTION("the string alone in a program") {
    Buffer file = build_pe(PeSpec{});
    const std::string s = "~Fun Loving Criminal~";
    std::copy(s.begin(), s.end(), file.begin() + 0x1D00);
    CHECK(state(file) == FindingKind::decoy);
  }
  SECTION("a stub whose call lands outside the last section") {
    Buffer file = build_pe(PeSpec{});
    const std::uint8_t stub[] = {0x90, 0x90, 0x65, 0xE8, 0x00, 0x01, 0x00, 0x00};
    std::copy(std::begin(stub), std::end(stub), file.begin() + 0x400);
    CHECK(state(file) == FindingKind::decoy);
  }
  SECTION("a stub that lands in the last section where there is no body and no geometry") {
    Buffer file = build_pe(PeSpec{});
    const std::uint32_t target = 0x3000 + 0x300;  // inside .data, not page-aligned A
    const std::uint8_t stub[] = {0x90, 0x90, 0x65, 0xE8};
    std::copy(std::begin(stub), std::end(stub), file.begin() + 0x400);
    put32(file, 0x404, target - (0x1000 + 8));
    CHECK(state(file) == FindingKind::decoy);
  }
  for (const auto kind : {FindingKind::decoy}) CHECK(severity_of(kind) == Severity::informational);
}

TEST_CASE("dropper: FLCSS.EXE header fingerprint and body, whatever the name", "[funlove]") {
  // Section 6: 0x200 header + 0x1000 body in one `.code` section.
  PeSpec spec;
  spec.sections = {{".code", 0x4000, 0x1000, 0xC0000020, 0x00}};
  spec.entry_rva = 0x1200;
  Buffer file = build_pe(spec);
  // build_pe places raw data at 0x400; the dropper's header is 0x200 bytes, so rebuild its layout.
  Buffer dropper(0x1200, 0);
  std::copy(file.begin(), file.begin() + 0x200, dropper.begin());
  put32(dropper, kSectionTable + 20, 0x200);
  put32(dropper, kOptional + 56, 0x5000);
  put16(dropper, kLfanew + 22, 0x010E);
  write_body_markers(dropper, 0x200);
  const std::string s = "~Fun Loving Criminal~";
  std::copy(s.begin(), s.end(), dropper.begin() + 0x50);
  const auto r = detect(dropper);
  REQUIRE_FALSE(r.findings.empty());
  CHECK(r.findings[0].kind == FindingKind::dropper);
  CHECK(r.findings[0].confidence == Confidence::high);
}

TEST_CASE("hostile geometry never reads out of bounds", "[funlove][malformed]") {
  const Infection inf = infect(build_pe(PeSpec{}));
  for (std::uint32_t rel : {0x7FFFFFF0u, 0xFFFFFFF0u, 0x80000000u, 0u}) {
    Buffer f = inf.file;
    put32(f, inf.entry_offset + 4, rel);
    auto image = pe::parse(view(f));
    REQUIRE(image);
    const auto r = funlove::detect(view(f), &*image, funlove::FileRole::ordinary);
    for (const auto& finding : r.findings) CHECK(finding.kind != FindingKind::infected);
  }
}
