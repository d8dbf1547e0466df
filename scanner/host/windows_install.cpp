#include "scanner/host/windows_install.h"

#include <algorithm>

#include "scanner/host/host_common.h"

namespace flscan::host {

namespace {

// Issue 12: a SYSTEM that is missing, a directory or a link must not hide the installation (its
// SysEvent.Evt is still read and the hive reported as a host error), so a system32/config holding
// SYSTEM of any type or SysEvent.Evt is enough; a config directory alone is not (few false
// positives: those two names in system32/config are Windows's own).
bool is_windows_dir(const VolumeFs& volume, const WindowsInstall& install) {
  if (!install.system_hive.empty() || !install.unfollowed_link.empty()) return true;
  return !install.config_dir.empty() && find_child_icase(volume, install.config_dir, "SysEvent.Evt").has_value();
}

}  // namespace

// LocalFs lists through scanner::DirectoryReader: O_NOATIME where permitted, so looking for an
// installation does not change the directories' access times.
DirectoryListing::DirectoryListing(const VolumeFs& volume, const std::string& dir) : dir_(dir) {
  auto listing = volume.list(dir, kMaxEntriesListed);
  if (!listing) {
    error_ = std::move(listing.error().reason);
    return;
  }
  names_ = std::move(listing->names);
  truncated_ = listing->truncated;
  error_ = std::move(listing->read_error);
}

std::optional<std::string> DirectoryListing::find(std::string_view name) const {
  std::optional<std::string> found;
  for (const std::string& child : names_) {
    if (child == name) return join_path(dir_, child);
    if (!found && iequals(child, name)) found = join_path(dir_, child);
  }
  return found;
}

std::optional<std::string> find_child_icase(const VolumeFs& volume, const std::string& dir, std::string_view name) {
  return DirectoryListing(volume, dir).find(name);
}

WindowsInstall describe_install(const VolumeFs& volume, const std::string& windows_dir,
                                const std::string& volume_root) {
  WindowsInstall install{volume_root, windows_dir, {}, {}, {}, {}};
  const auto system32 = find_child_icase(volume, windows_dir, "system32");
  if (system32 && volume.kind(*system32) == EntryKind::symlink) install.unfollowed_link = *system32;
  if (system32 && volume.is_directory(*system32)) {
    install.system32 = *system32;
    const auto config = find_child_icase(volume, *system32, "config");
    if (config && volume.kind(*config) == EntryKind::symlink) install.unfollowed_link = *config;
    if (config && volume.is_directory(*config)) {
      install.config_dir = *config;
      // Of any type: a directory or link named SYSTEM is reported as unreadable, not passed over.
      if (auto hive = find_child_icase(volume, *config, "SYSTEM")) install.system_hive = *hive;
    }
  }
  return install;
}

std::vector<WindowsInstall> find_windows_installs(const VolumeFs& volume, const std::string& scan_root) {
  std::vector<WindowsInstall> installs;
  if (!volume.is_directory(scan_root)) return installs;
  // The root itself is the Windows directory (flscan /mnt/c/WINNT).
  if (WindowsInstall self = describe_install(volume, scan_root, scan_root); is_windows_dir(volume, self)) {
    installs.push_back(std::move(self));
    return installs;
  }
  std::vector<std::string> candidates;
  if (auto listing = volume.list(scan_root, kMaxEntriesListed)) {
    for (const std::string& name : listing->names) {
      if (iequals(name, "WINNT") || iequals(name, "WINDOWS")) candidates.push_back(join_path(scan_root, name));
    }
  }
  std::sort(candidates.begin(), candidates.end());
  for (const std::string& dir : candidates) {
    if (!volume.is_directory(dir)) continue;
    if (WindowsInstall install = describe_install(volume, dir, scan_root); is_windows_dir(volume, install)) {
      installs.push_back(std::move(install));
    }
  }
  return installs;
}

}  // namespace flscan::host
