// A bounded PE (Portable Executable) parser. It reads only headers and the section table through
// a ByteView; a malformed header is a returned error with reason and offset, never a crash.
// Recoverable oddities (a section pointing past the end of file, say) are recorded as anomalies
// and parsing goes on (LIEF's model).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "engine/byte_view.h"

namespace flscan::pe {

struct Section {
  std::string name;  // up to 8 bytes, NUL-trimmed, non-printable bytes escaped as \xNN
  std::uint32_t virtual_size = 0;
  std::uint32_t virtual_address = 0;
  std::uint32_t size_of_raw_data = 0;
  std::uint32_t pointer_to_raw_data = 0;
  std::uint32_t characteristics = 0;
  std::uint64_t header_offset = 0;  // file offset of this section's 40-byte header
};

// Section characteristics the FunLove model talks about (infection-model section 2).
inline constexpr std::uint32_t kScnCntUninitializedData = 0x00000080;
inline constexpr std::uint32_t kScnMemDiscardable = 0x02000000;
inline constexpr std::uint32_t kScnMemNotCached = 0x04000000;
inline constexpr std::uint32_t kScnMemNotPaged = 0x08000000;
inline constexpr std::uint32_t kScnMemShared = 0x10000000;
inline constexpr std::uint32_t kScnMemExecute = 0x20000000;
inline constexpr std::uint32_t kScnMemRead = 0x40000000;
inline constexpr std::uint32_t kScnMemWrite = 0x80000000;

struct Anomaly {
  std::uint64_t offset = 0;
  std::string what;
};

struct Image {
  // DOS header
  std::uint16_t e_lfarlc = 0;
  std::uint32_t e_lfanew = 0;
  // COFF header
  std::uint16_t machine = 0;
  std::uint16_t number_of_sections = 0;  // as declared (may exceed sections.size())
  std::uint32_t time_date_stamp = 0;
  std::uint16_t size_of_optional_header = 0;
  std::uint16_t characteristics = 0;
  // Optional header
  bool pe32_plus = false;
  std::uint32_t address_of_entry_point = 0;
  std::uint64_t image_base = 0;
  std::uint32_t section_alignment = 0;
  std::uint32_t file_alignment = 0;
  std::uint32_t size_of_image = 0;
  std::uint32_t size_of_headers = 0;
  std::uint32_t checksum = 0;
  std::uint64_t checksum_offset = 0;  // file offset of OptionalHeader.CheckSum
  std::uint16_t subsystem = 0;
  std::uint32_t number_of_rva_and_sizes = 0;

  std::vector<Section> sections;  // in section-table order, at most limits::kMaxPeSections
  std::vector<Anomaly> anomalies;
  std::uint64_t file_size = 0;

  // Index of the section whose [VA, VA + max(VirtualSize, SizeOfRawData)) holds `rva`.
  [[nodiscard]] std::optional<std::size_t> section_index_for_rva(std::uint64_t rva) const;
  // File offset of `rva` (headers map 1:1 below SizeOfHeaders), or nothing when unmapped.
  [[nodiscard]] std::optional<std::uint64_t> rva_to_offset(std::uint64_t rva) const;
  // The section holding the entry point, if any.
  [[nodiscard]] const Section* entry_section() const;
  // File offset of the entry point, if it maps into the file.
  [[nodiscard]] std::optional<std::uint64_t> entry_offset() const { return rva_to_offset(address_of_entry_point); }
  // The last section header of the table (the one FunLove extends), if any.
  [[nodiscard]] const Section* last_section() const { return sections.empty() ? nullptr : &sections.back(); }
  // End of the section data furthest into the file; bytes after it are the overlay.
  [[nodiscard]] std::uint64_t end_of_section_data() const;
  [[nodiscard]] std::uint64_t overlay_size() const;
};

struct ParseError {
  std::uint64_t offset = 0;
  std::string reason;
};

// Parses the headers of a PE file held entirely in `file`.
tl::expected<Image, ParseError> parse(ByteView file);

// Parses the headers of a file of `file_size` bytes of which `prefix` holds the first bytes (a
// streamed file). With a prefix of at least header_extent(prefix, file_size) bytes the result is
// exactly parse() of the whole file: headers are all a parse reads.
tl::expected<Image, ParseError> parse_prefix(ByteView prefix, std::uint64_t file_size);

// How many leading bytes parse_prefix needs, judged from what `prefix` already shows. Call it
// again after reading that many: the answer grows as the DOS and COFF headers become visible, and
// is stable once prefix.size() reaches it. Never more than kMaxLfanew plus the largest headers.
[[nodiscard]] std::uint64_t header_extent(ByteView prefix, std::uint64_t file_size);

// True when `file` starts with "MZ" (a DOS/PE candidate worth parsing).
[[nodiscard]] inline bool looks_like_mz(ByteView file) {
  return file.size() >= 2 && file.data()[0] == 'M' && file.data()[1] == 'Z';
}

// The PE checksum algorithm (imagehlp CheckSumMappedFile): 16-bit one's-complement sum of the
// file as little-endian words, skipping the 4-byte CheckSum field, plus the file length.
[[nodiscard]] std::uint32_t compute_checksum(ByteView file, std::uint64_t checksum_offset);

// The same checksum, kept as the exact sum of the file's words so that the checksum with a few
// bytes replaced costs only those bytes: infection-model section 7 undoes FunLove's kernel patch at
// each candidate offset and compares with the header's CheckSum, one file pass in all.
class Checksum {
 public:
  Checksum(ByteView file, std::uint64_t checksum_offset);  // reads every byte once
  // compute_checksum(file, checksum_offset).
  [[nodiscard]] std::uint32_t value() const;
  // The checksum of the file with [at, at + replacement.size()) replaced by `replacement` (the
  // part inside the file; the CheckSum field still counts as zero).
  [[nodiscard]] std::uint32_t with_bytes(std::uint64_t at, ByteView replacement) const;

 private:
  [[nodiscard]] std::uint32_t byte_at(std::uint64_t off) const;
  [[nodiscard]] std::uint32_t finish(std::uint64_t words) const;
  ByteView file_;
  std::uint64_t field_ = 0;
  std::uint64_t words_ = 0;  // exact sum of the 16-bit words (below 2^64 for any file held in memory)
};

}  // namespace flscan::pe
