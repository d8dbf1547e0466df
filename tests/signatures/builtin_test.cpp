// The shipped set (signatures/funlove.ndb, embedded into the binary): it loads, it is the file in
// the source tree, and each signature matches the bytes infection-model sections 2-4 and 6 put in
// synthetic samples, and nothing in clean files, decoys or remnants.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "engine/hashing.h"
#include "engine/pe.h"
#include "signatures/loader.h"
#include "tests/signatures/test_util.h"
#include "tests/support/pe_builder.h"

using namespace flscan;
using namespace flscan::sig;
using namespace flscan::signatures;
using test::Buffer;

namespace {

const SignatureSet& builtin() {
  static const SignatureSet set = [] {
    auto loaded = builtin_signatures();
    if (!loaded) FAIL(loaded.error().message());
    return std::move(*loaded);
  }();
  return set;
}

// Name -> match offset of every built-in signature matching `file`.
std::map<std::string, std::uint64_t> scan(const Buffer& file) {
  const ByteView view(file.data(), file.size());
  auto image = pe::parse(view);
  Hasher hasher;
  MatchStats stats;
  std::map<std::string, std::uint64_t> out;
  for (const auto& m : builtin().match(view, image ? &*image : nullptr, hasher.digest(view, WantMd5::no), &stats)) {
    CHECK(m.kind == "ndb");
    CHECK(m.origin.rfind("builtin:funlove.ndb:", 0) == 0);
    out[m.name] = m.offset.value_or(~0ull);
  }
  CHECK(stats.cap_hits == 0);
  return out;
}

// FLCSS.EXE as infection-model section 6 describes it: a 0x200-byte header (e_lfanew 0x80, one
// `.code` section at raw 0x200) followed by the 0x1000-byte body, 4608 bytes in all.
Buffer build_dropper() {
  Buffer f(0x1200, 0);
  f[0] = 'M';
  f[1] = 'Z';
  test::put16(f, 0x18, 0x40);
  test::put32(f, 0x3C, 0x80);
  const char text[] = "~Fun Loving Criminal~";
  std::memcpy(&f[0x50], text, sizeof text - 1);
  std::memcpy(&f[0x80], "PE\0\0", 4);
  test::put16(f, 0x84, 0x14C);
  test::put16(f, 0x86, 1);
  test::put16(f, 0x94, 0xE0);
  test::put16(f, 0x96, 0x010E);
  const std::size_t opt = 0x98;
  test::put16(f, opt, 0x10B);
  test::put32(f, opt + 16, 0x1200);  // entry point: the body's code at .code + 0x200
  test::put32(f, opt + 28, 0x400000);
  test::put32(f, opt + 32, 0x1000);
  test::put32(f, opt + 36, 0x200);
  test::put32(f, opt + 56, 0x5000);
  test::put32(f, opt + 60, 0x200);
  test::put16(f, opt + 68, 2);
  test::put32(f, opt + 92, 16);
  const std::size_t sh = opt + 0xE0;
  std::memcpy(&f[sh], ".code", 5);
  test::put32(f, sh + 8, 0x4000);
  test::put32(f, sh + 12, 0x1000);
  test::put32(f, sh + 16, 0x1000);
  test::put32(f, sh + 20, 0x200);
  test::put32(f, sh + 36, 0xC0000020);
  test::write_body_markers(f, 0x200);
  return f;
}

}  // namespace

TEST_CASE("the built-in set loads with its version", "[builtin]") {
  const SignatureSet& set = builtin();
  CHECK(set.size() == 5);
  CHECK(builtin_version() == "funlove-2026.11.1");
  REQUIRE(set.sources().size() == 1);
  CHECK(set.sources()[0] == "built-in funlove-2026.11.1 (5 signatures)");
  std::vector<std::string> names;
  for (const auto& sig : set.body_signatures()) {
    names.push_back(sig.name);
    CHECK(sig.target == Target::pe);  // keeps needs_non_pe_content() false: only MZ files are read whole
  }
  CHECK(names == std::vector<std::string>{"W32.FunLove.4099.Stub", "W32.FunLove.4099.Body", "W32.FunLove.4099.String",
                                          "W32.FunLove.4099.Code", "W32.FunLove.4099.Dropper"});
  CHECK_FALSE(set.needs_md5());
  CHECK_FALSE(set.needs_non_pe_content());
}

TEST_CASE("the embedded text is signatures/funlove.ndb and clamscan can read it", "[builtin]") {
  std::ifstream in(std::string(FLSCAN_SOURCE_DIR) + "/signatures/funlove.ndb", std::ios::binary);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  SignatureSet from_file;
  REQUIRE(load_text(text.str(), Kind::ndb, "funlove.ndb", from_file));
  REQUIRE(from_file.body_signatures().size() == builtin().body_signatures().size());
  for (std::size_t i = 0; i < from_file.body_signatures().size(); ++i) {
    CHECK(from_file.body_signatures()[i].pattern.text() == builtin().body_signatures()[i].pattern.text());
  }
  // ClamAV rejects blank lines, and older ClamAV versions comments: the shipped file has neither
  // (provenance lives in signatures/README.md).
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) {
    CHECK_FALSE(line.empty());
    CHECK(line[0] != '#');
    CHECK(line.find('\r') == std::string::npos);
  }
}

TEST_CASE("an infected PE matches stub, body, string and code at the model's offsets", "[builtin]") {
  const Buffer host = test::build_pe(test::PeSpec{});
  const test::Infection infected = test::infect(host);
  const std::uint64_t b = infected.body_offset;
  REQUIRE(infected.file.size() - b == 0x1003);  // section 2: the body is the last 4099 bytes
  const auto found = scan(infected.file);
  CHECK(found == std::map<std::string, std::uint64_t>{{"W32.FunLove.4099.Stub", infected.entry_offset},
                                                      {"W32.FunLove.4099.Body", b},
                                                      {"W32.FunLove.4099.String", b + 0x50},
                                                      {"W32.FunLove.4099.Code", b + 0x200}});
  CHECK(scan(host).empty());
}

TEST_CASE("an infected PE with zero padding before the body (section 2: VirtualSize > raw size)", "[builtin]") {
  test::PeSpec spec;
  spec.sections = {{".text", 0x1800, 0x1800, 0x60000020, 0xCC}, {".rsrc", 0x2345, 0x0600, 0x40000040, 0x22}};
  const Buffer host = test::build_pe(spec);
  const test::Infection infected = test::infect(host);
  REQUIRE(infected.body_offset > host.size());  // padded: B = L.PointerToRawData + align(0x2345)
  const std::uint64_t b = infected.body_offset;
  CHECK(scan(infected.file) == std::map<std::string, std::uint64_t>{{"W32.FunLove.4099.Stub", infected.entry_offset},
                                                                    {"W32.FunLove.4099.Body", b},
                                                                    {"W32.FunLove.4099.String", b + 0x50},
                                                                    {"W32.FunLove.4099.Code", b + 0x200}});
}

TEST_CASE("the dropper matches only the dropper signature", "[builtin]") {
  const Buffer dropper = build_dropper();
  REQUIRE(pe::parse(ByteView(dropper.data(), dropper.size())));
  CHECK(scan(dropper) == std::map<std::string, std::uint64_t>{{"W32.FunLove.4099.Dropper", 0}});
  // Renamed or not, wherever it lies: the content decides. Without the second string it is not it.
  Buffer broken = dropper;
  broken[0x250] = 'x';
  CHECK(scan(broken).empty());
}

TEST_CASE("decoys and remnants match nothing", "[builtin]") {
  const Buffer host = test::build_pe(test::PeSpec{});
  const test::Infection infected = test::infect(host);
  const std::size_t b = infected.body_offset;

  SECTION("the stub alone, its call landing nowhere (section 5 decoy)") {
    Buffer decoy = host;
    const std::uint8_t stub[] = {0x90, 0x90, 0x65, 0xE8, 0x10, 0x00, 0x00, 0x00};
    std::memcpy(&decoy[0x400], stub, sizeof stub);
    CHECK(scan(decoy).empty());
  }
  SECTION("the string alone somewhere in a clean file (section 5 decoy)") {
    Buffer decoy = host;
    const char text[] = "~Fun Loving Criminal~\r\r\n$";
    std::memcpy(&decoy[0x900], text, sizeof text - 1);
    CHECK(scan(decoy).empty());
  }
  SECTION("the 4099 viral bytes zeroed and the entry point restored (section 5 remnant)") {
    Buffer remnant = infected.file;
    std::fill(remnant.begin() + static_cast<std::ptrdiff_t>(b), remnant.end(), 0);
    std::memcpy(&remnant[infected.entry_offset], &host[infected.entry_offset], 8);
    CHECK(scan(remnant).empty());
  }
  SECTION("a truncated body keeps the markers that survive (section 5 damaged)") {
    Buffer damaged(infected.file.begin(), infected.file.begin() + static_cast<std::ptrdiff_t>(b + 0x100));
    const auto found = scan(damaged);
    CHECK(found.count("W32.FunLove.4099.Stub") == 0);  // the code the stub calls is gone
    CHECK(found.count("W32.FunLove.4099.Code") == 0);
  }
}

TEST_CASE("ClamAV semantics: an infected file whose PE headers are broken loses EOF/EP matches", "[builtin]") {
  const test::Infection infected = test::infect(test::build_pe(test::PeSpec{}));
  Buffer broken = infected.file;
  test::put32(broken, 0x3C, 0x7FFFFFF0);  // e_lfanew past the end: no PE, still an MZ file
  REQUIRE_FALSE(pe::parse(ByteView(broken.data(), broken.size())));
  CHECK(scan(broken).empty());
}
