// engine/signature_set.{h,cpp}: every .ndb offset kind (with maxshift), targets 0 and 1 and the
// ClamAV rules for files whose PE headers do not parse, and .hdb/.hsb hash matching.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "engine/hashing.h"
#include "engine/pe.h"
#include "engine/sig/signature_set.h"
#include "tests/signatures/test_util.h"
#include "tests/support/pe_builder.h"

using namespace flscan;
using namespace flscan::sig;
using flscan::test::Bytes;
using flscan::test::hex_bytes;
using flscan::test::put_bytes;
using flscan::test::view_of;

namespace {

BodySignature body(std::string name, Target target, Offset offset, std::string_view hex) {
  auto pattern = Pattern::compile(hex);
  REQUIRE(pattern);
  BodySignature sig;
  sig.name = std::move(name);
  sig.target = target;
  sig.offset = offset;
  sig.pattern = std::move(*pattern);
  sig.origin = "test";
  return sig;
}

Offset at(Offset::Kind kind, std::int64_t value, std::uint32_t max_shift = 0, std::uint32_t section = 0) {
  Offset o;
  o.kind = kind;
  o.value = value;
  o.max_shift = max_shift;
  o.section = section;
  return o;
}

// A hand-made image: three sections at raw 0x200, 0x400 and 0x800, entry point at file 0x210.
pe::Image hand_image(std::uint64_t file_size) {
  pe::Image image;
  image.file_size = file_size;
  image.number_of_sections = 3;
  image.size_of_optional_header = 0xE0;
  image.number_of_rva_and_sizes = 16;
  image.file_alignment = 0x200;
  image.section_alignment = 0x1000;
  image.size_of_headers = 0x200;
  image.address_of_entry_point = 0x1010;
  auto section = [](std::uint32_t va, std::uint32_t raw, std::uint32_t size) {
    pe::Section s;
    s.virtual_address = va;
    s.virtual_size = size;
    s.pointer_to_raw_data = raw;
    s.size_of_raw_data = size;
    return s;
  };
  image.sections = {section(0x1000, 0x200, 0x200), section(0x2000, 0x400, 0x400), section(0x3000, 0x800, 0x800)};
  return image;
}

// An MZ file of 0x1000 bytes with markers: "EPEP" at the entry point 0x210, "S0S0" at 0x200+0x20,
// "S1S1" at 0x400+0x10, "SLSL" at 0x800+0x30 and "ENDS" in its last four bytes.
Bytes hand_file() {
  Bytes f(0x1000, 0);
  f[0] = 'M', f[1] = 'Z';
  put_bytes(f, 0x210, hex_bytes("45504550"));
  put_bytes(f, 0x220, hex_bytes("53305330"));
  put_bytes(f, 0x410, hex_bytes("53315331"));
  put_bytes(f, 0x830, hex_bytes("534c534c"));
  put_bytes(f, 0xFFC, hex_bytes("454e4453"));
  return f;
}

std::set<std::string> names(const std::vector<Match>& matches) {
  std::set<std::string> out;
  for (const auto& m : matches) out.insert(m.name);
  return out;
}

Digests digests_of(const Bytes& file) {
  Hasher hasher;
  return hasher.digest(view_of(file), WantMd5::yes);
}

}  // namespace

TEST_CASE("every offset kind resolves against the file and its PE image", "[signature_set][offset]") {
  const Bytes file = hand_file();
  const pe::Image image = hand_image(file.size());
  REQUIRE(image.entry_offset() == std::optional<std::uint64_t>(0x210));

  SignatureSet set;
  set.add_body(body("any", Target::pe, at(Offset::Kind::anywhere, 0), "53315331"));
  set.add_body(body("abs", Target::pe, at(Offset::Kind::absolute, 0x410), "53315331"));
  set.add_body(body("abs.miss", Target::pe, at(Offset::Kind::absolute, 0x411), "53315331"));
  set.add_body(body("eof", Target::pe, at(Offset::Kind::from_eof, 4), "454e4453"));
  set.add_body(body("eof.miss", Target::pe, at(Offset::Kind::from_eof, 5), "454e4453"));
  set.add_body(body("eof.toolarge", Target::pe, at(Offset::Kind::from_eof, 0x1001, 0x2000), "4d5a"));
  set.add_body(body("ep", Target::pe, at(Offset::Kind::from_entry_point, 0), "45504550"));
  set.add_body(body("ep.plus", Target::pe, at(Offset::Kind::from_entry_point, 2), "4550"));
  set.add_body(body("ep.minus", Target::pe, at(Offset::Kind::from_entry_point, -0x210), "4d5a"));
  set.add_body(body("ep.minus.before.file", Target::pe, at(Offset::Kind::from_entry_point, -0x211, 0x10), "4d5a"));
  set.add_body(body("s0", Target::pe, at(Offset::Kind::from_section, 0x20, 0, 0), "53305330"));
  set.add_body(body("s1", Target::pe, at(Offset::Kind::from_section, 0x10, 0, 1), "53315331"));
  set.add_body(body("s1.miss", Target::pe, at(Offset::Kind::from_section, 0x11, 0, 1), "53315331"));
  set.add_body(body("s3.none", Target::pe, at(Offset::Kind::from_section, 0, 0x1000, 3), "4d5a"));
  set.add_body(body("sl", Target::pe, at(Offset::Kind::from_last_section, 0x30), "534c534c"));
  set.add_body(body("past.eof", Target::pe, at(Offset::Kind::absolute, 0x2000, 5), "0000"));

  const auto matches = set.match(view_of(file), &image, digests_of(file));
  CHECK(names(matches) == std::set<std::string>{"any", "abs", "eof", "ep", "ep.plus", "ep.minus", "s0", "s1", "sl"});
  for (const auto& m : matches) {
    CHECK(m.kind == "ndb");
    CHECK(m.origin == "test");
    REQUIRE(m.offset);
    if (m.name == "ep") CHECK(*m.offset == 0x210);
    if (m.name == "ep.minus") CHECK(*m.offset == 0);
    if (m.name == "sl") CHECK(*m.offset == 0x830);
    if (m.name == "eof") CHECK(*m.offset == 0xFFC);
  }
}

TEST_CASE("maxshift lets a match start anywhere in [offset, offset+maxshift]", "[signature_set][offset]") {
  const Bytes file = hand_file();
  const pe::Image image = hand_image(file.size());
  SignatureSet set;
  set.add_body(body("abs.3", Target::pe, at(Offset::Kind::absolute, 0x40d, 3), "53315331"));
  set.add_body(body("abs.2", Target::pe, at(Offset::Kind::absolute, 0x40d, 2), "53315331"));
  set.add_body(body("eof.shift", Target::pe, at(Offset::Kind::from_eof, 10, 6), "454e4453"));
  set.add_body(body("eof.short", Target::pe, at(Offset::Kind::from_eof, 10, 5), "454e4453"));
  set.add_body(body("ep.minus.shift", Target::pe, at(Offset::Kind::from_entry_point, -4, 4), "45504550"));
  set.add_body(body("ep.minus.short", Target::pe, at(Offset::Kind::from_entry_point, -4, 3), "45504550"));
  set.add_body(body("s1.shift", Target::pe, at(Offset::Kind::from_section, 0, 0x10, 1), "53315331"));
  set.add_body(body("sl.shift", Target::pe, at(Offset::Kind::from_last_section, 0, 0x2f), "534c534c"));
  const auto matches = set.match(view_of(file), &image, digests_of(file));
  CHECK(names(matches) == std::set<std::string>{"abs.3", "eof.shift", "ep.minus.shift", "s1.shift"});
}

TEST_CASE("targets: 1 needs a valid PE, relative offsets need parsed headers", "[signature_set][target]") {
  SignatureSet set;
  set.add_body(body("t0.any", Target::any_file, at(Offset::Kind::anywhere, 0), "454e4453"));
  set.add_body(body("t0.eof", Target::any_file, at(Offset::Kind::from_eof, 4), "454e4453"));
  set.add_body(body("t1.any", Target::pe, at(Offset::Kind::anywhere, 0), "454e4453"));
  set.add_body(body("t1.abs", Target::pe, at(Offset::Kind::absolute, 0xFFC), "454e4453"));
  set.add_body(body("t1.eof", Target::pe, at(Offset::Kind::from_eof, 4), "454e4453"));
  set.add_body(body("t1.ep", Target::pe, at(Offset::Kind::from_entry_point, 0), "45504550"));

  SECTION("a parsed PE gets every signature") {
    const Bytes file = hand_file();
    const pe::Image image = hand_image(file.size());
    CHECK(names(set.match(view_of(file), &image, digests_of(file))) ==
          std::set<std::string>{"t0.any", "t0.eof", "t1.any", "t1.abs", "t1.eof", "t1.ep"});
  }
  SECTION("an MZ file whose headers do not parse: no target 1 (issue 12, unlike clamscan), no EOF offsets") {
    // clamscan would also report t1.any and t1.abs here (signatures/README.md, "Where ClamAV
    // differs"); target 0 keeps ClamAV's rule for such files: no offset relative to the end.
    const Bytes file = hand_file();
    CHECK(names(set.match(view_of(file), nullptr, digests_of(file))) == std::set<std::string>{"t0.any"});
  }
  SECTION("a file that is not MZ gets target 0 only, EOF-n included") {
    Bytes file = hand_file();
    file[0] = 'X';
    CHECK(names(set.match(view_of(file), nullptr, digests_of(file))) == std::set<std::string>{"t0.any", "t0.eof"});
  }
}

TEST_CASE("a real image from the PE parser gives the same offsets", "[signature_set][offset]") {
  test::PeSpec spec;
  test::Buffer file = test::build_pe(spec);  // .text raw 0x400 (EP), .data raw 0x1C00
  put_bytes(file, 0x400, hex_bytes("55 8b ec 90"));
  put_bytes(file, 0x1C00 + 8, hex_bytes("de ad be ef"));
  auto image = pe::parse(ByteView(file.data(), file.size()));
  REQUIRE(image);
  SignatureSet set;
  set.add_body(body("ep", Target::pe, at(Offset::Kind::from_entry_point, 0), "558bec90"));
  set.add_body(body("s1", Target::pe, at(Offset::Kind::from_section, 8, 0, 1), "deadbeef"));
  set.add_body(body("sl", Target::pe, at(Offset::Kind::from_last_section, 8), "deadbeef"));
  set.add_body(body("sl.miss", Target::pe, at(Offset::Kind::from_last_section, 9), "deadbeef"));
  const Bytes copy(file.begin(), file.end());
  CHECK(names(set.match(view_of(copy), &*image, digests_of(copy))) == std::set<std::string>{"ep", "s1", "sl"});
}

TEST_CASE("odd headers: offsets follow ClamAV's view of them", "[signature_set][offset]") {
  Bytes file = hand_file();
  SignatureSet set;
  set.add_body(body("s1", Target::pe, at(Offset::Kind::from_section, 0, 0, 1), "aabbccdd"));
  set.add_body(body("ep", Target::pe, at(Offset::Kind::from_entry_point, 0), "aabbccdd"));
  set.add_body(body("eof", Target::pe, at(Offset::Kind::from_eof, 4), "454e4453"));
  set.add_body(body("abs", Target::pe, at(Offset::Kind::absolute, 0xFFC), "454e4453"));

  SECTION("PointerToRawData is rounded down to FileAlignment, the entry point mapped through it") {
    pe::Image image = hand_image(file.size());
    image.sections[1].pointer_to_raw_data = 0x410;  // misaligned: ClamAV reads the section at 0x400
    image.address_of_entry_point = 0x2000;
    put_bytes(file, 0x400, hex_bytes("aabbccdd"));
    CHECK(names(set.match(view_of(file), &image, digests_of(file))) == std::set<std::string>{"s1", "ep", "eof", "abs"});
    put_bytes(file, 0x400, hex_bytes("00000000"));
    put_bytes(file, 0x410, hex_bytes("aabbccdd"));
    CHECK(names(set.match(view_of(file), &image, digests_of(file))) == std::set<std::string>{"eof", "abs"});
  }
  SECTION("FileAlignment falls back to 0x200 when a section is aligned to 0x200 only") {
    pe::Image image = hand_image(file.size());
    image.file_alignment = 0x1000;  // 0x400 is not a multiple of it, but of 0x200
    put_bytes(file, 0x400, hex_bytes("aabbccdd"));
    CHECK(names(set.match(view_of(file), &image, digests_of(file))).count("s1") == 1);
  }
  SECTION("an entry point that maps into no section's file data: no relative offset at all") {
    pe::Image image = hand_image(file.size());
    image.address_of_entry_point = 0x9000;
    put_bytes(file, 0x400, hex_bytes("aabbccdd"));
    CHECK(names(set.match(view_of(file), &image, digests_of(file))) == std::set<std::string>{"abs"});
  }
  SECTION("no sections, or a short optional header: no relative offset at all") {
    pe::Image image = hand_image(file.size());
    image.size_of_optional_header = 0x60 + 8 * 15;  // misses one of the 16 declared directories
    CHECK(names(set.match(view_of(file), &image, digests_of(file))) == std::set<std::string>{"abs"});
    image = hand_image(file.size());
    image.sections.clear();
    image.number_of_sections = 0;
    CHECK(names(set.match(view_of(file), &image, digests_of(file))) == std::set<std::string>{"abs"});
  }
  SECTION("a section starting past the end of the file keeps its place but maps nothing") {
    pe::Image image = hand_image(file.size());
    image.sections[1].pointer_to_raw_data = 0x2000;
    image.address_of_entry_point = 0x2000;  // in that section: unmappable
    CHECK(names(set.match(view_of(file), &image, digests_of(file))) == std::set<std::string>{"abs"});
  }
}

TEST_CASE("hash signatures match digest and size; '*' matches any size", "[signature_set][hash]") {
  const Bytes file = hex_bytes("00 01 02 03 04 05 06 07 08 09");
  const Digests d = digests_of(file);
  SignatureSet set;
  set.add_md5(*d.md5, HashSignature{"md5.sized", 10, "a.hdb:1"});
  set.add_md5(*d.md5, HashSignature{"md5.wrongsize", 11, "a.hdb:2"});
  set.add_md5(*d.md5, HashSignature{"md5.any", std::nullopt, "a.hdb:3"});
  set.add_sha256(d.sha256, HashSignature{"sha.sized", 10, "b.hsb:1"});
  set.add_sha256(d.sha256, HashSignature{"sha.any", std::nullopt, "b.hsb:2"});
  Sha256Digest other = d.sha256;
  other[0] ^= 1;
  set.add_sha256(other, HashSignature{"sha.other", 10, "b.hsb:3"});
  CHECK(set.size() == 6);
  CHECK(set.needs_md5());
  CHECK(set.needs_non_pe_content());

  const auto matches = set.match(view_of(file), nullptr, d);
  CHECK(names(matches) == std::set<std::string>{"md5.sized", "md5.any", "sha.sized", "sha.any"});
  for (const auto& m : matches) {
    CHECK_FALSE(m.offset.has_value());
    CHECK(m.kind == (m.name.rfind("md5", 0) == 0 ? "hdb" : "hsb"));
  }
  // Hash matches come sorted by name, whatever the table order.
  CHECK(std::is_sorted(matches.begin(), matches.end(), [](const Match& a, const Match& b) { return a.name < b.name; }));

  SECTION("without an MD5 digest, MD5 signatures cannot match") {
    Digests no_md5 = d;
    no_md5.md5.reset();
    CHECK(names(set.match(view_of(file), nullptr, no_md5)) == std::set<std::string>{"sha.sized", "sha.any"});
  }
  SECTION("an empty file matches no hash (ClamAV sizes start at 1)") {
    const Bytes empty;
    SignatureSet empty_set;
    const Digests e = digests_of(empty);
    empty_set.add_sha256(e.sha256, HashSignature{"empty", std::nullopt, "c.hsb:1"});
    CHECK(empty_set.match(view_of(empty), nullptr, e).empty());
  }
}

TEST_CASE("a later hash signature with the same digest and size replaces the earlier", "[signature_set][hash]") {
  const Bytes file = hex_bytes("00 01 02 03");
  const Digests d = digests_of(file);
  SignatureSet set;
  set.add_md5(*d.md5, HashSignature{"first", 4, "a.hdb:1"});
  set.add_md5(*d.md5, HashSignature{"wild.first", std::nullopt, "a.hdb:2"});
  set.add_md5(*d.md5, HashSignature{"second", 4, "a.hdb:3"});
  set.add_md5(*d.md5, HashSignature{"wild.second", std::nullopt, "a.hdb:4"});
  set.add_md5(*d.md5, HashSignature{"other.size", 5, "a.hdb:5"});
  CHECK(set.size() == 3);
  CHECK(names(set.match(view_of(file), nullptr, d)) == std::set<std::string>{"second", "wild.second"});
}

TEST_CASE("only files of a size a hash signature names need their content (issue 19)", "[signature_set][hash]") {
  const Digests d = digests_of(hex_bytes("00 01 02 03"));
  SignatureSet set;
  CHECK_FALSE(set.needs_content_of_size(4));
  set.add_sha256(d.sha256, HashSignature{"sha.four", 4, "a.hsb:1"});
  CHECK(set.needs_content_of_size(4));
  CHECK_FALSE(set.needs_content_of_size(5));
  CHECK_FALSE(set.needs_md5_of_size(4));
  set.add_md5(*d.md5, HashSignature{"md5.seven", 7, "a.hdb:1"});
  CHECK(set.needs_md5_of_size(7));
  CHECK_FALSE(set.needs_md5_of_size(4));
  CHECK(set.needs_content_of_size(7));
  CHECK_FALSE(set.needs_content_of_size(8));

  SECTION("a size wildcard makes every size count, for its kind of hash only") {
    set.add_sha256(d.sha256, HashSignature{"sha.any", std::nullopt, "a.hsb:2"});
    CHECK(set.needs_content_of_size(8));
    CHECK(set.needs_content_of_size(1ULL << 40));
    CHECK_FALSE(set.needs_md5_of_size(8));
    set.add_md5(*d.md5, HashSignature{"md5.any", std::nullopt, "a.hdb:2"});
    CHECK(set.needs_md5_of_size(8));
  }
  SECTION("a body signature for any file needs every file's content") {
    set.add_body(body("any.file", Target::any_file, at(Offset::Kind::anywhere, 0), "4142"));
    CHECK(set.needs_content_of_size(8));
    CHECK_FALSE(set.needs_md5_of_size(8));
  }
  SECTION("a PE-only body signature does not") {
    set.add_body(body("pe.only", Target::pe, at(Offset::Kind::anywhere, 0), "4142"));
    CHECK_FALSE(set.needs_content_of_size(8));
  }
}

TEST_CASE("set bookkeeping", "[signature_set]") {
  SignatureSet set;
  CHECK(set.size() == 0);
  CHECK_FALSE(set.needs_md5());
  CHECK_FALSE(set.needs_non_pe_content());
  set.add_body(body("pe.only", Target::pe, at(Offset::Kind::anywhere, 0), "4142"));
  CHECK_FALSE(set.needs_non_pe_content());
  set.add_body(body("any.file", Target::any_file, at(Offset::Kind::anywhere, 0), "4142"));
  CHECK(set.needs_non_pe_content());
  set.add_source("one");
  set.add_source("two");
  CHECK(set.sources() == std::vector<std::string>{"one", "two"});
  CHECK(set.size() == 2);
  CHECK(set.body_signatures().size() == 2);
}

TEST_CASE("cap hits are counted and the signature reports no match", "[signature_set][budget]") {
  const Bytes file(3000, 0x41);
  SignatureSet set;
  set.add_body(body("explosive", Target::any_file, at(Offset::Kind::absolute, 0),
                    "4141{0-60}4141{0-60}4141{0-60}4141{0-60}4343"));
  set.add_body(body("fine", Target::any_file, at(Offset::Kind::absolute, 0), "41414141"));
  MatchStats stats;
  const auto matches = set.match(view_of(file), nullptr, digests_of(file), &stats);
  CHECK(stats.cap_hits == 1);
  CHECK(names(matches) == std::set<std::string>{"fine"});
  CHECK(set.match(view_of(file), nullptr, digests_of(file)).size() == 1);  // stats are optional
}
