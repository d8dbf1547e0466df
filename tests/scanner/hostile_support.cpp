#include "hostile_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_support.h"

extern char** environ;

namespace flscan::test {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::system_category().message(errno));
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Empties the directory open as `dir_fd` (not closed here). Descends with one descriptor per
// level, which is fine for the depths tests build (the descriptor limit is far higher).
bool empty_directory(int dir_fd) {
  const int list_fd = ::dup(dir_fd);
  if (list_fd < 0) return false;
  DIR* dir = ::fdopendir(list_fd);
  if (dir == nullptr) {
    ::close(list_fd);
    return false;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  bool ok = true;
  for (const std::string& name : names) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      ::fchmodat(dir_fd, name.c_str(), 0700, 0);  // a test may have taken permissions away
      const UniqueFd child(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      ok = child.get() >= 0 && empty_directory(child.get()) && ok;
      ok = ::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) == 0 && ok;
    } else {
      ok = ::unlinkat(dir_fd, name.c_str(), 0) == 0 && ok;
    }
  }
  return ok;
}

}  // namespace

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

TreeGuard::~TreeGuard() { remove_tree(path_); }

MeasuredRun run_flscan_measured(const std::vector<std::string>& args, int timeout_seconds,
                                std::optional<rlim_t> address_space_limit) {
  const TempDir output_dir;
  const std::string out_path = output_dir / "stdout";
  const std::string err_path = output_dir / "stderr";

  std::vector<std::string> command{FLSCAN_BINARY};
  command.insert(command.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    // AddressSanitizer reserves terabytes of shadow address space at start: no RLIMIT_AS then
    // (the peak RSS bound still applies).
#if defined(FLSCAN_TEST_UNDER_ASAN)
    address_space_limit.reset();
#endif
    if (address_space_limit) {
      const rlimit limit{*address_space_limit, *address_space_limit};
      if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(126);
    }
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }

  MeasuredRun result;
  int status = 0;
  rusage usage{};
  const auto deadline = start + std::chrono::seconds(timeout_seconds);
  while (true) {
    const pid_t done = ::wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) fail("wait4");
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &usage);
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.peak_rss_kib = usage.ru_maxrss;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  if (result.timed_out) result.err += "\n(killed after " + std::to_string(timeout_seconds) + " s)";
  return result;
}

long own_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

bool remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) return ::unlink(path.c_str()) == 0;
  bool ok = false;
  {
    ::chmod(path.c_str(), 0700);
    const UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    ok = dir.get() >= 0 && empty_directory(dir.get());
  }
  return ::rmdir(path.c_str()) == 0 && ok;
}

int make_directory_chain(int dir_fd, const std::vector<std::string>& names) {
  int current = ::dup(dir_fd);
  if (current < 0) fail("dup");
  for (const std::string& name : names) {
    if (::mkdirat(current, name.c_str(), 0755) != 0) {
      ::close(current);
      fail("mkdirat " + name.substr(0, 40));
    }
    const int next = ::openat(current, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(current);
    if (next < 0) fail("openat " + name.substr(0, 40));
    current = next;
  }
  return current;
}

void write_file_at(int dir_fd, const std::string& name, const std::string& content) {
  const UniqueFd fd(::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail("create " + name.substr(0, 40));
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write " + name.substr(0, 40));
    }
    done += static_cast<std::size_t>(n);
  }
}

CorpusSample corpus_sample(const std::string& directory, const std::string& expected) {
  const std::string corpus = FLSCAN_CORPUS_DIR;
  std::ifstream in(corpus + "/manifest.json");
  if (!in) throw std::runtime_error("no corpus manifest in " + corpus + " (build the corpus target)");
  const nlohmann::json manifest = nlohmann::json::parse(in);
  const nlohmann::json* best = nullptr;
  for (const nlohmann::json& entry : manifest.at("files")) {
    const std::string path = entry.at("path").get<std::string>();
    if (path.rfind(directory + "/", 0) != 0 || entry.at("expected") != expected) continue;
    if (best == nullptr || entry.at("size").get<std::uint64_t>() < best->at("size").get<std::uint64_t>()) best = &entry;
  }
  if (best == nullptr) throw std::runtime_error("no " + expected + " sample under " + directory + " in the manifest");
  CorpusSample sample{best->at("path").get<std::string>(), slurp(corpus + "/" + best->at("path").get<std::string>())};
  if (sample.bytes.size() != best->at("size").get<std::uint64_t>()) {
    throw std::runtime_error("corpus file " + sample.relative_path + " differs from its manifest entry");
  }
  return sample;
}

}  // namespace flscan::test
