// Infection-model section 7 (the kernel and loader patch) and issue 12: every file here is built
// byte by byte from the rule it tests, and its PE checksum is computed by this file's own
// implementation of the algorithm (reference_checksum), never by the code under test.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "engine/funlove.h"
#include "engine/pe.h"
#include "tests/support/pe_builder.h"

using namespace flscan;
using namespace flscan::test;

namespace {

using Bytes = std::vector<std::uint8_t>;

ByteView view(const Buffer& b) { return ByteView(b.data(), b.size()); }

constexpr std::size_t kChecksumField = kOptional + 64;
constexpr std::size_t kSubsystemField = kOptional + 68;
constexpr std::uint16_t kNative = 1;

// imagehlp CheckSumMappedFile, from its definition: the one's-complement sum of the file's
// little-endian 16-bit words with the CheckSum field counted as zero, folded to 16 bits, plus
// the file length.
std::uint32_t reference_checksum(const Buffer& file) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < file.size(); i += 2) {
    std::uint32_t lo = file[i];
    std::uint32_t hi = i + 1 < file.size() ? file[i + 1] : 0;
    if (i >= kChecksumField && i < kChecksumField + 4) lo = hi = 0;
    sum += lo | (hi << 8);
  }
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<std::uint32_t>(sum + file.size());
}

void put(Buffer& file, std::size_t at, const Bytes& bytes) {
  std::copy(bytes.begin(), bytes.end(), file.begin() + static_cast<std::ptrdiff_t>(at));
}

// An NT kernel stand-in: a native-subsystem (1) PE with `pieces` placed in .text (0x400-0x1C00).
Buffer nt_kernel(std::initializer_list<std::pair<std::size_t, Bytes>> pieces, std::uint16_t subsystem = kNative) {
  Buffer file = build_pe(PeSpec{});
  put16(file, kSubsystemField, subsystem);
  for (const auto& [at, bytes] : pieces) put(file, at, bytes);
  return file;
}

// Writes the correct CheckSum: the file is now exactly as a linker/signing tool leaves a kernel.
void sign(Buffer& file) { put32(file, kChecksumField, reference_checksum(file)); }

std::vector<Finding> detect(const Buffer& file, funlove::FileRole role = funlove::FileRole::kernel) {
  auto image = pe::parse(view(file));
  return funlove::detect(view(file), image ? &*image : nullptr, role).findings;
}

const Bytes kNt4Original = {0x8A, 0xC3, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00};
const Bytes kNt4Patched = {0xB0, 0x01, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00};
const Bytes kW2kOriginal = {0x8A, 0x45, 0x14, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28};
const Bytes kW2kPatched = {0xB0, 0x01, 0x90, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28};
struct Version {
  const char* name;
  Bytes original, patched;
};
const std::vector<Version> kVersions = {{"NT4", kNt4Original, kNt4Patched}, {"2000", kW2kOriginal, kW2kPatched}};

// What the virus does (section 7): a signed kernel, its first original sequence overwritten, the
// checksum left as it was.
Buffer funlove_patched(const Version& v, std::size_t at) {
  Buffer file = nt_kernel({{at, v.original}});
  sign(file);
  put(file, at, v.patched);
  return file;
}

}  // namespace

TEST_CASE("file roles come from the base name, case-insensitively", "[kernel]") {
  CHECK(funlove::role_for_name("NTOSKRNL.EXE") == funlove::FileRole::kernel);
  CHECK(funlove::role_for_name("ntkrnlmp.exe") == funlove::FileRole::kernel);
  CHECK(funlove::role_for_name("NTLDR") == funlove::FileRole::loader);
  CHECK(funlove::role_for_name("ntldr.bak") == funlove::FileRole::ordinary);
  CHECK(funlove::role_for_name("calc.exe") == funlove::FileRole::ordinary);
}

TEST_CASE("the checksum with bytes replaced equals the checksum of the file with them replaced", "[kernel][pe]") {
  Buffer file = funlove_patched(kVersions[0], 0x701);  // odd offset: the patch straddles words
  const auto image = pe::parse(view(file));
  REQUIRE(image);
  Buffer undone = file;
  put(undone, 0x701, kNt4Original);
  const pe::Checksum sum(view(file), image->checksum_offset);
  CHECK(sum.value() == reference_checksum(file));
  CHECK(sum.with_bytes(0x701, ByteView(kNt4Original.data(), kNt4Original.size())) == reference_checksum(undone));
  CHECK(reference_checksum(undone) == get32(file, kChecksumField));
  // Bytes over the CheckSum field still count as zero; bytes past the end are ignored.
  const Bytes ones(8, 0xFF);
  Buffer over_field = file;
  std::fill(over_field.begin() + kChecksumField - 2, over_field.begin() + kChecksumField + 6, 0xFF);
  CHECK(sum.with_bytes(kChecksumField - 2, ByteView(ones.data(), ones.size())) == reference_checksum(over_field));
  Buffer tail = file;
  std::fill(tail.end() - 3, tail.end(), 0xFF);
  CHECK(sum.with_bytes(file.size() - 3, ByteView(ones.data(), ones.size())) == reference_checksum(tail));
  // An odd-sized file: its last byte is the low half of a word of its own.
  Buffer odd = file;
  odd.push_back(0x5A);
  Buffer odd_changed = odd;
  odd_changed.back() = 0xFF;
  const pe::Checksum odd_sum(view(odd), image->checksum_offset);
  CHECK(odd_sum.value() == reference_checksum(odd));
  CHECK(odd_sum.with_bytes(odd.size() - 1, ByteView(ones.data(), ones.size())) == reference_checksum(odd_changed));
}

TEST_CASE("an original kernel with a right checksum gives no finding", "[kernel]") {
  for (const Version& v : kVersions) {
    Buffer file = nt_kernel({{0x700, v.original}});
    sign(file);
    CHECK(detect(file).empty());
  }
}

TEST_CASE("FunLove's patch on a signed kernel is kernel-patched, high confidence (NT4 and 2000)", "[kernel]") {
  for (const Version& v : kVersions) {
    INFO("Windows " << v.name);
    const auto findings = detect(funlove_patched(v, 0x700));
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].kind == FindingKind::kernel_patched);
    CHECK(findings[0].confidence == Confidence::high);
    CHECK(findings[0].offset == 0x700);
    CHECK(findings[0].severity == Severity::infection);
  }
}

// Issue 12's report: a clean kernel whose intact epilogue is followed by a legitimate
// `mov al,1; pop...; ret 28h` function ending elsewhere.
TEST_CASE("a legitimate patched-looking epilogue after the intact original is no finding", "[kernel]") {
  for (const Version& v : kVersions) {
    INFO("Windows " << v.name);
    Buffer file = nt_kernel({{0x700, v.original}, {0x900, v.patched}});
    sign(file);
    CHECK(detect(file).empty());
  }
}

TEST_CASE("patched-looking bytes after an intact original are not FunLove's patch even with a stale checksum",
          "[kernel]") {
  for (const Version& v : kVersions) {
    INFO("Windows " << v.name);
    Buffer file = nt_kernel({{0x700, v.original}, {0x900, v.patched}});
    sign(file);
    file[0xA00] ^= 0xFF;  // an unrelated change: the checksum no longer matches
    const auto findings = detect(file);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].kind == FindingKind::kernel_modified);
    CHECK(findings[0].rule == "funlove.kernel.checksum");
    CHECK(findings[0].severity == Severity::suspicious);
  }
}

TEST_CASE("patched bytes in a kernel whose checksum matches as it stands are not FunLove's patch", "[kernel]") {
  for (const Version& v : kVersions) {
    INFO("Windows " << v.name);
    Buffer file = nt_kernel({{0x700, v.patched}});
    sign(file);  // the virus never fixes the checksum
    CHECK(detect(file).empty());
  }
}

// CheckSum 0 leaves nothing to undo the patch against, while an NT kernel is always checksummed:
// patched bytes with no original before them are unconfirmed (suspicious), never kernel-patched
// and never silently clean; after an intact original they are still not the virus's patch.
TEST_CASE("patched bytes in a kernel with CheckSum 0 are unconfirmed: kernel-modified, not kernel-patched",
          "[kernel]") {
  for (const Version& v : kVersions) {
    INFO("Windows " << v.name);
    const Buffer file = nt_kernel({{0x700, v.patched}});
    REQUIRE(get32(file, kChecksumField) == 0);
    const auto findings = detect(file);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].kind == FindingKind::kernel_modified);
    CHECK(findings[0].rule == "funlove.kernel.unconfirmed");
    CHECK(findings[0].severity == Severity::suspicious);
    CHECK(findings[0].offset == 0x700);

    const Buffer after_original = nt_kernel({{0x600, v.original}, {0x700, v.patched}});
    REQUIRE(get32(after_original, kChecksumField) == 0);
    CHECK(detect(after_original).empty());
  }
}

TEST_CASE("patched bytes whose undo does not restore the checksum are kernel-modified, not kernel-patched",
          "[kernel]") {
  for (const Version& v : kVersions) {
    INFO("Windows " << v.name);
    Buffer file = funlove_patched(v, 0x700);
    file[0xA00] ^= 0xFF;  // changed besides the patch: neither as-is nor undone matches
    const auto findings = detect(file);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].kind == FindingKind::kernel_modified);
    CHECK(findings[0].rule == "funlove.kernel.unconfirmed");
    CHECK(findings[0].severity == Severity::suspicious);
    CHECK(findings[0].offset == 0x700);
  }
}

TEST_CASE("the virus's patch behind a legitimate patched-looking epilogue is found by undoing each candidate",
          "[kernel]") {
  // A legitimate `mov al,1` ending at 0x601, the original at 0x700 which the virus then patched.
  // (At an even offset the two sequences would only swap 16-bit word positions, which the PE
  // checksum, a sum, cannot tell apart; at an odd one their bytes fall in other word halves.)
  Buffer file = nt_kernel({{0x601, kNt4Patched}, {0x700, kNt4Original}});
  sign(file);
  put(file, 0x700, kNt4Patched);
  const auto findings = detect(file);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == FindingKind::kernel_patched);
  CHECK(findings[0].offset == 0x700);
}

TEST_CASE("a checksum mismatch alone is kernel-modified (suspicious), CheckSum 0 is no mismatch", "[kernel]") {
  Buffer file = nt_kernel({{0x700, kNt4Original}});
  sign(file);
  file[0x800] ^= 0xFF;  // any later change breaks the recorded checksum
  const auto findings = detect(file);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == FindingKind::kernel_modified);
  CHECK(findings[0].severity == Severity::suspicious);

  put32(file, kChecksumField, 0);  // "not set" (PE format): nothing to compare with
  CHECK(detect(file).empty());
}

TEST_CASE("only an NT kernel counts: another subsystem or a Wine builtin gets no kernel finding", "[kernel]") {
  SECTION("FunLove's exact patch in a file of the Windows CUI subsystem (Wine's ntoskrnl.exe has 3)") {
    Buffer file = nt_kernel({{0x700, kNt4Original}}, 3);
    sign(file);
    put(file, 0x700, kNt4Patched);  // undoing it would restore the checksum, as on a patched kernel
    REQUIRE(reference_checksum(file) != get32(file, kChecksumField));
    CHECK(detect(file).empty());
  }
  for (const char* marker : {"Wine builtin DLL", "Wine placeholder DLL"}) {
    SECTION(std::string("native subsystem, '") + marker + "' in the DOS stub, stale checksum") {
      Buffer file = nt_kernel({{0x700, kNt4Original}});
      sign(file);
      std::memcpy(&file[0x40], marker, std::strlen(marker));  // stamped after linking, as winebuild does
      REQUIRE(reference_checksum(file) != get32(file, kChecksumField));
      CHECK(detect(file).empty());
    }
  }
  SECTION("a file named ntoskrnl.exe that is no PE") {
    Buffer file(0x2000, 0x90);
    put(file, 0x700, kNt4Patched);
    CHECK(funlove::detect(view(file), nullptr, funlove::FileRole::kernel).findings.empty());
  }
}

TEST_CASE("kernel checks run only for the kernel role", "[kernel]") {
  CHECK(detect(funlove_patched(kVersions[0], 0x700), funlove::FileRole::ordinary).empty());
}

TEST_CASE("NTLDR: patched loader bytes are loader-patched, original bytes are clean", "[kernel]") {
  Buffer ntldr(0x3000, 0x90);
  const Bytes original = {0x3B, 0x47, 0x58, 0x74, 0x07};
  put(ntldr, 0x1234, original);
  CHECK(funlove::detect(view(ntldr), nullptr, funlove::FileRole::loader).findings.empty());
  ntldr[0x1234 + 3] = 0xEB;
  const auto findings = funlove::detect(view(ntldr), nullptr, funlove::FileRole::loader).findings;
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].kind == FindingKind::loader_patched);
  CHECK(findings[0].offset == 0x1234);
}

TEST_CASE("NTLDR: the first occurrence decides", "[kernel]") {
  for (const auto& [original, patched] :
       {std::pair<Bytes, Bytes>{{0x3B, 0x46, 0x58, 0x74, 0x07}, {0x3B, 0x46, 0x58, 0xEB, 0x07}},
        std::pair<Bytes, Bytes>{{0x3B, 0x47, 0x58, 0x74, 0x07}, {0x3B, 0x47, 0x58, 0xEB, 0x07}}}) {
    Buffer ntldr(0x3000, 0x90);
    put(ntldr, 0x1000, original);
    put(ntldr, 0x2000, patched);  // the virus would have patched the intact one at 0x1000
    CHECK(funlove::detect(view(ntldr), nullptr, funlove::FileRole::loader).findings.empty());

    put(ntldr, 0x1000, patched);  // the first one patched, a later original left intact
    put(ntldr, 0x2000, original);
    const auto findings = funlove::detect(view(ntldr), nullptr, funlove::FileRole::loader).findings;
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].kind == FindingKind::loader_patched);
    CHECK(findings[0].offset == 0x1000);
  }
}
