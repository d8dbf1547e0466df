// Helpers for the hostile-filesystem and read-only tests: running the flscan binary as a child
// process and measuring it (exit status, output, wall time, peak resident set size from wait4),
// optionally under an address-space limit so that a regression which buffers a huge file whole
// fails fast instead of eating the machine's memory; building and removing trees that
// std::filesystem cannot handle (paths longer than PATH_MAX); corpus samples by manifest state.
#pragma once

#include <sys/resource.h>

#include <optional>
#include <utility>
#include <string>
#include <vector>

// Defined in builds with AddressSanitizer, whichever compiler: gcc defines __SANITIZE_ADDRESS__,
// clang (the `asan` preset) answers __has_feature(address_sanitizer). The flscan binary these
// tests run comes from the same build, so it carries the same instrumentation.
#if defined(__SANITIZE_ADDRESS__)
#define FLSCAN_TEST_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLSCAN_TEST_UNDER_ASAN 1
#endif
#endif

namespace flscan::test {

// Owns a file descriptor (closed on scope exit, also when a test fails).
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// Removes a tree when it goes out of scope, passing test or failing one (TempDir cannot: it uses
// std::filesystem, which fails on paths longer than PATH_MAX). Declare it after the TempDir.
class TreeGuard {
 public:
  explicit TreeGuard(std::string path) : path_(std::move(path)) {}
  TreeGuard(const TreeGuard&) = delete;
  TreeGuard& operator=(const TreeGuard&) = delete;
  ~TreeGuard();

 private:
  std::string path_;
};

struct MeasuredRun {
  int exit_code = -1;   // -1 when killed (timeout) or stopped by a signal
  int term_signal = 0;  // the signal that ended it, if any
  bool timed_out = false;
  std::string out;
  std::string err;
  double seconds = 0;
  // ru_maxrss of the child in KiB. An upper bound of flscan's own peak: Linux carries the
  // pre-exec high-water mark of the forked copy of this test process into it (see
  // own_rss_kib()).
  long peak_rss_kib = 0;
};

// Runs FLSCAN_BINARY with `args`, stdin from /dev/null, killing it after `timeout_seconds`.
// With `address_space_limit`, the child runs under setrlimit(RLIMIT_AS) of that many bytes.
[[nodiscard]] MeasuredRun run_flscan_measured(const std::vector<std::string>& args, int timeout_seconds = 120,
                                              std::optional<rlim_t> address_space_limit = std::nullopt);

// This process's resident set size now (VmRSS, KiB): what a forked child starts with before
// exec, so the part of MeasuredRun::peak_rss_kib that may not be flscan's.
[[nodiscard]] long own_rss_kib();

// Removes `path` and everything below it, whatever the depth or path length: every step is
// relative to an open directory (unlinkat/openat), never a full path. Returns false when
// something could not be removed (best effort: it goes on with the rest).
bool remove_tree(const std::string& path);

// Creates the directories of `names` one inside the other below the directory open as `dir_fd`
// (mkdirat/openat, so the total length is not limited) and returns a descriptor of the deepest
// one (the caller closes it). Throws on failure.
[[nodiscard]] int make_directory_chain(int dir_fd, const std::vector<std::string>& names);

// Writes `content` to a new file `name` in the directory open as `dir_fd`. Throws on failure.
void write_file_at(int dir_fd, const std::string& name, const std::string& content);

// A corpus file (FLSCAN_CORPUS_DIR) whose manifest entry says `expected` and lies under the
// manifest directory `directory`, the smallest such: its manifest path and its bytes.
struct CorpusSample {
  std::string relative_path;
  std::string bytes;
};
[[nodiscard]] CorpusSample corpus_sample(const std::string& directory, const std::string& expected);

}  // namespace flscan::test
