#include "scanner/host/windows_install.h"

#include <algorithm>
#include <system_error>

#include "scanner/host/host_common.h"
#include "scanner/open_path.h"

namespace flscan::host {
namespace fs = std::filesystem;

namespace {

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool is_directory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool is_windows_dir(const WindowsInstall& install) { return !install.system_hive.empty(); }

}  // namespace

// Listings go through scanner::DirectoryReader: O_NOATIME where permitted, so looking for an
// installation does not change the directories' access times.
DirectoryListing::DirectoryListing(const std::string& dir) : dir_(dir) {
  scanner::DirectoryReader reader(dir.c_str());
  for (std::size_t listed = 0; listed < kMaxEntriesListed; ++listed) {
    const char* name = reader.next();
    if (name == nullptr) break;
    names_.emplace_back(name);
  }
}

std::optional<std::string> DirectoryListing::find(std::string_view name) const {
  std::optional<std::string> found;
  for (const std::string& child : names_) {
    if (child == name) return join(dir_, child);
    if (!found && iequals(child, name)) found = join(dir_, child);
  }
  return found;
}

std::optional<std::string> find_child_icase(const std::string& dir, std::string_view name) {
  return DirectoryListing(dir).find(name);
}

WindowsInstall describe_install(const std::string& windows_dir, const std::string& volume_root) {
  WindowsInstall install{volume_root, windows_dir, {}, {}, {}};
  if (auto system32 = find_child_icase(windows_dir, "system32"); system32 && is_directory(*system32)) {
    install.system32 = *system32;
    if (auto config = find_child_icase(*system32, "config"); config && is_directory(*config)) {
      install.config_dir = *config;
      if (auto hive = find_child_icase(*config, "SYSTEM"); hive && !is_directory(*hive)) install.system_hive = *hive;
    }
  }
  return install;
}

std::vector<WindowsInstall> find_windows_installs(const std::string& scan_root) {
  std::vector<WindowsInstall> installs;
  if (!is_directory(scan_root)) return installs;
  // The root itself is the Windows directory (flscan /mnt/c/WINNT).
  if (WindowsInstall self = describe_install(scan_root, scan_root); is_windows_dir(self)) {
    installs.push_back(std::move(self));
    return installs;
  }
  scanner::DirectoryReader reader(scan_root.c_str());
  std::vector<std::string> candidates;
  for (std::size_t listed = 0; listed < kMaxEntriesListed; ++listed) {
    const char* name = reader.next();
    if (name == nullptr) break;
    if (iequals(name, "WINNT") || iequals(name, "WINDOWS")) candidates.push_back(join(scan_root, name));
  }
  std::sort(candidates.begin(), candidates.end());
  for (const std::string& dir : candidates) {
    if (!is_directory(dir)) continue;
    if (WindowsInstall install = describe_install(dir, scan_root); is_windows_dir(install)) {
      installs.push_back(std::move(install));
    }
  }
  return installs;
}

}  // namespace flscan::host
