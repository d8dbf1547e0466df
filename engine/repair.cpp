#include "engine/repair.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "engine/hex_text.h"

namespace flscan::repair {
namespace {

using Bytes = std::span<const std::uint8_t>;

// Infection-model section 4: every marker of the body table, at its offset from B. This is a
// second statement of the table (the detector has its own): a repair must see the whole table,
// where detection needs only the MZ header, the string and the code start.
struct BodyMarker {
  std::uint64_t offset;
  std::string_view bytes;
  const char* what;
};
constexpr std::string_view kMz("\x4D\x5A\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00\xB8\x00", 18);
constexpr std::string_view kLfanew("\x80\x00\x00\x00", 4);
constexpr std::string_view kDosStub("\x0E\x1F\xBA\x10\x00\xB4\x09\xCD\x21\xB0\xF0\xE6\x64\xEB\xFE\x90", 16);
constexpr std::string_view kString("~Fun Loving Criminal~\x0D\x0D\x0A\x24", 25);
constexpr std::string_view kPeHeader("\x50\x45\x00\x00\x4C\x01\x01\x00", 8);
constexpr std::string_view kCode("\xE8\xAA\x08\x00\x00\x8D\xB3\xA7\x0B\x00\x00\x8B\x3C\x24\x83", 15);
constexpr BodyMarker kBodyMarkers[] = {
    {0x000, kMz, "embedded MZ header at B"},
    {0x03C, kLfanew, "e_lfanew 0x80 at B+0x3C"},
    {0x040, kDosStub, "DOS stub at B+0x40"},
    {0x050, kString, "'~Fun Loving Criminal~' and 0D 0D 0A 24 at B+0x50"},
    {0x080, kPeHeader, "embedded PE header at B+0x80"},
    {0x200, kCode, "code start at B+0x200"},
};

// Section 3: nop; nop; gs: call rel32.
constexpr std::string_view kStubPrefix("\x90\x90\x65\xE8", 4);

// Section 2: what the virus does to the headers.
constexpr std::uint64_t kPage = 0x1000;
constexpr std::uint64_t kRawGrowth = 0x1000;      // L.SizeOfRawData = A + 0x1000
constexpr std::uint64_t kVirtualGrowth = 0x4000;  // L.VirtualSize = A + 0x4000, SizeOfImage likewise
constexpr std::uint32_t kLastFlagsSet = 0x8C000000;
constexpr std::uint32_t kLastFlagsClear = 0x12000000;
constexpr std::uint32_t kEntryFlagsSet = 0x80000000;

// PE layout offsets used here.
constexpr std::uint64_t kChecksumInOptional = 64;
constexpr std::uint64_t kDataDirectoriesPe32 = 96;
constexpr std::uint64_t kCertificateDirectory = 4;  // IMAGE_DIRECTORY_ENTRY_SECURITY: a file offset
constexpr std::uint64_t kSectionRawSizeField = 16;

tl::unexpected<Refusal> refuse(std::string reason) { return tl::unexpected(Refusal{std::move(reason)}); }

Bytes bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

void put32(std::vector<std::uint8_t>& out, std::uint64_t offset, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i)
    out[static_cast<std::size_t>(offset) + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

// The entry point and its stub: where the 8 saved bytes must go back, and the RVA its call lands on.
struct Stub {
  std::uint64_t entry_offset = 0;
  std::uint64_t target_rva = 0;
};

tl::expected<Stub, Refusal> read_stub(ByteView file, const pe::Image& image) {
  const pe::Section* entry_section = image.entry_section();
  const auto entry = image.entry_offset();
  if (entry_section == nullptr || !entry) {
    return refuse("the entry point (RVA " + hex(image.address_of_entry_point) + ") lies in no section's file data");
  }
  // All 8 stub bytes must be file data of the entry section (the virus wrote them there).
  const std::uint64_t delta = image.address_of_entry_point - std::uint64_t{entry_section->virtual_address};
  if (delta > entry_section->size_of_raw_data || entry_section->size_of_raw_data - delta < funlove::kStubSize) {
    return refuse("the 8 bytes at the entry point run past the end of the entry section's file data");
  }
  if (!file.equals_at(*entry, bytes(kStubPrefix))) {
    return refuse("no 90 90 65 E8 stub at the entry point (offset " + hex(*entry) + ")");
  }
  const auto rel32 = file.u32le(*entry + 4);
  if (!rel32) return refuse("the stub's call displacement lies past the end of file");
  // The call's target: the address after the 8-byte stub plus the signed displacement, mod 2^32.
  const std::uint32_t target = image.address_of_entry_point + 8u + *rel32;
  return Stub{*entry, target};
}

// Section 2: the four header fields the virus sets, for a given A.
std::optional<std::string> header_mismatch(const pe::Image& image, const pe::Section& last, std::uint64_t a) {
  if (last.size_of_raw_data != a + kRawGrowth) {
    return "L.SizeOfRawData " + hex(last.size_of_raw_data) + " is not A+0x1000 = " + hex(a + kRawGrowth);
  }
  if (last.virtual_size != a + kVirtualGrowth) {
    return "L.VirtualSize " + hex(last.virtual_size) + " is not A+0x4000 = " + hex(a + kVirtualGrowth);
  }
  const std::uint64_t image_size = std::uint64_t{last.virtual_address} + a + kVirtualGrowth;
  if (image.size_of_image != image_size) {
    return "SizeOfImage " + hex(image.size_of_image) + " is not L.VirtualAddress+A+0x4000 = " + hex(image_size);
  }
  if ((last.characteristics & kLastFlagsSet) != kLastFlagsSet || (last.characteristics & kLastFlagsClear) != 0) {
    return "the last section's flags " + hex(last.characteristics) +
           " are not what the virus leaves (|0x8C000000, &~0x12000000)";
  }
  const pe::Section* entry_section = image.entry_section();
  if (entry_section != nullptr && (entry_section->characteristics & kEntryFlagsSet) == 0) {
    return "the entry section is not writable (the virus sets 0x80000000 on it)";
  }
  return std::nullopt;
}

// Everything of the image that must survive the cut at B lies before B, and the last section's
// file data after the repair holds nothing of the rest of the image.
std::optional<std::string> layout_problem(ByteView file, const pe::Image& image, std::uint64_t b) {
  if (image.size_of_headers > b) return "SizeOfHeaders " + hex(image.size_of_headers) + " reaches past B=" + hex(b);
  const pe::Section& last = *image.last_section();
  if (last.header_offset + 40 > b || image.checksum_offset + 4 > b) return "the headers reach past B=" + hex(b);
  // After the repair the last section's file data is [L.PointerToRawData, B): the original data,
  // then the zero padding. If that range starts inside the headers or another section's data,
  // the loader would fill the section from those bytes, where the original had its own data or
  // zeros: a last section that was uninitialised-only (PointerToRawData 0, which the virus never
  // infects, section 1) would receive the headers and code instead of zeros.
  if (last.pointer_to_raw_data < image.size_of_headers) {
    return "the last section's file data would start at " + hex(last.pointer_to_raw_data) +
           ", inside the headers (SizeOfHeaders " + hex(image.size_of_headers) +
           "): its original was uninitialised data, which no section-9 repair restores";
  }
  for (std::size_t i = 0; i + 1 < image.sections.size(); ++i) {
    const pe::Section& s = image.sections[i];
    if (s.size_of_raw_data == 0) continue;
    if (std::uint64_t{s.pointer_to_raw_data} + s.size_of_raw_data > last.pointer_to_raw_data) {
      return "section " + s.name + "'s file data [" + hex(s.pointer_to_raw_data) + ", +" + hex(s.size_of_raw_data) +
             ") overlaps the last section's, which starts at " + hex(last.pointer_to_raw_data);
    }
  }
  // The certificate table is addressed by file offset and would be cut off with the body.
  const std::uint64_t optional = image.checksum_offset - kChecksumInOptional;
  const std::uint64_t directory = optional + kDataDirectoriesPe32 + 8 * kCertificateDirectory;
  if (image.number_of_rva_and_sizes > kCertificateDirectory &&
      directory + 8 <= optional + image.size_of_optional_header) {
    const auto offset = file.u32le(directory);
    const auto size = file.u32le(directory + 4);
    if (offset && size && *size != 0 && std::uint64_t{*offset} + *size > b) {
      return "the certificate table [" + hex(*offset) + ", +" + hex(*size) + ") reaches past B=" + hex(b);
    }
  }
  return std::nullopt;
}

}  // namespace

tl::expected<Repaired, Refusal> disinfect(ByteView file, const pe::Image& image, const funlove::Geometry& geometry) {
  if (image.file_size != file.size()) return refuse("the parsed headers belong to a file of another size");
  if (image.pe32_plus) return refuse("a PE32+ image: FunLove infects only 32-bit PE files (infection-model section 1)");
  const pe::Section* last = image.last_section();
  if (last == nullptr) return refuse("the image has no section table");

  // Section 3: the stub at the entry point and where its call lands.
  const auto stub = read_stub(file, image);
  if (!stub) return tl::unexpected(stub.error());
  if (stub->entry_offset != geometry.entry_offset || stub->target_rva != geometry.call_target_rva) {
    return refuse("the entry point or its call target differ from the geometry the scan reported");
  }
  const std::uint64_t body_code_rva = std::uint64_t{last->virtual_address} + funlove::kBodyCodeOffset;
  if (stub->target_rva < body_code_rva) {
    return refuse("the stub calls RVA " + hex(stub->target_rva) + ", below the last section's body code");
  }
  // Section 2: A from the call target, B = L.PointerToRawData + A.
  const std::uint64_t a = stub->target_rva - body_code_rva;
  const std::uint64_t b = std::uint64_t{last->pointer_to_raw_data} + a;
  if (a % kPage != 0) return refuse("A=" + hex(a) + " (from the call target) is not page-aligned");
  if (b != geometry.body_offset) return refuse("B=" + hex(b) + " differs from the body offset the scan reported");
  if (file.size() < b + funlove::kBodySize) {
    return refuse("the body is truncated: the file ends at " + hex(file.size()) +
                  ", before B+0x1003 = " + hex(b + funlove::kBodySize) + " (damaged, infection-model section 5)");
  }
  if (file.size() > b + funlove::kBodySize) {
    return refuse(std::to_string(file.size() - b - funlove::kBodySize) +
                  " bytes follow the body at B+0x1003: the file was changed after it was infected");
  }
  for (const BodyMarker& marker : kBodyMarkers) {
    if (!file.equals_at(b + marker.offset, bytes(marker.bytes))) {
      return refuse(std::string(marker.what) +
                    " is missing: the body is damaged (infection-model section 5), so the "
                    "8 saved bytes at B+0xBA7 cannot be trusted");
    }
  }
  if (auto mismatch = header_mismatch(image, *last, a)) return refuse(*mismatch + " (infection-model section 2)");
  if (stub->entry_offset + funlove::kStubSize > b) return refuse("the entry point lies in the body");
  if (auto past = layout_problem(file, image, b)) return refuse(*past);

  // Section 9: saved bytes back at the entry point, L.SizeOfRawData -= 0x1000, cut at B.
  Repaired out;
  out.body_offset = b;
  out.entry_offset = stub->entry_offset;
  const ByteView saved = *file.sub(b + funlove::kSavedHostBytesOffset, funlove::kStubSize);
  std::copy(saved.data(), saved.data() + saved.size(), out.restored_bytes.begin());
  out.bytes.assign(file.data(), file.data() + b);
  std::copy(out.restored_bytes.begin(), out.restored_bytes.end(),
            out.bytes.begin() + static_cast<std::ptrdiff_t>(stub->entry_offset));
  out.last_section_raw_size = static_cast<std::uint32_t>(a);
  put32(out.bytes, last->header_offset + kSectionRawSizeField, out.last_section_raw_size);
  // Section 9: "recompute the checksum when the original was non-zero"; the virus never changes
  // CheckSum (section 2), so the infected file's field is the original's.
  out.checksum_recomputed = image.checksum != 0;
  if (out.checksum_recomputed) {
    out.checksum = pe::compute_checksum(ByteView(out.bytes.data(), out.bytes.size()), image.checksum_offset);
    put32(out.bytes, image.checksum_offset, out.checksum);
  }
  return out;
}

}  // namespace flscan::repair
