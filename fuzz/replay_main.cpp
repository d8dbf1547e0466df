// Replays inputs through a fuzz target's LLVMFuzzerTestOneInput without libFuzzer, so every build
// (gcc included) runs the committed seed corpus, crash reproducers among them, as a normal test.
//
//   fuzz_pe_replay DIR|FILE...
//
// Every regular file directly inside a DIR (in name order) and every FILE is run once. Exits 1
// when an argument cannot be read or a DIR holds no file (a replay test must not pass on
// nothing); a crashing input aborts with the target's message after its name was printed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// Reads a whole file into `bytes`, sized exactly (so ASan sees any read past the input's end).
bool read_file(const fs::path& path, std::vector<std::uint8_t>& bytes) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes = std::vector<std::uint8_t>(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return in.gcount() == static_cast<std::streamsize>(bytes.size());
}

// The inputs an argument names, or an error message.
bool collect(const fs::path& arg, std::vector<fs::path>& inputs, std::string& error) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) {
    inputs.push_back(arg);
    return true;
  }
  if (!fs::is_directory(arg, ec)) {
    error = arg.string() + ": not a file or directory" + (ec ? " (" + ec.message() + ")" : "");
    return false;
  }
  std::vector<fs::path> found;
  for (fs::directory_iterator it(arg, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) found.push_back(it->path());
  }
  if (ec) {
    error = arg.string() + ": cannot list: " + ec.message();
    return false;
  }
  if (found.empty()) {
    error = arg.string() + ": no input files (the seed corpus is empty)";
    return false;
  }
  std::sort(found.begin(), found.end());
  inputs.insert(inputs.end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
    return 1;
  }
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::string error;
    if (!collect(argv[i], inputs, error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
  }
  std::uint64_t total_bytes = 0;
  std::vector<std::uint8_t> bytes;
  for (const fs::path& input : inputs) {
    if (!read_file(input, bytes)) {
      std::fprintf(stderr, "%s: cannot read\n", input.c_str());
      return 1;
    }
    // Named before it runs: if the target aborts, the log says which input did it.
    std::fprintf(stderr, "replay %s (%zu bytes)\n", input.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    total_bytes += bytes.size();
  }
  std::printf("replayed %zu inputs, %llu bytes\n", inputs.size(), static_cast<unsigned long long>(total_bytes));
  return 0;
}
