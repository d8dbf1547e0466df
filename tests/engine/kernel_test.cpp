#include <catch2/catch.hpp>

#include "engine/funlove.h"
#include "engine/pe.h"
#include "tests/support/pe_builder.h"

using namespace flscan;
using namespace flscan::test;

namespace {

ByteView view(const Buffer& b) { return ByteView(b.data(), b.size()); }

// A kernel stand-in: a PE with the SeAccessCheck tail bytes somewhere in .text and a correct checksum.
Buffer kernel_with(const std::vector<std::uint8_t>& bytes, bool fix_checksum) {
  Buffer file = build_pe(PeSpec{});
  std::copy(bytes.begin(), bytes.end(), file.begin() + 0x700);
  if (fix_checksum) {
    auto image = pe::parse(view(file));
    put32(file, kOptional + 64, pe::compute_checksum(view(file), image->checksum_offset));
  }
  return file;
}

std::vector<Finding> detect(const Buffer& file, funlove::FileRole role) {
  auto image = pe::parse(view(file));
  return funlove::detect(view(file), image ? &*image : nullptr, role).findings;
}

const std::vector<std::uint8_t> kNt4Original = {0x8A, 0xC3, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00};
const std::vector<std::uint8_t> kNt4Patched = {0xB0, 0x01, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00};
const std::vector<std::uint8_t> kW2kPatched = {0xB0, 0x01, 0x90, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28};

}  // namespace

TEST_CASE("file roles come from the base name, case-insensitively", "[kernel]") {
  CHECK(funlove::role_for_name("NTOSKRNL.EXE") == funlove::FileRole::kernel);
  CHECK(funlove::role_for_name("ntkrnlmp.exe") == funlove::FileRole::kernel);
  CHECK(funlove::role_for_name("NTLDR") == funlove::FileRole::loader);
  CHECK(funlove::role_for_name("ntldr.bak") == funlove::FileRole::ordinary);
  CHECK(funlove::role_for_name("calc.exe") == funlove::FileRole::ordinary);
}

TEST_CASE("an original kernel with a right checksum gives no finding", "[kernel]") {
  CHECK(detect(kernel_with(kNt4Original, true), funlove::FileRole::kernel).empty());
}

TEST_CASE("patched SeAccessCheck bytes are kernel-patched (NT4 and 2000)", "[kernel]") {
  for (const auto& patched : {kNt4Patched, kW2kPatched}) {
    const auto findings = detect(kernel_with(patched, false), funlove::FileRole::kernel);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].kind == FindingKind::kernel_patched);
    CHECK(findings[0].offset == 0x700);
    CHECK(findings[0].severity == Severity::infection);
  }
}

TEST_CASE("a checksum mismatch alone is kernel-modified (suspicious)", "[kernel]") {
  Buffer file = kernel_with(kNt4Original, true);
  file[0x800] ^= 0xFF;  // any later change breaks the recorded checksum
  const auto findings = detect(file, funlove::FileRole::kernel);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == FindingKind::kernel_modified);
  CHECK(findings[0].severity == Severity::suspicious);
}

TEST_CASE("kernel checks run only for the kernel role", "[kernel]") {
  CHECK(detect(kernel_with(kNt4Patched, false), funlove::FileRole::ordinary).empty());
}

TEST_CASE("NTLDR: patched loader bytes are loader-patched, original bytes are clean", "[kernel]") {
  Buffer ntldr(0x3000, 0x90);
  const std::vector<std::uint8_t> original = {0x3B, 0x47, 0x58, 0x74, 0x07};
  std::copy(original.begin(), original.end(), ntldr.begin() + 0x1234);
  CHECK(funlove::detect(view(ntldr), nullptr, funlove::FileRole::loader).findings.empty());
  ntldr[0x1234 + 3] = 0xEB;
  const auto findings = funlove::detect(view(ntldr), nullptr, funlove::FileRole::loader).findings;
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == FindingKind::loader_patched);
  CHECK(findings[0].offset == 0x1234);
}
