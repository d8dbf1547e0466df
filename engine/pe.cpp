#include "engine/pe.h"

#include <algorithm>
#include <cstdio>

#include "engine/hex_text.h"
#include "engine/limits.h"

namespace flscan::pe {
namespace {

constexpr std::uint64_t kDosHeaderSize = 0x40;
constexpr std::uint64_t kCoffHeaderSize = 20;
constexpr std::uint64_t kSectionHeaderSize = 40;
constexpr std::uint16_t kMagicPe32 = 0x10B;
constexpr std::uint16_t kMagicPe32Plus = 0x20B;
// Bytes of optional header needed to reach Subsystem (offset 68, 2 bytes) in both PE32 and PE32+.
constexpr std::uint64_t kOptionalHeaderMinimum = 70;
// A header byte inside the file but outside the prefix given to parse_prefix (a caller error).
constexpr const char* kHeadersNotRead = "headers extend beyond the bytes read for them";

std::string section_name(ByteView raw) {
  std::string name;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::uint8_t c = raw.data()[i];
    if (c == 0) break;
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      name.push_back(static_cast<char>(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      name += buf;
    }
  }
  return name;
}

void note(Image& image, std::uint64_t offset, std::string what) {
  if (image.anomalies.size() < limits::kMaxAnomalies) {
    image.anomalies.push_back({offset, std::move(what)});
  }
}

tl::unexpected<ParseError> fail(std::uint64_t offset, std::string reason) {
  return tl::unexpected(ParseError{offset, std::move(reason)});
}

}  // namespace

namespace {

// The parser proper. `file` holds the first bytes of a file of `file_size` bytes (all of it, or a
// prefix of at least header_extent() bytes): every "past the end of file" decision is taken against
// file_size, every byte is read from `file`. A header byte the prefix lacks is an error, never a
// read out of bounds.
tl::expected<Image, ParseError> parse_impl(const ByteView file, const std::uint64_t file_size) {
  Image image;
  image.file_size = file_size;
  const auto in_file = [file_size](std::uint64_t off, std::uint64_t len) {
    return off <= file_size && len <= file_size - off;
  };
  if (!looks_like_mz(file)) return fail(0, "no MZ signature");
  if (file_size < kDosHeaderSize) return fail(0, "file shorter than the 64-byte DOS header");
  if (!file.contains(0, kDosHeaderSize)) return fail(0, kHeadersNotRead);
  image.e_lfarlc = *file.u16le(0x18);
  image.e_lfanew = *file.u32le(0x3C);
  const std::uint64_t nt = image.e_lfanew;
  if (nt > limits::kMaxLfanew)
    return fail(0x3C, "e_lfanew " + hex(nt) + " beyond the " + hex(limits::kMaxLfanew) + " limit");
  if (!in_file(nt, 4)) return fail(0x3C, "e_lfanew " + hex(nt) + " points past the end of file");
  if (!file.contains(nt, 4)) return fail(nt, kHeadersNotRead);
  if (!file.equals_at(nt, std::string_view("PE\0\0", 4))) return fail(nt, "no PE signature at e_lfanew " + hex(nt));

  const std::uint64_t coff = nt + 4;
  if (!in_file(coff, kCoffHeaderSize)) return fail(coff, "COFF header truncated by end of file");
  if (!file.contains(coff, kCoffHeaderSize)) return fail(coff, kHeadersNotRead);
  image.machine = *file.u16le(coff);
  image.number_of_sections = *file.u16le(coff + 2);
  image.time_date_stamp = *file.u32le(coff + 4);
  image.size_of_optional_header = *file.u16le(coff + 16);
  image.characteristics = *file.u16le(coff + 18);

  const std::uint64_t opt = coff + kCoffHeaderSize;
  if (image.size_of_optional_header < kOptionalHeaderMinimum) {
    return fail(coff + 16, "SizeOfOptionalHeader " + hex(image.size_of_optional_header) + " too small for an image");
  }
  if (!in_file(opt, kOptionalHeaderMinimum)) return fail(opt, "optional header truncated by end of file");
  if (!file.contains(opt, kOptionalHeaderMinimum)) return fail(opt, kHeadersNotRead);
  const std::uint16_t magic = *file.u16le(opt);
  if (magic != kMagicPe32 && magic != kMagicPe32Plus) return fail(opt, "unknown optional header magic " + hex(magic));
  image.pe32_plus = magic == kMagicPe32Plus;
  image.address_of_entry_point = *file.u32le(opt + 16);
  image.image_base = image.pe32_plus ? *file.u64le(opt + 24) : *file.u32le(opt + 28);
  image.section_alignment = *file.u32le(opt + 32);
  image.file_alignment = *file.u32le(opt + 36);
  image.size_of_image = *file.u32le(opt + 56);
  image.size_of_headers = *file.u32le(opt + 60);
  image.checksum_offset = opt + 64;
  image.checksum = *file.u32le(opt + 64);
  image.subsystem = *file.u16le(opt + 68);
  const std::uint64_t rva_count_offset = opt + (image.pe32_plus ? 108 : 92);
  if (auto count = file.u32le(rva_count_offset); count && rva_count_offset + 4 <= opt + image.size_of_optional_header) {
    image.number_of_rva_and_sizes = *count;
  }
  if (image.file_alignment == 0) note(image, opt + 36, "FileAlignment is 0");

  if (image.number_of_sections > limits::kMaxPeSections) {
    return fail(coff + 2, "NumberOfSections " + std::to_string(image.number_of_sections) +
                              " exceeds the loader's limit of " + std::to_string(limits::kMaxPeSections));
  }
  if (image.number_of_sections == 0) note(image, coff + 2, "no sections");
  const std::uint64_t table = opt + image.size_of_optional_header;
  const std::uint64_t table_size = kSectionHeaderSize * image.number_of_sections;
  if (!in_file(table, table_size)) {
    return fail(table,
                "section table (" + std::to_string(image.number_of_sections) + " headers) extends past end of file");
  }
  if (!file.contains(table, table_size)) return fail(table, kHeadersNotRead);
  image.sections.reserve(image.number_of_sections);
  for (std::uint64_t i = 0; i < image.number_of_sections; ++i) {
    const std::uint64_t h = table + i * kSectionHeaderSize;
    Section s;
    s.header_offset = h;
    s.name = section_name(*file.sub(h, 8));
    s.virtual_size = *file.u32le(h + 8);
    s.virtual_address = *file.u32le(h + 12);
    s.size_of_raw_data = *file.u32le(h + 16);
    s.pointer_to_raw_data = *file.u32le(h + 20);
    s.characteristics = *file.u32le(h + 36);
    if (s.size_of_raw_data != 0 && !in_file(s.pointer_to_raw_data, s.size_of_raw_data)) {
      note(image, h + 16,
           "section " + s.name + " raw data [" + hex(s.pointer_to_raw_data) + ", +" + hex(s.size_of_raw_data) +
               ") extends past end of file");
    }
    image.sections.push_back(std::move(s));
  }
  if (!image.entry_offset() && image.address_of_entry_point != 0) {
    note(image, opt + 16, "entry point RVA " + hex(image.address_of_entry_point) + " maps to no file offset");
  }
  return image;
}

}  // namespace

tl::expected<Image, ParseError> parse(ByteView file) { return parse_impl(file, file.size()); }

tl::expected<Image, ParseError> parse_prefix(ByteView prefix, std::uint64_t file_size) {
  if (prefix.size() > file_size) return fail(0, "more bytes read than the file holds");
  return parse_impl(prefix, file_size);
}

std::uint64_t header_extent(ByteView prefix, std::uint64_t file_size) {
  const auto clamp = [file_size](std::uint64_t n) { return std::min(n, file_size); };
  if (prefix.size() < clamp(kDosHeaderSize)) return clamp(kDosHeaderSize);
  const auto lfanew = prefix.u32le(0x3C);
  if (!lfanew || *lfanew > limits::kMaxLfanew) return clamp(kDosHeaderSize);  // parse fails on the DOS header alone
  const std::uint64_t coff = std::uint64_t{*lfanew} + 4;
  const std::uint64_t opt = coff + kCoffHeaderSize;
  if (opt > file_size) return file_size;  // the headers run past the end: the whole (small) file
  if (prefix.size() < opt) return opt;
  const std::uint64_t optional_size = *prefix.u16le(coff + 16);
  const std::uint64_t sections = std::min<std::uint64_t>(*prefix.u16le(coff + 2), limits::kMaxPeSections);
  return clamp(std::max(opt + std::max(optional_size, kOptionalHeaderMinimum),
                        opt + optional_size + kSectionHeaderSize * sections));
}

std::optional<std::size_t> Image::section_index_for_rva(std::uint64_t rva) const {
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const Section& s = sections[i];
    const std::uint64_t extent = std::max(s.virtual_size, s.size_of_raw_data);
    if (rva >= s.virtual_address && rva - s.virtual_address < extent) return i;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> Image::rva_to_offset(std::uint64_t rva) const {
  if (auto index = section_index_for_rva(rva)) {
    const Section& s = sections[*index];
    const std::uint64_t delta = rva - s.virtual_address;
    if (delta >= s.size_of_raw_data) return std::nullopt;  // zero-filled tail: no bytes in the file
    const std::uint64_t offset = std::uint64_t{s.pointer_to_raw_data} + delta;
    if (offset >= file_size) return std::nullopt;
    return offset;
  }
  // Below the first section the headers are mapped one to one.
  if (rva < size_of_headers && rva < file_size) return rva;
  return std::nullopt;
}

const Section* Image::entry_section() const {
  const auto index = section_index_for_rva(address_of_entry_point);
  return index ? &sections[*index] : nullptr;
}

std::uint64_t Image::end_of_section_data() const {
  std::uint64_t end = std::min<std::uint64_t>(size_of_headers, file_size);
  for (const Section& s : sections) {
    if (s.size_of_raw_data == 0) continue;
    const std::uint64_t section_end = std::uint64_t{s.pointer_to_raw_data} + s.size_of_raw_data;
    end = std::max(end, std::min(section_end, file_size));
  }
  return end;
}

std::uint64_t Image::overlay_size() const { return file_size - end_of_section_data(); }

std::uint32_t compute_checksum(ByteView file, std::uint64_t checksum_offset) {
  return Checksum(file, checksum_offset).value();
}

Checksum::Checksum(ByteView file, std::uint64_t checksum_offset) : file_(file), field_(checksum_offset) {
  const std::size_t size = file.size();
  for (std::size_t off = 0; off < size; off += 2)
    words_ += byte_at(off) | (off + 1 < size ? byte_at(off + 1) << 8 : 0u);
}

// The CheckSum field itself counts as zero (imagehlp zeroes it before summing).
std::uint32_t Checksum::byte_at(std::uint64_t off) const {
  const bool in_field = off >= field_ && off - field_ < 4;
  return in_field ? 0u : file_.data()[off];
}

// One's-complement folding of the exact sum gives what imagehlp's running 16-bit fold gives (both
// are the sum mod 0xFFFF, 0 only for an all-zero file), then the file length is added.
std::uint32_t Checksum::finish(std::uint64_t words) const {
  while (words >> 16) words = (words & 0xFFFF) + (words >> 16);
  return static_cast<std::uint32_t>(words + file_.size());
}

std::uint32_t Checksum::value() const { return finish(words_); }

std::uint32_t Checksum::with_bytes(std::uint64_t at, ByteView replacement) const {
  const std::uint64_t size = file_.size();
  if (at >= size || replacement.empty()) return value();
  const std::uint64_t end = at + std::min<std::uint64_t>(replacement.size(), size - at);
  auto replaced = [&](std::uint64_t off) -> std::uint32_t {
    const bool in_field = off >= field_ && off - field_ < 4;
    if (in_field) return 0u;
    return off >= at && off < end ? replacement.data()[off - at] : file_.data()[off];
  };
  std::uint64_t words = words_;
  for (std::uint64_t off = at & ~std::uint64_t{1}; off < end; off += 2) {
    const bool has_high = off + 1 < size;
    words -= byte_at(off) | (has_high ? byte_at(off + 1) << 8 : 0u);  // part of words_: no underflow
    words += replaced(off) | (has_high ? replaced(off + 1) << 8 : 0u);
  }
  return finish(words);
}

}  // namespace flscan::pe
