// Fuzz target: one file's bytes through the engine's entry point FileScanner::scan (engine/scan.h)
// with the built-in signature set, as a scanner worker runs it: pe::parse, hashing, funlove::detect
// and signature matching. pe::parse is also called on its own, to check that scan() agrees with it
// (funlove::detect is not called twice: it would halve the executions for no new code).
//
// Input layout: byte 0 picks the file's role (byte % 3: ordinary, kernel, loader; the kernel and
// loader checks of infection-model section 7 run only for those roles), the rest is the file.
// Besides "no crash, no leak, no hang", it checks the contracts the headers state.
#include <cstddef>
#include <cstdint>
#include <utility>

#include "engine/funlove.h"
#include "engine/limits.h"
#include "engine/pe.h"
#include "engine/scan.h"
#include "fuzz/fuzz_check.h"
#include "signatures/loader.h"

namespace {

using flscan::ByteView;
using flscan::funlove::FileRole;

// The built-in set is compiled once and only read afterwards, as the scanner shares it `const`
// between workers; no input can change it, so every run starts from the same state.
const flscan::sig::SignatureSet& builtin_set() {
  static const flscan::sig::SignatureSet set = [] {
    auto loaded = flscan::signatures::builtin_signatures();
    FUZZ_CHECK(loaded.has_value(), "the built-in signature set loads");
    return std::move(*loaded);
  }();
  return set;
}

FileRole role_from_byte(std::uint8_t byte) {
  switch (byte % 3) {
    case 1:
      return FileRole::kernel;
    case 2:
      return FileRole::loader;
    default:
      return FileRole::ordinary;
  }
}

void check_image(const flscan::pe::Image& image, ByteView file) {
  FUZZ_CHECK(image.file_size == file.size(), "Image::file_size is the size parsed");
  FUZZ_CHECK(image.sections.size() <= flscan::limits::kMaxPeSections, "section count capped");
  FUZZ_CHECK(image.sections.size() <= image.number_of_sections, "no more sections than declared");
  FUZZ_CHECK(image.anomalies.size() <= flscan::limits::kMaxAnomalies, "anomaly count capped");
  if (const auto entry = image.entry_offset()) {
    FUZZ_CHECK(*entry < file.size(), "a mapped entry point lies inside the file");
  }
  FUZZ_CHECK(image.overlay_size() <= file.size(), "overlay no larger than the file");
}

void check_findings(const std::vector<flscan::Finding>& findings) {
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const flscan::Finding& f = findings[i];
    FUZZ_CHECK(!f.rule.empty(), "every finding names its rule");
    if (f.kind != flscan::FindingKind::signature) {
      FUZZ_CHECK(f.severity == flscan::severity_of(f.kind), "detector findings carry their kind's severity");
    }
    if (i > 0) {
      FUZZ_CHECK(static_cast<int>(findings[i - 1].severity) <= static_cast<int>(f.severity),
                 "verdict findings are sorted strongest severity first");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const FileRole role = role_from_byte(data[0]);
  const ByteView file(data + 1, size - 1);

  auto parsed = flscan::pe::parse(file);
  if (parsed) check_image(*parsed, file);

  flscan::FileScanner scanner(builtin_set());
  const flscan::FileVerdict verdict = scanner.scan(file, role);
  FUZZ_CHECK(verdict.digests.has_value(), "scan always hashes the file");
  if (file.empty()) {
    FUZZ_CHECK(verdict.type == flscan::ContentType::empty, "an empty file is typed empty");
  } else if (flscan::pe::looks_like_mz(file)) {
    // scan() parses exactly as pe::parse did above: same verdict, same error.
    FUZZ_CHECK((verdict.type == flscan::ContentType::pe) == parsed.has_value(), "scan and pe::parse agree");
    if (!parsed) {
      FUZZ_CHECK(verdict.pe_error && verdict.pe_error->reason == parsed.error().reason, "same parse error");
    }
  } else {
    FUZZ_CHECK(verdict.type == flscan::ContentType::not_pe, "a file without MZ is not PE");
  }
  check_findings(verdict.findings);
  return 0;
}
