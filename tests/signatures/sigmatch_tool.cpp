// sigmatch_tool: flscan's signature matcher alone, printing verdicts the way clamscan does, for
// the differential test against ClamAV (tests/signatures/differential.py). Test-only; the
// scanner proper lives in scanner/.
//
//   sigmatch_tool [--builtin] [-d FILE|DIR]... PATH...
//
// Loads the databases (and the built-in set with --builtin), walks each PATH recursively in name
// order and prints one line per match, "path: NAME FOUND" (every match, like clamscan
// --allmatch), or "path: LIMIT HIT" when a matching limit left a signature undecided. Exit code:
// 0 nothing found, 1 something found, 2 an error.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/hashing.h"
#include "engine/pe.h"
#include "signatures/loader.h"

namespace fs = std::filesystem;
using namespace flscan;

namespace {

int usage() {
  std::cerr << "usage: sigmatch_tool [--builtin] [-d FILE|DIR]... PATH...\n";
  return 2;
}

void collect(const fs::path& path, std::vector<fs::path>& files) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> children;
    for (const auto& entry : fs::directory_iterator(path, ec)) children.push_back(entry.path());
    std::sort(children.begin(), children.end());
    for (const auto& child : children) collect(child, files);
  } else if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  sig::SignatureSet set;
  std::vector<fs::path> roots;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--builtin") {
      auto builtin = signatures::builtin_signatures();
      if (!builtin) {
        std::cerr << builtin.error().message() << "\n";
        return 2;
      }
      set = std::move(*builtin);
    } else if (arg == "-d") {
      if (++i >= argc) return usage();
      if (auto ok = signatures::load_path(argv[i], set); !ok) {
        std::cerr << "sigmatch_tool: " << ok.error().message() << "\n";
        return 2;
      }
    } else if (!arg.empty() && arg[0] == '-') {
      return usage();
    } else {
      roots.emplace_back(arg);
    }
  }
  if (roots.empty()) return usage();

  std::vector<fs::path> files;
  for (const auto& root : roots) collect(root, files);
  Hasher hasher;
  bool found = false;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::cerr << path.string() << ": cannot open\n";
      return 2;
    }
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const ByteView view(bytes.data(), bytes.size());
    // As flscan decides (needs_whole_file): a non-MZ file of a size no signature can match is
    // not read further, and MD5 is computed only for a size an .hdb names.
    if (!pe::looks_like_mz(view) && !set.needs_content_of_size(view.size())) continue;
    std::optional<pe::Image> image;
    if (pe::looks_like_mz(view)) {
      if (auto parsed = pe::parse(view)) image = std::move(*parsed);
    }
    const Digests digests = hasher.digest(view, set.needs_md5_of_size(view.size()) ? WantMd5::yes : WantMd5::no);
    sig::MatchStats stats;
    for (const auto& match : set.match(view, image ? &*image : nullptr, digests, &stats)) {
      std::cout << path.string() << ": " << match.name << " FOUND\n";
      found = true;
    }
    if (stats.cap_hits != 0) std::cout << path.string() << ": LIMIT HIT\n";
  }
  return found ? 1 : 0;
}
