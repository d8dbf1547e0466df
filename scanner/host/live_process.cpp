#include "scanner/host/live_process.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

namespace flscan::host {
namespace {

// Command lines can be megabytes (exec with huge argv); the name we look for is near the front.
constexpr std::size_t kMaxCmdline = 64 * 1024;

bool is_flcss(std::string_view path) {
  const std::size_t slash = path.find_last_of("/\\");
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  constexpr std::string_view kName = "flcss.exe";
  return std::equal(base.begin(), base.end(), kName.begin(), kName.end(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

std::vector<std::string> read_cmdline(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string data(kMaxCmdline, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  std::vector<std::string> argv;
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t end = data.find('\0', start);
    if (end == std::string::npos) end = data.size();
    argv.emplace_back(data.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

}  // namespace

std::vector<LiveProcess> find_flcss_processes(const std::string& proc_dir) {
  std::vector<LiveProcess> found;
  std::error_code ec;
  const long self = static_cast<long>(::getpid());
  for (std::filesystem::directory_iterator it(proc_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    long pid = 0;
    const auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (err != std::errc() || ptr != name.data() + name.size() || pid == self) continue;
    LiveProcess process{pid, {}, read_cmdline(it->path() / "cmdline")};
    std::error_code link_error;
    process.exe = std::filesystem::read_symlink(it->path() / "exe", link_error).string();
    if (is_flcss(process.exe) || std::any_of(process.argv.begin(), process.argv.end(), is_flcss)) {
      found.push_back(std::move(process));
    }
  }
  std::sort(found.begin(), found.end(), [](const LiveProcess& a, const LiveProcess& b) { return a.pid < b.pid; });
  return found;
}

std::string describe(const LiveProcess& process) {
  std::string command;
  for (const std::string& arg : process.argv) command += (command.empty() ? "" : " ") + arg;
  return "pid " + std::to_string(process.pid) + ": " +
         (process.exe.empty() ? "(executable not readable)" : process.exe) + ", command line: " + command;
}

}  // namespace flscan::host
