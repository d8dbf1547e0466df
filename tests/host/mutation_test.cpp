// Seeded byte mutations of good fixtures, replayed in every build (style guide habit 7): each
// mutant must give an error value or evidence, with the caps holding. Under the asan preset this
// also checks flscan's side for over-reads and undefined behaviour; crashes inside hivex or libevt
// would kill the test. The seeds are fixed, so a failure reproduces; every mutant that ever
// failed belongs in windows_fixtures.py as a named hostile variant.
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fixtures.h"
#include "scanner/host/event_log.h"
#include "scanner/host/limits.h"
#include "scanner/host/system_hive.h"

using flscan::test::host_fixture;
using flscan::test::host_scratch;
namespace limits = flscan::host::limits;

namespace {

constexpr int kMutantsPerFixture = 400;

std::vector<char> load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A few random edits: a byte, a small or absurd 32-bit value, a 16-bit value, or a cut.
void mutate(std::vector<char>& bytes, std::mt19937& rng) {
  const unsigned edits = 1 + rng() % 8;
  for (unsigned e = 0; e < edits && !bytes.empty(); ++e) {
    const std::size_t pos = rng() % bytes.size();
    switch (rng() % 4) {
      case 0:
        bytes[pos] = static_cast<char>(rng() & 0xFF);
        break;
      case 1: {
        const std::size_t at = pos & ~std::size_t{3};
        const auto value =
            static_cast<std::uint32_t>(rng() % 3 == 0 ? 0xFFFFFFFFu : (rng() % 2 ? rng() : rng() % 0x4000));
        if (bytes.size() - at >= 4) std::memcpy(bytes.data() + at, &value, 4);
        break;
      }
      case 2: {
        const std::size_t at = pos & ~std::size_t{1};
        const auto value = static_cast<std::uint16_t>(rng());
        if (bytes.size() - at >= 2) std::memcpy(bytes.data() + at, &value, 2);
        break;
      }
      default:
        if (rng() % 10 == 0) bytes.resize(std::max<std::size_t>(pos, 1));
        break;
    }
  }
}

// Mutants that only break the base-block checksum would all stop at the first check: fix it so
// that most of them reach hivex's parser and ours.
void fix_regf_checksum(std::vector<char>& bytes) {
  if (bytes.size() < 0x200) return;
  std::uint32_t sum = 0;
  for (std::size_t off = 0; off < 0x1FC; off += 4) {
    std::uint32_t v = 0;
    std::memcpy(&v, bytes.data() + off, 4);
    sum ^= v;
  }
  std::memcpy(bytes.data() + 0x1FC, &sum, 4);
}

void write(const std::filesystem::path& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("Mutated hives: error or evidence within the caps", "[host][hive][mutation]") {
  for (const char* scenario : {"hive-flc-cs001", "hive-lh-unicode"}) {
    const auto base = load(host_fixture(scenario));
    std::mt19937 rng(20020302);
    const auto path = host_scratch(std::string("mutant-") + scenario + ".hiv");
    std::size_t read = 0;
    for (int i = 0; i < kMutantsPerFixture; ++i) {
      auto bytes = base;
      mutate(bytes, rng);
      fix_regf_checksum(bytes);
      write(path, bytes);
      INFO(scenario << " mutant " << i);
      auto result = flscan::host::read_system_hive(path);
      if (!result) {
        CHECK_FALSE(result.error().reason.empty());
        continue;
      }
      ++read;
      CHECK(result->control_sets.size() <= limits::kMaxControlSets);
      CHECK(result->notes.size() <= limits::kMaxNotes + 1);
      for (const auto& set : result->control_sets) CHECK(set.services_examined <= limits::kMaxServicesPerControlSet);
    }
    CHECK(read > kMutantsPerFixture / 2);  // most mutants still open: the walk is exercised
  }
}

TEST_CASE("Mutated EVT logs: error or evidence within the caps", "[host][evt][mutation]") {
  for (const char* scenario : {"evt-q317218", "evt-wrapped", "evt-dirty"}) {
    const auto base = load(host_fixture(scenario));
    std::mt19937 rng(20020301);
    const auto path = host_scratch(std::string("mutant-") + scenario + ".evt");
    for (int i = 0; i < kMutantsPerFixture; ++i) {
      auto bytes = base;
      mutate(bytes, rng);
      write(path, bytes);
      INFO(scenario << " mutant " << i);
      auto result = flscan::host::read_event_log(path);
      if (!result) {
        CHECK_FALSE(result.error().reason.empty());
        continue;
      }
      CHECK(result->records_read <= limits::kMaxEventRecords);
      CHECK(result->notes.size() <= limits::kMaxNotes + 1);
      CHECK(result->protected_storage_7024.records.size() <= limits::kMaxEvidenceRecordsKept);
      for (const auto& record : result->protected_storage_7024.records) {
        CHECK(record.strings.size() <= static_cast<std::size_t>(limits::kMaxEventStringsPerRecord));
      }
    }
  }
}
