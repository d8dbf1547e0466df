// Disinfection of one W32.FunLove.4099-infected PE image, as infection-model section 9 describes:
// the 8 saved bytes at B+0xBA7 go back to the entry point, L.SizeOfRawData -= 0x1000, the file is
// cut at B, and the PE checksum is recomputed when the header's was non-zero. Bytes in, bytes out:
// no filesystem (the scanner's quarantine decides whether and where the result is written).
//
// The input is attacker-crafted, so nothing the detector reported is taken on trust: every offset
// is re-derived from the file's own headers and stub and must agree with the geometry passed in,
// and the image must fit sections 2-4 exactly (stub, call target, A page-aligned, the four header
// fields the virus sets, all section-4 body markers, file size B + 0x1003, nothing else of the
// image at or past B). Anything else is refused with a reason: a damaged body (section 5) keeps
// no trustworthy saved bytes, and a repair of a file that does not match the model could destroy
// the program instead of cleaning it.
//
// What section 9 cannot restore stays as the virus left it: the last section's VirtualSize and
// flags, the entry section's flags, SizeOfImage and the zero padding between the original end of
// file and B (so L.SizeOfRawData stays A, which includes that padding).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "engine/byte_view.h"
#include "engine/funlove.h"
#include "engine/pe.h"

namespace flscan::repair {

struct Repaired {
  std::vector<std::uint8_t> bytes;               // the disinfected file, bytes.size() == body_offset
  std::uint64_t body_offset = 0;                 // B: where the infected file was cut
  std::uint64_t entry_offset = 0;                // file offset the saved bytes went back to
  std::array<std::uint8_t, 8> restored_bytes{};  // the 8 bytes taken from B+0xBA7
  std::uint32_t last_section_raw_size = 0;       // L.SizeOfRawData written (A)
  bool checksum_recomputed = false;              // the header's CheckSum was non-zero
  std::uint32_t checksum = 0;                    // the CheckSum field of the result
};

struct Refusal {
  std::string reason;  // one sentence for people, naming the offset or field that does not fit
};

// Disinfects `file`, an infected image: `image` must be pe::parse(file) and `geometry` the
// detector's Geometry for it (funlove::detect, FileVerdict::geometry). Returns the repaired bytes,
// or a Refusal when the file does not fit the model exactly (see the header comment). Never throws
// for any input; allocates at most file.size() bytes.
[[nodiscard]] tl::expected<Repaired, Refusal> disinfect(ByteView file, const pe::Image& image,
                                                        const funlove::Geometry& geometry);

}  // namespace flscan::repair
