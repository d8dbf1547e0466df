#include "engine/funlove.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <string>

#include "engine/hex_text.h"
#include "engine/limits.h"
#include "engine/sparse_file.h"

namespace flscan::funlove {
namespace {

using Bytes = std::span<const std::uint8_t>;

// Body markers, infection-model section 4 (offsets from B).
constexpr std::array<std::uint8_t, 18> kBodyMz = {0x4D, 0x5A, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04,
                                                  0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0xB8, 0x00};
constexpr std::array<std::uint8_t, 4> kBodyLfanew = {0x80, 0x00, 0x00, 0x00};
constexpr std::array<std::uint8_t, 16> kBodyDosStub = {0x0E, 0x1F, 0xBA, 0x10, 0x00, 0xB4, 0x09, 0xCD,
                                                       0x21, 0xB0, 0xF0, 0xE6, 0x64, 0xEB, 0xFE, 0x90};
constexpr std::string_view kMarkerString = "~Fun Loving Criminal~";
constexpr std::array<std::uint8_t, 8> kBodyPeHeader = {0x50, 0x45, 0x00, 0x00, 0x4C, 0x01, 0x01, 0x00};
constexpr std::array<std::uint8_t, 15> kBodyCode = {0xE8, 0xAA, 0x08, 0x00, 0x00, 0x8D, 0xB3, 0xA7,
                                                    0x0B, 0x00, 0x00, 0x8B, 0x3C, 0x24, 0x83};
// Entry-point stub, section 3: nop; nop; gs: call rel32.
constexpr std::array<std::uint8_t, 4> kStubPrefix = {0x90, 0x90, 0x65, 0xE8};

constexpr std::uint64_t kBodyLfanewOffset = 0x3C;
constexpr std::uint64_t kBodyDosStubOffset = 0x40;
constexpr std::uint64_t kPageSize = 0x1000;
constexpr std::uint32_t kFlagsSet = 0x8C000000;    // write, not-paged, not-cached (section 2)
constexpr std::uint32_t kFlagsClear = 0x12000000;  // shared, discardable (section 2)

// The dropper's header fingerprint, section 6.
constexpr std::uint64_t kDropperBodyOffset = 0x200;  // its `.code` section holds a body from here

Bytes bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::string hex_bytes(ByteView view) {
  std::string out;
  for (std::size_t i = 0; i < view.size(); ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, i == 0 ? "%02X" : " %02X", view.data()[i]);
    out += buf;
  }
  return out;
}

Finding make(FindingKind kind, std::string rule, Confidence confidence, std::string evidence, std::uint64_t offset) {
  Finding f;
  f.kind = kind;
  f.severity = severity_of(kind);
  f.rule = std::move(rule);
  f.name = "W32.FunLove.4099";
  f.confidence = confidence;
  f.evidence = std::move(evidence);
  f.offset = offset;
  return f;
}

// Which of the section-4 markers are present at a candidate body offset.
struct BodyMarkers {
  bool mz = false, lfanew = false, dos_stub = false, string = false, pe_header = false, code = false;
  [[nodiscard]] bool core() const { return mz && string && code; }  // the model's "infected" triple
  [[nodiscard]] bool any() const { return mz || lfanew || dos_stub || string || pe_header || code; }
  [[nodiscard]] std::string describe() const {
    std::string out;
    auto add = [&](bool present, const char* what) {
      out += out.empty() ? "" : ", ";
      out += what;
      out += present ? " present" : " MISSING";
    };
    add(mz, "MZ header at B");
    add(string, "'~Fun Loving Criminal~' at B+0x50");
    add(pe_header, "PE header at B+0x80");
    add(code, "code at B+0x200");
    return out;
  }
};

template <typename F>
BodyMarkers markers_at(const F& file, std::uint64_t b) {
  BodyMarkers m;
  m.mz = file.equals_at(b, kBodyMz);
  m.lfanew = file.equals_at(b + kBodyLfanewOffset, kBodyLfanew);
  m.dos_stub = file.equals_at(b + kBodyDosStubOffset, kBodyDosStub);
  m.string = file.equals_at(b + kBodyStringOffset, bytes(kMarkerString));
  m.pe_header = file.equals_at(b + kBodyPeHeaderOffset, kBodyPeHeader);
  m.code = file.equals_at(b + kBodyCodeOffset, kBodyCode);
  return m;
}

// The last-section geometry of section 2, checked for a given body offset B.
struct GeometryCheck {
  bool a_aligned = false;      // A = B - L.PointerToRawData is a multiple of 0x1000
  bool raw_size = false;       // L.SizeOfRawData == A + 0x1000
  bool virtual_size = false;   // L.VirtualSize == A + 0x4000
  bool size_of_image = false;  // SizeOfImage == L.VirtualAddress + A + 0x4000
  bool flags = false;          // L.Characteristics has 0x8C000000 and not 0x12000000
  bool ends_at_body = false;   // file size == B + 0x1003
  [[nodiscard]] int score() const {
    return int{a_aligned} + int{raw_size} + int{virtual_size} + int{size_of_image} + int{flags};
  }
  [[nodiscard]] bool structural() const { return a_aligned && raw_size; }
  [[nodiscard]] std::string describe(std::uint64_t a) const {
    std::string out = "A=" + hex(a);
    out += a_aligned ? " (page-aligned)" : " (NOT page-aligned)";
    out += raw_size ? "; SizeOfRawData=A+0x1000" : "; SizeOfRawData != A+0x1000";
    out += virtual_size ? "; VirtualSize=A+0x4000" : "; VirtualSize != A+0x4000";
    out += size_of_image ? "; SizeOfImage matches" : "; SizeOfImage differs";
    out += flags ? "; last-section flags |0x8C000000" : "; last-section flags unchanged";
    return out;
  }
};

GeometryCheck check_geometry(const pe::Image& image, std::uint64_t b) {
  GeometryCheck g;
  const pe::Section* last = image.last_section();
  if (last == nullptr || b < last->pointer_to_raw_data) return g;
  const std::uint64_t a = b - last->pointer_to_raw_data;
  g.a_aligned = a % kPageSize == 0;
  g.raw_size = last->size_of_raw_data == a + 0x1000;
  g.virtual_size = last->virtual_size == a + 0x4000;
  g.size_of_image = image.size_of_image == std::uint64_t{last->virtual_address} + a + 0x4000;
  g.flags = (last->characteristics & kFlagsSet) == kFlagsSet && (last->characteristics & kFlagsClear) == 0;
  g.ends_at_body = image.file_size == b + kBodySize;
  return g;
}

struct Stub {
  std::uint64_t entry_offset = 0;
  std::uint64_t target_rva = 0;
};

template <typename F>
std::optional<Stub> read_stub(const F& file, const pe::Image& image) {
  const auto entry = image.entry_offset();
  if (!entry || !file.equals_at(*entry, kStubPrefix)) return std::nullopt;
  const auto rel32 = file.u32le(*entry + 4);
  if (!rel32) return std::nullopt;
  // The call's target: address after the 8-byte stub plus the signed displacement, mod 2^32.
  const std::uint32_t target = image.address_of_entry_point + 8u + *rel32;
  return Stub{*entry, target};
}

// Where the stub's call lands, in the body's terms: L.VirtualAddress + A + 0x200 (section 3), so
// B = L.PointerToRawData + A. Nothing when the call does not land in the last section's body.
std::optional<std::uint64_t> body_offset_for(const pe::Image& image, const Stub& stub) {
  const pe::Section* last = image.last_section();
  if (last == nullptr || stub.target_rva < std::uint64_t{last->virtual_address} + kBodyCodeOffset) return std::nullopt;
  const std::uint64_t a = stub.target_rva - last->virtual_address - kBodyCodeOffset;
  return std::uint64_t{last->pointer_to_raw_data} + a;
}

// Infection-model section 6: FLCSS.EXE is a 0x200-byte header plus a body in one `.code` section.
template <typename F>
std::optional<Finding> detect_dropper(const F& file, const pe::Image& image) {
  const BodyMarkers body = markers_at(file, kDropperBodyOffset);
  if (!(body.string && body.code)) return std::nullopt;
  const bool single_code_section = image.sections.size() == 1 && image.sections[0].name == ".code";
  const pe::Section* s = single_code_section ? &image.sections[0] : nullptr;
  const bool header_exact = s != nullptr && image.e_lfanew == 0x80 && image.machine == 0x14C &&
                            s->virtual_size == 0x4000 && s->virtual_address == 0x1000 &&
                            s->size_of_raw_data == 0x1000 && s->pointer_to_raw_data == 0x200 &&
                            s->characteristics == 0xC0000020 && image.characteristics == 0x010E &&
                            image.subsystem == 2 && image.size_of_image == 0x5000;
  const bool header_string = file.equals_at(kBodyStringOffset, bytes(kMarkerString));
  std::string evidence = "'~Fun Loving Criminal~' at 0x250 and FunLove code at 0x400";
  evidence += header_string ? "; string also at 0x50" : "";
  evidence += header_exact ? "; header fingerprint matches FLCSS.EXE (one .code section, VA 0x1000, raw 0x200+0x1000, "
                             "SizeOfImage 0x5000)"
                           : (single_code_section ? "; one .code section, header differs from FLCSS.EXE in some fields"
                                                  : "; section layout differs from FLCSS.EXE");
  evidence += "; size " + hex(file.size()) + (file.size() == kDropperSize ? " (= FLCSS.EXE's 0x1200)" : "");
  const Confidence confidence = header_exact || single_code_section ? Confidence::high : Confidence::medium;
  return make(FindingKind::dropper, "funlove.dropper", confidence, std::move(evidence), kDropperBodyOffset);
}

// Infection-model sections 2-5: classify a PE with an entry-point stub.
template <typename F>
std::optional<Finding> detect_stub_infection(const F& file, const pe::Image& image, const Stub& stub, Result& result) {
  const pe::Section* last = image.last_section();
  const std::uint64_t stub_text_offset = stub.entry_offset;
  const std::string stub_text = "stub " + hex_bytes(file.clip(stub_text_offset, kStubSize)) + " at entry point (RVA " +
                                hex(image.address_of_entry_point) + ", offset " + hex(stub.entry_offset) +
                                ") calls RVA " + hex(stub.target_rva);
  const auto body_offset = body_offset_for(image, stub);
  if (!body_offset) {
    return make(FindingKind::decoy, "funlove.decoy.stub", Confidence::low,
                stub_text + ", which is not in the last section: not FunLove's call into its body", stub.entry_offset);
  }
  const std::uint64_t b = *body_offset;
  const std::uint64_t a = b - last->pointer_to_raw_data;
  const BodyMarkers body = markers_at(file, b);
  const GeometryCheck geometry = check_geometry(image, b);
  result.geometry = Geometry{b, stub.entry_offset, stub.target_rva};
  std::string evidence =
      stub_text + " = body code at B+0x200 with B=" + hex(b) + "; " + body.describe() + "; " + geometry.describe(a);
  if (auto saved = file.sub(b + kSavedHostBytesOffset, kStubSize)) {
    evidence += "; saved host bytes at B+0xBA7: " + hex_bytes(*saved);
  }
  const bool body_complete = file.contains(b, kBodySize);
  if (body.core() && body_complete) {
    if (!geometry.ends_at_body) evidence += "; file size " + hex(file.size()) + " != B+0x1003 (data after the body)";
    return make(FindingKind::infected, "funlove.infected", Confidence::high, std::move(evidence), b);
  }
  if (body.any() || geometry.structural() || b >= file.size()) {
    evidence += body_complete ? "; body present but incomplete"
                              : "; body truncated: file ends at " + hex(file.size()) + ", before B+0x1003";
    return make(FindingKind::damaged, "funlove.damaged", body.any() ? Confidence::high : Confidence::medium,
                std::move(evidence), b);
  }
  result.geometry.reset();
  return make(FindingKind::decoy, "funlove.decoy.stub", Confidence::low,
              evidence + ": no body and no FunLove geometry where the call lands", stub.entry_offset);
}

// Section 5 "remnant": an old Norton repair zeroed the 4099 viral bytes and restored the entry
// point, leaving the section-2 geometry. Also a body left behind whose stub was removed.
template <typename F>
std::optional<Finding> detect_remnant(const F& file, const pe::Image& image, Result& result) {
  if (file.size() < kBodySize || image.last_section() == nullptr) return std::nullopt;
  const std::uint64_t b = file.size() - kBodySize;
  const GeometryCheck geometry = check_geometry(image, b);
  if (!geometry.structural()) return std::nullopt;
  const std::uint64_t a = b - image.last_section()->pointer_to_raw_data;
  const BodyMarkers body = markers_at(file, b);
  if (file.all_zero(b, kBodySize)) {
    result.geometry = Geometry{b, image.entry_offset().value_or(0), 0};
    return make(FindingKind::remnant, "funlove.remnant", geometry.score() >= 4 ? Confidence::high : Confidence::medium,
                "no entry-point stub; the last 4099 bytes (from B=" + hex(b) +
                    ") are zero and the last section keeps FunLove's geometry (" + geometry.describe(a) +
                    "): a repaired file, not infected",
                b);
  }
  if (body.any()) {
    result.geometry = Geometry{b, image.entry_offset().value_or(0), 0};
    return make(FindingKind::remnant, "funlove.remnant.body", Confidence::medium,
                "FunLove body at B=" + hex(b) + " (" + body.describe() + ") with FunLove geometry (" +
                    geometry.describe(a) + "), but the entry point does not call it: inert, not infected",
                b);
  }
  return std::nullopt;
}

// Section 5 "inoculated": a clean PE padded with zeros so its size % 256 == 3 (later Norton
// repairs do this on purpose). About 1 in 256 clean files have that size by chance, so only a
// zero-filled overlay counts as padding.
template <typename F>
std::optional<Finding> detect_inoculation(const F& file, const pe::Image& image) {
  if (file.size() % 256 != 3) return std::nullopt;
  const std::uint64_t overlay = image.overlay_size();
  if (overlay == 0 || !file.all_zero(file.size() - overlay, overlay)) return std::nullopt;
  return make(FindingKind::inoculated, "funlove.inoculated", Confidence::medium,
              "size " + hex(file.size()) + " % 256 == 3 (FunLove's 'already infected' marker) reached with " +
                  std::to_string(overlay) +
                  " zero bytes after the last section: inoculated, never an infection on its own",
              file.size() - overlay);
}

template <typename F>
std::optional<Finding> detect_string_decoy(const F& file) {
  const auto hit = file.find(bytes(kMarkerString));
  if (!hit) return std::nullopt;
  return make(FindingKind::decoy, "funlove.decoy.string", Confidence::low,
              "'~Fun Loving Criminal~' at offset " + hex(*hit) +
                  " outside any FunLove body: the string alone is not an infection",
              *hit);
}

// Section 7 patch tables.
struct PatchPattern {
  const char* windows;
  std::array<std::uint8_t, 9> original;
  std::array<std::uint8_t, 9> patched;
  std::size_t length;
};
constexpr std::array<PatchPattern, 2> kKernelPatches = {{
    {"NT4",
     {0x8A, 0xC3, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00},
     {0xB0, 0x01, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28, 0x00},
     9},
    {"2000",
     {0x8A, 0x45, 0x14, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28},
     {0xB0, 0x01, 0x90, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x28},
     9},
}};
constexpr std::array<PatchPattern, 2> kLoaderPatches = {{
    {"NT4", {0x3B, 0x46, 0x58, 0x74, 0x07}, {0x3B, 0x46, 0x58, 0xEB, 0x07}, 5},
    {"2000", {0x3B, 0x47, 0x58, 0x74, 0x07}, {0x3B, 0x47, 0x58, 0xEB, 0x07}, 5},
}};

// Where one section-7 pattern occurs in the searched bytes: the first intact original, and the
// patched-looking sequences before it (all of them when there is no original), which are the only
// places the virus's patch can be: it overwrites the FIRST original and stops.
struct PatternSearch {
  std::optional<std::uint64_t> first_original;
  std::vector<std::uint64_t> candidates;             // up to limits::kMaxKernelPatchCandidates
  bool more_candidates = false;                      // the cap was reached
  std::optional<std::uint64_t> first_patched_after;  // a patched-looking sequence after the original
};

PatternSearch search_pattern(ByteView searched, const PatchPattern& p, std::size_t max_candidates) {
  PatternSearch s;
  const Bytes original(p.original.data(), p.length);
  const Bytes patched(p.patched.data(), p.length);
  if (auto at = searched.find(original)) s.first_original = *at;
  std::size_t from = 0;
  while (auto at = searched.find(patched, from)) {
    if (s.first_original && *at > *s.first_original) {
      s.first_patched_after = *at;
      break;
    }
    if (s.candidates.size() == max_candidates) {
      s.more_candidates = true;
      break;
    }
    s.candidates.push_back(*at);
    from = *at + 1;
  }
  return s;
}

std::string pattern_text(const PatchPattern& p, bool patched) {
  return std::string("Windows ") + p.windows + (patched ? " patched" : " original") + " SeAccessCheck bytes " +
         hex_bytes(ByteView((patched ? p.patched : p.original).data(), p.length));
}

// Section 7, "only an NT kernel counts": a PE of the native subsystem (a kernel runs below every
// Win32 subsystem) that is not a Wine builtin. Wine ships a file named ntoskrnl.exe (Debian libwine
// 8.0: Subsystem 3, IMAGE_FILE_DLL, a stale CheckSum) and stamps "Wine builtin DLL" (or
// "Wine placeholder DLL") into the DOS stub after linking.
constexpr std::uint16_t kSubsystemNative = 1;
constexpr std::uint64_t kDosStubOffset = 0x40;
constexpr std::array<std::string_view, 2> kWineMarkers = {"Wine builtin DLL", "Wine placeholder DLL"};

bool is_nt_kernel(ByteView file, const pe::Image& image) {
  if (image.subsystem != kSubsystemNative) return false;
  // The DOS stub lies between the DOS header and the PE header (e_lfanew <= limits::kMaxLfanew).
  const ByteView stub =
      image.e_lfanew > kDosStubOffset ? file.clip(kDosStubOffset, image.e_lfanew - kDosStubOffset) : ByteView();
  return std::none_of(kWineMarkers.begin(), kWineMarkers.end(),
                      [&](std::string_view marker) { return stub.find(bytes(marker)).has_value(); });
}

// Section 7 on ntoskrnl.exe / ntkrnlmp.exe. FunLove overwrites the first original SeAccessCheck
// sequence and never fixes the PE checksum, so a patched-looking sequence is the virus's patch
// exactly when putting the original bytes back there gives the header's (non-zero) CheckSum. An
// intact original before it, a checksum that matches as the file stands, or CheckSum 0 rule it
// out. A checksum mismatch the patch does not explain is a modified kernel (suspicious), never
// FunLove evidence (issue 12).
std::optional<Finding> detect_kernel(ByteView file, const pe::Image* image) {
  if (image == nullptr || !is_nt_kernel(file, *image)) return std::nullopt;
  const ByteView searched = file.clip(0, limits::kMaxKernelSearchBytes);
  const std::uint32_t header = image->checksum;
  const pe::Checksum sum(file, image->checksum_offset);
  const std::uint32_t as_is = sum.value();
  const bool mismatch = header != 0 && as_is != header;
  const std::string checksum_text = "PE checksum in header " + hex(header) + ", recomputed " + hex(as_is) +
                                    (header == 0 ? " (CheckSum 0: not set)"
                                     : mismatch  ? " (MISMATCH)"
                                                 : " (matches)");
  std::string notes;  // patched-looking bytes ruled out, for the evidence of a kernel-modified finding
  std::optional<Finding> unconfirmed;
  for (const PatchPattern& p : kKernelPatches) {
    const PatternSearch s = search_pattern(searched, p, limits::kMaxKernelPatchCandidates);
    if (s.candidates.empty()) {
      if (s.first_patched_after) {
        notes += "; " + pattern_text(p, true) + " at " + hex(*s.first_patched_after) +
                 " follow the intact original at " + hex(*s.first_original) +
                 ": not FunLove's patch, which overwrites the first original";
      }
      continue;
    }
    const std::string first = pattern_text(p, true) + " at " + hex(s.candidates.front());
    if (header == 0) {
      // Nothing to undo the patch against: an NT kernel is always checksummed (NTLDR checks it),
      // so the bytes can be neither confirmed nor ruled out. Suspicious, not FunLove evidence.
      if (!unconfirmed) {
        unconfirmed = make(
            FindingKind::kernel_modified, "funlove.kernel.unconfirmed", Confidence::medium,
            first +
                (s.first_original ? " before the first intact original at " + hex(*s.first_original) : std::string()) +
                "; " + checksum_text +
                ": a Windows NT kernel is always checksummed, so the patch can be neither confirmed "
                "nor ruled out and this is not counted as FunLove evidence",
            s.candidates.front());
      }
      continue;
    }
    if (!mismatch) {
      notes += "; " + first + ", but the checksum matches the file as it stands" +
               ": not FunLove's patch, which never fixes the checksum of a signed kernel";
      continue;
    }
    for (const std::uint64_t at : s.candidates) {
      const std::uint32_t undone = sum.with_bytes(at, ByteView(p.original.data(), p.length));
      if (undone != header) continue;
      return make(
          FindingKind::kernel_patched, "funlove.kernel.patched", Confidence::high,
          "SeAccessCheck patched: " + pattern_text(p, true) + " at offset " + hex(at) +
              (s.first_original ? ", before the first intact original at " + hex(*s.first_original)
                                : std::string(", no intact original")) +
              "; " + checksum_text + "; with the original bytes put back the checksum is " + hex(undone) +
              " = the header's: a correctly signed kernel plus FunLove's patch; replace from clean media (Q287664)",
          at);
    }
    if (!unconfirmed) {
      unconfirmed = make(
          FindingKind::kernel_modified, "funlove.kernel.unconfirmed", Confidence::medium,
          first +
              (s.first_original ? " before the first intact original at " + hex(*s.first_original) : std::string()) +
              "; " + checksum_text + "; putting the original bytes back at " +
              (s.more_candidates ? "the first " + std::to_string(s.candidates.size()) + " such offsets"
                                 : std::to_string(s.candidates.size()) + " such offset(s)") +
              " does not give the header's checksum either: the kernel was changed by more than FunLove's "
              "2-byte patch, so the patch is not confirmed and this is not counted as FunLove evidence",
          s.candidates.front());
    }
  }
  if (unconfirmed) {
    unconfirmed->evidence += notes;
    return unconfirmed;
  }
  if (!mismatch) return std::nullopt;
  return make(FindingKind::kernel_modified, "funlove.kernel.checksum", Confidence::medium,
              checksum_text + notes +
                  "; no FunLove patch explains the difference: the kernel was modified after it was built "
                  "(not FunLove evidence)",
              image->checksum_offset);
}

// Section 7 on NTLDR: not a PE, no checksum. The virus patches the first original sequence, so the
// first occurrence of either sequence decides: patched bytes after an intact original are not its.
std::optional<Finding> detect_loader(ByteView file) {
  const ByteView searched = file.clip(0, limits::kMaxKernelSearchBytes);
  for (const PatchPattern& p : kLoaderPatches) {
    const PatternSearch s = search_pattern(searched, p, 1);
    if (s.candidates.empty()) continue;
    const std::uint64_t at = s.candidates.front();
    return make(FindingKind::loader_patched, "funlove.loader.patched", Confidence::high,
                std::string("kernel checksum check skipped (Windows ") + p.windows + " pattern " +
                    hex_bytes(ByteView(p.patched.data(), p.length)) + ") at offset " + hex(at) +
                    (s.first_original ? ", before the first intact original at " + hex(*s.first_original)
                                      : std::string(", no intact original")) +
                    "; replace NTLDR from clean media",
                at);
  }
  return std::nullopt;
}

}  // namespace

ByteView marker_string() { return ByteView(bytes(kMarkerString)); }

FileRole role_for_name(std::string_view filename) {
  std::string lower(filename);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "ntoskrnl.exe" || lower == "ntkrnlmp.exe") return FileRole::kernel;
  if (lower == "ntldr") return FileRole::loader;
  return FileRole::ordinary;
}

namespace {

// Every check that reads only fixed windows (and the two whole-file facts SparseFile keeps).
template <typename F>
void detect_infection_states(const F& file, const pe::Image& image, Result& result) {
  auto add = [&](std::optional<Finding> f) {
    if (f) result.findings.push_back(std::move(*f));
  };
  if (auto dropper = detect_dropper(file, image)) {
    add(std::move(dropper));
    return;
  }
  std::optional<Finding> infection;
  if (auto stub = read_stub(file, image)) infection = detect_stub_infection(file, image, *stub, result);
  const bool decided = infection && infection->kind != FindingKind::decoy;
  if (!decided) {
    if (auto remnant = detect_remnant(file, image, result)) infection = std::move(remnant);
  }
  if (!infection) infection = detect_inoculation(file, image);
  if (!infection) infection = detect_string_decoy(file);
  add(std::move(infection));
}

void sort_findings(Result& result) {
  std::stable_sort(result.findings.begin(), result.findings.end(),
                   [](const Finding& x, const Finding& y) { return stronger(x.kind, y.kind); });
}

}  // namespace

Result detect(ByteView file, const pe::Image* image, FileRole role) {
  Result result;
  auto add = [&](std::optional<Finding> f) {
    if (f) result.findings.push_back(std::move(*f));
  };
  if (role == FileRole::kernel) add(detect_kernel(file, image));
  if (role == FileRole::loader) add(detect_loader(file));
  if (image == nullptr) return result;
  detect_infection_states(file, *image, result);
  sort_findings(result);
  return result;
}

Result detect(const SparseFile& file, const pe::Image* image) {
  Result result;
  if (image == nullptr) return result;
  detect_infection_states(file, *image, result);
  sort_findings(result);
  return result;
}

std::vector<KeptRange> ranges_to_keep(const pe::Image& image, ByteView entry_bytes) {
  std::vector<KeptRange> out;
  const std::uint64_t size = image.file_size;
  // The dropper's fingerprint (header string at 0x50, body from 0x200).
  out.push_back({0, kDropperBodyOffset + kBodySize});
  if (const auto entry = image.entry_offset()) {
    out.push_back({*entry, kStubSize});
    const SparseFile ep(size,
                        {SparseFile::Range{*entry, std::vector<std::uint8_t>(entry_bytes.data(),
                                                                             entry_bytes.data() + entry_bytes.size())}},
                        std::nullopt, {}, std::nullopt);
    if (const auto stub = read_stub(ep, image)) {
      if (const auto b = body_offset_for(image, *stub)) out.push_back({*b, kBodySize});
    }
  }
  // The remnant check reads the last 0x1003 bytes.
  if (size >= kBodySize) out.push_back({size - kBodySize, kBodySize});
  return out;
}

}  // namespace flscan::funlove
