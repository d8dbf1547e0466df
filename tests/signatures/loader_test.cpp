// signatures/loader.{h,cpp}: the accepted .ndb/.hdb/.hsb subset, comments, functionality levels,
// every malformed-line rejection with its line number, all-or-nothing loading of files and
// directories, and the caps.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "engine/hashing.h"
#include "engine/limits.h"
#include "signatures/loader.h"
#include "tests/signatures/test_util.h"

using namespace flscan;
using namespace flscan::sig;
using namespace flscan::signatures;
namespace fs = std::filesystem;

namespace {

SignatureSet loaded(std::string_view text, Kind kind = Kind::ndb) {
  SignatureSet set;
  auto ok = load_text(text, kind, "t.db", set);
  INFO((ok ? std::string() : ok.error().message()));
  REQUIRE(ok);
  return set;
}

LoadError rejected(std::string_view text, Kind kind = Kind::ndb) {
  SignatureSet set;
  auto ok = load_text(text, kind, "t.db", set);
  REQUIRE_FALSE(ok);
  CHECK(set.size() == 0);
  CHECK(set.sources().empty());
  return ok.error();
}

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("flscan-sigtest-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, std::string_view text) const {
    std::ofstream(path / name, std::ios::binary) << text;
    return path / name;
  }
};

const std::string kMd5Abc = "900150983cd24fb0d6963f7d28e17f72";  // MD5("abc")
const std::string kSha256Abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

}  // namespace

TEST_CASE("ndb lines are parsed into name, target, offset and pattern", "[loader]") {
  const SignatureSet set = loaded(
      "A.Any:0:*:41424344\n"
      "A.Abs:0:100:4142\n"
      "A.Shift:0:100,20:4142\n"
      "A.Eof:0:EOF-10:4142\n"
      "B.Ep:1:EP+5:4142\n"
      "B.EpMinus:1:EP-7,3:4142\n"
      "B.Sect:1:S2+16:4142\n"
      "B.Last:1:SL+0:4142\n"
      "B.AnyTarget:*:0:4142\n");
  const auto& body = set.body_signatures();
  REQUIRE(body.size() == 9);
  CHECK(body[0].name == "A.Any");
  CHECK(body[0].target == Target::any_file);
  CHECK(body[0].offset.kind == Offset::Kind::anywhere);
  CHECK(body[0].pattern.text() == "41424344");
  CHECK(body[0].origin == "t.db:1");
  CHECK(body[1].offset.kind == Offset::Kind::absolute);
  CHECK(body[1].offset.value == 100);
  CHECK(body[2].offset.max_shift == 20);
  CHECK(body[3].offset.kind == Offset::Kind::from_eof);
  CHECK(body[3].offset.value == 10);
  CHECK(body[4].target == Target::pe);
  CHECK(body[4].offset.kind == Offset::Kind::from_entry_point);
  CHECK(body[4].offset.value == 5);
  CHECK(body[5].offset.value == -7);
  CHECK(body[5].offset.max_shift == 3);
  CHECK(body[6].offset.kind == Offset::Kind::from_section);
  CHECK(body[6].offset.section == 2);
  CHECK(body[6].offset.value == 16);
  CHECK(body[7].offset.kind == Offset::Kind::from_last_section);
  CHECK(body[8].target == Target::any_file);
  REQUIRE(set.sources().size() == 1);
  CHECK(set.sources()[0] == "t.db (ndb, 9 signatures)");
}

TEST_CASE("comments, blank lines and CRLF", "[loader]") {
  const SignatureSet set = loaded("# a comment\r\n\r\nA:0:*:4142\r\n   \n#B:0:*:zz\nC:0:*:4344");
  REQUIRE(set.size() == 2);
  CHECK(set.body_signatures()[0].origin == "t.db:3");
  CHECK(set.body_signatures()[1].name == "C");
  CHECK(set.body_signatures()[1].origin == "t.db:6");
  // Only column 1 starts a comment.
  CHECK(rejected(" # not a comment\n").line == 1);
}

TEST_CASE("functionality levels: lines outside ClamAV 1.4's level 216 are skipped", "[loader]") {
  const SignatureSet set = loaded(
      "In:0:*:4142:10\n"
      "InRange:0:*:4142:10:300\n"
      "TooNew:0:*:4142:217\n"
      "TooOld:0:*:4142:10:215\n"
      "FutureSyntax:7:VI:zz:999\n");
  REQUIRE(set.size() == 2);
  CHECK(set.sources()[0] == "t.db (ndb, 2 signatures, 3 skipped for functionality level 216)");
  CHECK_THAT(rejected("A:0:*:4142:x\n").reason, Catch::Contains("functionality level"));
  CHECK_THAT(rejected("A:0:*:4142:1:y\n").reason, Catch::Contains("functionality level"));
}

TEST_CASE("each malformed ndb line rejects the file with its line number", "[loader]") {
  struct Case {
    std::string line;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"A:0:*", "fields"},
      {"A:0:*:4142:1:2:3", "fields"},
      {":0:*:4142", "empty signature name"},
      {"A B:0:*:4142", "space"},
      {"A:x:*:4142", "target"},
      {"A:2:*:4142", "not supported"},
      {"A:13:*:4142", "not supported"},
      {"A:0:EP+0:4142", "needs target 1"},
      {"A:0:S1+0:4142", "needs target 1"},
      {"A:0:SL+0:4142", "needs target 1"},
      {"A:1:SE1:4142", "SEx"},
      {"A:1:VI:4142", "version-info"},
      {"A:1:$1$:4142", "macro"},
      {"A:1:EP+x:4142", "decimal"},
      {"A:1:EP*2:4142", "invalid offset"},
      {"A:1:S+2:4142", "Sx+n"},
      {"A:1:Sx+2:4142", "Sx+n"},
      {"A:1:S1-2:4142", "Sx+n"},
      {"A:0:EOF+2:4142", "invalid offset"},
      {"A:0:EOF-:4142", "decimal"},
      {"A:0:-5:4142", "invalid offset"},
      {"A:0:*,5:4142", "invalid offset"},
      {"A:0:5,x:4142", "maxshift"},
      {"A:0:5,:4142", "maxshift"},
      {"A:0:99999999999:4142", "invalid offset"},
      {"A:0:" + std::string(70, '1') + ":4142", "longer than 64"},
      {"A:0:*:41424", "odd number"},
      {"A:0:*:!(41|42)43", "negated"},
      {"A:0:*:4142(B)", "character class"},
      {"A:0:*:4142[1-2]43", "anchored"},
      {"A:0:*:41*4243", "two consecutive fixed bytes"},
      {"A:0:*:4142*", "cannot end"},
      {"A:0:*:", "empty pattern"},
  };
  for (const auto& c : cases) {
    const std::string text = "# header\nGood:0:*:41424344\n" + c.line + "\nAlsoGood:0:*:4142\n";
    INFO(c.line);
    const LoadError e = rejected(text);
    CHECK(e.line == 3);
    CHECK(e.file == "t.db");
    CHECK_THAT(e.reason, Catch::Contains(c.reason));
  }
  // The pattern error names its column.
  CHECK_THAT(rejected("A:0:*:4142zz\n").reason, Catch::Contains("column 5"));
}

TEST_CASE("hash databases: MD5 and SHA-256 by length, sizes and '*'", "[loader][hash]") {
  const SignatureSet set =
      loaded("# hashes\n" + kMd5Abc + ":3:Abc.Md5\n" + kSha256Abc + ":3:Abc.Sha\n" + kSha256Abc + ":*:Abc.Any:73\n",
             Kind::hsb);
  CHECK(set.size() == 3);
  CHECK(set.needs_md5());
  Hasher hasher;
  const test::Bytes abc = test::text_bytes("abc");
  const auto matches = set.match(test::view_of(abc), nullptr, hasher.digest(test::view_of(abc), WantMd5::yes));
  REQUIRE(matches.size() == 3);
  CHECK(matches[0].name == "Abc.Any");
  CHECK(matches[0].origin == "t.db:4");
  CHECK(matches[1].name == "Abc.Md5");
  CHECK(matches[1].kind == "hdb");
  CHECK(matches[2].kind == "hsb");
  // .hdb takes SHA-256 too, as in ClamAV; upper-case hex is fine.
  CHECK(loaded(kSha256Abc + ":3:X\n" + std::string("900150983CD24FB0D6963F7D28E17F72") + ":3:Y\n", Kind::hdb).size() ==
        2);
  // Levels outside 216 are skipped.
  CHECK(loaded(kMd5Abc + ":3:X:300\n" + kMd5Abc + ":3:Y:1:100\n", Kind::hdb).size() == 0);
}

TEST_CASE("each malformed hash line rejects the file with its line number", "[loader][hash]") {
  struct Case {
    std::string line;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {kMd5Abc + ":3", "fields"},
      {kMd5Abc + ":3:N:1:2:3", "fields"},
      {kMd5Abc + ":0:N", "file size"},
      {kMd5Abc + ":-1:N", "file size"},
      {kMd5Abc + ":4294967295:N", "file size"},
      {kMd5Abc + ":3x:N", "file size"},
      {kMd5Abc + ":*:N", "at least 73"},
      {kMd5Abc + ":*:N:72", "at least 73"},
      {kMd5Abc + ":3:", "empty signature name"},
      {kMd5Abc + ":3:A\tB", "control"},
      {"a9993e364706816aba3e25717850c26c9cd0d89d:3:N", "SHA-1"},
      {"900150983cd24fb0d6963f7d28e17f7:3:N", "neither MD5"},
      {"900150983cd24fb0d6963f7d28e17fzz:3:N", "not hexadecimal"},
      {kSha256Abc.substr(0, 63) + "g:3:N", "not hexadecimal"},
      {kMd5Abc + ":3:N:abc", "functionality level"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    const LoadError e = rejected("#\n" + kMd5Abc + ":3:Fine\n" + c.line + "\n", Kind::hdb);
    CHECK(e.line == 3);
    CHECK_THAT(e.reason, Catch::Contains(c.reason));
  }
}

TEST_CASE("caps and empty databases", "[loader]") {
  CHECK_THAT(rejected("").reason, Catch::Contains("empty database"));
  CHECK(rejected("").line == 0);
  CHECK(loaded("# only a comment\n").size() == 0);  // ClamAV accepts this too
  const std::string long_line = "A:0:*:" + std::string(limits::kMaxSignatureLineLength, '4');
  const LoadError e = rejected("A:0:*:4142\n" + long_line + "\n");
  CHECK(e.line == 2);
  CHECK_THAT(e.reason, Catch::Contains("longer than"));
}

TEST_CASE("LoadError::message", "[loader]") {
  CHECK(LoadError{"db.ndb", 3, "bad"}.message() == "db.ndb:3: bad");
  CHECK(LoadError{"db.ndb", 0, "bad"}.message() == "db.ndb: bad");
}

TEST_CASE("load_file dispatches on the extension", "[loader][files]") {
  TempDir dir;
  SignatureSet set;
  REQUIRE(load_file(dir.write("a.ndb", "A:0:*:4142\n"), set));
  REQUIRE(load_file(dir.write("b.HDB", kMd5Abc + ":3:B\n"), set));
  REQUIRE(load_file(dir.write("c.hsb", kSha256Abc + ":3:C"), set));
  CHECK(set.size() == 3);
  REQUIRE(set.sources().size() == 3);
  CHECK_THAT(set.sources()[1], Catch::Contains("b.HDB (hdb, 1 signatures)"));
  CHECK(set.body_signatures()[0].origin == (dir.path / "a.ndb").string() + ":1");

  auto other = load_file(dir.write("d.ldb", "A;Target:0;0;4142\n"), set);
  REQUIRE_FALSE(other);
  CHECK_THAT(other.error().reason, Catch::Contains("not a signature database"));
  auto missing = load_file(dir.path / "missing.ndb", set);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().reason, Catch::Contains("cannot open"));
  auto bad = load_file(dir.write("e.ndb", "A:0:*:4142\n\nB:0:*:zz\n"), set);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().line == 3);
  CHECK(bad.error().file == (dir.path / "e.ndb").string());
  auto too_long =
      load_file(dir.write("f.ndb", "A:0:*:4142\n" + std::string(limits::kMaxSignatureLineLength + 10, '4')), set);
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().line == 2);
  CHECK(set.size() == 3);  // failures added nothing
}

TEST_CASE("a database is a regular file: a FIFO or device is refused without blocking", "[loader][files]") {
  // Issue 13, item 10: fopen on a FIFO blocks until a writer appears, which never happens.
  TempDir dir;
  SignatureSet set;
  const fs::path fifo = dir.path / "pipe.ndb";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto from_fifo = load_path(fifo, set);
  REQUIRE_FALSE(from_fifo);
  CHECK_THAT(from_fifo.error().reason, Catch::Contains("not a regular file"));
  CHECK(from_fifo.error().file == fifo.string());
  // The user's own symlink is followed, and what it names must be a regular file too.
  fs::create_symlink("/dev/zero", dir.path / "zero.ndb");
  auto from_device = load_path(dir.path / "zero.ndb", set);
  REQUIRE_FALSE(from_device);
  CHECK_THAT(from_device.error().reason, Catch::Contains("not a regular file"));
  fs::create_symlink(dir.write("real.ndb", "A:0:*:4142\n"), dir.path / "link.ndb");
  REQUIRE(load_path(dir.path / "link.ndb", set));
  CHECK(set.size() == 1);
}

TEST_CASE("a database larger than kMaxSignatureFileBytes is refused before it is read", "[loader][files]") {
  TempDir dir;
  const fs::path big = dir.write("big.ndb", "A:0:*:4142\n");
  fs::resize_file(big, limits::kMaxSignatureFileBytes + 1);  // sparse: nothing is written
  SignatureSet set;
  auto loaded_big = load_path(big, set);
  REQUIRE_FALSE(loaded_big);
  CHECK_THAT(loaded_big.error().reason, Catch::Contains("larger than 512 MiB"));
  CHECK(set.size() == 0);
}

TEST_CASE("load_path loads a directory in name order, all or nothing", "[loader][files]") {
  TempDir dir;
  dir.write("b.ndb", "B:0:*:4142\n");
  dir.write("a.ndb", "A:0:*:4142\n");
  dir.write("c.hsb", kSha256Abc + ":3:C\n");
  dir.write("notes.txt", "not a database\n");
  fs::create_directories(dir.path / "sub.ndb");  // a directory is not a database file
  SignatureSet set;
  auto ok = load_path(dir.path, set);
  INFO((ok ? std::string() : ok.error().message()));
  REQUIRE(ok);
  REQUIRE(set.body_signatures().size() == 2);
  CHECK(set.body_signatures()[0].name == "A");
  CHECK(set.body_signatures()[1].name == "B");
  CHECK(set.size() == 3);
  CHECK(set.sources().size() == 3);

  SECTION("one bad file rejects the directory and adds nothing") {
    dir.write("d.ndb", "D:0:*:4142\nbroken\n");
    SignatureSet other;
    auto bad = load_path(dir.path, other);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().file == (dir.path / "d.ndb").string());
    CHECK(bad.error().line == 2);
    CHECK(other.size() == 0);
    CHECK(other.sources().empty());
  }
  SECTION("a single file path works too") {
    SignatureSet one;
    REQUIRE(load_path(dir.path / "c.hsb", one));
    CHECK(one.size() == 1);
  }
  SECTION("a directory without databases is an error") {
    TempDir empty;
    empty.write("readme", "x");
    SignatureSet none;
    auto e = load_path(empty.path, none);
    REQUIRE_FALSE(e);
    CHECK_THAT(e.error().reason, Catch::Contains("no .ndb"));
  }
  SECTION("a missing path is an error") {
    SignatureSet none;
    auto e = load_path(dir.path / "nope", none);
    REQUIRE_FALSE(e);
  }
}

TEST_CASE("kind_for_path", "[loader]") {
  CHECK(kind_for_path("x.ndb") == Kind::ndb);
  CHECK(kind_for_path("dir/x.Hdb") == Kind::hdb);
  CHECK(kind_for_path("x.hsb") == Kind::hsb);
  CHECK_FALSE(kind_for_path("x.ldb").has_value());
  CHECK_FALSE(kind_for_path("ndb").has_value());
}

TEST_CASE("mutated database lines load or are rejected on their own line, never partly", "[loader][random]") {
  std::mt19937 rng(7);
  const std::string seeds[] = {"Name.A:1:EP+10,5:4142*4344:20:300", "Name.B:0:EOF-4099:4d5a{58}80000000",
                               kMd5Abc + ":3:Name.C", kSha256Abc + ":*:Name.D:73"};
  const std::string alphabet = "0123456789abcdefEPOFSL+-,*:{}()|?# \t\r";
  for (int round = 0; round < 5000; ++round) {
    const unsigned which = static_cast<unsigned>(rng() % 4);
    std::string line = seeds[which];
    for (unsigned e = 0; e < 1 + rng() % 3; ++e) {
      const std::size_t at = rng() % (line.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      if (rng() % 2 && at < line.size()) {
        line[at] = c;
      } else {
        line.insert(at, 1, c);
      }
    }
    const Kind kind = which < 2 ? Kind::ndb : Kind::hsb;
    SignatureSet set;
    auto ok = load_text("# first\n" + line + "\n", kind, "m.db", set);
    INFO(line);
    if (ok) {
      CHECK(set.sources().size() == 1);
      CHECK(set.size() <= 1);
    } else {
      CHECK(ok.error().line == 2);
      CHECK_FALSE(ok.error().reason.empty());
      CHECK(set.size() == 0);
    }
  }
}

// Issue 13 item 10: every `*` piece of an .ndb pattern is compiled on its own for streaming, so a
// line of 2-byte pieces took about 69 bytes of memory per byte of text. The loader charges each
// signature with its pieces against a budget of kSignatureMemoryPerTextByte per byte of text plus
// kSignatureMemoryAllowance: the most lines of such pieces the budget holds load, one more is
// refused on its own line with the cap named.
TEST_CASE("an .ndb over the memory budget is refused at the line that goes over, one just under loads",
          "[loader][caps]") {
  constexpr std::size_t kPieces = 13'000;  // as many 2-byte pieces as a 64 KiB line holds
  std::mt19937 rng(13);
  auto line = [&](std::size_t i) {
    std::string text = "S" + std::to_string(100000 + i) + ":0:*:";
    static constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t p = 0; p < kPieces; ++p) {
      if (p != 0) text += '*';
      for (int d = 0; d < 4; ++d) text += kHex[rng() % 16];
    }
    return text + "\n";
  };
  const std::string first = line(0);
  // What one such line is charged: the signature with its pieces, and its inline part once more.
  const SignatureSet one = loaded(first);
  const BodySignature& sig = one.body_signatures()[0];
  REQUIRE(sig.piece_count() == kPieces);
  const std::uint64_t charge = sig.memory_bytes() + sizeof(BodySignature);
  CHECK(charge >= kPieces * sizeof(Segment));  // charged per piece, not per byte of text
  const std::uint64_t per_line_allowance = first.size() * limits::kSignatureMemoryPerTextByte;
  REQUIRE(charge > per_line_allowance);
  const std::uint64_t fit = limits::kSignatureMemoryAllowance / (charge - per_line_allowance);
  REQUIRE(fit >= 1);

  std::string database = first;
  for (std::size_t i = 1; i < fit; ++i) database += line(i);
  {
    SignatureSet set;
    auto ok = load_text(database, Kind::ndb, "t.db", set);
    INFO((ok ? std::string() : ok.error().message()));
    CHECK(ok);
    CHECK(set.size() == fit);
  }
  database += line(fit);
  const LoadError error = rejected(database);
  CHECK(error.line == fit + 1);
  CHECK(error.reason.find("kSignatureMemoryPerTextByte") != std::string::npos);
  CHECK(error.message().rfind("t.db:" + std::to_string(fit + 1) + ": ", 0) == 0);
}
