#include "test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "engine/hashing.h"
#include "scanner/report/text_encoding.h"
#include "signatures/loader.h"

extern char** environ;

namespace flscan::test {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::system_category().message(errno));
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "flscan-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp");
  path_ = pattern;
  fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                             fs::perms::others_exec);
}

TempDir::~TempDir() {
  std::error_code ec;
  // Give back what tests took away (chmod 000), else remove_all fails for non-root users.
  for (auto it = fs::recursive_directory_iterator(path_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink()) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path_, ec);
}

std::string TempDir::operator/(std::string_view relative) const { return (path_ / relative).string(); }

void write_file(const std::string& path, std::string_view content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string mz_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  bytes[0] = 'M';
  bytes[1] = 'Z';
  for (std::size_t i = 2; i < size; ++i) bytes[i] = static_cast<char>(i * 7);
  return bytes;
}

void make_fifo(const std::string& path) {
  if (::mkfifo(path.c_str(), 0644) != 0) fail("mkfifo " + path);
}

void make_socket(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) throw std::runtime_error("socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) fail("socket");
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  ::close(fd);
  if (bound != 0) fail("bind " + path);
}

void make_symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) != 0) fail("symlink " + link);
}

std::string sha256_hex(std::string_view bytes) {
  Hasher hasher;
  const auto digests =
      hasher.digest(ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), WantMd5::no);
  return to_hex(digests.sha256);
}

RunResult run_flscan(const std::vector<std::string>& args, const std::vector<std::string>& prefix,
                     int timeout_seconds) {
  const TempDir output_dir;
  const std::string out_path = output_dir / "stdout";
  const std::string err_path = output_dir / "stderr";

  std::vector<std::string> command = prefix;
  command.emplace_back(FLSCAN_BINARY);
  command.insert(command.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    errno = spawned;
    fail("posix_spawn " + command.front());
  }

  RunResult result;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) fail("waitpid");
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.err = "timed out after " + std::to_string(timeout_seconds) + " s\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = slurp(out_path);
  result.err += slurp(err_path);
  return result;
}

bool running_as_root() { return ::geteuid() == 0; }

std::optional<std::vector<std::string>> drop_privileges_prefix() {
  for (const char* candidate : {"/usr/bin/setpriv", "/bin/setpriv"}) {
    if (::access(candidate, X_OK) == 0) {
      return std::vector<std::string>{candidate, "--reuid=" + std::to_string(kNobodyUid),
                                      "--regid=" + std::to_string(kNobodyGid), "--clear-groups"};
    }
  }
  return std::nullopt;
}

std::string base64_decode(std::string_view text) {
  auto decoded = flscan::scanner::base64_decode(text);
  if (!decoded) throw std::runtime_error("not valid base64: " + std::string(text.substr(0, 64)));
  return std::move(*decoded);
}

const sig::SignatureSet& builtin_set() {
  static const sig::SignatureSet set = [] {
    auto loaded = signatures::builtin_signatures();
    if (!loaded) throw std::runtime_error("the built-in signature set does not load: " + loaded.error().message());
    return std::move(*loaded);
  }();
  return set;
}

std::string json_path_bytes(const nlohmann::json& path) {
  if (path.contains("text")) return path.at("text").get<std::string>();
  return base64_decode(path.at("bytes").get<std::string>());
}

const nlohmann::json* find_by_path(const nlohmann::json& array, const std::string& path) {
  for (const auto& entry : array) {
    if (json_path_bytes(entry.at("path")) == path) return &entry;
  }
  return nullptr;
}

}  // namespace flscan::test
