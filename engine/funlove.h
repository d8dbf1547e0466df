// The structural W32.FunLove.4099 detector: infection-model sections 2-5 (file infection and
// the dropper) and section 7 (kernel and loader patch). It reads a few fixed windows of the file
// at offsets the model's geometry fixes; it never depends on file names, sizes or the virus's
// own infection filters (section 1), except that kernel/loader checks are asked for by role.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/byte_view.h"
#include "engine/finding.h"
#include "engine/pe.h"
#include "engine/sparse_file.h"

namespace flscan::funlove {

// Layout constants from infection-model sections 2-4, 6.
inline constexpr std::uint64_t kBodySize = 0x1003;        // 4096 + 3 trailing bytes
inline constexpr std::uint64_t kBodyStringOffset = 0x50;  // "~Fun Loving Criminal~"
inline constexpr std::uint64_t kBodyPeHeaderOffset = 0x80;
inline constexpr std::uint64_t kBodyCodeOffset = 0x200;
inline constexpr std::uint64_t kSavedHostBytesOffset = 0xBA7;
inline constexpr std::uint64_t kStubSize = 8;
inline constexpr std::uint64_t kDropperSize = 0x1200;

// What the scanner knows about a file's place on a Windows system, from its name alone.
// Kernel and loader checks compare against bytes that also occur in unrelated programs, so they
// run only on files that play that role (infection-model section 7).
enum class FileRole { ordinary, kernel, loader };

// The role a file plays, from its base name (case-insensitive): ntoskrnl.exe and ntkrnlmp.exe
// are kernels, ntldr is the loader (section 7 names exactly these), anything else is ordinary.
[[nodiscard]] FileRole role_for_name(std::string_view filename);

// Where an infection's pieces are in this file (filled for infected, damaged and remnant).
struct Geometry {
  std::uint64_t body_offset = 0;      // B
  std::uint64_t entry_offset = 0;     // file offset of the entry point
  std::uint64_t call_target_rva = 0;  // where the EP stub's call lands
};

struct Result {
  std::vector<Finding> findings;
  std::optional<Geometry> geometry;
};

// Runs every check that applies. `image` is the parsed PE or nullptr when the file is not one
// (NTLDR is not a PE; a file whose PE headers are malformed can still be a damaged infection).
[[nodiscard]] Result detect(ByteView file, const pe::Image* image, FileRole role);

// The same checks on a streamed file (ordinary role only: kernel and loader files are always held
// whole, their patch search reads every byte). `file` must keep the ranges ranges_to_keep() names;
// check file.missed() afterwards.
[[nodiscard]] Result detect(const SparseFile& file, const pe::Image* image);

// A byte range [offset, offset + length) of the file (clipped to its end by the reader).
struct KeptRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// The ranges detect(SparseFile) reads for this image, given the bytes at its entry point
// (entry_bytes: up to kStubSize bytes from image.entry_offset(), fewer at the end of the file).
// Besides these it needs the last non-zero byte of the file and the first offset of
// kMarkerString() (SparseFile keeps both).
[[nodiscard]] std::vector<KeptRange> ranges_to_keep(const pe::Image& image, ByteView entry_bytes);

// "~Fun Loving Criminal~", the string the decoy check searches the whole file for.
[[nodiscard]] ByteView marker_string();

}  // namespace flscan::funlove
