// Fuzz target: the signature loader (signatures/loader.h, signatures::load_text) on database text, then
// the matcher (SignatureSet::match and FileScanner::scan) with whatever loaded.
//
// Input layout: byte 0 picks the format (byte % 3: .ndb, .hdb, .hsb), the rest is the text. When
// it loads, the set is matched against a small fixed PE (a synthetic, inert FunLove infection of
// a two-section image, so EP, Sx, SL and EOF offsets all mean something) and against the first
// kMaxInputMatchBytes of the text itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/byte_view.h"
#include "engine/hashing.h"
#include "engine/pe.h"
#include "engine/scan.h"
#include "fuzz/fuzz_check.h"
#include "signatures/loader.h"
#include "tests/support/pe_builder.h"

namespace {

namespace sig = flscan::sig;
namespace signatures = flscan::signatures;
using flscan::ByteView;

// How much of the text is also matched as a file: enough for every offset kind to land inside it,
// small enough that the matcher's per-start step cap keeps one input far below the timeout.
constexpr std::size_t kMaxInputMatchBytes = 4096;
constexpr std::string_view kOrigin = "fuzz-input";

signatures::Kind kind_from_byte(std::uint8_t byte) {
  switch (byte % 3) {
    case 1:
      return signatures::Kind::hdb;
    case 2:
      return signatures::Kind::hsb;
    default:
      return signatures::Kind::ndb;
  }
}

// Built once and only read afterwards; no input changes it.
const std::vector<std::uint8_t>& fixed_file() {
  static const std::vector<std::uint8_t> file = [] {
    flscan::test::PeSpec spec;
    spec.sections = {{".text", 0x200, 0x200, 0x60000020, 0xCC}, {".data", 0x200, 0x200, 0xC0000040, 0x11}};
    return flscan::test::infect(flscan::test::build_pe(spec)).file;
  }();
  return file;
}

std::size_t count_lines(std::string_view text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
}

void match_against(const sig::SignatureSet& set, ByteView file) {
  auto parsed = flscan::pe::parse(file);
  const flscan::pe::Image* image = parsed ? &*parsed : nullptr;
  flscan::Hasher hasher;
  const flscan::Digests digests = hasher.digest(file, set.needs_md5() ? flscan::WantMd5::yes : flscan::WantMd5::no);
  sig::MatchStats stats;
  const std::vector<sig::Match> matches = set.match(file, image, digests, &stats);
  FUZZ_CHECK(matches.size() <= set.size(), "at most one match per signature");
  for (const sig::Match& match : matches) {
    FUZZ_CHECK(!match.name.empty(), "a match names its signature");
    FUZZ_CHECK(match.origin.rfind(kOrigin, 0) == 0, "a match names where its signature came from");
    FUZZ_CHECK(match.kind == "ndb" || match.kind == "hdb" || match.kind == "hsb", "a match has a known kind");
    FUZZ_CHECK((match.kind == "ndb") == match.offset.has_value(), "body matches, and only they, have an offset");
    if (match.offset) FUZZ_CHECK(*match.offset < file.size(), "a body match starts inside the file");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const signatures::Kind kind = kind_from_byte(data[0]);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  sig::SignatureSet set;
  const auto loaded = signatures::load_text(text, kind, kOrigin, set);
  if (!loaded) {
    const signatures::LoadError& error = loaded.error();
    FUZZ_CHECK(set.size() == 0 && set.sources().empty(), "a rejected database leaves the set untouched");
    FUZZ_CHECK(error.file == kOrigin, "a load error names its origin");
    FUZZ_CHECK(!error.reason.empty(), "a load error gives a reason");
    FUZZ_CHECK(error.line <= count_lines(text), "a load error names a line of the text");
    FUZZ_CHECK(!error.message().empty(), "a load error has a message");
    return 0;
  }
  FUZZ_CHECK(set.sources().size() == 1, "a loaded database adds one source line");

  const std::vector<std::uint8_t>& fixed = fixed_file();
  match_against(set, ByteView(fixed.data(), fixed.size()));
  match_against(set, ByteView(data + 1, std::min(size - 1, kMaxInputMatchBytes)));

  // The whole engine path with the loaded set, as `flscan -d` runs it.
  flscan::FileScanner scanner(set);
  const flscan::FileVerdict verdict =
      scanner.scan(ByteView(fixed.data(), fixed.size()), flscan::funlove::FileRole::ordinary);
  FUZZ_CHECK(verdict.type == flscan::ContentType::pe, "the fixed file is a PE");
  return 0;
}
