// Builds small synthetic PE32 images in memory for unit tests, and applies a synthetic, inert
// FunLove infection to them exactly as infection-model sections 2-4 describe. This is a second,
// independent implementation of the model (the corpus builder in corpus/ is the first), so the
// detector is never tested against its own arithmetic.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace flscan::test {

struct SectionSpec {
  std::string name;
  std::uint32_t virtual_size;
  std::uint32_t raw_size;
  std::uint32_t characteristics;
  std::uint8_t fill;  // byte the raw data is filled with
};

struct PeSpec {
  std::uint16_t subsystem = 2;
  std::uint32_t entry_rva = 0x1000;
  std::uint32_t checksum = 0;
  std::vector<SectionSpec> sections = {
      {".text", 0x1800, 0x1800, 0x60000020, 0xCC},
      {".data", 0x0800, 0x0800, 0xC0000040, 0x11},
  };
  std::size_t overlay = 0;  // zero bytes appended after the sections
};

using Buffer = std::vector<std::uint8_t>;

inline void put16(Buffer& b, std::size_t off, std::uint32_t v) {
  b[off] = static_cast<std::uint8_t>(v);
  b[off + 1] = static_cast<std::uint8_t>(v >> 8);
}
inline void put32(Buffer& b, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint32_t get32(const Buffer& b, std::size_t off) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | b[off + i];
  return v;
}

inline constexpr std::size_t kLfanew = 0x80;
inline constexpr std::size_t kOptional = kLfanew + 24;
inline constexpr std::size_t kSectionTable = kOptional + 0xE0;

inline std::uint32_t align_up(std::uint32_t v, std::uint32_t a) { return (v + a - 1) / a * a; }

// A PE32 i386 image: headers in 0x400 bytes, sections packed at 0x200 file alignment and
// 0x1000 section alignment.
inline Buffer build_pe(const PeSpec& spec) {
  std::uint32_t raw = 0x400;
  std::uint32_t va = 0x1000;
  std::vector<std::uint32_t> raw_ptrs, vas;
  for (const auto& s : spec.sections) {
    raw_ptrs.push_back(raw);
    vas.push_back(va);
    raw += align_up(s.raw_size, 0x200);
    va += align_up(s.virtual_size > s.raw_size ? s.virtual_size : s.raw_size, 0x1000);
  }
  Buffer b(raw + spec.overlay, 0);
  b[0] = 'M';
  b[1] = 'Z';
  put16(b, 0x18, 0x40);  // e_lfarlc
  put32(b, 0x3C, kLfanew);
  std::memcpy(&b[kLfanew], "PE\0\0", 4);
  put16(b, kLfanew + 4, 0x14C);
  put16(b, kLfanew + 6, static_cast<std::uint32_t>(spec.sections.size()));
  put16(b, kLfanew + 20, 0xE0);
  put16(b, kLfanew + 22, 0x0102);
  put16(b, kOptional, 0x10B);
  put32(b, kOptional + 16, spec.entry_rva);
  put32(b, kOptional + 28, 0x400000);
  put32(b, kOptional + 32, 0x1000);
  put32(b, kOptional + 36, 0x200);
  put32(b, kOptional + 56, va);     // SizeOfImage
  put32(b, kOptional + 60, 0x400);  // SizeOfHeaders
  put32(b, kOptional + 64, spec.checksum);
  put16(b, kOptional + 68, spec.subsystem);
  put32(b, kOptional + 92, 16);
  for (std::size_t i = 0; i < spec.sections.size(); ++i) {
    const auto& s = spec.sections[i];
    const std::size_t h = kSectionTable + 40 * i;
    std::memcpy(&b[h], s.name.data(), s.name.size() < 8 ? s.name.size() : 8);
    put32(b, h + 8, s.virtual_size);
    put32(b, h + 12, vas[i]);
    put32(b, h + 16, align_up(s.raw_size, 0x200));
    put32(b, h + 20, raw_ptrs[i]);
    put32(b, h + 36, s.characteristics);
    std::memset(&b[raw_ptrs[i]], s.fill, align_up(s.raw_size, 0x200));
  }
  return b;
}

// The section-4 body markers, written at `b` of `file` (the rest of the 0x1003 bytes stays zero).
inline void write_body_markers(Buffer& file, std::size_t b) {
  const std::uint8_t mz[] = {0x4D, 0x5A, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04,
                             0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0xB8, 0x00};
  const std::uint8_t dos[] = {0x0E, 0x1F, 0xBA, 0x10, 0x00, 0xB4, 0x09, 0xCD,
                              0x21, 0xB0, 0xF0, 0xE6, 0x64, 0xEB, 0xFE, 0x90};
  const char text[] = "~Fun Loving Criminal~\r\r\n$";
  const std::uint8_t pe[] = {0x50, 0x45, 0x00, 0x00, 0x4C, 0x01, 0x01, 0x00};
  const std::uint8_t code[] = {0xE8, 0xAA, 0x08, 0x00, 0x00, 0x8D, 0xB3, 0xA7,
                               0x0B, 0x00, 0x00, 0x8B, 0x3C, 0x24, 0x83};
  std::memcpy(&file[b], mz, sizeof mz);
  put32(file, b + 0x3C, 0x80);
  std::memcpy(&file[b + 0x40], dos, sizeof dos);
  std::memcpy(&file[b + 0x50], text, sizeof text - 1);
  std::memcpy(&file[b + 0x80], pe, sizeof pe);
  std::memcpy(&file[b + 0x200], code, sizeof code);
}

struct Infection {
  Buffer file;
  std::size_t body_offset = 0;  // B
  std::size_t entry_offset = 0;
};

// Infection-model sections 2-4, applied to a PE built by build_pe. Precondition: the entry point
// lies in the raw data of section 0 (build_pe's default); anything else throws, so a test that
// breaks the precondition fails loudly instead of reading past the host buffer.
inline Infection infect(const Buffer& host) {
  {
    const std::uint32_t ep = get32(host, kOptional + 16), va0 = get32(host, kSectionTable + 12);
    const std::uint32_t raw0 = get32(host, kSectionTable + 16);
    if (ep < va0 || ep - va0 + 8 > raw0)
      throw std::logic_error("infect(): entry point not inside section 0's raw data");
  }
  Infection out;
  Buffer f = host;
  const std::size_t size = f.size();
  const std::uint16_t nsec = static_cast<std::uint16_t>(f[kLfanew + 6] | (f[kLfanew + 7] << 8));
  const std::size_t last = kSectionTable + 40 * (nsec - 1u);
  const std::uint32_t l_vsize = get32(f, last + 8), l_va = get32(f, last + 12), l_ptr = get32(f, last + 20);
  std::uint32_t base =
      size < l_ptr ? l_vsize : std::max<std::uint32_t>(l_vsize, static_cast<std::uint32_t>(size - l_ptr));
  const std::uint32_t a = align_up(base, 0x1000);
  const std::size_t b = l_ptr + a;
  f.resize(b + 0x1003, 0);
  put32(f, last + 16, a + 0x1000);
  put32(f, last + 8, a + 0x4000);
  put32(f, kOptional + 56, l_va + a + 0x4000);
  put32(f, last + 36, (get32(f, last + 36) | 0x8C000000u) & ~0x12000000u);
  const std::uint32_t ep = get32(f, kOptional + 16);
  // Entry section: the first one here (build_pe puts the EP in section 0).
  put32(f, kSectionTable + 36, get32(f, kSectionTable + 36) | 0x80000000u);
  const std::size_t ep_off = get32(f, kSectionTable + 20) + (ep - get32(f, kSectionTable + 12));
  write_body_markers(f, b);
  std::memcpy(&f[b + 0xBA7], &host[ep_off], 8);
  const std::uint32_t target = l_va + a + 0x200;
  f[ep_off] = 0x90;
  f[ep_off + 1] = 0x90;
  f[ep_off + 2] = 0x65;
  f[ep_off + 3] = 0xE8;
  put32(f, ep_off + 4, target - (ep + 8));
  out.file = std::move(f);
  out.body_offset = b;
  out.entry_offset = ep_off;
  return out;
}

}  // namespace flscan::test
