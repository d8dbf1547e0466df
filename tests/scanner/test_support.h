// Helpers shared by the scanner tests: throw-away directory trees, special files, and running the
// flscan binary with a time limit (a test that would hang on a FIFO must fail, not block CI).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sig/signature_set.h"

namespace flscan::test {

// A fresh directory under the system temporary directory, removed with everything in it (after
// restoring permissions that tests took away) when the object dies. World-searchable (0755) so
// an unprivileged child can reach files inside it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  // path() / relative, as a string.
  [[nodiscard]] std::string operator/(std::string_view relative) const;

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path`, creating parent directories.
void write_file(const std::string& path, std::string_view content);
// A buffer that starts like a DOS/PE file ("MZ") and is `size` bytes long.
[[nodiscard]] std::string mz_bytes(std::size_t size);
void make_fifo(const std::string& path);
// Binds a Unix socket at `path` and closes it (the socket file stays). The path must be short.
void make_socket(const std::string& path);
void make_symlink(const std::string& target, const std::string& link);

[[nodiscard]] std::string sha256_hex(std::string_view bytes);

struct RunResult {
  int exit_code = -1;  // -1 when killed (timeout) or stopped by a signal
  std::string out;
  std::string err;
};

// Runs the flscan binary with `args` (optionally behind `prefix`, e.g. setpriv ...), killing it
// after `timeout_seconds`.
[[nodiscard]] RunResult run_flscan(const std::vector<std::string>& args, const std::vector<std::string>& prefix = {},
                                   int timeout_seconds = 120);

// The unprivileged user tests drop to when they run as root (permission bits do not bind root).
inline constexpr uid_t kNobodyUid = 65534;
inline constexpr gid_t kNobodyGid = 65534;
[[nodiscard]] bool running_as_root();
// The setpriv prefix that runs a command as nobody, or nothing when setpriv is not installed.
[[nodiscard]] std::optional<std::vector<std::string>> drop_privileges_prefix();

// A JSON path object ({"text": ...} or {"bytes": base64}) back to raw bytes.
[[nodiscard]] std::string json_path_bytes(const nlohmann::json& path);
[[nodiscard]] std::string base64_decode(std::string_view text);  // scanner::base64_decode; throws on bad input

// The built-in signature set, loaded once per test process (throws if it does not load).
[[nodiscard]] const sig::SignatureSet& builtin_set();

// The entry of `array` whose "path" decodes to `path`, or nullptr.
[[nodiscard]] const nlohmann::json* find_by_path(const nlohmann::json& array, const std::string& path);

}  // namespace flscan::test
