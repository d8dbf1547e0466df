// The section-9 disinfection (engine/repair.h). Expectations come from how each file was made:
// the corpus manifest's made_from (the clean original), repair_of (the corpus builder's own
// section-9 routine) and body_offset; and in memory tests/support/pe_builder.h's infection, an
// implementation of sections 2-4 independent of the engine. Header fields are read here with the
// test's own readers, never with the engine's parser, so a parser bug cannot hide a repair bug.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/funlove.h"
#include "engine/pe.h"
#include "engine/repair.h"
#include "engine/scan.h"
#include "signatures/loader.h"
#include "tests/support/pe_builder.h"

using namespace flscan;
using namespace flscan::test;
using nlohmann::json;

namespace {

const std::string kCorpus = FLSCAN_CORPUS_DIR;

ByteView view(const Buffer& b) { return ByteView(b.data(), b.size()); }

Buffer read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in.good());
  return Buffer(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

json load_manifest() {
  std::ifstream in(kCorpus + "/manifest.json");
  INFO("the corpus is built by the `corpus` target (make test does it)");
  REQUIRE(in.good());
  return json::parse(in);
}

const sig::SignatureSet& builtin() {
  static const sig::SignatureSet set = [] {
    auto loaded = signatures::builtin_signatures();
    REQUIRE(loaded);
    return std::move(*loaded);
  }();
  return set;
}

struct Scanned {
  FileVerdict verdict;
  std::optional<pe::Image> image;
};

Scanned scan(const Buffer& file) {
  FileScanner scanner(builtin());
  Scanned out;
  out.verdict = scanner.scan(view(file), funlove::FileRole::ordinary);
  if (auto image = pe::parse(view(file))) out.image = std::move(*image);
  return out;
}

tl::expected<repair::Repaired, repair::Refusal> disinfect(const Buffer& file) {
  const Scanned s = scan(file);
  REQUIRE(s.image);
  REQUIRE(s.verdict.geometry);
  return repair::disinfect(view(file), *s.image, *s.verdict.geometry);
}

// The test's own header reader: just the offsets section 9 talks about.
struct Headers {
  std::size_t optional = 0;
  std::size_t last_header = 0;
  std::size_t entry_header = 0;
  std::uint32_t last_va = 0, last_raw_ptr = 0;
};

std::uint16_t get16(const Buffer& b, std::size_t off) {
  return static_cast<std::uint16_t>(b.at(off) | b.at(off + 1) << 8);
}

Headers headers(const Buffer& b) {
  Headers h;
  const std::size_t nt = get32(b, 0x3C);
  const std::size_t sections = get16(b, nt + 6);
  h.optional = nt + 24;
  const std::size_t table = h.optional + get16(b, nt + 20);
  h.last_header = table + 40 * (sections - 1);
  h.last_va = get32(b, h.last_header + 12);
  h.last_raw_ptr = get32(b, h.last_header + 20);
  const std::uint32_t entry = get32(b, h.optional + 16);
  for (std::size_t i = 0; i < sections; ++i) {
    const std::size_t at = table + 40 * i;
    const std::uint32_t va = get32(b, at + 12);
    const std::uint32_t extent = std::max(get32(b, at + 8), get32(b, at + 16));
    if (entry >= va && entry - va < extent) {
      h.entry_header = at;
      break;
    }
  }
  return h;
}

// imagehlp's CheckSumMappedFile, written again here.
std::uint32_t pe_checksum(const Buffer& b, std::size_t field) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < b.size(); i += 2) {
    std::uint32_t word = (i >= field && i < field + 4) ? 0 : b[i];
    if (i + 1 < b.size() && !(i + 1 >= field && i + 1 < field + 4)) word |= static_cast<std::uint32_t>(b[i + 1]) << 8;
    sum += word;
    sum = (sum & 0xFFFF) + (sum >> 16);
  }
  return static_cast<std::uint32_t>(((sum & 0xFFFF) + (sum >> 16)) + b.size());
}

// `repaired` against the pre-infection `original`, field by field as infection-model section 9
// says: everything identical except the fields it lists as not restorable (the last section's
// VirtualSize and flags, the entry section's flags, SizeOfImage, the padding: L.SizeOfRawData and
// the zero bytes after the original end of file) and the checksum, recomputed when non-zero.
void check_against_original(const Buffer& repaired, const Buffer& original, std::size_t body_offset) {
  REQUIRE(repaired.size() == body_offset);
  REQUIRE(repaired.size() >= original.size());
  const Headers h = headers(original);
  const std::uint32_t a = static_cast<std::uint32_t>(body_offset - h.last_raw_ptr);
  std::set<std::size_t> not_restorable;
  auto allow = [&](std::size_t at) {
    for (std::size_t i = 0; i < 4; ++i) not_restorable.insert(at + i);
  };
  allow(h.last_header + 8);    // L.VirtualSize
  allow(h.last_header + 16);   // L.SizeOfRawData (includes the padding)
  allow(h.last_header + 36);   // L.Characteristics
  allow(h.entry_header + 36);  // the entry section's Characteristics
  allow(h.optional + 56);      // SizeOfImage
  allow(h.optional + 64);      // CheckSum
  std::size_t differing = 0;
  for (std::size_t i = 0; i < original.size(); ++i) {
    if (repaired[i] == original[i]) continue;
    INFO("byte " << i << " differs outside the fields section 9 cannot restore");
    CHECK(not_restorable.count(i) == 1);
    ++differing;
  }
  CHECK(differing > 0);  // at least the section flags the virus set stay
  for (std::size_t i = original.size(); i < repaired.size(); ++i) {
    if (repaired[i] != 0) FAIL("padding byte " << i << " is not zero");
  }
  // The not-restorable fields hold what the virus wrote (section 2), and L.SizeOfRawData is A.
  CHECK(get32(repaired, h.last_header + 16) == a);
  CHECK(get32(repaired, h.last_header + 8) == a + 0x4000);
  CHECK(get32(repaired, h.optional + 56) == h.last_va + a + 0x4000);
  CHECK(get32(repaired, h.last_header + 36) == ((get32(original, h.last_header + 36) | 0x8C000000u) & ~0x12000000u));
  if (h.entry_header != h.last_header) {
    CHECK(get32(repaired, h.entry_header + 36) == (get32(original, h.entry_header + 36) | 0x80000000u));
  }
  if (get32(original, h.optional + 64) == 0) {
    CHECK(get32(repaired, h.optional + 64) == 0);
  } else {
    CHECK(get32(repaired, h.optional + 64) == pe_checksum(repaired, h.optional + 64));
  }
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("repair: every infected corpus sample is its original again, but for what section 9 cannot restore",
          "[repair][corpus]") {
  const json manifest = load_manifest();
  std::map<std::string, std::string> corpus_repair;  // infected path -> repaired/ path (repair_of)
  for (const json& entry : manifest.at("files")) {
    if (entry.contains("repair_of")) corpus_repair[entry.at("repair_of")] = entry.at("path");
  }
  REQUIRE(corpus_repair.size() >= 3);
  // Two infected samples are refused on purpose (corpus/README.md says how they were made):
  // a last section that was uninitialised-only before the infection, which section 1 says the
  // virus never infects, and whose section-9 repair would map the headers and code into memory
  // the program expects zeroed; and an L.SizeOfRawData raised after the infection.
  const std::map<std::string, std::string> refused = {
      {"infected/gui_bss_last.exe", "inside the headers"},
      {"malformed/infected_last_section_past_eof.exe", "L.SizeOfRawData"},
  };

  std::size_t repaired_count = 0, refused_count = 0, compared_with_corpus_repair = 0;
  for (const json& entry : manifest.at("files")) {
    if (entry.at("expected") != "infected") continue;
    const std::string path = entry.at("path");
    const std::string source = entry.value("copy_of", path);
    INFO(path << " (" << entry.value("how", "") << ")");
    const Buffer infected = read_file(kCorpus + "/" + path);
    const auto result = disinfect(infected);
    if (const auto why = refused.find(source); why != refused.end()) {
      REQUIRE_FALSE(result);
      INFO(result.error().reason);
      CHECK(has(result.error().reason, why->second));
      ++refused_count;
      continue;
    }
    REQUIRE(result);
    ++repaired_count;
    CHECK(result->body_offset == entry.at("body_offset").get<std::size_t>());
    CHECK(result->checksum_recomputed == (get32(infected, headers(infected).optional + 64) != 0));
    check_against_original(result->bytes, read_file(kCorpus + "/" + entry.at("made_from").get<std::string>()),
                           entry.at("body_offset").get<std::size_t>());
    // The corpus builder's own section-9 routine (funlove_synth.make_disinfected) gives the same bytes.
    if (const auto other = corpus_repair.find(source); other != corpus_repair.end()) {
      CHECK(result->bytes == read_file(kCorpus + "/" + other->second));
      ++compared_with_corpus_repair;
    }
    // And the repaired file scans clean: no finding at all, with the built-in signatures.
    const Scanned again = scan(result->bytes);
    CHECK(again.verdict.findings.empty());
  }
  CHECK(refused_count == refused.size());  // each refused sample appears once (no copies of them)
  CHECK(repaired_count >= 11);
  CHECK(compared_with_corpus_repair >= 3);
}

// corpus/README.md: inoculated/gui_sections_repaired.exe is the corpus's section-9 disinfection of
// infected/gui_sections.exe, then padded with zeros to size % 256 == 3 (as later Norton repairs did).
TEST_CASE("repair: the corpus's repaired-then-inoculated sample starts with this repair", "[repair][corpus]") {
  const json manifest = load_manifest();
  bool found = false;
  for (const json& entry : manifest.at("files")) {
    if (entry.at("path") != "inoculated/gui_sections_repaired.exe") continue;
    found = true;
    const auto result = disinfect(read_file(kCorpus + "/infected/gui_sections.exe"));
    REQUIRE(result);
    const Buffer inoculated = read_file(kCorpus + "/inoculated/gui_sections_repaired.exe");
    REQUIRE(inoculated.size() > result->bytes.size());
    CHECK(inoculated.size() - result->bytes.size() < 256);
    CHECK(inoculated.size() % 256 == 3);
    CHECK(std::equal(result->bytes.begin(), result->bytes.end(), inoculated.begin()));
    CHECK(std::all_of(inoculated.begin() + static_cast<std::ptrdiff_t>(result->bytes.size()), inoculated.end(),
                      [](std::uint8_t b) { return b == 0; }));
  }
  CHECK(found);
}

TEST_CASE("repair: damaged corpus samples are refused with a reason", "[repair][corpus]") {
  const json manifest = load_manifest();
  std::size_t checked = 0;
  for (const json& entry : manifest.at("files")) {
    if (entry.at("expected") != "damaged") continue;
    const std::string path = entry.at("path");
    INFO(path << " (" << entry.value("how", "") << ")");
    const auto result = disinfect(read_file(kCorpus + "/" + path));
    REQUIRE_FALSE(result);
    INFO(result.error().reason);
    // Truncated bodies (the manifest says how many body bytes are left) and zeroed markers.
    if (entry.contains("body_bytes_present")) {
      CHECK(has(result.error().reason, "truncated"));
    } else {
      CHECK(has(result.error().reason, "missing"));
      CHECK(has(result.error().reason, "damaged"));
    }
    ++checked;
  }
  CHECK(checked >= 9);
}

TEST_CASE("repair: in-memory infections come back to their hosts", "[repair]") {
  PeSpec with_checksum;
  with_checksum.checksum = 0x1234;  // non-zero: section 9 recomputes it
  PeSpec with_bss_tail;             // padding: the last section's virtual size exceeds its data
  with_bss_tail.sections = {{".text", 0x1000, 0x1000, 0x60000020, 0xCC}, {".data", 0x5000, 0x200, 0xC0000040, 0x11}};
  PeSpec one_section;  // the entry section is the last section
  one_section.sections = {{".text", 0x1800, 0x1800, 0x60000020, 0xCC}};
  PeSpec shared_last;  // the flags the virus clears (shared, discardable)
  shared_last.sections = {{".text", 0x1800, 0x1800, 0x60000020, 0xCC}, {".rsrc", 0x400, 0x400, 0x52000040, 0x22}};
  PeSpec overlay;
  overlay.overlay = 0x123;
  for (const PeSpec& spec : {PeSpec{}, with_checksum, with_bss_tail, one_section, shared_last, overlay}) {
    Buffer host = build_pe(spec);
    for (std::size_t i = 0; i < 8; ++i) host[0x400 + i] = static_cast<std::uint8_t>(0x50 + i);  // distinct EP bytes
    const Infection inf = infect(host);
    const auto result = disinfect(inf.file);
    REQUIRE(result);
    CHECK(result->entry_offset == inf.entry_offset);
    CHECK(std::equal(result->restored_bytes.begin(), result->restored_bytes.end(), host.begin() + 0x400));
    check_against_original(result->bytes, host, inf.body_offset);
    CHECK(scan(result->bytes).verdict.findings.empty());
  }
}

namespace {

// An infected in-memory file and one change to it: disinfect must refuse, naming `why`.
void check_refused(const std::function<void(Buffer&, std::size_t b)>& change, const std::string& why) {
  Buffer host = build_pe(PeSpec{});
  const Infection inf = infect(host);
  Buffer file = inf.file;
  change(file, inf.body_offset);
  const Scanned s = scan(file);
  REQUIRE(s.image);
  // The geometry of the unchanged infection: disinfect re-derives everything from the bytes.
  const std::uint32_t target = get32(file, kOptional + 16) + 8u + get32(inf.file, inf.entry_offset + 4);
  const funlove::Geometry geometry{inf.body_offset, inf.entry_offset, target};
  const auto result = repair::disinfect(view(file), *s.image, geometry);
  INFO("expected a refusal naming: " << why);
  REQUIRE_FALSE(result);
  INFO("refusal: " << result.error().reason);
  CHECK(has(result.error().reason, why));
}

}  // namespace

TEST_CASE("repair: refuses a file that does not fit the model exactly", "[repair][hostile]") {
  const std::size_t last = kSectionTable + 40;
  check_refused([](Buffer& f, std::size_t) { f.push_back(0); }, "follow the body");
  check_refused([](Buffer& f, std::size_t) { f.pop_back(); }, "truncated");
  check_refused([](Buffer& f, std::size_t b) { f[b] = 'X'; }, "MZ header");
  check_refused([](Buffer& f, std::size_t b) { f[b + 0x3C] = 0x81; }, "e_lfanew");
  check_refused([](Buffer& f, std::size_t b) { f[b + 0x40] = 0; }, "DOS stub");
  check_refused([](Buffer& f, std::size_t b) { f[b + 0x50 + 24] = 0; }, "Fun Loving Criminal");
  check_refused([](Buffer& f, std::size_t b) { f[b + 0x81] = 0; }, "PE header");
  check_refused([](Buffer& f, std::size_t b) { f[b + 0x20E] = 0; }, "code start");
  check_refused([&](Buffer& f, std::size_t) { put32(f, last + 16, get32(f, last + 16) + 0x200); }, "L.SizeOfRawData");
  check_refused([&](Buffer& f, std::size_t) { put32(f, last + 8, get32(f, last + 8) - 1); }, "L.VirtualSize");
  check_refused([](Buffer& f, std::size_t) { put32(f, kOptional + 56, get32(f, kOptional + 56) + 0x1000); },
                "SizeOfImage");
  check_refused([&](Buffer& f, std::size_t) { put32(f, last + 36, get32(f, last + 36) & ~0x04000000u); }, "flags");
  check_refused([&](Buffer& f, std::size_t) { put32(f, last + 36, get32(f, last + 36) | 0x10000000u); }, "flags");
  check_refused(
      [](Buffer& f, std::size_t) { put32(f, kSectionTable + 36, get32(f, kSectionTable + 36) & ~0x80000000u); },
      "entry section");
  // The call lands elsewhere than the geometry says (one page further).
  check_refused([](Buffer& f, std::size_t) { put32(f, 0x404, get32(f, 0x404) + 0x1000); }, "geometry");
  check_refused([](Buffer& f, std::size_t) { f[0x400] = 0xCC; }, "stub");
  // A certificate table (file offset) running into the body would be cut off.
  check_refused(
      [](Buffer& f, std::size_t b) {
        put32(f, kOptional + 96 + 8 * 4, static_cast<std::uint32_t>(b - 0x10));
        put32(f, kOptional + 96 + 8 * 4 + 4, 0x100);
      },
      "certificate table");
  // Another section's data inside the last section's range after the repair.
  check_refused([&](Buffer& f, std::size_t) { put32(f, kSectionTable + 16, get32(f, last + 20) - 0x400 + 0x200); },
                "overlaps");
}

TEST_CASE("repair: a geometry that disagrees with the bytes is refused", "[repair][hostile]") {
  const Infection inf = infect(build_pe(PeSpec{}));
  const Scanned s = scan(inf.file);
  REQUIRE(s.verdict.geometry);
  funlove::Geometry wrong = *s.verdict.geometry;
  wrong.body_offset += 0x1000;
  CHECK_FALSE(repair::disinfect(view(inf.file), *s.image, wrong));
  wrong = *s.verdict.geometry;
  wrong.entry_offset += 1;
  CHECK_FALSE(repair::disinfect(view(inf.file), *s.image, wrong));
  // Headers parsed from another file (a different size) are refused too.
  Buffer longer = inf.file;
  longer.push_back(0);
  const auto other = pe::parse(view(longer));
  REQUIRE(other);
  CHECK_FALSE(repair::disinfect(view(inf.file), *other, *s.verdict.geometry));
}

TEST_CASE("repair: PE32+ images are refused (FunLove infects 32-bit PE files only)", "[repair][hostile]") {
  Infection inf = infect(build_pe(PeSpec{}));
  const Scanned s = scan(inf.file);
  REQUIRE(s.image);
  pe::Image image = *s.image;
  image.pe32_plus = true;
  const auto result = repair::disinfect(view(inf.file), image, *s.verdict.geometry);
  REQUIRE_FALSE(result);
  CHECK(has(result.error().reason, "PE32+"));
}

// Every header byte and every body-marker byte set to a few values: disinfect never reads out of
// bounds (run under ASan by `make asan`) and whatever it returns obeys its contract.
TEST_CASE("repair: byte mutations of an infected file never break its contract", "[repair][hostile]") {
  const Infection inf = infect(build_pe(PeSpec{}));
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < 0x400; ++i) positions.push_back(i);
  for (std::size_t i = 0; i < 0x300; ++i) positions.push_back(inf.body_offset + i);
  for (std::size_t i = 0; i < 8; ++i) positions.push_back(inf.entry_offset + i);
  std::size_t repaired = 0;
  for (const std::size_t at : positions) {
    for (const std::uint8_t value : {std::uint8_t{0x00}, std::uint8_t{0xFF}, std::uint8_t{0x7F}, std::uint8_t{0x80}}) {
      Buffer file = inf.file;
      if (file[at] == value) continue;
      file[at] = value;
      const auto image = pe::parse(view(file));
      if (!image) continue;
      const funlove::Result detected = funlove::detect(view(file), &*image, funlove::FileRole::ordinary);
      if (!detected.geometry) continue;
      const auto result = repair::disinfect(view(file), *image, *detected.geometry);
      if (!result) {
        CHECK_FALSE(result.error().reason.empty());
        continue;
      }
      ++repaired;
      INFO("mutation at " << at << " = " << int{value});
      CHECK(result->bytes.size() == result->body_offset);
      CHECK(result->body_offset + 0x1003 == file.size());
      const auto saved = file.begin() + static_cast<std::ptrdiff_t>(result->body_offset + 0xBA7);
      CHECK(std::equal(result->restored_bytes.begin(), result->restored_bytes.end(), saved));
    }
  }
  // Bytes the model does not constrain (e.g. the DOS stub of the host) still repair.
  CHECK(repaired > 0);
}
