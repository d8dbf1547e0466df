// A streamed scan (FileScanner::scan_stream: chunks, kept ranges, StreamMatcher) must give exactly
// the verdict of a scan of the whole file. Compared on every file of the generated corpus, with
// the built-in signatures plus a set that exercises every streamable construct, at chunk sizes
// down to a few bytes (so every piece, marker and kept range straddles chunk boundaries), and on
// random files with planted pattern pieces.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/scan.h"
#include "signatures/loader.h"
#include "tests/support/pe_builder.h"

using namespace flscan;

namespace {

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(const std::vector<std::uint8_t>& bytes) : bytes_(bytes) {}
  bool read(std::uint64_t offset, std::uint8_t* out, std::size_t length) override {
    ++reads;
    if (offset > bytes_.size() || length > bytes_.size() - offset) return false;
    std::copy_n(bytes_.data() + offset, length, out);
    bytes_read += length;
    return true;
  }
  std::uint64_t reads = 0;
  std::uint64_t bytes_read = 0;

 private:
  const std::vector<std::uint8_t>& bytes_;
};

// Streamable signatures over every construct a piece may hold, with every offset kind. Some are
// built to hit the corpus's infections (body markers), some to hit nothing.
constexpr const char* kStreamableNdb =
    "Test.AnyMz:0:*:4d5a\n"
    "Test.StarPair:1:*:7e46756e*436f6465\n"                    // "~Fun" ... "Code"? (rarely both)
    "Test.StarMarker:0:*:7e46756e204c6f76696e67*696e616c7e\n"  // the marker cut in two
    "Test.GapMin:0:*:4d5a{16-}0e1fba\n"                        // {n-} gap
    "Test.Nibbles:1:*:e8??0800008d?3a70b{4}8b3c24\n"           // ?? nibbles and a fixed jump
    "Test.Alt:1:*:(e8aa|e8bb)0800*8b3c2483\n"                  // same-length alternation
    "Test.Eof:1:EOF-4099:4d5a9000*7e46756e\n"
    "Test.EpShift:1:EP+0,16:9090*e8aa08\n"
    "Test.Abs:0:0:4d5a*5045\n"
    "Test.S0:1:S0+0:??*00\n"
    "Test.SL:1:SL+0,64:??{-}00\n"
    "Test.Never:0:*:deadbeefcafe*0102030405\n";

sig::SignatureSet test_set() {
  auto set = signatures::builtin_signatures();
  REQUIRE(set);
  // Lines whose syntax the loader refuses are dropped here on purpose, so the set is as rich as
  // the loader allows; the test below checks the set stays streamable.
  std::istringstream lines(kStreamableNdb);
  std::string line;
  while (std::getline(lines, line)) {
    (void)signatures::load_text(line + "\n", signatures::Kind::ndb, "stream-test", *set);
  }
  return std::move(*set);
}

void require_same(const FileVerdict& whole, const FileVerdict& streamed, const std::string& what) {
  INFO(what);
  CHECK(static_cast<int>(whole.type) == static_cast<int>(streamed.type));
  CHECK(whole.pe_error.has_value() == streamed.pe_error.has_value());
  if (whole.pe_error && streamed.pe_error) {
    CHECK(whole.pe_error->offset == streamed.pe_error->offset);
    CHECK(whole.pe_error->reason == streamed.pe_error->reason);
  }
  REQUIRE(whole.pe_anomalies.size() == streamed.pe_anomalies.size());
  for (std::size_t i = 0; i < whole.pe_anomalies.size(); ++i)
    CHECK(whole.pe_anomalies[i].what == streamed.pe_anomalies[i].what);
  REQUIRE(whole.digests);
  REQUIRE(streamed.digests);
  CHECK(whole.digests->sha256 == streamed.digests->sha256);
  CHECK(whole.match_cap_hits == streamed.match_cap_hits);
  CHECK(whole.geometry.has_value() == streamed.geometry.has_value());
  if (whole.geometry && streamed.geometry) {
    CHECK(whole.geometry->body_offset == streamed.geometry->body_offset);
    CHECK(whole.geometry->entry_offset == streamed.geometry->entry_offset);
  }
  REQUIRE(whole.findings.size() == streamed.findings.size());
  for (std::size_t i = 0; i < whole.findings.size(); ++i) {
    CHECK(whole.findings[i].rule == streamed.findings[i].rule);
    CHECK(whole.findings[i].evidence == streamed.findings[i].evidence);
    CHECK(whole.findings[i].offset == streamed.findings[i].offset);
    CHECK(static_cast<int>(whole.findings[i].severity) == static_cast<int>(streamed.findings[i].severity));
  }
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("the test set streams", "[stream]") {
  const auto set = test_set();
  CHECK(set.streamable());
  CHECK(set.body_signatures().size() >= 12);  // the built-in five and most of the test lines
}

TEST_CASE("a streamed scan gives the whole-file verdict on every corpus file", "[stream][corpus]") {
  const auto set = test_set();
  FileScanner whole_scanner(set);
  FileScanner stream_scanner(set);
  const std::filesystem::path corpus(FLSCAN_CORPUS_DIR);
  REQUIRE(std::filesystem::is_directory(corpus));
  std::size_t files = 0, with_findings = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus)) {
    if (!entry.is_regular_file() || entry.file_size() == 0 || entry.file_size() > 4 * 1024 * 1024) continue;
    const auto bytes = read_file(entry.path());
    const auto role = funlove::role_for_name(entry.path().filename().string());
    if (!whole_scanner.can_stream(role)) continue;
    const FileVerdict whole = whole_scanner.scan(ByteView(bytes.data(), bytes.size()), role);
    with_findings += whole.findings.empty() ? 0 : 1;
    for (const StreamSettings settings : {StreamSettings{64, 61}, StreamSettings{4096, 4096}, StreamSettings{}}) {
      MemorySource source(bytes);
      auto streamed = stream_scanner.scan_stream(source, bytes.size(), settings);
      REQUIRE(streamed);
      require_same(whole, *streamed, entry.path().string() + " chunk " + std::to_string(settings.chunk_bytes));
      // Read once, front to back: no byte twice, except the few entry-point bytes fetched ahead.
      CHECK(source.bytes_read <= bytes.size() + funlove::kStubSize);
    }
    ++files;
  }
  INFO("files compared: " << files << ", with findings: " << with_findings);
  CHECK(files > 150);
  CHECK(with_findings > 40);
}

TEST_CASE("streamed and whole matching agree on random files with planted pieces", "[stream][random]") {
  const auto set = test_set();
  FileScanner whole_scanner(set);
  FileScanner stream_scanner(set);
  std::mt19937 rng(20261127);
  // Pieces of the test signatures, planted at random places so partial and full matches occur.
  const std::vector<std::vector<std::uint8_t>> pieces = {{0x4d, 0x5a},
                                                         {0x7e, 0x46, 0x75, 0x6e},
                                                         {0x43, 0x6f, 0x64, 0x65},
                                                         {0x0e, 0x1f, 0xba},
                                                         {0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe},
                                                         {0x01, 0x02, 0x03, 0x04, 0x05},
                                                         {0x50, 0x45},
                                                         {0xe8, 0xaa, 0x08, 0x00},
                                                         {0x8b, 0x3c, 0x24, 0x83},
                                                         {0x00}};
  std::size_t matched_files = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<std::uint8_t> bytes(1 + rng() % 6000);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : 0x41);
    const int plants = static_cast<int>(rng() % 8);
    for (int p = 0; p < plants; ++p) {
      const auto& piece = pieces[rng() % pieces.size()];
      if (piece.size() > bytes.size()) continue;
      std::copy(piece.begin(), piece.end(),
                bytes.begin() + static_cast<std::ptrdiff_t>(rng() % (bytes.size() - piece.size() + 1)));
    }
    if (rng() % 2 == 0 && bytes.size() >= 2) bytes[0] = 'M', bytes[1] = 'Z';
    const FileVerdict whole = whole_scanner.scan(ByteView(bytes.data(), bytes.size()), funlove::FileRole::ordinary);
    matched_files += whole.findings.empty() ? 0 : 1;
    const StreamSettings settings{64, 1 + rng() % 300};
    MemorySource source(bytes);
    auto streamed = stream_scanner.scan_stream(source, bytes.size(), settings);
    REQUIRE(streamed);
    require_same(whole, *streamed, "round " + std::to_string(round) + " chunk " + std::to_string(settings.chunk_bytes));
  }
  CHECK(matched_files > 50);
}

TEST_CASE("a set with a variable-length piece does not stream", "[stream]") {
  sig::SignatureSet set;
  REQUIRE(signatures::load_text("Var:0:*:4142{1-4}4344\n", signatures::Kind::ndb, "t", set));
  CHECK_FALSE(set.streamable());
  sig::SignatureSet fixed;
  REQUIRE(signatures::load_text("Fixed:0:*:4142{4}4344*4546\n", signatures::Kind::ndb, "t", fixed));
  CHECK(fixed.streamable());
  CHECK(fixed.stream_overlap() == 7);  // longest piece 4142{4}4344 is 8 bytes
}

TEST_CASE("a read failure stops the streamed scan", "[stream]") {
  const auto set = test_set();
  FileScanner scanner(set);
  const test::Buffer file = test::infect(test::build_pe(test::PeSpec{})).file;
  std::vector<std::uint8_t> bytes(file.begin(), file.end());
  std::vector<std::uint8_t> shorter(bytes.begin(), bytes.end() - 100);  // the file shrank under us
  MemorySource source(shorter);
  auto streamed = scanner.scan_stream(source, bytes.size(), StreamSettings{64, 512});
  REQUIRE_FALSE(streamed);
  CHECK(streamed.error() == StreamFailure::read_failed);
}
